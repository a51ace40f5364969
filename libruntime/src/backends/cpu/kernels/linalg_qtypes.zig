//! Element codecs for quantized tensors: integers of 2 to 32 bits (the sub-byte ones packed,
//! first element in the low bits) and the 8- and 4-bit floats. Values pass through f32, which is
//! exact for every quantized integer type up to 16 bits and for every small float.
const std = @import("std");
const kernel = @import("../kernel.zig");

const DType = kernel.DType;

/// A small float format: exponent and mantissa widths, bias, and how it spells NaN and infinity.
const Minifloat = struct {
    exp_bits: u5,
    man_bits: u5,
    bias: i32,
    /// IEEE-style: all-ones exponent is infinity (mantissa 0) or NaN.
    ieee: bool = false,
    /// "fnuz": the negative-zero code 0x80 is the only NaN, and there is no -0.
    fnuz: bool = false,
    /// The only NaN is all ones below the sign (e4m3fn).
    nan_all_ones: bool = false,
    max_code: u8,

    fn decode(comptime f: Minifloat, code: u8) f32 {
        const sign_bit: u8 = @as(u8, 1) << (f.exp_bits + f.man_bits);
        const body = code & (sign_bit - 1);
        const negative = code & sign_bit != 0;
        if (f.fnuz and code == sign_bit) return std.math.nan(f32);
        if (f.nan_all_ones and body == sign_bit - 1) return std.math.nan(f32);
        const exp: i32 = body >> f.man_bits;
        const man: f32 = @floatFromInt(body & ((@as(u8, 1) << f.man_bits) - 1));
        const man_scale: f32 = @floatFromInt(@as(u32, 1) << f.man_bits);
        if (f.ieee and exp == (1 << f.exp_bits) - 1) {
            return if (man == 0) (if (negative) -std.math.inf(f32) else std.math.inf(f32)) else std.math.nan(f32);
        }
        const magnitude = if (exp == 0)
            std.math.ldexp(man / man_scale, 1 - f.bias)
        else
            std.math.ldexp(1 + man / man_scale, exp - f.bias);
        return if (negative) -magnitude else magnitude;
    }

    /// Round to nearest even; out of range goes to the largest finite value when saturating,
    /// else to infinity (IEEE formats) or NaN.
    fn encode(comptime f: Minifloat, v: f32, saturate: bool) u8 {
        const sign_bit: u8 = @as(u8, 1) << (f.exp_bits + f.man_bits);
        // fnuz spells NaN as negative zero; the others as all ones below the sign.
        const nan_code: u8 = if (f.fnuz) sign_bit else if (f.ieee or f.nan_all_ones) sign_bit - 1 else f.max_code;
        if (std.math.isNan(v)) return nan_code;
        const sign: u8 = if (std.math.signbit(v)) sign_bit else 0;
        const a = @abs(v);
        const has_special = f.ieee or f.fnuz or f.nan_all_ones;
        const inf_code: u8 = (sign_bit - 1) & ~((@as(u8, 1) << f.man_bits) - 1);
        const overflow: u8 = if (saturate or !has_special)
            f.max_code | sign
        else if (f.ieee) inf_code | sign else if (f.fnuz) nan_code else nan_code | sign;
        if (std.math.isInf(a)) return overflow;
        const man_scale: f32 = @floatFromInt(@as(u32, 1) << f.man_bits);
        var code: u32 = undefined;
        const min_normal = std.math.ldexp(@as(f32, 1), 1 - f.bias);
        if (a < min_normal) {
            code = @intFromFloat(roundHalfEven(a / std.math.ldexp(@as(f32, 1), 1 - f.bias) * man_scale));
        } else {
            const fr = std.math.frexp(a); // a = fr.significand * 2^fr.exponent, significand in [0.5, 1)
            var e: i32 = fr.exponent - 1;
            if (e + f.bias >= 64) return overflow;
            var q: u32 = @intFromFloat(roundHalfEven((fr.significand * 2 - 1) * man_scale));
            if (q == @as(u32, 1) << f.man_bits) {
                q = 0;
                e += 1;
            }
            code = (@as(u32, @intCast(e + f.bias)) << f.man_bits) | q;
        }
        if (code > f.max_code) return overflow;
        if (f.fnuz and code == 0) return 0;
        return @as(u8, @intCast(code)) | sign;
    }
};

pub fn roundHalfEven(x: f32) f32 {
    const r = @round(x);
    if (@abs(x - @trunc(x)) == 0.5) return 2.0 * @round(x / 2.0);
    return r;
}

