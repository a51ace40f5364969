//! The backend contract with two backends in one model: Add and Relu go to the test device
//! (add_relu.zig), which has memory of its own and a queue, and Mul falls back to the CPU. The
//! copies between their memories are planned once at load and made once per run, results agree
//! with the CPU alone, the device's memory returns to where it was, and its time reaches the
//! profile; then subgraphs, the preference order, `strict`, and an unknown device.
const std = @import("std");
const status = @import("../../core/status.zig");
const profile = @import("../../core/profile.zig");
const ir = @import("../../model/ir.zig");
const options_module = @import("../../model/options.zig");
const testing_module = @import("../../model/infer/testing.zig");
const Harness = testing_module.Harness;
const backend = @import("../../exec/backend.zig");
const partition = @import("../../exec/partition.zig");
const copy_plan = @import("../../exec/copy_plan.zig");
const graph_uses = @import("../../model/graph_uses.zig");
const Executor = @import("../../exec/executor.zig").Executor;
const ModelState = @import("../../exec/model_state.zig").ModelState;
const value = @import("../../exec/value.zig");
const cpu = @import("../cpu/backend.zig").cpu;
const add_relu = @import("add_relu.zig");

const testing = std.testing;
const available = [_]backend.Backend{ cpu, add_relu.add_relu };
const options: options_module.Options = .{};

/// The values of the graph `buildGraph` makes.
const Ids = struct { x: ir.ValueId, w: ir.ValueId, sum: ir.ValueId, relu: ir.ValueId, again: ir.ValueId };

/// y = (relu(x + w) + x) * w over float32 [6]: Add, Relu, Add, Mul. x is read twice on the test
/// device; w there and on the CPU.
fn buildGraph(h: *Harness) !Ids {
    const x = try h.tensor(.float32, &.{"6"});
    h.graph.value(x).role = .input;
    const w = try h.constant(f32, &.{ -1, 2, -3, 4, -5, 6 });
    const sum = (try h.node(&h.graph, "Add", 14, &.{ x, w }, 1, &.{}, &.{}))[0].?;
    const relu = (try h.node(&h.graph, "Relu", 14, &.{sum}, 1, &.{}, &.{}))[0].?;
    const again = (try h.node(&h.graph, "Add", 14, &.{ relu, x }, 1, &.{}, &.{}))[0].?;
    const y = (try h.node(&h.graph, "Mul", 14, &.{ again, w }, 1, &.{}, &.{}))[0].?;
    h.graph.inputs = try h.arena().dupe(ir.ValueId, &.{x});
    h.graph.outputs = try h.arena().dupe(ir.ValueId, &.{y});
    for ([_]ir.ValueId{ x, w, again }, [_][]const u8{ "x", "w", "again" }) |id, name| h.graph.value(id).name = name;
    // Typed as a load types them: devices choose nodes by their inputs' types.
    try h.infer();
    return .{ .x = x, .w = w, .sum = sum, .relu = relu, .again = again };
}

fn placements(devices: partition.Devices, graph: *const ir.Graph, names: [][]const u8) void {
    for (graph.nodes.items, names) |node, *name| name.* = devices.list[node.device].vtable.device;
}

const ones = [_]f32{ 1, 1, 1, 1, 1, 1 };

/// Runs the model's graph once on x = ones; the executor is kept for its values.
fn runOnce(h: *Harness, devices: partition.Devices, executor: *Executor, uses: *const graph_uses.Uses, ring: ?*profile.Ring) ![]const f32 {
    const x: value.Tensor = .{ .dtype = .float32, .shape = &.{6}, .data = @constCast(std.mem.sliceAsBytes(&ones)) };
    executor.* = .{ .arena = h.arena(), .devices = devices, .top = .{ .uses = uses }, .ring = ring };
    const outputs = try executor.runTop(&h.graph, &.{&x});
    return outputs[0].?.items(f32);
}

fn expectCopy(c: copy_plan.Copy, id: ir.ValueId, from: u8, to: u8, resident: bool) !void {
    try testing.expectEqual(id, c.value);
    try testing.expectEqual(from, c.from);
    try testing.expectEqual(to, c.to);
    try testing.expectEqual(resident, c.resident != null);
}

