//! Weights packed when the CPU compiles a model (prepare.zig): the constant weights of MatMul,
//! Gemm and Conv are packed by the compile stage, before any run; runs that use them give what
//! runs on weights fed as inputs give; a Loop body's MatMul reads its one packed weight on every
//! iteration; LSTM and GRU have W and R packed per direction; and destroying the devices frees
//! exactly what was packed.
const std = @import("std");
const memory = @import("../../core/memory.zig");
const ir = @import("../../model/ir.zig");
const options_module = @import("../../model/options.zig");
const infer_testing = @import("../../model/infer/testing.zig");
const graph_uses = @import("../../model/graph_uses.zig");
const partition = @import("../../exec/partition.zig");
const Executor = @import("../../exec/executor.zig").Executor;
const value = @import("../../exec/value.zig");
const cpu = @import("backend.zig").cpu;
const kernel = @import("kernel.zig");
const sgemm = @import("kernels/linalg_sgemm.zig");
const conv_gemm = @import("kernels/nn_conv_gemm.zig");

const testing = std.testing;
const Harness = infer_testing.Harness;
const Id = ir.ValueId;

/// One thread, so that runs with and without packed weights add their products in one order.
const options: options_module.Options = .{ .threads = 1 };

fn compiledOf(node: *const ir.Node) *const kernel.Compiled {
    return @ptrCast(@alignCast(node.kernel.?));
}

/// `count` floats that are not all alike, so that a misplaced element changes a product.
fn ramp(h: *Harness, count: usize) ![]f32 {
    const values = try h.arena().alloc(f32, count);
    for (values, 0..) |*v, i| v.* = @as(f32, @floatFromInt(@as(i64, @intCast(i % 7)) - 3)) * 0.5 + @as(f32, @floatFromInt(i)) / 64;
    return values;
}

/// A weight of the root graph: a constant, or (`constant` false) a graph input fed `values`.
fn weight(h: *Harness, constant: bool, dims: []const i64, fed: *std.ArrayList(?*const value.Tensor), inputs: *std.ArrayList(Id)) !Id {
    var count: usize = 1;
    for (dims) |d| count *= @intCast(d);
    const values = try ramp(h, count);
    if (constant) return h.constantIn(&h.graph, .float32, dims, std.mem.sliceAsBytes(values));
    const id = try h.tensor(.float32, null);
    h.graph.value(id).role = .input;
    try inputs.append(h.arena(), id);
    try fed.append(h.arena(), try tensor(h, dims, values));
    return id;
}

fn tensor(h: *Harness, dims: []const i64, values: []f32) !*const value.Tensor {
    const t = try h.arena().create(value.Tensor);
    t.* = .{ .dtype = .float32, .shape = dims, .data = std.mem.sliceAsBytes(values) };
    return t;
}

/// x [2,3] * W [3,4] (MatMul), x * B^T with B [4,3] (Gemm, transB), and X [1,2,H,W] conv W
/// [3,2,3,3]; `spatial` names H and W ("5": a 3x3 output). Returns the tensors to feed.
fn buildModel(h: *Harness, constant: bool, spatial: []const u8) ![]const ?*const value.Tensor {
    const a = h.arena();
    var fed: std.ArrayList(?*const value.Tensor) = .empty;
    var inputs: std.ArrayList(Id) = .empty;
    const x = try h.tensor(.float32, &.{ "2", "3" });
    const image = try h.tensor(.float32, &.{ "1", "2", spatial, spatial });
    for ([_]Id{ x, image }) |id| h.graph.value(id).role = .input;
    try inputs.appendSlice(a, &.{ x, image });
    try fed.append(a, try tensor(h, &.{ 2, 3 }, try ramp(h, 6)));
    try fed.append(a, try tensor(h, &.{ 1, 2, 5, 5 }, try ramp(h, 50)));
    const w_matmul = try weight(h, constant, &.{ 3, 4 }, &fed, &inputs);
    const w_gemm = try weight(h, constant, &.{ 4, 3 }, &fed, &inputs);
    const w_conv = try weight(h, constant, &.{ 3, 2, 3, 3 }, &fed, &inputs);
    const product = (try h.node(&h.graph, "MatMul", 13, &.{ x, w_matmul }, 1, &.{}, &.{}))[0].?;
    const gemm = (try h.node(&h.graph, "Gemm", 13, &.{ x, w_gemm }, 1, &.{infer_testing.int("transB", 1)}, &.{}))[0].?;
    const conv = (try h.node(&h.graph, "Conv", 11, &.{ image, w_conv }, 1, &.{}, &.{}))[0].?;
    h.graph.inputs = inputs.items;
    h.graph.outputs = try a.dupe(Id, &.{ product, gemm, conv });
    try h.infer();
    return fed.items;
}

