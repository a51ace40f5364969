//! Linear quantization kernels: QuantizeLinear, DequantizeLinear (per tensor, per axis, blocked)
//! and DynamicQuantizeLinear. Element codecs live in linalg_qtypes.zig; the integer products
//! MatMulInteger and QLinearMatMul in linalg_qmatmul.zig.
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");
const Entry = @import("entry.zig").Entry;
const common = @import("linalg_common.zig");
const qtypes = @import("linalg_qtypes.zig");

const Context = kernel.Context;
const Tensor = kernel.Tensor;
const DType = kernel.DType;

/// Which scale serves element (outer, a, inner) of x seen as [outer, dim, inner] around the
/// axis: index = outer * s_outer + (a / block) * s_axis + inner * s_inner.
const Granularity = struct {
    outer: usize,
    dim: usize,
    inner: usize,
    block: usize = 1,
    s_outer: usize = 0,
    s_axis: usize = 0,
    s_inner: usize = 0,
    params: usize,
};

fn granularity(ctx: *Context, x: *const Tensor, scale: *const Tensor) status.Error!Granularity {
    const n = try common.product(ctx, x.shape);
    const params = try common.product(ctx, scale.shape);
    if (params == 1) return .{ .outer = 1, .dim = 1, .inner = n, .params = 1 };
    if (params == 0) return ctx.fail("the scale is empty", .{});
    const axis = try common.axis(ctx, ctx.node.attrInt("axis", 1), x.shape.len);
    const outer = try common.product(ctx, x.shape[0..axis]);
    const dim: usize = @intCast(x.shape[axis]);
    const inner = try common.product(ctx, x.shape[axis + 1 ..]);
    const block_attr = if (ctx.node.opset >= 21) ctx.node.attrInt("block_size", 0) else 0;
    if (block_attr < 0) return ctx.fail("block_size must not be negative, not {d}", .{block_attr});
    if (block_attr == 0) {
        if (scale.shape.len != 1 or params != dim) {
            return ctx.fail("a per-axis scale must be 1-D of length {d}", .{dim});
        }
        return .{ .outer = outer, .dim = dim, .inner = inner, .s_axis = 1, .params = params };
    }
    const block: usize = @intCast(block_attr);
    if (scale.shape.len != x.shape.len) return ctx.fail("a blocked scale must have rank {d}", .{x.shape.len});
    const blocks = (dim + block - 1) / block;
    for (scale.shape, x.shape, 0..) |s, d, k| {
        const expected: i64 = if (k == axis) @intCast(blocks) else d;
        if (s != expected) return ctx.fail("blocked scale dim {d} is {d}, expected {d}", .{ k, s, expected });
    }
    return .{
        .outer = outer,
        .dim = dim,
        .inner = inner,
        .block = block,
        .s_outer = blocks * inner,
        .s_axis = inner,
        .s_inner = 1,
        .params = params,
    };
}

/// Scale (and zero point) values as f32, checked against the granularity.
fn paramValues(ctx: *Context, t: *const Tensor, g: Granularity, what: []const u8) status.Error![]f32 {
    const n = try common.checkData(ctx, t);
    if (n != g.params) return ctx.fail("the {s} has {d} values, the scale {d}", .{ what, n, g.params });
    const out = try ctx.alloc(f32, n);
    inline for (qtypes.dequantizable) |dt| if (t.dtype == dt) {
        for (out, 0..) |*o, i| o.* = qtypes.Codec(dt).get(t.data, i);
        return out;
    };
    inline for (common.float_kinds) |k| if (t.dtype == k.dtype) {
        for (out, t.items(k.T)[0..n]) |*o, v| o.* = @floatCast(common.load(k.T, v));
        return out;
    };
    return ctx.unsupported(t.dtype);
}

fn zeroPoints(ctx: *Context, g: Granularity) status.Error![]f32 {
    if (ctx.input(2)) |zp| return paramValues(ctx, zp, g, "zero point");
    const zeros = try ctx.alloc(f32, g.params);
    @memset(zeros, 0);
    return zeros;
}