test "the test device gets its values copied once, at load for constants, and gives its memory back" {
    var h = Harness.init();
    defer h.deinit();
    const ids = try buildGraph(&h);
    var devices = try partition.Devices.open("test:0,cpu", &available, &options);
    defer devices.deinit();
    try devices.assign(&h.graph, &h.pool, false);
    var names: [4][]const u8 = undefined;
    placements(devices, &h.graph, &names);
    try testing.expectEqualDeep([4][]const u8{ "test:0", "test:0", "test:0", "cpu:0" }, names);

    // test:0 is device 0, host memory the CPU's, 1: x and w go there, `again` comes back for Mul.
    const plan = devices.copies.of(&h.graph).?;
    try testing.expectEqual(@as(usize, 3), plan.copies.len);
    try expectCopy(plan.copies[0], ids.x, 1, 0, false);
    try expectCopy(plan.copies[1], ids.w, 1, 0, true);
    try expectCopy(plan.copies[2], ids.again, 0, 1, false);
    // As model.copies (tsr_model_copy) gives them.
    const described = try ModelState.describeCopies(h.arena(), &h.graph, devices);
    try testing.expectEqual(@as(usize, 3), described.len);
    try testing.expectEqualDeep(@import("../../model/model.zig").Copy{ .value = "w", .from = "cpu:0", .to = "test:0", .at_load = true }, described[1]);
    try testing.expectEqualStrings("again", described[2].value);
    try testing.expectEqualStrings("test:0", described[2].from);
    const test_device = devices.list[0];
    try testing.expectEqual(@as(usize, 1), add_relu.countersOf(test_device).uploads);
    const base = test_device.memory();
    try testing.expectEqual(backend.MemoryInfo{ .used = 6 * 4, .total = add_relu.capacity }, base);

    var uses = try graph_uses.Uses.init(testing.allocator, &h.graph);
    defer uses.deinit(testing.allocator);
    var executor: Executor = undefined;
    // (relu(1 + w) + 1) * w
    const expected = [_]f32{ -1, 8, -3, 24, -5, 48 };
    try testing.expectEqualSlices(f32, &expected, try runOnce(&h, devices, &executor, &uses, null));
    var counters = add_relu.countersOf(test_device);
    try testing.expectEqual(@as(usize, 3), counters.nodes_run);
    try testing.expectEqual(@as(usize, 2), counters.uploads); // w at load, x once for both Adds
    try testing.expectEqual(@as(usize, 1), counters.downloads); // `again`, before Mul
    try testing.expectEqual(base, test_device.memory());
    // What the request can read after the run: the downloaded value; not what stayed on test:0.
    try testing.expectEqualSlices(f32, &.{ 1, 4, 1, 6, 1, 8 }, executor.top_values[ids.again].?.items(f32));
    try testing.expect(executor.top_values[ids.relu] == null);

    _ = try runOnce(&h, devices, &executor, &uses, null);
    counters = add_relu.countersOf(test_device);
    try testing.expectEqual(@as(usize, 3), counters.uploads); // w stays on test:0 between runs
    try testing.expectEqual(@as(usize, 2), counters.downloads);

    var cpu_only = try partition.Devices.open("cpu", &available, &options);
    defer cpu_only.deinit();
    try cpu_only.assign(&h.graph, &h.pool, false);
    try testing.expectEqual(@as(usize, 0), cpu_only.copies.graphs.len);
    try testing.expectEqualSlices(f32, &expected, try runOnce(&h, cpu_only, &executor, &uses, null));
}

test "the test device's node times and the copies reach the profile" {
    var h = Harness.init();
    defer h.deinit();
    const ids = try buildGraph(&h);
    var devices = try partition.Devices.open("test:0", &available, &options);
    defer devices.deinit();
    try devices.assign(&h.graph, &h.pool, false);
    var uses = try graph_uses.Uses.init(testing.allocator, &h.graph);
    defer uses.deinit(testing.allocator);
    const ring = try profile.Ring.create(256);
    defer ring.destroy();
    var executor: Executor = undefined;
    _ = try runOnce(&h, devices, &executor, &uses, ring);

    var events: [256]profile.Event = undefined;
    var timed = [_]bool{false} ** 3;
    var uploaded_x = false;
    var downloaded_again = false;
    var waits: usize = 0;
    for (events[0..ring.copyOut(&events)]) |e| {
        if (e.phase != @intFromEnum(profile.Phase.end)) continue;
        switch (@as(profile.Kind, @enumFromInt(e.kind))) {
            .device_execute => if (e.src_device == add_relu.event_device) {
                timed[@intCast(e.op_index)] = true;
            },
            .copy => {
                if (e.tensor_id == ids.x and e.src_device == profile.cpu_device and e.dst_device == add_relu.event_device) uploaded_x = true;
                if (e.tensor_id == ids.again and e.src_device == add_relu.event_device and e.dst_device == profile.cpu_device) downloaded_again = true;
            },
            .wait => waits += 1,
            else => {},
        }
    }
    try testing.expectEqualDeep([_]bool{ true, true, true }, timed);
    try testing.expect(uploaded_x and downloaded_again);
    try testing.expect(waits >= 1);
}

