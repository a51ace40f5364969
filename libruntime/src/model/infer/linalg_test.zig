//! Unit tests of the linalg rules: one node at a time on a hand-built graph, with shapes written
//! in the symbolic text syntax, so symbolic arithmetic and error paths are checked without files.
//! The ONNX backend suite (suite_check.zig) covers the static cases more widely.
const std = @import("std");
const ir = @import("../ir.zig");
const testing = @import("testing.zig");

const Attr = testing.Attr;
const Harness = testing.Harness;
const expectTypes = testing.expectTypes;

test "MatMul promotes 1-D operands and broadcasts batch dims symbolically" {
    var h = Harness.init();
    defer h.deinit();
    const a = try h.tensor(.float32, &.{"K"});
    const b = try h.tensor(.float32, &.{ "B", "1", "K", "M" });
    const c = try h.tensor(.float32, &.{ "S", "M", "3" });
    try expectTypes(&.{"float32 [B,1,M]"}, try h.run("MatMul", 13, &.{ a, b }, 1, &.{}));
    try expectTypes(&.{"float32 [B,S,K,3]"}, try h.run("MatMul", 13, &.{ b, c }, 1, &.{}));
    const bad = try h.tensor(.float32, &.{ "2", "5" });
    const d = try h.tensor(.float32, &.{ "3", "4" });
    try std.testing.expectError(error.ShapeError, h.run("MatMul", 13, &.{ bad, d }, 1, &.{}));
}

test "Einsum: implicit output sorts single labels after the ellipsis" {
    var h = Harness.init();
    defer h.deinit();
    const a = try h.tensor(.float32, &.{ "X", "N", "K" });
    const b = try h.tensor(.float32, &.{ "K", "M" });
    const implicit = [_]Attr{.{ .name = "equation", .s = "...ij, jk" }};
    try expectTypes(&.{"float32 [X,N,M]"}, try h.run("Einsum", 12, &.{ a, b }, 1, &implicit));
    const trace = [_]Attr{.{ .name = "equation", .s = "ii" }};
    const square = try h.tensor(.int32, &.{ "3", "3" });
    try expectTypes(&.{"int32 []"}, try h.run("Einsum", 12, &.{square}, 1, &trace));
    const unknown_label = [_]Attr{.{ .name = "equation", .s = "ij->iz" }};
    try std.testing.expectError(error.ShapeError, h.run("Einsum", 12, &.{square}, 1, &unknown_label));
}

test "Attention with 3-D inputs and a KV cache" {
    var h = Harness.init();
    defer h.deinit();
    const q = try h.tensor(.float16, &.{ "B", "S", "32" });
    const k = try h.tensor(.float16, &.{ "B", "T", "16" });
    const v = try h.tensor(.float16, &.{ "B", "T", "24" });
    const past_key = try h.tensor(.float16, &.{ "B", "2", "P", "8" });
    const past_value = try h.tensor(.float16, &.{ "B", "2", "P", "12" });
    const heads = [_]Attr{ .{ .name = "q_num_heads", .i = 4 }, .{ .name = "kv_num_heads", .i = 2 } };
    const inputs = [_]?ir.ValueId{ q, k, v, null, past_key, past_value };
    try expectTypes(&.{
        "float16 [B,S,48]", "float16 [B,2,P+T,8]", "float16 [B,2,P+T,12]", "float16 [B,4,S,P+T]",
    }, try h.run("Attention", 23, &inputs, 4, &heads));
    const odd = [_]Attr{ .{ .name = "q_num_heads", .i = 3 }, .{ .name = "kv_num_heads", .i = 2 } };
    try std.testing.expectError(error.ShapeError, h.run("Attention", 23, &inputs, 4, &odd));
}

test "LSTM: batch-first layout and hidden size from R" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.tensor(.float32, &.{ "N", "L", "5" });
    const w = try h.tensor(.float32, &.{ "2", "28", "5" });
    const r = try h.tensor(.float32, &.{ "2", "28", "7" });
    const attrs = [_]Attr{
        .{ .name = "layout", .i = 1 },
        .{ .name = "direction", .s = "bidirectional" },
    };
    try expectTypes(
        &.{ "float32 [N,L,2,7]", "float32 [N,2,7]", "float32 [N,2,7]" },
        try h.run("LSTM", 14, &.{ x, w, r }, 3, &attrs),
    );
    const forward = [_]Attr{.{ .name = "layout", .i = 1 }};
    try std.testing.expectError(error.ShapeError, h.run("LSTM", 14, &.{ x, w, r }, 3, &forward));
}

test "QuantizeLinear: uint8 by default, the zero point's type, blocked scales" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.tensor(.float32, &.{ "M", "64" });
    const scalar = try h.tensor(.float32, &.{});
    try expectTypes(&.{"uint8 [M,64]"}, try h.run("QuantizeLinear", 13, &.{ x, scalar }, 1, &.{}));
    const zero_point = try h.tensor(.int4, &.{});
    try expectTypes(&.{"int4 [M,64]"}, try h.run("QuantizeLinear", 21, &.{ x, scalar, zero_point }, 1, &.{}));
    const blocked = try h.tensor(.float32, &.{ "M", "3" });
    const block = [_]Attr{.{ .name = "block_size", .i = 32 }};
    try std.testing.expectError(error.ShapeError, h.run("QuantizeLinear", 21, &.{ x, blocked }, 1, &block));
    const negative = [_]Attr{.{ .name = "block_size", .i = -1 }};
    try std.testing.expectError(error.ShapeError, h.run("QuantizeLinear", 21, &.{ x, blocked }, 1, &negative));
}
