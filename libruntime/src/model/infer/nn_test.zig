//! Unit tests of the nn family's rules: one node at a time on a hand-built graph, shapes written in
//! the symbolic text syntax, so the window arithmetic, constant scales and error paths are checked
//! on symbolic dims. The ONNX backend suite (suite_check.zig) covers the static cases more widely.
const std = @import("std");
const ir = @import("../ir.zig");
const status = @import("../../core/status.zig");
const testing = @import("testing.zig");

const Attr = testing.Attr;
const Harness = testing.Harness;
const expectTypes = testing.expectTypes;

test "Conv: symbolic extents with pads, strides, dilations and SAME padding" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.tensor(.float32, &.{ "N", "6", "H", "W" });
    const w = try h.tensor(.float32, &.{ "8", "3", "3", "3" });
    const padded = [_]Attr{
        .{ .name = "pads", .ints = &.{ 1, 1, 1, 1 } },
        .{ .name = "strides", .ints = &.{ 2, 1 } },
        .{ .name = "group", .i = 2 },
    };
    try expectTypes(&.{"float32 [N,8,(H+1)/2,W]"}, try h.run("Conv", 11, &.{ x, w }, 1, &padded));
    const dilated = [_]Attr{ .{ .name = "dilations", .ints = &.{ 2, 2 } }, .{ .name = "group", .i = 2 } };
    try expectTypes(&.{"float32 [N,8,H-4,W-4]"}, try h.run("Conv", 22, &.{ x, w }, 1, &dilated));
    const same = [_]Attr{
        .{ .name = "auto_pad", .s = "SAME_LOWER" },
        .{ .name = "strides", .ints = &.{ 3, 3 } },
        .{ .name = "group", .i = 2 },
    };
    try expectTypes(&.{"float32 [N,8,(H+2)/3,(W+2)/3]"}, try h.run("Conv", 11, &.{ x, w }, 1, &same));
}

test "Conv: channel, rank, attribute and size errors are ShapeErrors" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.tensor(.float32, &.{ "1", "3", "2", "2" });
    const w = try h.tensor(.float32, &.{ "4", "3", "3", "3" });
    try std.testing.expectError(error.ShapeError, h.run("Conv", 11, &.{ x, w }, 1, &.{})); // 3x3 kernel over 2x2
    const pads = [_]Attr{.{ .name = "pads", .ints = &.{ 1, 1, 1, 1 } }};
    try expectTypes(&.{"float32 [1,4,2,2]"}, try h.run("Conv", 11, &.{ x, w }, 1, &pads));
    const grouped = [_]Attr{ .{ .name = "pads", .ints = &.{ 1, 1, 1, 1 } }, .{ .name = "group", .i = 3 } };
    try std.testing.expectError(error.ShapeError, h.run("Conv", 11, &.{ x, w }, 1, &grouped));
    const short = [_]Attr{.{ .name = "strides", .ints = &.{2} }};
    try std.testing.expectError(error.ShapeError, h.run("Conv", 11, &.{ x, w }, 1, &short));
    const negative = [_]Attr{.{ .name = "pads", .ints = &.{ -1, 0, 0, 0 } }};
    try std.testing.expectError(error.ShapeError, h.run("Conv", 11, &.{ x, w }, 1, &negative));
    const bad_pad = [_]Attr{.{ .name = "auto_pad", .s = "SAME" }};
    try std.testing.expectError(error.ShapeError, h.run("Conv", 11, &.{ x, w }, 1, &bad_pad));
    const w3 = try h.tensor(.float32, &.{ "4", "3", "3" });
    try std.testing.expectError(error.ShapeError, h.run("Conv", 11, &.{ x, w3 }, 1, &.{}));
}

