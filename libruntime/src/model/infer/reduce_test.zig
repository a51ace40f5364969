//! Unit tests of the reduce family's rules on hand-built nodes with symbolic dims: what the ONNX
//! backend suite cannot show (its shapes are static and its outputs declared), such as symbolic
//! spectra and frame counts, shape vectors folded by ReduceProd, and the error paths.
const std = @import("std");
const testing = @import("testing.zig");

const Attr = testing.Attr;
const Harness = testing.Harness;
const int = testing.int;
const intList = testing.intList;

test "Reduce: attribute axes, input axes, unknown axes and noop" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.tensor(.float32, &.{ "B", "N", "4" });
    const mean = try h.first("ReduceMean", 13, &.{x}, &.{ intList("axes", &.{1}), int("keepdims", 0) });
    try std.testing.expectEqualStrings("float32 [B,4]", mean);
    const axes = try h.vector(&.{"1"}, &.{"-1"});
    try std.testing.expectEqualStrings("float32 [B,N,1]", try h.first("ReduceMax", 18, &.{ x, axes }, &.{}));
    const unknown = try h.tensor(.int64, &.{"2"});
    const rank_only = try h.first("ReduceSum", 13, &.{ x, unknown }, &.{int("keepdims", 0)});
    try std.testing.expectEqualStrings("float32 [reduced__0]", rank_only);
    const empty = try h.tensor(.int64, &.{"0"});
    const noop = try h.first("ReduceSum", 13, &.{ x, empty }, &.{int("noop_with_empty_axes", 1)});
    try std.testing.expectEqualStrings("float32 [B,N,4]", noop);
    try std.testing.expectEqualStrings("float32 [1,1,1]", try h.first("ReduceL2", 18, &.{ x, empty }, &.{}));
    try std.testing.expectError(error.ShapeError, h.first("ReduceMin", 11, &.{x}, &.{intList("axes", &.{ 0, -3 })}));
}

test "ReduceProd of a shape vector stays symbolic" {
    var h = Harness.init();
    defer h.deinit();
    const shape = try h.vector(&.{"3"}, &.{ "B", "N", "4" });
    const out = try h.apply("", "ReduceProd", 18, &.{shape}, 1, &.{int("keepdims", 0)});
    try std.testing.expectEqualStrings("int64 []", try h.text(out[0].?));
    try std.testing.expectEqualStrings("[4*B*N]", try h.elements(out[0].?));
}

test "TopK takes a symbolic K; ArgMax is int64" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.tensor(.float16, &.{ "B", "N" });
    const k = try h.vector(&.{"1"}, &.{"N/2"});
    const out = try h.apply("", "TopK", 11, &.{ x, k }, 2, &.{});
    try std.testing.expectEqualStrings("int64 [B,N/2]", try h.text(out[1].?));
    try std.testing.expectEqualStrings("int64 [1,N]", try h.first("ArgMax", 13, &.{x}, &.{}));
}

test "DFT and STFT sizes are symbolic" {
    var h = Harness.init();
    defer h.deinit();
    const real = try h.tensor(.float32, &.{ "B", "N", "1" });
    try std.testing.expectEqualStrings("float32 [B,N/2+1,2]", try h.first("DFT", 17, &.{real}, &.{int("onesided", 1)}));
    const complex = try h.tensor(.float32, &.{ "B", "N", "2" });
    const irfft = &.{ int("onesided", 1), int("inverse", 1) };
    try std.testing.expectEqualStrings("float32 [B,2*N-2,1]", try h.first("DFT", 20, &.{complex}, irfft));
    try std.testing.expectError(error.ShapeError, h.first("DFT", 20, &.{real}, irfft));
    const step = try h.vector(&.{}, &.{"160"});
    const window = try h.tensor(.float32, &.{"400"});
    const signal = try h.tensor(.float32, &.{ "B", "L", "1" });
    // floor((L - 400) / 160) + 1 frames, in the pool's canonical form.
    const frames = try h.first("STFT", 17, &.{ signal, step, window }, &.{});
    try std.testing.expectEqualStrings("float32 [B,(L+80)/160-2,201,2]", frames);
}

test "ai.onnx.ml: ZipMap makes a sequence of maps; LabelEncoder's values decide its type" {
    var h = Harness.init();
    defer h.deinit();
    const scores = try h.tensor(.float32, &.{ "N", "3" });
    const labels = [_][]const u8{ "a", "b", "c" };
    const keys = Attr{ .name = "classlabels_strings", .type = .strings, .strings = &labels };
    const zip = try h.apply("ai.onnx.ml", "ZipMap", 1, &.{scores}, 1, &.{keys});
    const t = h.graph.value(zip[0].?).type;
    try std.testing.expect(t.kind == .sequence and t.inner_kind == .map and t.dtype == .string);
    const words = try h.tensor(.string, &.{"N"});
    const encoder = try h.apply("ai.onnx.ml", "LabelEncoder", 2, &.{words}, 1, &.{
        .{ .name = "keys_strings", .type = .strings, .strings = labels[0..2] },
        .{ .name = "values_floats", .type = .floats, .floats = &.{ 0.5, 1.5 } },
    });
    try std.testing.expectEqualStrings("float32 [N]", try h.text(encoder[0].?));
}
