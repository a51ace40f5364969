//! The compile stage's passes (exec/fold.zig) on a small graph through the CPU: a node over
//! constants is folded, a node no output needs is marked unused, a random node and a node over an
//! input are left to run, and the run skips what was pruned and gives the same result.
const std = @import("std");
const ir = @import("../../model/ir.zig");
const options_module = @import("../../model/options.zig");
const Harness = @import("../../model/infer/testing.zig").Harness;
const Attr = @import("../../model/infer/testing.zig").Attr;
const backend = @import("../../exec/backend.zig");
const partition = @import("../../exec/partition.zig");
const fold = @import("../../exec/fold.zig");
const graph_uses = @import("../../model/graph_uses.zig");
const Executor = @import("../../exec/executor.zig").Executor;
const value = @import("../../exec/value.zig");
const cpu = @import("../cpu/backend.zig").cpu;

const testing = std.testing;

test "constants fold at load, unused nodes are pruned, and the run agrees" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.tensor(.float32, &.{"3"});
    h.graph.value(x).role = .input;
    const w = try h.constant(f32, &.{ 1, 2, 3 });
    const negated = (try h.node(&h.graph, "Neg", 13, &.{w}, 1, &.{}, &.{}))[0].?;
    const sum = (try h.node(&h.graph, "Add", 14, &.{ x, negated }, 1, &.{}, &.{}))[0].?;
    _ = try h.node(&h.graph, "Relu", 14, &.{x}, 1, &.{}, &.{});
    const noise = (try h.node(&h.graph, "RandomUniformLike", 22, &.{w}, 1, &.{}, &.{}))[0].?;
    h.graph.inputs = try h.arena().dupe(ir.ValueId, &.{x});
    h.graph.outputs = try h.arena().dupe(ir.ValueId, &.{ sum, noise });
    try h.infer();

    const options: options_module.Options = .{};
    const available = [_]backend.Backend{cpu};
    var devices = try partition.Devices.open("cpu", &available, &options);
    defer devices.deinit();
    try testing.expectEqual(@as(usize, 1), try fold.foldConstants(h.arena(), &h.graph, &h.pool, devices.list[0], null));
    var uses = try graph_uses.Uses.init(testing.allocator, &h.graph);
    defer uses.deinit(testing.allocator);
    var needed: [4]bool = undefined;
    const scratch = try testing.allocator.alloc(bool, h.graph.values.items.len);
    defer testing.allocator.free(scratch);
    try testing.expectEqual(@as(usize, 1), fold.markUnused(&h.graph, &uses, &needed, scratch));

    const nodes = h.graph.nodes.items;
    try testing.expectEqual(ir.Pruned.folded, nodes[0].pruned);
    try testing.expectEqual(ir.Pruned.none, nodes[1].pruned);
    try testing.expectEqual(ir.Pruned.unused, nodes[2].pruned);
    try testing.expectEqual(ir.Pruned.none, nodes[3].pruned);
    const folded = h.graph.value(negated).constant.?;
    try testing.expectEqualSlices(f32, &.{ -1, -2, -3 }, @as([*]const f32, @ptrCast(@alignCast(folded.bytes.ptr)))[0..3]);

    try devices.assign(&h.graph, &h.pool, false);
    try testing.expect(nodes[0].kernel == null); // pruned nodes are not compiled
    var x_values = [_]f32{ 10, 20, 30 };
    const input: value.Tensor = .{ .dtype = .float32, .shape = &.{3}, .data = std.mem.sliceAsBytes(&x_values) };
    var executor: Executor = .{ .arena = h.arena(), .devices = devices, .top = .{ .uses = &uses } };
    const outputs = try executor.runTop(&h.graph, &.{&input});
    try testing.expectEqualSlices(f32, &.{ 9, 18, 27 }, outputs[0].?.items(f32));
    try testing.expectEqual(@as(usize, 3), outputs[1].?.count());
}