/// Runs the placed and compiled `h.graph` once; its outputs live in the harness's arena.
fn runOnce(h: *Harness, devices: partition.Devices, fed: []const ?*const value.Tensor) ![]?*value.Tensor {
    var uses = try graph_uses.Uses.init(testing.allocator, &h.graph);
    defer uses.deinit(testing.allocator);
    var executor: Executor = .{ .arena = h.arena(), .devices = devices, .top = .{ .uses = &uses } };
    return executor.runTop(&h.graph, fed);
}

/// The outputs of the model built by buildModel, checking which nodes were prepared at compile.
fn compileAndRun(h: *Harness, constant: bool) ![]?*value.Tensor {
    const fed = try buildModel(h, constant, "5");
    var devices = try partition.Devices.open("cpu", &.{cpu}, &options);
    defer devices.deinit();
    try devices.assign(&h.graph, &h.pool, false);
    // Before any run: packed exactly when the weight is a constant.
    for (h.graph.nodes.items) |*node| try testing.expectEqual(constant, compiledOf(node).prepared != null);
    if (constant) {
        // Nine output positions per image: the small-map form only (inference settled them).
        const conv: *const conv_gemm.PreparedWeights = @ptrCast(@alignCast(compiledOf(&h.graph.nodes.items[2]).prepared.?.data));
        try testing.expect(conv.forms[@intFromEnum(conv_gemm.Form.right)] != null);
        try testing.expect(conv.forms[@intFromEnum(conv_gemm.Form.left)] == null);
        // A node compiled as it runs (built after load) gets nothing prepared, and nothing kept.
        const late = try devices.list[0].compile(&h.graph.nodes.items[0], null);
        try testing.expect(@as(*const kernel.Compiled, @ptrCast(@alignCast(late))).prepared == null);
    }
    return runOnce(h, devices, fed);
}

test "constant MatMul, Gemm and Conv weights are packed at compile; runs agree with unpacked weights" {
    const live_before = memory.liveBytes();
    var packed_model = Harness.init();
    defer packed_model.deinit();
    var fed_model = Harness.init();
    defer fed_model.deinit();
    const with_packing = try compileAndRun(&packed_model, true);
    const without = try compileAndRun(&fed_model, false);
    for (with_packing, without) |p, f| {
        try testing.expectEqualSlices(i64, f.?.shape, p.?.shape);
        try testing.expectEqualSlices(f32, f.?.items(f32), p.?.items(f32));
    }
    // Everything packed was freed with the devices.
    try testing.expectEqual(live_before, memory.liveBytes());
}

test "a Conv whose output extents inference left symbolic has both forms packed" {
    var h = Harness.init();
    defer h.deinit();
    const fed = try buildModel(&h, true, "S");
    var devices = try partition.Devices.open("cpu", &.{cpu}, &options);
    defer devices.deinit();
    try devices.assign(&h.graph, &h.pool, false);
    const conv: *const conv_gemm.PreparedWeights = @ptrCast(@alignCast(compiledOf(&h.graph.nodes.items[2]).prepared.?.data));
    for (conv.forms) |form| try testing.expect(form != null);
    const outputs = try runOnce(&h, devices, fed);
    try testing.expectEqualSlices(i64, &.{ 1, 3, 3, 3 }, outputs[2].?.shape);
}

