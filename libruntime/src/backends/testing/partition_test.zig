//! The backend contract with two backends in one model: Add and Relu go to the test device
//! (add_relu.zig), Mul falls back to the CPU, and the results and placements are checked; then
//! the preference order, `strict`, and an unknown device.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../../model/ir.zig");
const options_module = @import("../../model/options.zig");
const Harness = @import("../../model/infer/testing.zig").Harness;
const backend = @import("../../exec/backend.zig");
const partition = @import("../../exec/partition.zig");
const graph_uses = @import("../../model/graph_uses.zig");
const Executor = @import("../../exec/executor.zig").Executor;
const value = @import("../../exec/value.zig");
const cpu = @import("../cpu/backend.zig").cpu;
const add_relu = @import("add_relu.zig");

const testing = std.testing;
const available = [_]backend.Backend{ cpu, add_relu.add_relu };

/// y = relu(x + w) * w over float32 [6]: Add, Relu, Mul.
fn buildGraph(h: *Harness) !void {
    const x = try h.tensor(.float32, &.{"6"});
    h.graph.value(x).role = .input;
    const w = try h.constant(f32, &.{ -1, 2, -3, 4, -5, 6 });
    const sum = (try h.node(&h.graph, "Add", 14, &.{ x, w }, 1, &.{}, &.{}))[0].?;
    const relu = (try h.node(&h.graph, "Relu", 14, &.{sum}, 1, &.{}, &.{}))[0].?;
    const y = (try h.node(&h.graph, "Mul", 14, &.{ relu, w }, 1, &.{}, &.{}))[0].?;
    h.graph.inputs = try h.arena().dupe(ir.ValueId, &.{x});
    h.graph.outputs = try h.arena().dupe(ir.ValueId, &.{y});
}

fn devicesOf(devices: partition.Devices, graph: *const ir.Graph) [3][]const u8 {
    var names: [3][]const u8 = undefined;
    for (graph.nodes.items, &names) |node, *name| name.* = devices.list[node.device].vtable.device;
    return names;
}

test "a model split between a test backend and the CPU runs and agrees with the CPU alone" {
    var h = Harness.init();
    defer h.deinit();
    try buildGraph(&h);
    const options: options_module.Options = .{};
    const devices = try partition.Devices.open("test:0,cpu", &available, &options);
    defer devices.deinit();
    try devices.assign(&h.graph, &h.pool, false);
    const placed = devicesOf(devices, &h.graph);
    try testing.expectEqualStrings("test:0", placed[0]);
    try testing.expectEqualStrings("test:0", placed[1]);
    try testing.expectEqualStrings("cpu:0", placed[2]);

    var uses = try graph_uses.Uses.init(testing.allocator, &h.graph);
    defer uses.deinit(testing.allocator);
    var x_values = [_]f32{ 1, 1, 1, 1, 1, 1 };
    const x: value.Tensor = .{ .dtype = .float32, .shape = &.{6}, .data = std.mem.sliceAsBytes(&x_values) };
    var executor: Executor = .{ .arena = h.arena(), .devices = devices, .top = .{ .uses = &uses } };
    const outputs = try executor.runTop(&h.graph, &.{&x});
    // relu(1 + w) * w
    try testing.expectEqualSlices(f32, &.{ -0.0, 6, -0.0, 20, -0.0, 42 }, outputs[0].?.items(f32));
    try testing.expectEqual(@as(usize, 2), add_relu.countersOf(devices.list[0]).nodes_run);
}

test "the first device in the list that supports a node gets it; strict refuses a fallback" {
    var h = Harness.init();
    defer h.deinit();
    try buildGraph(&h);
    const options: options_module.Options = .{};
    {
        const devices = try partition.Devices.open("cpu,test:0", &available, &options);
        defer devices.deinit();
        try devices.assign(&h.graph, &h.pool, false);
        for (devicesOf(devices, &h.graph)) |name| try testing.expectEqualStrings("cpu:0", name);
    }
    {
        const devices = try partition.Devices.open("test:0", &available, &options);
        defer devices.deinit();
        try testing.expectError(error.NotImplemented, devices.assign(&h.graph, &h.pool, true));
        try testing.expectEqualStrings("node Mul #2 cannot run on test:0: the test device runs only Add and Relu (strict: no fallback)", std.mem.span(status.lastMessage()));
    }
    try testing.expectError(error.InvalidArgument, partition.Devices.open("tpu:0", &available, &options));
    try testing.expectEqualStrings("unknown device 'tpu:0'", std.mem.span(status.lastMessage()));
}
