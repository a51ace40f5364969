//! Casts to and from the 8-bit floats (float8e4m3fn, e4m3fnuz, e5m2, e5m2fnuz, e8m0), float4e2m1
//! and the packed 4- and 2-bit integers. Values pass through f64, which holds every source
//! exactly enough: small floats round to nearest even from a table of their values, and
//! integers wrap modulo their width, as onnx's reference (ml_dtypes) does.
const std = @import("std");
const util = @import("tensor_ops_util.zig");
const cast_module = @import("tensor_ops_cast.zig");

const Context = util.Context;
const Tensor = util.Tensor;
const DType = util.DType;
const Error = util.Error;

pub fn handles(dtype: DType) bool {
    return switch (dtype) {
        .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0, .float4e2m1 => true,
        .int4, .uint4, .int2, .uint2 => true,
        else => false,
    };
}

/// A small float format: exponent and mantissa bits, bias, and how it spells NaN and infinity.
const Format = struct {
    e: u3,
    m: u3,
    bias: i32,
    /// fnuz: one NaN (0x80), no negative zero, no infinity.
    fnuz: bool = false,
    /// e5m2: IEEE infinities and NaNs in the top exponent.
    ieee: bool = false,
    /// e4m3fn: S.1111.111 is NaN, no infinity.
    fn_nan: bool = false,
    /// Largest finite code (positive).
    max_code: u8,

    fn bits(comptime self: Format) u4 {
        return 1 + @as(u4, self.e) + self.m;
    }

    /// The value of positive code `c` read as a plain number (no special codes).
    fn plain(comptime self: Format, c: u32) f64 {
        const e: i32 = @intCast(c >> self.m);
        const m: f64 = @floatFromInt(c & ((@as(u32, 1) << self.m) - 1));
        const scale: f64 = @floatFromInt(@as(u32, 1) << self.m);
        if (e == 0) return std.math.ldexp(m / scale, 1 - self.bias);
        return std.math.ldexp(1 + m / scale, e - self.bias);
    }

    fn decode(comptime self: Format, code: u8) f64 {
        const sign_bit: u8 = if (self.bits() == 8) 0x80 else 0x08;
        const magnitude = code & (sign_bit - 1);
        const negative = code & sign_bit != 0;
        if (self.fnuz and code == 0x80) return std.math.nan(f64);
        if (self.fn_nan and magnitude == 0x7f) return std.math.nan(f64);
        if (self.ieee and magnitude >> self.m == (1 << self.e) - 1) {
            if (magnitude & ((1 << self.m) - 1) != 0) return std.math.nan(f64);
            return if (negative) -std.math.inf(f64) else std.math.inf(f64);
        }
        const v = self.plain(magnitude);
        return if (negative) -v else v;
    }

    /// Round to nearest even; beyond the largest finite value: that value when saturating, else
    /// infinity or NaN (whichever the format has).
    fn encode(comptime self: Format, x: f64, saturate: bool) u8 {
        const sign_bit: u8 = if (self.bits() == 8) 0x80 else 0x08;
        const sign: u8 = if (std.math.signbit(x)) sign_bit else 0;
        // float4e2m1 has no NaN: ml_dtypes gives it the negative-zero code.
        const nan_code: u8 = if (self.fnuz)
            0x80
        else if (self.ieee) 0x7e | sign else if (self.fn_nan) 0x7f | sign else sign_bit;
        if (std.math.isNan(x)) return nan_code;
        const overflow: u8 = if (saturate or (!self.fnuz and !self.ieee and !self.fn_nan))
            self.max_code | sign
        else if (self.ieee) 0x7c | sign else nan_code;
        const a = @abs(x);
        if (std.math.isInf(a)) return overflow;
        const table = comptime blk: {
            @setEvalBranchQuota(100_000);
            var values: [@as(usize, self.max_code) + 2]f64 = undefined;
            for (&values, 0..) |*v, c| v.* = self.plain(c);
            break :blk values;
        };
        // The last code before a: table[lo] <= a < table[lo + 1].
        var lo: usize = 0;
        var hi: usize = table.len;
        while (hi - lo > 1) {
            const mid = (lo + hi) / 2;
            if (table[mid] <= a) lo = mid else hi = mid;
        }
        var code = lo;
        if (lo + 1 < table.len) {
            const below = a - table[lo];
            const above = table[lo + 1] - a;
            if (above < below or (above == below and lo & 1 == 1)) code = lo + 1;
        }
        if (code > self.max_code) return overflow;
        if (self.fnuz and code == 0) return 0; // no negative zero
        return @as(u8, @intCast(code)) | sign;
    }
};

