//! Unit tests for the sequence kernels, run on hand-built nodes: positions (negative, at the
//! ends, out of range), and SplitToSequence and ConcatFromSequence against each other, packed
//! sub-byte elements included, since a split followed by a concatenation must give back its input.
const std = @import("std");
const ir = @import("../../../model/ir.zig");
const kernel = @import("../kernel.zig");
const sequence = @import("sequence.zig");
const test_node = @import("test_node.zig");

const Tensor = kernel.Tensor;
const testing = std.testing;

/// One node of the sequence family run in isolation (test_node.zig), at opset 18.
fn runner(arena: std.mem.Allocator, attributes: []const ir.Attribute) test_node.Run {
    return .{ .arena = arena, .table = &sequence.kernels, .attributes = attributes, .opset = 18 };
}

fn int64Scalar(arena: std.mem.Allocator, v: i64) !*Tensor {
    const t = try arena.create(Tensor);
    const data = try arena.alloc(u8, 8);
    std.mem.writeInt(i64, data[0..8], v, .little);
    t.* = .{ .dtype = .int64, .shape = &.{}, .data = data };
    return t;
}

/// A 2x5 uint8 tensor holding 0..9, row-major.
fn tenBytes(arena: std.mem.Allocator) !*Tensor {
    const t = try arena.create(Tensor);
    const data = try arena.alloc(u8, 10);
    for (data, 0..) |*b, i| b.* = @intCast(i);
    t.* = .{ .dtype = .uint8, .shape = &.{ 2, 5 }, .data = data };
    return t;
}

const attribute = test_node.attribute;

test "positions count from the end when negative and fail out of range" {
    var state = std.heap.ArenaAllocator.init(testing.allocator);
    defer state.deinit();
    const arena = state.allocator();
    const r = runner(arena, &.{});
    const x = try tenBytes(arena);
    const y = try tenBytes(arena);
    const seq = try r.call("SequenceConstruct", &.{ x, x });
    // Inserting at -1 puts the tensor before the last one; at 2 (the length) after it.
    const front = try r.call("SequenceInsert", &.{ seq, y, try int64Scalar(arena, -1) });
    try testing.expectEqualSlices(*const Tensor, &.{ x, y, x }, front.elements);
    const back = try r.call("SequenceInsert", &.{ seq, y, try int64Scalar(arena, 2) });
    try testing.expectEqualSlices(*const Tensor, &.{ x, x, y }, back.elements);
    try testing.expectError(error.InferError, r.call("SequenceInsert", &.{ seq, y, try int64Scalar(arena, 3) }));
    try testing.expectError(error.InferError, r.call("SequenceInsert", &.{ seq, try int64Scalar(arena, 1), null }));
    const at = try r.call("SequenceAt", &.{ front, try int64Scalar(arena, -2) });
    try testing.expectEqual(y.data.ptr, at.data.ptr);
    try testing.expectError(error.InferError, r.call("SequenceAt", &.{ front, try int64Scalar(arena, 3) }));
    try testing.expectError(error.InferError, r.call("SequenceAt", &.{ front, try int64Scalar(arena, -4) }));
    // Erase without a position drops the last tensor.
    const erased = try r.call("SequenceErase", &.{ front, null });
    try testing.expectEqualSlices(*const Tensor, &.{ x, y }, erased.elements);
    const empty = try r.call("SequenceEmpty", &.{});
    try testing.expectEqual(kernel.DType.float32, empty.dtype);
    try testing.expectError(error.InferError, r.call("SequenceErase", &.{ empty, null }));
    const length = try r.call("SequenceLength", &.{front});
    try testing.expectEqual(@as(i64, 3), std.mem.readInt(i64, length.data[0..8], .little));
}