test "an output far larger than its constant inputs is left to the run" {
    var h = Harness.init();
    defer h.deinit();
    const shape = try h.ints(&.{ 1024, 1024 });
    const filled = (try h.node(&h.graph, "ConstantOfShape", 21, &.{shape}, 1, &.{}, &.{}))[0].?;
    h.graph.outputs = try h.arena().dupe(ir.ValueId, &.{filled});
    try h.infer();
    const options: options_module.Options = .{};
    const available = [_]backend.Backend{cpu};
    const devices = try partition.Devices.open("cpu", &available, &options);
    defer devices.deinit();
    try testing.expectEqual(@as(usize, 0), try fold.foldConstants(h.arena(), &h.graph, &h.pool, devices.list[0], null));
    try testing.expectEqual(ir.Pruned.none, h.graph.nodes.items[0].pruned);
    try testing.expect(h.graph.value(filled).constant == null);
}

test "a Constant node folds: its output is a constant from load on" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.tensor(.float32, &.{"3"});
    h.graph.value(x).role = .input;
    const value_attribute: Attr = .{ .name = "value_float", .type = .float, .f = 0.5 };
    const half = (try h.node(&h.graph, "Constant", 13, &.{}, 1, &.{value_attribute}, &.{}))[0].?;
    const product = (try h.node(&h.graph, "Mul", 14, &.{ x, half }, 1, &.{}, &.{}))[0].?;
    h.graph.inputs = try h.arena().dupe(ir.ValueId, &.{x});
    h.graph.outputs = try h.arena().dupe(ir.ValueId, &.{product});
    try h.infer();
    const options: options_module.Options = .{};
    const available = [_]backend.Backend{cpu};
    const devices = try partition.Devices.open("cpu", &available, &options);
    defer devices.deinit();
    try testing.expectEqual(@as(usize, 1), try fold.foldConstants(h.arena(), &h.graph, &h.pool, devices.list[0], null));
    try testing.expectEqual(ir.Pruned.folded, h.graph.nodes.items[0].pruned);
    try testing.expectEqual(@as(f64, 0.5), h.graph.value(half).constant.?.float(0).?);
}

test "a shape computed from static dims folds without running, a dynamic one does not" {
    var h = Harness.init();
    defer h.deinit();
    const fixed = try h.tensor(.float32, &.{ "2", "3", "4" });
    const dynamic = try h.tensor(.float32, &.{ "N", "3" });
    h.graph.value(fixed).role = .input;
    h.graph.value(dynamic).role = .input;
    const fixed_shape = (try h.node(&h.graph, "Shape", 15, &.{fixed}, 1, &.{}, &.{}))[0].?;
    const last = try h.ints(&.{2});
    const gathered = (try h.node(&h.graph, "Gather", 13, &.{ fixed_shape, last }, 1, &.{}, &.{}))[0].?;
    const dynamic_shape = (try h.node(&h.graph, "Shape", 15, &.{dynamic}, 1, &.{}, &.{}))[0].?;
    h.graph.inputs = try h.arena().dupe(ir.ValueId, &.{ fixed, dynamic });
    h.graph.outputs = try h.arena().dupe(ir.ValueId, &.{ gathered, dynamic_shape });
    try h.infer();

    const options: options_module.Options = .{};
    const available = [_]backend.Backend{cpu};
    const devices = try partition.Devices.open("cpu", &available, &options);
    defer devices.deinit();
    try testing.expectEqual(@as(usize, 2), try fold.foldConstants(h.arena(), &h.graph, &h.pool, devices.list[0], null));
    const nodes = h.graph.nodes.items;
    try testing.expectEqual(ir.Pruned.folded, nodes[0].pruned);
    try testing.expectEqual(ir.Pruned.folded, nodes[1].pruned);
    try testing.expectEqual(ir.Pruned.none, nodes[2].pruned);
    const shape = h.graph.value(fixed_shape).constant.?;
    for ([_]i64{ 2, 3, 4 }, 0..) |want, i| try testing.expectEqual(want, shape.int(i).?);
    try testing.expectEqual(@as(i64, 4), h.graph.value(gathered).constant.?.int(0).?);
    try testing.expect(h.graph.value(dynamic_shape).constant == null);
}
