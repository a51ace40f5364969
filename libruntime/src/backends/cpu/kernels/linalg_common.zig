//! Helpers the linalg and reduce kernels share: float storage types (float16 and bfloat16 are
//! computed in f32, float64 in f64), axis and size checks, and reading small index tensors.
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");

const Context = kernel.Context;
const Tensor = kernel.Tensor;
const DType = kernel.DType;

/// bfloat16 storage: a distinct type, so that generic code never mistakes it for uint16.
pub const BF16 = enum(u16) { _ };

/// The type a float storage type computes in.
pub fn Acc(comptime T: type) type {
    return switch (T) {
        f64 => f64,
        f32, f16, BF16 => f32,
        else => T,
    };
}

pub inline fn load(comptime T: type, v: T) Acc(T) {
    return switch (T) {
        f16 => @floatCast(v),
        BF16 => @bitCast(@as(u32, @intFromEnum(v)) << 16),
        else => v,
    };
}

pub inline fn store(comptime T: type, v: Acc(T)) T {
    return switch (T) {
        f16 => @floatCast(v),
        BF16 => bf16FromF32(v),
        else => v,
    };
}

/// Round to nearest even, as ml_dtypes and ORT do; NaN stays a quiet NaN.
pub fn bf16FromF32(v: f32) BF16 {
    const bits: u32 = @bitCast(v);
    if (std.math.isNan(v)) return @enumFromInt(@as(u16, @intCast((bits >> 16) | 0x40)));
    const rounded = bits +% (0x7FFF + ((bits >> 16) & 1));
    return @enumFromInt(@as(u16, @intCast(rounded >> 16)));
}

/// A (dtype, storage type) pair for comptime dispatch tables.
pub const Kind = struct { dtype: DType, T: type };

pub const float_kinds = [_]Kind{
    .{ .dtype = .float32, .T = f32 },
    .{ .dtype = .float64, .T = f64 },
    .{ .dtype = .float16, .T = f16 },
    .{ .dtype = .bfloat16, .T = BF16 },
};

pub const int_kinds = [_]Kind{
    .{ .dtype = .int32, .T = i32 },
    .{ .dtype = .int64, .T = i64 },
    .{ .dtype = .uint32, .T = u32 },
    .{ .dtype = .uint64, .T = u64 },
    .{ .dtype = .int8, .T = i8 },
    .{ .dtype = .uint8, .T = u8 },
    .{ .dtype = .int16, .T = i16 },
    .{ .dtype = .uint16, .T = u16 },
};

pub const numeric_kinds = float_kinds ++ int_kinds;

/// Addition and multiplication that wrap for integers, like ORT's and numpy's.
pub inline fn add(comptime A: type, a: A, b: A) A {
    return if (@typeInfo(A) == .float) a + b else a +% b;
}

pub inline fn mul(comptime A: type, a: A, b: A) A {
    return if (@typeInfo(A) == .float) a * b else a *% b;
}

/// `value` as an axis of a rank-`rank` tensor (negative counts from the end).
pub fn axis(ctx: *const Context, value: i64, rank: usize) status.Error!usize {
    const r: i64 = @intCast(rank);
    const a = if (value < 0) value +% r else value;
    if (a < 0 or a >= r) return ctx.fail("axis {d} is out of range for rank {d}", .{ value, rank });
    return @intCast(a);
}

/// The product of `dims`, failing instead of overflowing.
pub fn product(ctx: *const Context, dims: []const i64) status.Error!usize {
    var n: usize = 1;
    for (dims) |d| {
        if (d < 0) return ctx.fail("negative dim {d}", .{d});
        n = std.math.mul(usize, n, @intCast(d)) catch return ctx.fail("the tensor is too large", .{});
    }
    return n;
}

/// The integers of an int32 or int64 tensor, as i64 (axes, a CumSum axis, targets).
pub fn readInts(ctx: *const Context, t: *const Tensor, what: []const u8) status.Error![]i64 {
    const n = try product(ctx, t.shape);
    const out = try ctx.alloc(i64, n);
    switch (t.dtype) {
        .int64 => {
            const src = t.items(i64);
            if (src.len < n) return ctx.fail("{s} holds too few bytes", .{what});
            @memcpy(out, src[0..n]);
        },
        .int32 => {
            const src = t.items(i32);
            if (src.len < n) return ctx.fail("{s} holds too few bytes", .{what});
            for (out, src[0..n]) |*o, v| o.* = v;
        },
        else => return ctx.fail("{s} must be int32 or int64, not {s}", .{ what, @tagName(t.dtype) }),
    }
    return out;
}

/// Checks that `t` holds the bytes its shape needs, so typed slices can be indexed freely.
pub fn checkData(ctx: *const Context, t: *const Tensor) status.Error!usize {
    const n = try product(ctx, t.shape);
    if (t.dtype == .string) return ctx.unsupported(t.dtype);
    const bytes = t.dtype.byteSize(n) orelse return ctx.fail("the tensor is too large", .{});
    if (t.data.len < bytes) {
        return ctx.fail("a {s} tensor holds {d} bytes, needs {d}", .{ @tagName(t.dtype), t.data.len, bytes });
    }
    return n;
}

/// The typed elements of `t` (its element count checked against its bytes).
pub fn elems(ctx: *const Context, comptime T: type, t: *const Tensor) status.Error![]T {
    const n = try checkData(ctx, t);
    return t.items(T)[0..n];
}