test "optionals wrap a value or none" {
    var state = std.heap.ArenaAllocator.init(testing.allocator);
    defer state.deinit();
    const arena = state.allocator();
    const r = runner(arena, &.{});
    const x = try tenBytes(arena);
    const wrapped = try r.call("Optional", &.{x});
    try testing.expectEqual(.optional, wrapped.kind);
    const has = try r.call("OptionalHasElement", &.{wrapped});
    try testing.expectEqual(@as(u8, 1), has.data[0]);
    const none = try r.call("OptionalHasElement", &.{null});
    try testing.expectEqual(@as(u8, 0), none.data[0]);
    const got = try r.call("OptionalGetElement", &.{wrapped});
    try testing.expectEqual(x.data.ptr, got.data.ptr);
    const empty = Tensor{ .kind = .optional, .dtype = .uint8, .shape = &.{} };
    try testing.expectError(error.InferError, r.call("OptionalGetElement", &.{&empty}));
}

test "a scalar split leaves a smaller last chunk, and concatenating gives the input back" {
    var state = std.heap.ArenaAllocator.init(testing.allocator);
    defer state.deinit();
    const arena = state.allocator();
    const x = try tenBytes(arena);
    const on_axis_1 = runner(arena, &.{try attribute(arena, "axis", -1)});
    const seq = try on_axis_1.call("SplitToSequence", &.{ x, try int64Scalar(arena, 2) });
    try testing.expectEqual(@as(usize, 3), seq.elements.len);
    try testing.expectEqualSlices(i64, &.{ 2, 1 }, seq.elements[2].shape);
    try testing.expectEqualSlices(u8, &.{ 4, 9 }, seq.elements[2].data);
    const joined = try on_axis_1.call("ConcatFromSequence", &.{seq});
    try testing.expectEqualSlices(i64, x.shape, joined.shape);
    try testing.expectEqualSlices(u8, x.data, joined.data);
}

test "split without sizes and keepdims 0, then stacking, gives the input back" {
    var state = std.heap.ArenaAllocator.init(testing.allocator);
    defer state.deinit();
    const arena = state.allocator();
    const x = try tenBytes(arena);
    const squeezing = runner(arena, &.{
        try attribute(arena, "axis", 1),
        try attribute(arena, "keepdims", 0),
    });
    const seq = try squeezing.call("SplitToSequence", &.{x});
    try testing.expectEqual(@as(usize, 5), seq.elements.len);
    try testing.expectEqualSlices(i64, &.{2}, seq.elements[1].shape);
    try testing.expectEqualSlices(u8, &.{ 1, 6 }, seq.elements[1].data);
    const stacking = runner(arena, &.{
        try attribute(arena, "axis", -1),
        try attribute(arena, "new_axis", 1),
    });
    const joined = try stacking.call("ConcatFromSequence", &.{seq});
    try testing.expectEqualSlices(i64, x.shape, joined.shape);
    try testing.expectEqualSlices(u8, x.data, joined.data);
}

test "packed int4 elements split and join across byte boundaries" {
    var state = std.heap.ArenaAllocator.init(testing.allocator);
    defer state.deinit();
    const arena = state.allocator();
    // A 3x3 int4 tensor holding 1..9: rows of three nibbles never start on a byte boundary.
    const x = try arena.create(Tensor);
    x.* = .{ .dtype = .int4, .shape = &.{ 3, 3 }, .data = try arena.dupe(u8, &.{ 0x21, 0x43, 0x65, 0x87, 0x09 }) };
    const r = runner(arena, &.{try attribute(arena, "axis", 0)});
    const sizes = try arena.create(Tensor);
    const sizes_data = try arena.alloc(u8, 16);
    std.mem.writeInt(i64, sizes_data[0..8], 1, .little);
    std.mem.writeInt(i64, sizes_data[8..16], 2, .little);
    sizes.* = .{ .dtype = .int64, .shape = &.{2}, .data = sizes_data };
    const seq = try r.call("SplitToSequence", &.{ x, sizes });
    try testing.expectEqualSlices(u8, &.{ 0x21, 0x03 }, seq.elements[0].data);
    try testing.expectEqualSlices(u8, &.{ 0x54, 0x76, 0x98 }, seq.elements[1].data);
    const joined = try r.call("ConcatFromSequence", &.{seq});
    try testing.expectEqualSlices(u8, x.data, joined.data);
    const bad = try int64Scalar(arena, 0);
    try testing.expectError(error.InferError, r.call("SplitToSequence", &.{ x, bad }));
}