test "a subgraph on the test device reads an outer value the enclosing graph made there" {
    var h = Harness.init();
    defer h.deinit();
    const ids = try buildGraph(&h);
    // If(true) then: relu + relu, computed on test:0 from `relu`, also made on test:0.
    h.graph.value(ids.relu).name = "outer";
    try h.graph.scope.put(h.arena(), "outer", ids.relu);
    const branch = try h.subgraph(&h.graph);
    const outer = try h.outer(branch, ids.relu);
    const doubled = (try h.node(branch, "Add", 14, &.{ outer, outer }, 1, &.{}, &.{}))[0].?;
    branch.outputs = try h.arena().dupe(ir.ValueId, &.{doubled});
    for ([_]ir.ValueId{ outer, doubled }) |id| branch.value(id).type = h.graph.value(ids.relu).type;
    const cond = try h.scalar(&h.graph, .bool, 1);
    const attrs = [_]testing_module.Attr{testing_module.graphAttr("then_branch")};
    const picked = (try h.node(&h.graph, "If", 13, &.{cond}, 1, &attrs, &.{branch}))[0].?;
    h.graph.outputs = try h.arena().dupe(ir.ValueId, &.{picked});

    var devices = try partition.Devices.open("test:0", &available, &options);
    defer devices.deinit();
    try devices.assign(&h.graph, &h.pool, false);
    try testing.expectEqualStrings("test:0", devices.list[branch.nodes.items[0].device].vtable.device);
    // The enclosing graph brings `relu` back for the If; the branch sends it out again.
    try testing.expect(devices.copies.of(&h.graph).?.find(ids.relu, 1) != null);
    try testing.expect(devices.copies.of(branch).?.find(outer, 0) != null);

    var uses = try graph_uses.Uses.init(testing.allocator, &h.graph);
    defer uses.deinit(testing.allocator);
    var executor: Executor = undefined;
    try testing.expectEqualSlices(f32, &.{ 0, 6, 0, 10, 0, 14 }, try runOnce(&h, devices, &executor, &uses, null));
    const counters = add_relu.countersOf(devices.list[0]);
    try testing.expectEqual(@as(usize, 3), counters.uploads); // w at load, x, the branch's outer
    // `again` for Mul (which still runs), relu for the If, the branch's output.
    try testing.expectEqual(@as(usize, 3), counters.downloads);
    try testing.expectEqual(@as(u64, 6 * 4), devices.list[0].memory().used);
}

test "a run that fails on the test device still gives its memory back" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.tensor(.float32, &.{"N"});
    h.graph.value(x).role = .input;
    const y = (try h.node(&h.graph, "Relu", 14, &.{x}, 1, &.{}, &.{}))[0].?;
    h.graph.inputs = try h.arena().dupe(ir.ValueId, &.{x});
    h.graph.outputs = try h.arena().dupe(ir.ValueId, &.{y});
    var devices = try partition.Devices.open("test:0", &available, &options);
    defer devices.deinit();
    try devices.assign(&h.graph, &h.pool, false);
    var uses = try graph_uses.Uses.init(testing.allocator, &h.graph);
    defer uses.deinit(testing.allocator);
    // x fits test:0's memory once; Relu's output does not fit beside it.
    const big = try h.arena().alloc(f32, add_relu.capacity / 4 * 3 / 4);
    @memset(big, 1);
    const input: value.Tensor = .{ .dtype = .float32, .shape = &.{@intCast(big.len)}, .data = std.mem.sliceAsBytes(big) };
    var executor: Executor = .{ .arena = h.arena(), .devices = devices, .top = .{ .uses = &uses } };
    try testing.expectError(error.OutOfResource, executor.runTop(&h.graph, &.{&input}));
    try testing.expectEqual(@as(usize, 1), add_relu.countersOf(devices.list[0]).uploads);
    try testing.expectEqual(@as(u64, 0), devices.list[0].memory().used);
}

test "the first device in the list that supports a node gets it; strict refuses a fallback" {
    var h = Harness.init();
    defer h.deinit();
    _ = try buildGraph(&h);
    {
        var devices = try partition.Devices.open("cpu,test:0", &available, &options);
        defer devices.deinit();
        try devices.assign(&h.graph, &h.pool, false);
        var names: [4][]const u8 = undefined;
        placements(devices, &h.graph, &names);
        for (names) |name| try testing.expectEqualStrings("cpu:0", name);
        // test:0 runs nothing: no copies, and nothing uploaded to it.
        try testing.expectEqual(@as(usize, 0), devices.copies.graphs.len);
        try testing.expectEqual(@as(usize, 0), add_relu.countersOf(devices.list[1]).uploads);
    }
    {
        var devices = try partition.Devices.open("test:0", &available, &options);
        defer devices.deinit();
        try testing.expectError(error.NotImplemented, devices.assign(&h.graph, &h.pool, true));
        try testing.expectEqualStrings("node Mul #3 cannot run on test:0: the test device runs only Add and Relu (strict: no fallback)", std.mem.span(status.lastMessage()));
    }
    try testing.expectError(error.InvalidArgument, partition.Devices.open("tpu:0", &available, &options));
    try testing.expectEqualStrings("unknown device 'tpu:0' (known: cpu, test, auto)", std.mem.span(status.lastMessage()));
}