const formats = .{
    .{ DType.float8e4m3fn, Format{ .e = 4, .m = 3, .bias = 7, .fn_nan = true, .max_code = 0x7e } },
    .{ DType.float8e4m3fnuz, Format{ .e = 4, .m = 3, .bias = 8, .fnuz = true, .max_code = 0x7f } },
    .{ DType.float8e5m2, Format{ .e = 5, .m = 2, .bias = 15, .ieee = true, .max_code = 0x7b } },
    .{ DType.float8e5m2fnuz, Format{ .e = 5, .m = 2, .bias = 16, .fnuz = true, .max_code = 0x7f } },
    .{ DType.float4e2m1, Format{ .e = 2, .m = 1, .bias = 1, .max_code = 0x7 } },
};

pub fn cast(ctx: *Context, x: *const Tensor, out: *Tensor, saturate: bool) Error!void {
    const n = x.count();
    const values = try ctx.alloc(f64, n);
    try decode(ctx, x, values);
    try encode(ctx, values, out, saturate);
}

/// x's elements as f64.
fn decode(ctx: *Context, x: *const Tensor, values: []f64) Error!void {
    const bytes = x.data;
    inline for (formats) |pair| if (x.dtype == pair[0]) {
        const f = pair[1];
        for (values, 0..) |*v, i| v.* = f.decode(if (f.bits() == 4) nibble(bytes, i) else bytes[i]);
        return;
    };
    switch (x.dtype) {
        .float8e8m0 => for (values, bytes[0..values.len]) |*v, c| {
            v.* = if (c == 0xff) std.math.nan(f64) else std.math.ldexp(@as(f64, 1), @as(i32, c) - 127);
        },
        .int4, .uint4, .int2, .uint2 => {
            const w: u3 = if (x.dtype == .int4 or x.dtype == .uint4) 4 else 2;
            const signed = x.dtype == .int4 or x.dtype == .int2;
            for (values, 0..) |*v, i| {
                const per_byte = 8 / @as(usize, w);
                const raw: u8 = (bytes[i / per_byte] >> @intCast((i % per_byte) * w)) & ((@as(u8, 1) << w) - 1);
                const wide: i32 = if (signed and raw >> (w - 1) != 0) @as(i32, raw) - (@as(i32, 1) << w) else raw;
                v.* = @floatFromInt(wide);
            }
        },
        .string => return ctx.unsupported(x.dtype),
        else => {
            inline for (util.numeric_types) |pair| if (x.dtype == pair[0]) {
                const S = pair[1];
                for (values, util.view(S, x)[0..values.len]) |*v, raw| {
                    v.* = cast_module.castValue(f64, false, util.load(pair[0], S, raw));
                }
                return;
            };
            return ctx.unsupported(x.dtype);
        },
    }
}

fn nibble(bytes: []const u8, i: usize) u8 {
    return (bytes[i / 2] >> @intCast((i % 2) * 4)) & 0xf;
}