fn minifloat(comptime dtype: DType) ?Minifloat {
    return switch (dtype) {
        .float8e4m3fn => .{ .exp_bits = 4, .man_bits = 3, .bias = 7, .nan_all_ones = true, .max_code = 0x7E },
        .float8e4m3fnuz => .{ .exp_bits = 4, .man_bits = 3, .bias = 8, .fnuz = true, .max_code = 0x7F },
        .float8e5m2 => .{ .exp_bits = 5, .man_bits = 2, .bias = 15, .ieee = true, .max_code = 0x7B },
        .float8e5m2fnuz => .{ .exp_bits = 5, .man_bits = 2, .bias = 16, .fnuz = true, .max_code = 0x7F },
        .float4e2m1 => .{ .exp_bits = 2, .man_bits = 1, .bias = 1, .max_code = 0x7 },
        else => null,
    };
}

/// Types QuantizeLinear can produce and DequantizeLinear can read.
pub const quantized = [_]DType{
    .uint8,        .int8,           .uint16,     .int16,          .uint4,      .int4, .uint2, .int2,
    .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float4e2m1,
};

pub const dequantizable = quantized ++ [_]DType{.int32};

/// Reads and writes one element type of a quantized tensor.
pub fn Codec(comptime dtype: DType) type {
    return struct {
        pub const bits = dtype.bits();
        pub const is_float = minifloat(dtype) != null;
        pub const signed = switch (dtype) {
            .int8, .int16, .int32, .int4, .int2 => true,
            else => false,
        };
        /// The integer range (integer types only).
        pub const min: f32 = if (signed) -@as(f32, @floatFromInt(@as(u64, 1) << (bits - 1))) else 0;
        pub const max: f32 = @floatFromInt((@as(u64, 1) << (if (signed) bits - 1 else bits)) - 1);

        fn raw(data: []const u8, i: usize) u32 {
            return switch (bits) {
                2, 4 => (data[i * bits / 8] >> @intCast(i * bits % 8)) & ((1 << bits) - 1),
                8 => data[i],
                16 => std.mem.readInt(u16, data[i * 2 ..][0..2], .little),
                32 => std.mem.readInt(u32, data[i * 4 ..][0..4], .little),
                else => unreachable,
            };
        }

        pub fn get(data: []const u8, i: usize) f32 {
            const r = raw(data, i);
            if (comptime minifloat(dtype)) |f| return f.decode(@intCast(r));
            if (!signed) return @floatFromInt(r);
            const S = std.meta.Int(.signed, bits);
            const U = std.meta.Int(.unsigned, bits);
            const s: S = @bitCast(@as(U, @intCast(r)));
            return @floatFromInt(s);
        }

        /// Stores `v`: integers must already be rounded and within range. Sub-byte types OR
        /// their bits in, so the output must start zeroed.
        pub fn put(data: []u8, i: usize, v: f32, saturate: bool) void {
            const code: u32 = if (comptime minifloat(dtype)) |f| f.encode(v, saturate) else blk: {
                const wide: i64 = @intFromFloat(v);
                break :blk @truncate(@as(u64, @bitCast(wide)));
            };
            switch (bits) {
                2, 4 => data[i * bits / 8] |= @intCast((code & ((1 << bits) - 1)) << @intCast(i * bits % 8)),
                8 => data[i] = @truncate(code),
                16 => std.mem.writeInt(u16, data[i * 2 ..][0..2], @truncate(code), .little),
                32 => std.mem.writeInt(u32, data[i * 4 ..][0..4], code, .little),
                else => unreachable,
            }
        }

        /// Rounds and clamps a scaled value to the integer range (NaN becomes 0).
        pub fn saturateInt(v: f32) f32 {
            if (std.math.isNan(v)) return 0;
            return std.math.clamp(v, min, max);
        }
    };
}

test "float8 round trips" {
    const E4 = Codec(.float8e4m3fn);
    var buf = [_]u8{0};
    E4.put(&buf, 0, 448, true);
    try std.testing.expectEqual(@as(u8, 0x7E), buf[0]);
    try std.testing.expectEqual(@as(f32, 448), E4.get(&buf, 0));
    buf[0] = 0;
    E4.put(&buf, 0, 1e6, true);
    try std.testing.expectEqual(@as(u8, 0x7E), buf[0]);
    const F4 = Codec(.float4e2m1);
    buf[0] = 0;
    F4.put(&buf, 0, -2.9, true);
    try std.testing.expectEqual(@as(f32, -3), F4.get(&buf, 0));
}