fn quantizeLinear(ctx: *Context) status.Error!void {
    const x = try ctx.require(0);
    const scale = try ctx.require(1);
    const attr = if (ctx.node.opset >= 21) ctx.node.attrInt("output_dtype", 0) else 0;
    var dtype: DType = .uint8;
    if (attr != 0) dtype = DType.fromInt(std.math.cast(i32, attr) orelse 0) catch return ctx.fail(
        "output_dtype {d} is unknown",
        .{attr},
    );
    if (ctx.input(2)) |zp| {
        if (attr != 0 and zp.dtype != dtype) return ctx.fail("output_dtype differs from the zero point's type", .{});
        dtype = zp.dtype;
    }
    const g = try granularity(ctx, x, scale);
    const scales = try paramValues(ctx, scale, g, "scale");
    const zps = try zeroPoints(ctx, g);
    const saturate = ctx.node.attrInt("saturate", 1) != 0;
    inline for (qtypes.quantized) |dt| if (dtype == dt) {
        const out = try ctx.output(0, dt, x.shape);
        @memset(out.data, 0);
        inline for (common.float_kinds ++ [_]common.Kind{.{ .dtype = .int32, .T = i32 }}) |k| if (x.dtype == k.dtype) {
            const xs = try common.elems(ctx, k.T, x);
            return quantizeLoop(k.T, qtypes.Codec(dt), g, xs, scales, zps, out.data, saturate);
        };
        return ctx.unsupported(x.dtype);
    };
    return ctx.fail("cannot quantize to {s}", .{@tagName(dtype)});
}

fn quantizeLoop(
    comptime T: type,
    comptime C: type,
    g: Granularity,
    x: []const T,
    scales: []const f32,
    zps: []const f32,
    out: []u8,
    saturate: bool,
) void {
    var i: usize = 0;
    for (0..g.outer) |o| {
        for (0..g.dim) |a| {
            const base = o * g.s_outer + (a / g.block) * g.s_axis;
            for (0..g.inner) |in| {
                const p = base + in * g.s_inner;
                const v: f32 = if (@typeInfo(T) == .int) @floatFromInt(x[i]) else @floatCast(common.load(T, x[i]));
                const scaled = v / scales[p];
                // Float targets take the zero point as an offset (float4e2m1) or ignore it (it
                // must be 0 for float8); integers round half to even, then saturate.
                const q = if (C.is_float) scaled + zps[p] else C.saturateInt(qtypes.roundHalfEven(scaled) + zps[p]);
                C.put(out, i, q, saturate);
                i += 1;
            }
        }
    }
}

fn dequantizeLinear(ctx: *Context) status.Error!void {
    const x = try ctx.require(0);
    const scale = try ctx.require(1);
    const attr = if (ctx.node.opset >= 23) ctx.node.attrInt("output_dtype", 0) else 0;
    var dtype: DType = if (ctx.node.opset >= 19) scale.dtype else .float32;
    if (attr != 0) dtype = DType.fromInt(std.math.cast(i32, attr) orelse 0) catch return ctx.fail(
        "output_dtype {d} is unknown",
        .{attr},
    );
    if (ctx.input(2)) |zp| if (zp.dtype != x.dtype) return ctx.fail(
        "the zero point is {s}, x is {s}",
        .{ @tagName(zp.dtype), @tagName(x.dtype) },
    );
    const g = try granularity(ctx, x, scale);
    const scales = try paramValues(ctx, scale, g, "scale");
    const zps = try zeroPoints(ctx, g);
    _ = try common.checkData(ctx, x);
    inline for (qtypes.dequantizable) |dt| if (x.dtype == dt) {
        inline for (common.float_kinds) |k| if (dtype == k.dtype) {
            const out = try ctx.output(0, dtype, x.shape);
            dequantizeLoop(k.T, qtypes.Codec(dt), g, x.data, scales, zps, out.items(k.T));
            return;
        };
        return ctx.fail("cannot dequantize to {s}", .{@tagName(dtype)});
    };
    return ctx.unsupported(x.dtype);
}

fn dequantizeLoop(
    comptime T: type,
    comptime C: type,
    g: Granularity,
    x: []const u8,
    scales: []const f32,
    zps: []const f32,
    out: []T,
) void {
    var i: usize = 0;
    for (0..g.outer) |o| {
        for (0..g.dim) |a| {
            const base = o * g.s_outer + (a / g.block) * g.s_axis;
            for (0..g.inner) |in| {
                const p = base + in * g.s_inner;
                // Float formats carry no zero point (float8 requires 0, float4e2m1 ignores it).
                const zp = if (C.is_float) 0 else zps[p];
                const v = (C.get(x, i) - zp) * scales[p];
                out[i] = common.store(T, @floatCast(v));
                i += 1;
            }
        }
    }
}

/// uint8 with scale and zero point chosen so that [min(x, 0), max(x, 0)] spans [0, 255]. Both
/// passes run on vectors; the arithmetic is the scalar formula's (a division, not a reciprocal),
/// so every element is the same.
fn dynamicQuantizeLinear(ctx: *Context) status.Error!void {
    const x = try ctx.require(0);
    if (x.dtype != .float32) return ctx.unsupported(x.dtype);
    const xs = try common.elems(ctx, f32, x);
    const range = dynamicRange(xs);
    const scale: f32 = (if (range[1] == range[0]) 1.0 else range[1] - range[0]) / 255.0;
    const zp = qtypes.roundHalfEven(std.math.clamp(0 - range[0] / scale, 0, 255));
    const y = try ctx.output(0, .uint8, x.shape);
    quantizeToUint8(xs, scale, zp, y.data[0..xs.len]);
    const scalar = [_]i64{};
    const s = try ctx.output(1, .float32, &scalar);
    s.items(f32)[0] = scale;
    const z = try ctx.output(2, .uint8, &scalar);
    z.data[0] = @intFromFloat(zp);
}

