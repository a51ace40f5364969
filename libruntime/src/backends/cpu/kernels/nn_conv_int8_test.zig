//! QLinearConv and ConvInteger against a direct convolution loop with the ONNX reference's
//! requantization, bit for bit, for every int8 GEMM variant this CPU runs: odd sizes, padding,
//! strides, dilations, groups, per-channel scales and zero points, u8 and s8 on either side.
const std = @import("std");
const test_node = @import("test_node.zig");
const qgemm = @import("../qgemm.zig");
const conv_int8 = @import("nn_conv_int8.zig");

const Tensor = test_node.Tensor;
const DType = @import("../kernel.zig").DType;
const testing = std.testing;

fn bytesTensor(arena: std.mem.Allocator, dtype: DType, shape: []const i64, data: []const u8) !*Tensor {
    const t = try arena.create(Tensor);
    const bytes = try arena.alignedAlloc(u8, .@"64", data.len);
    @memcpy(bytes, data);
    t.* = .{ .dtype = dtype, .shape = try arena.dupe(i64, shape), .data = bytes };
    return t;
}

fn value(byte: u8, signed: bool) i32 {
    return if (signed) @as(i8, @bitCast(byte)) else byte;
}

const Case = struct {
    n: usize = 2,
    c: usize,
    m: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    stride: usize = 1,
    pad: usize = 0,
    dilation: usize = 1,
    group: usize = 1,
    x_signed: bool,
    w_signed: bool,
    y_signed: bool,

    fn outH(self: Case) usize {
        return (self.h + 2 * self.pad - self.dilation * (self.kh - 1) - 1) / self.stride + 1;
    }
    fn outW(self: Case) usize {
        return (self.w + 2 * self.pad - self.dilation * (self.kw - 1) - 1) / self.stride + 1;
    }
};

/// The int32 convolution of (x - zx) and (w - zw[oc]), plus bias, by definition.
fn directConv(c: Case, x: []const u8, w: []const u8, zx: i32, zw: []const i32, bias: []const i32, out: []i32) void {
    const oh_n = c.outH();
    const ow_n = c.outW();
    const cg = c.c / c.group;
    const mg = c.m / c.group;
    for (0..c.n) |n| for (0..c.m) |oc| for (0..oh_n) |oh| for (0..ow_n) |ow| {
        var sum: i32 = bias[oc];
        const g = oc / mg;
        for (0..cg) |ci| for (0..c.kh) |ky| for (0..c.kw) |kx| {
            const iy = @as(i64, @intCast(oh * c.stride + ky * c.dilation)) - @as(i64, @intCast(c.pad));
            const ix = @as(i64, @intCast(ow * c.stride + kx * c.dilation)) - @as(i64, @intCast(c.pad));
            if (iy < 0 or ix < 0 or iy >= c.h or ix >= c.w) continue;
            const ch = g * cg + ci;
            const xv = value(x[((n * c.c + ch) * c.h + @as(usize, @intCast(iy))) * c.w + @as(usize, @intCast(ix))], c.x_signed) - zx;
            const wv = value(w[((oc * cg + ci) * c.kh + ky) * c.kw + kx], c.w_signed) - zw[if (zw.len == 1) 0 else oc];
            sum +%= xv *% wv;
        };
        out[((n * c.m + oc) * oh_n + oh) * ow_n + ow] = sum;
    };
}

fn saturate(comptime T: type, v: f64) T {
    const r = @round(v);
    const rounded = if (@abs(v - @trunc(v)) == 0.5) 2.0 * @round(v / 2.0) else r;
    return @intFromFloat(std.math.clamp(rounded, std.math.minInt(T), std.math.maxInt(T)));
}