test "MaxPool: ceil_mode keeps the last window off the trailing pad; indices are int64" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.tensor(.float16, &.{ "N", "C", "2", "H" });
    const attrs = [_]Attr{
        .{ .name = "kernel_shape", .ints = &.{ 3, 3 } },
        .{ .name = "pads", .ints = &.{ 1, 1, 1, 1 } },
        .{ .name = "strides", .ints = &.{ 3, 3 } },
        .{ .name = "ceil_mode", .i = 1 },
    };
    const out = try h.run("MaxPool", 12, &.{x}, 2, &attrs);
    try expectTypes(&.{ "float16 [N,C,1,min(H/3,(H+1)/3)+1]", "int64 [N,C,1,min(H/3,(H+1)/3)+1]" }, out);
    const floor_mode = [_]Attr{
        .{ .name = "kernel_shape", .ints = &.{ 2, 2 } },
        .{ .name = "strides", .ints = &.{ 2, 2 } },
    };
    try expectTypes(&.{"float16 [N,C,1,H/2]"}, try h.run("AveragePool", 19, &.{x}, 1, &floor_mode));
    try std.testing.expectError(error.ShapeError, h.run("MaxPool", 12, &.{x}, 1, &.{}));
    try expectTypes(&.{"float16 [N,C,1,1]"}, try h.run("GlobalMaxPool", 1, &.{x}, 1, &.{}));
}

test "ConvTranspose: output_padding, groups, output_shape and SAME" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.tensor(.float32, &.{ "N", "4", "H", "W" });
    const w = try h.tensor(.float32, &.{ "4", "3", "3", "3" });
    const attrs = [_]Attr{
        .{ .name = "strides", .ints = &.{ 2, 2 } },
        .{ .name = "pads", .ints = &.{ 1, 1, 1, 1 } },
        .{ .name = "output_padding", .ints = &.{ 1, 0 } },
        .{ .name = "group", .i = 2 },
    };
    try expectTypes(&.{"float32 [N,6,2*H,2*W-1]"}, try h.run("ConvTranspose", 11, &.{ x, w }, 1, &attrs));
    const given = [_]Attr{
        .{ .name = "output_shape", .ints = &.{ 9, 7 } },
        .{ .name = "strides", .ints = &.{ 2, 2 } },
    };
    try expectTypes(&.{"float32 [N,3,9,7]"}, try h.run("ConvTranspose", 11, &.{ x, w }, 1, &given));
    const same = [_]Attr{ .{ .name = "auto_pad", .s = "SAME_UPPER" }, .{ .name = "strides", .ints = &.{ 3, 2 } } };
    try expectTypes(&.{"float32 [N,3,3*H,2*W]"}, try h.run("ConvTranspose", 22, &.{ x, w }, 1, &same));
    const big_padding = [_]Attr{.{ .name = "output_padding", .ints = &.{ 1, 1 } }};
    try std.testing.expectError(error.ShapeError, h.run("ConvTranspose", 11, &.{ x, w }, 1, &big_padding));
}

test "Resize: constant scales stay exact on symbolic dims; sizes and axes" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.tensor(.float32, &.{ "N", "3", "H", "10" });
    const scales = try h.constant(f32, &.{ 1, 1, 0.5, 0.6 });
    try expectTypes(&.{"float32 [N,3,H/2,6]"}, try h.run("Resize", 13, &.{ x, null, scales }, 1, &.{}));
    const upscale = try h.constant(f32, &.{ 2, 1.5 });
    const axes = [_]Attr{.{ .name = "axes", .ints = &.{ -2, 1 } }};
    try expectTypes(&.{"float32 [N,4,2*H,10]"}, try h.run("Resize", 19, &.{ x, null, upscale }, 1, &axes));
    const sizes = try h.constant(i64, &.{ 7, 7 });
    const keep = [_]Attr{
        .{ .name = "axes", .ints = &.{ 1, 3 } },
        .{ .name = "keep_aspect_ratio_policy", .s = "not_larger" },
    };
    try expectTypes(&.{"float32 [N,2,H,7]"}, try h.run("Resize", 18, &.{ x, null, null, sizes }, 1, &keep));
    const empty = try h.constant(f32, &.{});
    const all_sizes = try h.constant(i64, &.{ 1, 2, 3, 4 });
    try expectTypes(&.{"float32 [1,2,3,4]"}, try h.run("Resize", 11, &.{ x, empty, empty, all_sizes }, 1, &.{}));
    try std.testing.expectError(error.ShapeError, h.run("Resize", 13, &.{ x, null, scales, all_sizes }, 1, &.{}));
    const negative = try h.constant(f32, &.{ 1, 1, -2, 1 });
    try std.testing.expectError(error.ShapeError, h.run("Resize", 13, &.{ x, null, negative }, 1, &.{}));
    const computed = try h.tensor(.float32, &.{"4"});
    const unknown = try h.run("Resize", 10, &.{ x, computed }, 1, &.{});
    try expectTypes(&.{"float32 [resized__0,resized__1,resized__2,resized__3]"}, unknown);
}