test "a Loop body's MatMul reads the weight packed at compile on every iteration" {
    const live_before = memory.liveBytes();
    var h = Harness.init();
    defer h.deinit();
    const root = &h.graph;
    const a = h.arena();
    const v0 = try h.tensor(.float32, &.{ "1", "2" });
    root.value(v0).role = .input;
    // The Fibonacci matrix: each iteration maps [p, q] to [q, p + q].
    const w = try h.constantIn(root, .float32, &.{ 2, 2 }, std.mem.sliceAsBytes(try a.dupe(f32, &.{ 0, 1, 1, 1 })));
    // The body reads W from the root graph, by name, as an imported model's body does.
    root.value(w).name = "w";
    try root.scope.put(a, "w", w);
    const trips = try h.scalar(root, .int64, 3);
    const body = try h.subgraph(root);
    const i = try h.value(body, .int64, &.{});
    const c = try h.value(body, .bool, &.{});
    const v_in = try h.value(body, .float32, &.{ "1", "2" });
    const w_outer = try h.outer(body, w);
    body.value(w_outer).name = "w";
    const v_out = (try h.node(body, "MatMul", 13, &.{ v_in, w_outer }, 1, &.{}, &.{}))[0].?;
    body.inputs = try a.dupe(Id, &.{ i, c, v_in });
    body.outputs = try a.dupe(Id, &.{ c, v_out });
    const loop = try h.node(root, "Loop", 13, &.{ trips, null, v0 }, 1, &.{infer_testing.graphAttr("body")}, &.{body});
    root.inputs = try a.dupe(Id, &.{v0});
    root.outputs = try a.dupe(Id, &.{loop[0].?});
    try h.infer();
    var start = [_]f32{ 1, 0 };
    const fed = [_]?*const value.Tensor{try tensor(&h, &.{ 1, 2 }, &start)};
    {
        var devices = try partition.Devices.open("cpu", &.{cpu}, &options);
        defer devices.deinit();
        try devices.assign(root, &h.pool, false);
        const prepared = compiledOf(&body.nodes.items[0]).prepared orelse return error.TestExpectedPrepared;
        try testing.expectEqualSlices(f32, &.{ 1, 2 }, (try runOnce(&h, devices, &fed))[0].?.items(f32));
        // Zeroing the packed copy (not W) zeroes every iteration's product: the runs read it.
        const packed_weight: *const sgemm.PackedWeight = @ptrCast(@alignCast(prepared.data));
        @memset(packed_weight.b.data, 0);
        try testing.expectEqualSlices(f32, &.{ 0, 0 }, (try runOnce(&h, devices, &fed))[0].?.items(f32));
    }
    try testing.expectEqual(live_before, memory.liveBytes());
}

/// A bidirectional `op` (LSTM or GRU) over X [3, 2, 3] with hidden size 4, W and R constants or
/// fed; returns the tensors to feed.
fn buildRecurrent(h: *Harness, op: []const u8, gates: i64, constant: bool) ![]const ?*const value.Tensor {
    const a = h.arena();
    var fed: std.ArrayList(?*const value.Tensor) = .empty;
    var inputs: std.ArrayList(Id) = .empty;
    const x = try h.tensor(.float32, &.{ "3", "2", "3" });
    h.graph.value(x).role = .input;
    try inputs.append(a, x);
    try fed.append(a, try tensor(h, &.{ 3, 2, 3 }, try ramp(h, 18)));
    // In the arena: the graph keeps the dims slices (a literal with a runtime value is a temporary).
    const w = try weight(h, constant, try a.dupe(i64, &.{ 2, gates * 4, 3 }), &fed, &inputs);
    const r = try weight(h, constant, try a.dupe(i64, &.{ 2, gates * 4, 4 }), &fed, &inputs);
    const attrs = [_]infer_testing.Attr{ infer_testing.int("hidden_size", 4), .{ .name = "direction", .type = .string, .s = "bidirectional" } };
    const outs = try h.node(&h.graph, op, 14, &.{ x, w, r }, 2, &attrs, &.{});
    h.graph.inputs = inputs.items;
    h.graph.outputs = try a.dupe(Id, &.{ outs[0].?, outs[1].? });
    try h.infer();
    return fed.items;
}

test "constant LSTM and GRU weights are packed at compile; runs agree with fed weights" {
    const live_before = memory.liveBytes();
    inline for (.{ .{ "LSTM", 4 }, .{ "GRU", 3 } }) |cell| {
        var results: [2][]?*value.Tensor = undefined;
        var models = [2]Harness{ Harness.init(), Harness.init() };
        defer for (&models) |*m| m.deinit();
        for ([_]bool{ true, false }, 0..) |constant, i| {
            const h = &models[i];
            const fed = try buildRecurrent(h, cell[0], cell[1], constant);
            var devices = try partition.Devices.open("cpu", &.{cpu}, &options);
            defer devices.deinit();
            try devices.assign(&h.graph, &h.pool, false);
            try testing.expectEqual(constant, compiledOf(&h.graph.nodes.items[0]).prepared != null);
            results[i] = try runOnce(h, devices, fed);
        }
        for (results[0], results[1]) |p, f| {
            try testing.expectEqualSlices(i64, f.?.shape, p.?.shape);
            try testing.expectEqualSlices(f32, f.?.items(f32), p.?.items(f32));
        }
    }
    try testing.expectEqual(live_before, memory.liveBytes());
}
