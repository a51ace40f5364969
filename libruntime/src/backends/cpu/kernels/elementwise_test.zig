//! Unit tests for PRelu, Equal on strings, and Swish and SwiGLU as kernels: shapes, broadcasting
//! and the inputs they refuse.
const std = @import("std");
const elementwise = @import("elementwise.zig");
const test_node = @import("test_node.zig");

const Tensor = test_node.Tensor;
const testing = std.testing;

fn run(arena: std.mem.Allocator, op: []const u8, inputs: []const ?*const Tensor) !*Tensor {
    const r = test_node.Run{ .arena = arena, .table = elementwise.kernels };
    return r.call(op, inputs);
}

test "PRelu broadcasts its slope to X, and lays a legacy channel slope along its axis" {
    var state = std.heap.ArenaAllocator.init(testing.allocator);
    defer state.deinit();
    const arena = state.allocator();
    const x = try test_node.tensor(arena, f32, &.{ 2, 3 }, &.{ -1, 2, -3, 4, -5, 0 });
    const row = try test_node.tensor(arena, f32, &.{3}, &.{ 0.5, 1, 2 });
    const y = try run(arena, "PRelu", &.{ x, row });
    try testing.expectEqualSlices(f32, &.{ -0.5, 2, -6, 4, -5, 0 }, y.items(f32));
    // A [2] slope cannot broadcast to [2, 3]; onnx's reference lays it along axis 0.
    const channel = try test_node.tensor(arena, f32, &.{2}, &.{ 0.1, 10 });
    const z = try run(arena, "PRelu", &.{ x, channel });
    try testing.expectEqualSlices(i64, &.{ 2, 3 }, z.shape);
    try testing.expectApproxEqAbs(@as(f32, -0.1), z.items(f32)[0], 1e-6);
    try testing.expectEqual(@as(f32, -50), z.items(f32)[4]);
    // A slope that would widen X is refused: Y keeps X's shape.
    const wide = try test_node.tensor(arena, f32, &.{ 4, 1, 1 }, &.{ 1, 1, 1, 1 });
    try testing.expectError(error.InferError, run(arena, "PRelu", &.{ x, wide }));
}

test "Equal compares strings byte for byte, with broadcasting" {
    var state = std.heap.ArenaAllocator.init(testing.allocator);
    defer state.deinit();
    const arena = state.allocator();
    const a = try test_node.tensor(arena, []const u8, &.{ 2, 2 }, &.{ "a", "bc", "", "é" });
    const b = try test_node.tensor(arena, []const u8, &.{2}, &.{ "a", "é" });
    const y = try run(arena, "Equal", &.{ a, b });
    try testing.expectEqual(.bool, y.dtype);
    try testing.expectEqualSlices(u8, &.{ 1, 0, 0, 1 }, y.data[0..4]);
    const numbers = try test_node.tensor(arena, f32, &.{2}, &.{ 1, 2 });
    try testing.expectError(error.InferError, run(arena, "Equal", &.{ a, numbers }));
    try testing.expectError(error.NotImplemented, run(arena, "Less", &.{ a, b }));
}

test "SwiGLU refuses inputs of different shapes; Swish keeps its input's shape" {
    var state = std.heap.ArenaAllocator.init(testing.allocator);
    defer state.deinit();
    const arena = state.allocator();
    const a = try test_node.tensor(arena, f64, &.{ 1, 2 }, &.{ 1, -1 });
    const b = try test_node.tensor(arena, f64, &.{2}, &.{ 2, 2 });
    try testing.expectError(error.InferError, run(arena, "SwiGLU", &.{ a, b }));
    const y = try run(arena, "Swish", &.{a});
    try testing.expectEqualSlices(i64, &.{ 1, 2 }, y.shape);
    try testing.expectApproxEqAbs(@as(f64, 0.7310585786300049), y.items(f64)[0], 1e-15);
}