test "Upsample: scales attribute (opset 7), input (opset 9), height/width (opset 1)" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.tensor(.int64, &.{ "N", "C", "H", "W" });
    const attrs = [_]Attr{.{ .name = "scales", .floats = &.{ 1, 1, 2, 3 } }};
    try expectTypes(&.{"int64 [N,C,2*H,3*W]"}, try h.run("Upsample", 7, &.{x}, 1, &attrs));
    const scales = try h.constant(f32, &.{ 1, 1, 2, 2 });
    try expectTypes(&.{"int64 [N,C,2*H,2*W]"}, try h.run("Upsample", 9, &.{ x, scales }, 1, &.{}));
    const old = [_]Attr{ .{ .name = "height_scale", .f = 2 }, .{ .name = "width_scale", .f = 4 } };
    try expectTypes(&.{"int64 [N,C,2*H,4*W]"}, try h.run("Upsample", 1, &.{x}, 1, &old));
}

test "normalizations: side outputs across opsets" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.tensor(.float16, &.{ "N", "C", "S" });
    const c = try h.tensor(.float16, &.{"C"});
    const stats = try h.tensor(.float32, &.{"C"});
    const training = [_]Attr{.{ .name = "training_mode", .i = 1 }};
    const inputs = [_]?ir.ValueId{ x, c, c, stats, stats };
    const trained = try h.run("BatchNormalization", 15, &inputs, 3, &training);
    try expectTypes(&.{ "float16 [N,C,S]", "float32 [C]", "float32 [C]" }, trained);
    try std.testing.expectError(error.ShapeError, h.run("BatchNormalization", 15, &inputs, 3, &.{}));
    const old = try h.run("BatchNormalization", 7, &.{ x, c, c, c, c }, 5, &.{});
    try expectTypes(&.{ "float16 [N,C,S]", "float16 [C]", "float16 [C]", "float16 [C]", "float16 [C]" }, old);
    const axis = [_]Attr{.{ .name = "axis", .i = -2 }};
    const scale = try h.tensor(.float16, &.{ "C", "S" });
    const layer = try h.run("LayerNormalization", 17, &.{ x, scale }, 3, &axis);
    try expectTypes(&.{ "float16 [N,C,S]", "float32 [N,1,1]", "float32 [N,1,1]" }, layer);
    const wrong = try h.tensor(.float16, &.{"3"});
    const fixed = try h.tensor(.float16, &.{ "2", "7" });
    const first = [_]Attr{.{ .name = "axis", .i = 0 }};
    try std.testing.expectError(error.ShapeError, h.run("LayerNormalization", 17, &.{ fixed, wrong, null }, 1, &first));
    try expectTypes(&.{"float16 [N,C,S]"}, try h.run("RMSNormalization", 23, &.{ x, scale }, 1, &.{}));
    const groups = [_]Attr{.{ .name = "num_groups", .i = 4 }};
    const y = try h.tensor(.float32, &.{ "N", "6", "S" });
    try std.testing.expectError(error.ShapeError, h.run("GroupNormalization", 21, &.{ y, stats, stats }, 1, &groups));
    try expectTypes(&.{ "float16 [N,C,S]", "bool [N,C,S]" }, try h.run("Dropout", 13, &.{x}, 2, &.{}));
    try expectTypes(&.{ "float16 [N,C,S]", "float16 [N,C,S]" }, try h.run("Dropout", 7, &.{x}, 2, &.{}));
}