fn encode(ctx: *Context, values: []const f64, out: *Tensor, saturate: bool) Error!void {
    const bytes = out.data;
    inline for (formats) |pair| if (out.dtype == pair[0]) {
        const f = pair[1];
        if (f.bits() == 4) @memset(bytes, 0);
        for (values, 0..) |v, i| {
            const code = f.encode(v, saturate);
            if (f.bits() == 4) bytes[i / 2] |= code << @intCast((i % 2) * 4) else bytes[i] = code;
        }
        return;
    };
    switch (out.dtype) {
        .float8e8m0 => {
            const mode = ctx.node.attrString("round_mode", "up");
            const up = std.mem.eql(u8, mode, "up");
            const nearest = std.mem.eql(u8, mode, "nearest");
            if (!up and !nearest and !std.mem.eql(u8, mode, "down")) {
                return ctx.fail("unknown round_mode '{s}'", .{mode});
            }
            for (bytes[0..values.len], values) |*o, v| o.* = toE8m0(@floatCast(v), up, nearest, saturate);
        },
        .int4, .uint4, .int2, .uint2 => {
            const w: u3 = if (out.dtype == .int4 or out.dtype == .uint4) 4 else 2;
            const per_byte = 8 / @as(usize, w);
            @memset(bytes, 0);
            for (values, 0..) |v, i| {
                const whole = cast_module.castValue(i64, false, v);
                const raw: u8 = @intCast(@as(u64, @bitCast(whole)) & ((@as(u64, 1) << w) - 1));
                bytes[i / per_byte] |= raw << @intCast((i % per_byte) * w);
            }
        },
        .string => return ctx.unsupported(out.dtype),
        else => {
            inline for (util.numeric_types) |pair| if (out.dtype == pair[0]) {
                const D = pair[1];
                for (util.viewMut(D, out), values) |*o, v| {
                    o.* = util.store(pair[0], D, cast_module.castValue(util.Compute(pair[0], D), pair[0] == .bool, v));
                }
                return;
            };
            return ctx.unsupported(out.dtype);
        },
    }
}

/// float8e8m0 keeps only the exponent of the f32 value, rounded as round_mode says.
fn toE8m0(x: f32, up: bool, nearest: bool, saturate: bool) u8 {
    const bits: u32 = @bitCast(x);
    var exponent: u32 = (bits >> 23) & 0xff;
    if (exponent == 0xff) return 0xff;
    var round_up = false;
    if (up) {
        round_up = bits & 0x7fffff != 0;
    } else if (nearest) {
        const g = bits & 0x400000 != 0;
        const r = bits & 0x200000 != 0;
        const s = bits & 0x1fffff != 0;
        round_up = g and (r or s or exponent > 0);
    }
    if (saturate and exponent == 0xfe) round_up = false;
    if (round_up) exponent += 1;
    return @truncate(exponent);
}

test "small floats round to nearest even and saturate as asked" {
    const expect = std.testing.expectEqual;
    const e4m3fn = formats[0][1];
    const e5m2 = formats[2][1];
    const e2m1 = formats[4][1];
    try expect(@as(u8, 0x7e), e4m3fn.encode(1e6, true));
    try expect(@as(u8, 0x7f), e4m3fn.encode(1e6, false));
    try expect(@as(u8, 0x80), e4m3fn.encode(-1e-7, true));
    try expect(@as(u8, 0x7c), e5m2.encode(std.math.inf(f64), false));
    try expect(@as(u8, 0x0), e2m1.encode(0.25, true)); // a tie between 0 and 0.5 goes to 0
    try expect(@as(u8, 0xe), e2m1.encode(-3.5, true)); // a tie between 3 and 4 goes to 4
    for (0..256) |c| {
        const code: u8 = @intCast(c);
        const v = e4m3fn.decode(code);
        if (!std.math.isNan(v)) try expect(code, e4m3fn.encode(v, false));
    }
}

test "float8e8m0 keeps the exponent" {
    try std.testing.expectEqual(@as(u8, 127), toE8m0(1.0, true, false, true));
    try std.testing.expectEqual(@as(u8, 128), toE8m0(1.5, true, false, true));
    try std.testing.expectEqual(@as(u8, 127), toE8m0(1.5, false, false, true));
    try std.testing.expectEqual(@as(u8, 0xff), toE8m0(std.math.nan(f32), true, false, true));
}
