//! Integer matrix products: MatMulInteger (int32 result) and QLinearMatMul (requantized).
//! Operands are widened to int32 with their zero points subtracted, then multiplied with the
//! batched product of linalg.zig (int32 sums wrap, as in ORT).
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");
const Entry = @import("entry.zig").Entry;
const common = @import("linalg_common.zig");
const linalg = @import("linalg.zig");

const Context = kernel.Context;
const Tensor = kernel.Tensor;
const DType = kernel.DType;

/// Which zero point serves an element: per tensor, per row of A, or per column of B (each
/// optionally repeated per batch matrix).
const ZeroPoints = struct {
    values: []const i32,
    /// Element index -> zero point index: (e / group) * per_group + (e / div) % per_group.
    div: usize,
    group: usize,
    per_group: usize,

    fn at(self: ZeroPoints, e: usize) i32 {
        if (self.values.len == 1) return self.values[0];
        return self.values[(e / self.group) * self.per_group + (e / self.div) % self.per_group];
    }
};

/// `rows_of_a`: zero points along A's rows (else along B's columns). `matrix` is (rows, cols).
fn zeroPoints(
    ctx: *Context,
    index: usize,
    x: *const Tensor,
    rows_of_a: bool,
    rows: usize,
    cols: usize,
) status.Error!ZeroPoints {
    const zp = ctx.input(index) orelse return .{ .values = &[_]i32{0}, .div = 1, .group = 1, .per_group = 1 };
    if (zp.dtype != x.dtype) {
        return ctx.fail("zero point {d} is {s}, its operand {s}", .{ index, @tagName(zp.dtype), @tagName(x.dtype) });
    }
    const n = try common.checkData(ctx, zp);
    const values = try ctx.alloc(i32, n);
    for (values, 0..) |*v, i| v.* = intAt(zp, i);
    const total = try common.product(ctx, x.shape);
    const per_matrix = rows * cols;
    const along = if (rows_of_a) rows else cols;
    if (n == 1) return .{ .values = values, .div = 1, .group = 1, .per_group = 1 };
    if (per_matrix == 0 or (n != along and n != along * (total / per_matrix))) {
        return ctx.fail(
            "zero point {d} has {d} values; expected 1 or one per {s}",
            .{ index, n, if (rows_of_a) "row" else "column" },
        );
    }
    const div: usize = if (rows_of_a) cols else 1;
    const group: usize = if (n == along) std.math.maxInt(usize) else per_matrix;
    return .{ .values = values, .div = div, .group = group, .per_group = along };
}

fn intAt(t: *const Tensor, i: usize) i32 {
    return switch (t.dtype) {
        .uint8 => t.data[i],
        .int8 => @as(i8, @bitCast(t.data[i])),
        else => 0,
    };
}

/// x minus its zero points, as int32.
fn widen(ctx: *Context, x: *const Tensor, zp: ZeroPoints) status.Error![]i32 {
    const n = try common.checkData(ctx, x);
    const out = try ctx.alloc(i32, n);
    switch (x.dtype) {
        .uint8 => for (out, x.data[0..n], 0..) |*o, v, e| {
            o.* = @as(i32, v) - zp.at(e);
        },
        .int8 => for (out, x.data[0..n], 0..) |*o, v, e| {
            o.* = @as(i32, @as(i8, @bitCast(v))) - zp.at(e);
        },
        else => return ctx.unsupported(x.dtype),
    }
    return out;
}

/// The int32 product of A and B (inputs a_index and b_index), zero points subtracted.
fn integerProduct(
    ctx: *Context,
    a_index: usize,
    a_zp: usize,
    b_index: usize,
    b_zp: usize,
) status.Error!struct { linalg.Plan, []i32 } {
    const a = try ctx.require(a_index);
    const b = try ctx.require(b_index);
    const p = try linalg.plan(ctx, a.shape, b.shape);
    const a_values = try widen(ctx, a, try zeroPoints(ctx, a_zp, a, true, p.m, p.k));
    const b_values = try widen(ctx, b, try zeroPoints(ctx, b_zp, b, false, p.k, p.n));
    const c = try ctx.alloc(i32, try common.product(ctx, p.out_shape));
    try linalg.matmulTyped(i32, ctx, p, a_values, b_values, c);
    return .{ p, c };
}

fn matmulInteger(ctx: *Context) status.Error!void {
    const result = try integerProduct(ctx, 0, 2, 1, 3);
    const out = try ctx.output(0, .int32, result[0].out_shape);
    @memcpy(out.items(i32), result[1]);
}

/// A scale as f32 values, one or `along` of them; `half` says it was float16.
fn scales(ctx: *Context, index: usize, along: usize) status.Error!struct { []const f32, bool } {
    const t = try ctx.require(index);
    const n = try common.checkData(ctx, t);
    if (n != 1 and n != along) return ctx.fail("scale {d} has {d} values; expected 1 or {d}", .{ index, n, along });
    const out = try ctx.alloc(f32, n);
    inline for (common.float_kinds) |k| if (t.dtype == k.dtype) {
        for (out, t.items(k.T)[0..n]) |*o, v| o.* = @floatCast(common.load(k.T, v));
        return .{ out, k.dtype == .float16 };
    };
    return ctx.unsupported(t.dtype);
}

fn qlinearMatmul(ctx: *Context) status.Error!void {
    const result = try integerProduct(ctx, 0, 2, 3, 5);
    const p = result[0];
    const a_scale = try scales(ctx, 1, p.m);
    const b_scale = try scales(ctx, 4, p.n);
    const y_scale = try scales(ctx, 6, 1);
    const a = try ctx.require(0);
    var dtype = a.dtype;
    var y_zp: f64 = 0;
    if (ctx.input(7)) |zp| {
        if (try common.checkData(ctx, zp) != 1) return ctx.fail("y_zero_point must be a scalar", .{});
        dtype = zp.dtype;
        y_zp = @floatFromInt(intAt(zp, 0));
    }
    const lo: f64, const hi: f64 = switch (dtype) {
        .uint8 => .{ 0, 255 },
        .int8 => .{ -128, 127 },
        else => return ctx.unsupported(dtype),
    };
    const out = try ctx.output(0, dtype, p.out_shape);
    const half = a_scale[1] or b_scale[1] or y_scale[1];
    for (out.data, result[1], 0..) |*o, c, e| {
        const i = (e / p.n) % p.m;
        const j = e % p.n;
        // The reference multiplies the scales in their own type (float16 rounds each step).
        var multiplier = a_scale[0][if (a_scale[0].len == 1) 0 else i] * b_scale[0][if (b_scale[0].len == 1) 0 else j];
        if (half) multiplier = @floatCast(@as(f16, @floatCast(multiplier)));
        multiplier /= y_scale[0][0];
        if (half) multiplier = @floatCast(@as(f16, @floatCast(multiplier)));
        const v = std.math.clamp((roundEven(@as(f64, @floatFromInt(c)) * multiplier + y_zp)), lo, hi);
        o.* = if (dtype == .uint8) @intFromFloat(v) else @bitCast(@as(i8, @intFromFloat(v)));
    }
}

fn roundEven(x: f64) f64 {
    if (std.math.isNan(x)) return 0;
    const r = @round(x);
    if (@abs(x - @trunc(x)) == 0.5) return 2.0 * @round(x / 2.0);
    return r;
}

pub const kernels = [_]Entry{
    .{ .op = "MatMulInteger", .run = matmulInteger },
    .{ .op = "QLinearMatMul", .run = qlinearMatmul },
};