fn runCase(arena: std.mem.Allocator, c: Case, seed: u64) !void {
    var prng = std.Random.DefaultPrng.init(seed);
    const random = prng.random();
    const cg = c.c / c.group;
    const x = try arena.alloc(u8, c.n * c.c * c.h * c.w);
    const w = try arena.alloc(u8, c.m * cg * c.kh * c.kw);
    random.bytes(x);
    random.bytes(w);
    const zx_byte = random.int(u8);
    const zw_bytes = try arena.alloc(u8, c.m);
    random.bytes(zw_bytes);
    const zw = try arena.alloc(i32, c.m);
    for (zw, zw_bytes) |*z, b| z.* = value(b, c.w_signed);
    const bias = try arena.alloc(i32, c.m);
    for (bias) |*b| b.* = random.intRangeAtMost(i32, -5000, 5000);
    const w_scale = try arena.alloc(f32, c.m);
    for (w_scale) |*s| s.* = 0.002 + random.float(f32) * 0.01;
    const x_scale: f32 = 0.02 + random.float(f32) * 0.05;
    const y_scale: f32 = 0.05 + random.float(f32) * 0.2;
    const zy_byte = random.int(u8);

    const out_count = c.n * c.m * c.outH() * c.outW();
    const expected = try arena.alloc(i32, out_count);
    directConv(c, x, w, value(zx_byte, c.x_signed), zw, bias, expected);
    const without_bias = try arena.alloc(i32, out_count);
    directConv(c, x, w, value(zx_byte, c.x_signed), zw, &([_]i32{0} ** 64), without_bias);

    const q = struct {
        fn dtype(signed: bool) DType {
            return if (signed) .int8 else .uint8;
        }
    };
    const attributes = [_]@import("../../../model/ir.zig").Attribute{
        try test_node.attribute(arena, "strides", @as([]const i64, &.{ @intCast(c.stride), @intCast(c.stride) })),
        try test_node.attribute(arena, "pads", @as([]const i64, &.{ @intCast(c.pad), @intCast(c.pad), @intCast(c.pad), @intCast(c.pad) })),
        try test_node.attribute(arena, "dilations", @as([]const i64, &.{ @intCast(c.dilation), @intCast(c.dilation) })),
        try test_node.attribute(arena, "group", @as(i64, @intCast(c.group))),
    };
    const node: test_node.Run = .{ .arena = arena, .table = &conv_int8.kernels, .attributes = &attributes };
    const xt = try bytesTensor(arena, q.dtype(c.x_signed), &.{ @intCast(c.n), @intCast(c.c), @intCast(c.h), @intCast(c.w) }, x);
    const wt = try bytesTensor(arena, q.dtype(c.w_signed), &.{ @intCast(c.m), @intCast(cg), @intCast(c.kh), @intCast(c.kw) }, w);
    const zxt = try bytesTensor(arena, q.dtype(c.x_signed), &.{}, &.{zx_byte});
    const zwt = try bytesTensor(arena, q.dtype(c.w_signed), &.{@intCast(c.m)}, zw_bytes);

    const integer = try node.call("ConvInteger", &.{ xt, wt, zxt, zwt });
    try testing.expectEqualSlices(i32, without_bias, integer.items(i32)[0..out_count]);

    const scalar_shape = [_]i64{};
    const result = try node.call("QLinearConv", &.{
        xt,                                                                            try test_node.tensor(arena, f32, &scalar_shape, &.{x_scale}),
        zxt,                                                                           wt,
        try test_node.tensor(arena, f32, &.{@intCast(c.m)}, w_scale),                  zwt,
        try test_node.tensor(arena, f32, &scalar_shape, &.{y_scale}),                  try bytesTensor(arena, q.dtype(c.y_signed), &.{}, &.{zy_byte}),
        try bytesTensor(arena, .int32, &.{@intCast(c.m)}, std.mem.sliceAsBytes(bias)),
    });
    const per_channel = c.outH() * c.outW();
    for (expected, 0..) |acc, i| {
        const oc = (i / per_channel) % c.m;
        const multiplier: f32 = x_scale * w_scale[oc] / y_scale;
        const v = @as(f64, @floatFromInt(acc)) * multiplier + @as(f64, @floatFromInt(value(zy_byte, c.y_signed)));
        if (c.y_signed) {
            try testing.expectEqual(saturate(i8, v), @as(i8, @bitCast(result.data[i])));
        } else {
            try testing.expectEqual(saturate(u8, v), result.data[i]);
        }
    }
}

test "integer convolutions match the direct loop for every int8 GEMM variant" {
    var arena_state = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena_state.deinit();
    const arena = arena_state.allocator();
    defer qgemm.overrideVariantForTests(null);
    const cases = [_]Case{
        .{ .c = 5, .m = 7, .h = 9, .w = 7, .kh = 3, .kw = 2, .pad = 1, .x_signed = false, .w_signed = true, .y_signed = false },
        .{ .c = 6, .m = 4, .h = 8, .w = 11, .kh = 3, .kw = 3, .stride = 2, .pad = 2, .group = 2, .x_signed = true, .w_signed = true, .y_signed = true },
        .{ .c = 3, .m = 13, .h = 10, .w = 10, .kh = 2, .kw = 3, .dilation = 2, .x_signed = false, .w_signed = false, .y_signed = true },
        .{ .n = 1, .c = 9, .m = 33, .h = 6, .w = 7, .kh = 1, .kw = 1, .x_signed = true, .w_signed = false, .y_signed = false },
        .{ .n = 1, .c = 4, .m = 4, .h = 5, .w = 5, .kh = 3, .kw = 3, .pad = 1, .group = 4, .x_signed = false, .w_signed = true, .y_signed = false },
    };
    var buffer: [4]qgemm.Variant = undefined;
    for (qgemm.runnableVariants(&buffer)) |variant| {
        qgemm.overrideVariantForTests(variant);
        for (cases, 0..) |c, i| runCase(arena, c, i + 11) catch |e| {
            std.debug.print("variant {s}, case {d}\n", .{ @tagName(variant), i });
            return e;
        };
    }
}