const lanes = 16;
const V = @Vector(lanes, f32);

/// min(x, 0) and max(x, 0); NaN elements are skipped (as @min and @max skip them).
fn dynamicRange(xs: []const f32) [2]f32 {
    var lo: V = @splat(0);
    var hi: V = @splat(0);
    var i: usize = 0;
    while (i + lanes <= xs.len) : (i += lanes) {
        const v: V = xs[i..][0..lanes].*;
        lo = @min(lo, v);
        hi = @max(hi, v);
    }
    var low = @reduce(.Min, lo);
    var high = @reduce(.Max, hi);
    for (xs[i..]) |v| {
        low = @min(low, v);
        high = @max(high, v);
    }
    return .{ low, high };
}

/// round_half_even(x / scale) + zp, saturated to [0, 255]; NaN gives 0.
fn quantizeToUint8(xs: []const f32, scale: f32, zp: f32, out: []u8) void {
    var i: usize = 0;
    while (i + lanes <= xs.len) : (i += lanes) {
        out[i..][0..lanes].* = quantizeLanes(lanes, xs[i..][0..lanes].*, scale, zp);
    }
    for (xs[i..], out[i..]) |v, *o| o.* = quantizeLanes(1, @splat(v), scale, zp)[0];
}

fn quantizeLanes(comptime n: usize, v: @Vector(n, f32), scale: f32, zp: f32) @Vector(n, u8) {
    const F = @Vector(n, f32);
    var q = v / @as(F, @splat(scale));
    // Far outside [0, 255] after the zero point either way: clamping first changes no result
    // and keeps the rounding trick below exact (it needs |q| < 2^22).
    q = @min(@max(q, @as(F, @splat(-512))), @as(F, @splat(512)));
    // Adding and removing 1.5 * 2^23 rounds half to even in the default rounding mode.
    const magic: F = @splat(12582912.0);
    q = (q + magic) - magic + @as(F, @splat(zp));
    q = @select(f32, q != q, @as(F, @splat(0)), q);
    q = @min(@max(q, @as(F, @splat(0))), @as(F, @splat(255)));
    return @intFromFloat(q);
}

pub const kernels = [_]Entry{
    .{ .op = "QuantizeLinear", .run = quantizeLinear },
    .{ .op = "DequantizeLinear", .run = dequantizeLinear },
    .{ .op = "DynamicQuantizeLinear", .run = dynamicQuantizeLinear },
} ++ @import("linalg_qmatmul.zig").kernels;

test "DynamicQuantizeLinear's vector passes give the scalar formula's bytes" {
    var prng = std.Random.DefaultPrng.init(5);
    const random = prng.random();
    var xs: [1001]f32 = undefined;
    var got: [1001]u8 = undefined;
    for ([_]usize{ 1, 15, 16, 37, 1001 }) |len| {
        for (xs[0..len]) |*v| v.* = (random.float(f32) - 0.3) * 7;
        const range = dynamicRange(xs[0..len]);
        const scale: f32 = (if (range[1] == range[0]) 1.0 else range[1] - range[0]) / 255.0;
        const zp = qtypes.roundHalfEven(std.math.clamp(0 - range[0] / scale, 0, 255));
        quantizeToUint8(xs[0..len], scale, zp, got[0..len]);
        var lo: f32 = 0;
        var hi: f32 = 0;
        for (xs[0..len]) |v| {
            lo = @min(lo, v);
            hi = @max(hi, v);
        }
        try std.testing.expectEqual(lo, range[0]);
        try std.testing.expectEqual(hi, range[1]);
        for (xs[0..len], got[0..len]) |v, q| {
            const want: u8 = @intFromFloat(std.math.clamp(qtypes.roundHalfEven(v / scale) + zp, 0, 255));
            try std.testing.expectEqual(want, q);
        }
    }
    // Values that land on exact halves round to even, as the reference does.
    const halves = [_]f32{ 0.5, 1.5, 2.5, -0.5, -1.5, 254.5 };
    var out: [halves.len]u8 = undefined;
    quantizeToUint8(&halves, 1, 1, &out);
    try std.testing.expectEqualSlices(u8, &.{ 1, 3, 3, 1, 0, 255 }, &out);
}