test "vision ops: data-dependent dims are fresh, known ones exact" {
    var h = Harness.init();
    defer h.deinit();
    const boxes = try h.tensor(.float32, &.{ "B", "S", "4" });
    const scores = try h.tensor(.float32, &.{ "B", "K", "S" });
    try expectTypes(&.{"int64 [selected__0,3]"}, try h.run("NonMaxSuppression", 11, &.{ boxes, scores }, 1, &.{}));
    const triples = try h.tensor(.float32, &.{ "1", "5", "3" });
    try std.testing.expectError(error.ShapeError, h.run("NonMaxSuppression", 11, &.{ triples, scores }, 1, &.{}));
    const columns = try h.tensor(.float32, &.{ "N", "8", "16" });
    const image = try h.constant(i64, &.{ 5, 5 });
    const block = try h.constant(i64, &.{ 2, 2 });
    try expectTypes(&.{"float32 [N,2,5,5]"}, try h.run("Col2Im", 18, &.{ columns, image, block }, 1, &.{}));
    const odd = try h.tensor(.float32, &.{ "N", "8", "15" });
    try std.testing.expectError(error.ShapeError, h.run("Col2Im", 18, &.{ odd, image, block }, 1, &.{}));
    const theta = try h.tensor(.float32, &.{ "N", "2", "3" });
    const size = try h.constant(i64, &.{ 2, 3, 9, 11 });
    try expectTypes(&.{"float32 [2,9,11,2]"}, try h.run("AffineGrid", 20, &.{ theta, size }, 1, &.{}));
    const x = try h.tensor(.float32, &.{ "N", "C", "D", "H", "W" });
    const grid = try h.tensor(.float32, &.{ "N", "P", "Q", "R", "3" });
    try expectTypes(&.{"float32 [N,C,P,Q,R]"}, try h.run("GridSample", 20, &.{ x, grid }, 1, &.{}));
    try std.testing.expectError(error.ShapeError, h.run("GridSample", 16, &.{ x, grid }, 1, &.{}));
}

test "CausalConvWithState: the state keeps k - 1 positions" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.tensor(.bfloat16, &.{ "B", "C", "L" });
    const w = try h.tensor(.bfloat16, &.{ "C", "1", "4" });
    const out = try h.run("CausalConvWithState", 27, &.{ x, w }, 2, &.{});
    try expectTypes(&.{ "bfloat16 [B,C,L]", "bfloat16 [B,C,3]" }, out);
    const past = try h.tensor(.bfloat16, &.{ "B", "C", "2" });
    try std.testing.expectError(error.ShapeError, h.run("CausalConvWithState", 27, &.{ x, w, null, past }, 2, &.{}));
}

test "hostile attributes fail as ShapeErrors instead of overflowing" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.tensor(.float32, &.{ "N", "1", "H", "8" });
    const max = std.math.maxInt(i64);
    const huge = [_][]const Attr{
        &.{ .{ .name = "kernel_shape", .ints = &.{ 3, 3 } }, .{ .name = "dilations", .ints = &.{ 1, max } } },
        &.{ .{ .name = "kernel_shape", .ints = &.{ 3, 3 } }, .{ .name = "pads", .ints = &.{ 0, max, 0, max } } },
        &.{.{ .name = "kernel_shape", .ints = &.{ 3, 0 } }},
        &.{ .{ .name = "kernel_shape", .ints = &.{ 3, 3 } }, .{ .name = "ceil_mode", .i = 2 } },
    };
    for (huge) |attrs| try std.testing.expectError(error.ShapeError, h.run("MaxPool", 12, &.{x}, 1, attrs));
    const scales = try h.constant(f32, &.{ 1, 1, 1, 1e30 });
    try std.testing.expectError(error.ShapeError, h.run("Resize", 13, &.{ x, null, scales }, 1, &.{}));
    const nan = try h.constant(f32, &.{ 1, 1, std.math.nan(f32), 1 });
    try std.testing.expectError(error.ShapeError, h.run("Resize", 13, &.{ x, null, nan }, 1, &.{}));
    const repeated = [_]Attr{.{ .name = "axes", .ints = &.{ 2, -2 } }};
    const two = try h.constant(f32, &.{ 2, 2 });
    try std.testing.expectError(error.ShapeError, h.run("Resize", 19, &.{ x, null, two }, 1, &repeated));
}

test "ImageDecoder and Gradient have no rule, so loading refuses them by name" {
    // No CPU kernel decodes images or differentiates graphs: a model using either fails at load
    // rather than at its first run.
    const cases = .{
        .{ "", "ImageDecoder", "operator ImageDecoder (domain ai.onnx, opset 20) is not supported" },
        .{ "ai.onnx.preview.training", "Gradient", "operator Gradient (domain ai.onnx.preview.training, opset 1) is not supported" },
    };
    inline for (cases) |case| {
        var h = Harness.init();
        defer h.deinit();
        const root = &h.graph;
        const x = try h.value(root, .uint8, &.{"L"});
        _ = try h.node(root, case[1], if (case[0].len == 0) 20 else 1, &.{x}, 1, &.{}, &.{});
        root.nodes.items[0].domain = case[0];
        try std.testing.expectError(error.NotImplemented, h.infer());
        try std.testing.expectStringStartsWith(std.mem.span(status.lastMessage()), case[2]);
    }
}
