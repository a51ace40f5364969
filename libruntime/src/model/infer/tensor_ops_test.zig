//! Unit tests of the tensor_ops rules on hand-built graphs with symbolic dims: the shape-vector
//! chains of dynamic PyTorch exports (Shape → Gather → Concat → Reshape), symbolic Slice and
//! Reshape -1, and error paths. The ONNX backend suite (suite_check.zig) covers static cases.
const std = @import("std");
const ir = @import("../ir.zig");
const testing = @import("testing.zig");

const Attr = testing.Attr;
const Harness = testing.Harness;
const int = testing.int;
const intList = testing.intList;

const expectText = std.testing.expectEqualStrings;

test "Shape, Gather, Unsqueeze and Concat carry dims into Reshape" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.tensor(.float32, &.{ "B", "S", "768" });
    const shape = try h.one("Shape", 18, &.{x}, &.{});
    try expectText("int64 [3]", try h.text(shape));
    try expectText("[B,S,768]", try h.elements(shape));
    const first_two = try h.one("Gather", 13, &.{ shape, try h.ints(&.{ 0, 1 }) }, &.{});
    try expectText("[B,S]", try h.elements(first_two));
    const target = try h.one("Concat", 13, &.{ first_two, try h.ints(&.{ 12, -1 }) }, &.{int("axis", 0)});
    try expectText("[B,S,12,-1]", try h.elements(target));
    const split = try h.one("Reshape", 14, &.{ x, target }, &.{});
    try expectText("float32 [B,S,12,64]", try h.text(split));
    const merged = try h.one("Reshape", 14, &.{ x, try h.ints(&.{ -1, 768 }) }, &.{});
    try expectText("float32 [B*S,768]", try h.text(merged));
    const copied = try h.one("Reshape", 14, &.{ x, try h.ints(&.{ 0, 0, 3, 256 }) }, &.{});
    try expectText("float32 [B,S,3,256]", try h.text(copied));
    const size = try h.one("Size", 13, &.{x}, &.{});
    try expectText("int64 []", try h.text(size));
    try expectText("[768*B*S]", try h.elements(size));
}

test "symbolic Slice, Range and ConstantOfShape" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.tensor(.float32, &.{ "B", "S", "768" });
    const big = std.math.maxInt(i64);
    const tail = try h.one("Slice", 13, &.{ x, try h.ints(&.{1}), try h.ints(&.{big}), try h.ints(&.{1}) }, &.{});
    try expectText("float32 [B,S-1,768]", try h.text(tail));
    const last3 = try h.one("Slice", 13, &.{ x, try h.ints(&.{-3}), try h.ints(&.{big}), try h.ints(&.{-2}) }, &.{});
    try expectText("float32 [B,3,768]", try h.text(last3));
    const reversed = try h.one("Slice", 13, &.{
        x, try h.ints(&.{-1}), try h.ints(&.{std.math.minInt(i64)}), try h.ints(&.{2}), try h.ints(&.{-2}),
    }, &.{});
    try expectText("float32 [B,S,384]", try h.text(reversed));
    const v1_attributes = [_]Attr{ intList("starts", &.{-1000}), intList("ends", &.{1000}), intList("axes", &.{2}) };
    const clamped = try h.one("Slice", 1, &.{x}, &v1_attributes);
    try expectText("float32 [B,S,768]", try h.text(clamped));
    const shape = try h.one("Shape", 18, &.{x}, &.{});
    const s = try h.one("Gather", 13, &.{ shape, try h.ints(&.{1}) }, &.{});
    const range = try h.one("Range", 11, &.{ try h.ints(&.{0}), s, try h.ints(&.{1}) }, &.{});
    try expectText("int64 [S]", try h.text(range));
    const zeros = try h.one("ConstantOfShape", 20, &.{shape}, &.{});
    try expectText("float32 [B,S,768]", try h.text(zeros));
    const head = try h.one("Slice", 13, &.{ shape, try h.ints(&.{0}), try h.ints(&.{-1}) }, &.{});
    try expectText("[B,S]", try h.elements(head));
}

test "Split, Squeeze, Unsqueeze, Transpose, Pad and Tile" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.tensor(.float16, &.{ "N", "1", "10" });
    const parts = try h.apply("", "Split", 18, &.{x}, 3, &.{ int("axis", 2), int("num_outputs", 3) });
    try expectText("float16 [N,1,4]", try h.text(parts[0].?));
    try expectText("float16 [N,1,2]", try h.text(parts[2].?));
    const squeezed = try h.one("Squeeze", 13, &.{ x, try h.ints(&.{1}) }, &.{});
    try expectText("float16 [N,10]", try h.text(squeezed));
    const unsqueezed = try h.one("Unsqueeze", 13, &.{ x, try h.ints(&.{ 0, -1 }) }, &.{});
    try expectText("float16 [1,N,1,10,1]", try h.text(unsqueezed));
    const transposed = try h.one("Transpose", 13, &.{x}, &.{intList("perm", &.{ 2, 0, 1 })});
    try expectText("float16 [10,N,1]", try h.text(transposed));
    const padded = try h.one("Pad", 18, &.{ x, try h.ints(&.{ 1, 0, 0, -1 }), null, try h.ints(&.{ 0, 2 }) }, &.{});
    try expectText("float16 [N+1,1,9]", try h.text(padded));
    const tiled = try h.one("Tile", 13, &.{ x, try h.ints(&.{ 2, 3, 1 }) }, &.{});
    try expectText("float16 [2*N,3,10]", try h.text(tiled));
    const flat = try h.one("Flatten", 13, &.{x}, &.{int("axis", -1)});
    try expectText("float16 [N,10]", try h.text(flat));
}

test "impossible inputs are ShapeErrors" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.tensor(.float32, &.{ "N", "6" });
    try std.testing.expectError(error.ShapeError, h.one("Reshape", 14, &.{ x, try h.ints(&.{ -1, -1 }) }, &.{}));
    const fixed = try h.tensor(.float32, &.{ "2", "6" });
    try std.testing.expectError(error.ShapeError, h.one("Reshape", 14, &.{ fixed, try h.ints(&.{ 5, -1 }) }, &.{}));
    try std.testing.expectError(error.ShapeError, h.one("Transpose", 13, &.{x}, &.{intList("perm", &.{ 0, 0 })}));
    try std.testing.expectError(error.ShapeError, h.one("Squeeze", 13, &.{ x, try h.ints(&.{1}) }, &.{}));
    try std.testing.expectError(error.ShapeError, h.one("Unsqueeze", 13, &.{ x, try h.ints(&.{ 1, 1 }) }, &.{}));
    try std.testing.expectError(error.ShapeError, h.apply("", "Split", 13, &.{x}, 4, &.{int("axis", 1)}));
    const bad_axis = try h.ints(&.{5});
    const bad_slice = [_]?ir.ValueId{ x, try h.ints(&.{0}), try h.ints(&.{1}), bad_axis };
    try std.testing.expectError(error.ShapeError, h.one("Slice", 13, &bad_slice, &.{}));
    try std.testing.expectError(error.ShapeError, h.one("Tile", 13, &.{ x, try h.ints(&.{ 1, -2 }) }, &.{}));
    try std.testing.expectError(error.ShapeError, h.one("Cast", 13, &.{x}, &.{int("to", 1000)}));
    try std.testing.expectError(error.ShapeError, h.one("Gather", 13, &.{ x, try h.ints(&.{0}) }, &.{int("axis", 2)}));
}
