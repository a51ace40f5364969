//! float32 activations on @Vector lanes, for the kernels whose cost is dominated by them (Softmax,
//! Erf/Gelu, Sigmoid/SiLU, Tanh, Log, Relu, the recurrent layers' gates). LLVM lowers @exp and
//! @log on a vector to one libm call per lane, and libm has no erff or tanhf that vectorizes;
//! these are branch-free polynomial forms instead, accurate to a few float32 ulps (the tests
//! below check them against f64 libm).
const std = @import("std");

/// 16 lanes: one AVX-512 register, two AVX2 registers; LLVM splits it where vectors are narrower.
pub const lanes = 16;
pub const V = @Vector(lanes, f32);

fn splat(x: f32) V {
    return @splat(x);
}

/// e^x. Cephes' expf: x = n ln2 + r with |r| <= ln2/2, a degree-6 polynomial for e^r, and 2^n
/// built in the exponent bits. Below -87.3 the result is 0 (float32 would go subnormal) and
/// above 88.7 it is +inf, as for expf; NaN stays NaN.
pub fn exp(x: V) V {
    return expOf(lanes, x);
}

/// exp at any vector width: every step is per lane, so each lane's result is the same bits
/// whatever the width (the GEMM and depthwise stores apply activations 8 lanes at a time).
pub fn expOf(comptime n: usize, x: @Vector(n, f32)) @Vector(n, f32) {
    const W = @Vector(n, f32);
    const c = struct {
        fn s(v: f32) W {
            return @splat(v);
        }
    };
    const clamped = @min(@max(x, c.s(-87.0)), c.s(88.0));
    const k = @round(clamped * c.s(std.math.log2e));
    var r = clamped - k * c.s(0.693359375);
    r = r - k * c.s(-2.12194440e-4);
    var p = c.s(1.9875691500e-4);
    p = @mulAdd(W, p, r, c.s(1.3981999507e-3));
    p = @mulAdd(W, p, r, c.s(8.3334519073e-3));
    p = @mulAdd(W, p, r, c.s(4.1665795894e-2));
    p = @mulAdd(W, p, r, c.s(1.6666665459e-1));
    p = @mulAdd(W, p, r, c.s(5.0000001201e-1));
    const y = @mulAdd(W, p, r * r, r + c.s(1.0));
    const exponent: @Vector(n, i32) = @intFromFloat(k);
    const scale: W = @bitCast((exponent + @as(@Vector(n, i32), @splat(127))) << @splat(23));
    const result = y * scale;
    const zero = x < c.s(-87.33654);
    const inf = x > c.s(88.72284);
    const special = @select(f32, zero, c.s(0), @select(f32, inf, c.s(std.math.inf(f32)), result));
    return @select(f32, x != x, x, special);
}

/// erf(x): the rational approximation Eigen and XLA use for float32 (odd degree-13 numerator over
/// an even degree-8 denominator) on x clamped to [-4, 4], beyond which erf is ±1 in float32.
pub fn erf(x: V) V {
    const c = @min(@max(x, splat(-4.0)), splat(4.0));
    const x2 = c * c;
    var p = splat(-2.72614225801306e-10);
    p = @mulAdd(V, p, x2, splat(2.77068142495902e-08));
    p = @mulAdd(V, p, x2, splat(-2.10102402082508e-06));
    p = @mulAdd(V, p, x2, splat(-5.69250639462346e-05));
    p = @mulAdd(V, p, x2, splat(-7.34990630326855e-04));
    p = @mulAdd(V, p, x2, splat(-2.95459980854025e-03));
    p = @mulAdd(V, p, x2, splat(-1.60960333262415e-02));
    p = p * c;
    var q = splat(-1.45660718464996e-05);
    q = @mulAdd(V, q, x2, splat(-2.13374055278905e-04));
    q = @mulAdd(V, q, x2, splat(-1.68282697438203e-03));
    q = @mulAdd(V, q, x2, splat(-7.37332916720468e-03));
    q = @mulAdd(V, q, x2, splat(-1.42647390514189e-02));
    return @select(f32, x != x, x, p / q);
}

/// tanh(x). Cephes' tanhf: below |x| = 0.625 the odd polynomial x + x^3 P(x^2); above it
/// 1 - 2 / (e^2|x| + 1) with the sign of x, which exp's saturation takes to ±1 without
/// overflow. NaN stays NaN and -0 stays -0.
pub fn tanh(x: V) V {
    return tanhOf(lanes, x);
}

pub fn tanhOf(comptime n: usize, x: @Vector(n, f32)) @Vector(n, f32) {
    const W = @Vector(n, f32);
    const c = struct {
        fn s(v: f32) W {
            return @splat(v);
        }
    };
    const z = x * x;
    var p = c.s(-5.70498872745e-3);
    p = @mulAdd(W, p, z, c.s(2.06390887954e-2));
    p = @mulAdd(W, p, z, c.s(-5.37397155531e-2));
    p = @mulAdd(W, p, z, c.s(1.33314422036e-1));
    p = @mulAdd(W, p, z, c.s(-3.33332819422e-1));
    const small = @mulAdd(W, p * z, x, x);
    const magnitude = @abs(x);
    const large = c.s(1.0) - c.s(2.0) / (expOf(n, magnitude + magnitude) + c.s(1.0));
    const signed = @select(f32, x < c.s(0), -large, large);
    // The polynomial rounds -0 to +0; tanh(±0) is x itself.
    const result = @select(f32, magnitude < c.s(0.625), small, signed);
    return @select(f32, x == c.s(0), x, result);
}

/// The natural logarithm. Cephes' logf: x = m 2^e with m in [sqrt(1/2), sqrt(2)), then
/// log(m) by a degree-9 polynomial in m - 1 and e ln2 in two parts. Subnormals are scaled into
/// the normal range first; 0 gives -inf, a negative x NaN, +inf +inf and NaN NaN, as logf.
pub fn log(x: V) V {
    return logOf(lanes, x);
}

pub fn logOf(comptime n: usize, x: @Vector(n, f32)) @Vector(n, f32) {
    const W = @Vector(n, f32);
    const I = @Vector(n, i32);
    const c = struct {
        fn s(v: f32) W {
            return @splat(v);
        }
        fn i(v: i32) I {
            return @splat(v);
        }
    };
    const subnormal = x < c.s(std.math.floatMin(f32));
    const scaled = @select(f32, subnormal, x * c.s(0x1p23), x);
    const bits: I = @bitCast(scaled);
    // frexp: the mantissa in [0.5, 1) and its exponent.
    var exponent = (bits >> @splat(23)) - c.i(126) - @select(i32, subnormal, c.i(23), c.i(0));
    var m: W = @bitCast((bits & c.i(0x007fffff)) | c.i(0x3f000000));
    const low = m < c.s(std.math.sqrt1_2);
    exponent -= @select(i32, low, c.i(1), c.i(0));
    m = @select(f32, low, m + m, m) - c.s(1.0);
    const z = m * m;
    var p = c.s(7.0376836292e-2);
    p = @mulAdd(W, p, m, c.s(-1.1514610310e-1));
    p = @mulAdd(W, p, m, c.s(1.1676998740e-1));
    p = @mulAdd(W, p, m, c.s(-1.2420140846e-1));
    p = @mulAdd(W, p, m, c.s(1.4249322787e-1));
    p = @mulAdd(W, p, m, c.s(-1.6668057665e-1));
    p = @mulAdd(W, p, m, c.s(2.0000714765e-1));
    p = @mulAdd(W, p, m, c.s(-2.4999993993e-1));
    p = @mulAdd(W, p, m, c.s(3.3333331174e-1));
    const e: W = @floatFromInt(exponent);
    var y = p * m * z;
    y = @mulAdd(W, e, c.s(-2.12194440e-4), y);
    y = @mulAdd(W, z, c.s(-0.5), y);
    const result = @mulAdd(W, e, c.s(0.693359375), m + y);
    const zero_or_negative = @select(f32, x == c.s(0), c.s(-std.math.inf(f32)), c.s(std.math.nan(f32)));
    const finite = @select(f32, x > c.s(0), result, zero_or_negative);
    // +inf and NaN pass through unchanged.
    const infinite = @select(f32, x == c.s(std.math.inf(f32)), x, finite);
    return @select(f32, x != x, x, infinite);
}

/// log(1 + x), exact near 0 where log(1 + x) would round 1 + x: with u = 1 + x rounded,
/// log(u) * x / (u - 1) cancels the rounding of u (Goldberg's formula); u == 1 means log1p = x.
pub fn log1p(x: V) V {
    const one: V = @splat(1.0);
    const u = x + one;
    const ratio = x / (u - one);
    const general = @select(f32, u == @as(V, @splat(std.math.inf(f32))), u, log(u) * ratio);
    return @select(f32, u == one, x, general);
}

/// x * Φ(x) with the exact (erf) normal CDF: Gelu's default and BERT's activation.
pub fn gelu(x: V) V {
    return splat(0.5) * x * (splat(1.0) + erf(x * splat(std.math.sqrt1_2)));
}

/// 1 / (1 + e^-x); exp's saturation keeps it in [0, 1] without overflow traps.
pub fn sigmoid(x: V) V {
    return sigmoidOf(lanes, x);
}

pub fn sigmoidOf(comptime n: usize, x: @Vector(n, f32)) @Vector(n, f32) {
    const one: @Vector(n, f32) = @splat(1.0);
    return one / (one + expOf(n, -x));
}

/// max(x, 0), with NaN giving 0 as the scalar kernel's `x > 0` test does.
pub fn relu(x: V) V {
    return reluOf(lanes, x);
}

pub fn reluOf(comptime n: usize, x: @Vector(n, f32)) @Vector(n, f32) {
    const zero: @Vector(n, f32) = @splat(0);
    return @select(f32, x > zero, x, zero);
}

/// Applies `f` to every element of `x` into `y` (same length), the tail through a padded vector.
pub fn map(comptime f: fn (V) V, x: []const f32, y: []f32) void {
    std.debug.assert(x.len == y.len);
    var i: usize = 0;
    while (i + lanes <= x.len) : (i += lanes) {
        y[i..][0..lanes].* = f(x[i..][0..lanes].*);
    }
    if (i == x.len) return;
    var tail: [lanes]f32 = @splat(0);
    @memcpy(tail[0 .. x.len - i], x[i..]);
    const out: [lanes]f32 = f(tail);
    @memcpy(y[i..], out[0 .. x.len - i]);
}

fn maxError(comptime f: fn (V) V, comptime reference: fn (f64) f64, lo: f32, hi: f32, relative: bool) f64 {
    var worst: f64 = 0;
    const steps = 20000;
    var i: usize = 0;
    while (i < steps) : (i += lanes) {
        var input: [lanes]f32 = undefined;
        for (&input, 0..) |*v, j| v.* = lo + (hi - lo) * @as(f32, @floatFromInt(i + j)) / steps;
        const out: [lanes]f32 = f(input);
        for (input, out) |v, got| {
            const want = reference(v);
            const err = @abs(@as(f64, got) - want) / (if (relative) @max(@abs(want), 1e-30) else 1);
            worst = @max(worst, err);
        }
    }
    return worst;
}

const libm = struct {
    extern fn erf(x: f64) f64;
};

fn expRef(x: f64) f64 {
    return @exp(x);
}

fn erfRef(x: f64) f64 {
    return libm.erf(x);
}

test "exp is within a few float32 ulps of libm" {
    try std.testing.expect(maxError(exp, expRef, -87, 88, true) < 4e-7);
    const special: [lanes]f32 = exp(V{ -100, 100, std.math.nan(f32), 0, 1, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 });
    try std.testing.expectEqual(@as(f32, 0), special[0]);
    try std.testing.expect(std.math.isInf(special[1]));
    try std.testing.expect(std.math.isNan(special[2]));
    try std.testing.expectEqual(@as(f32, 1), special[3]);
}

test "erf is within float32 rounding of libm" {
    try std.testing.expect(maxError(erf, erfRef, -6, 6, false) < 5e-7);
    try std.testing.expect(maxError(erf, erfRef, 1e-3, 0.5, true) < 5e-7);
    const special: [lanes]f32 = erf(V{ std.math.nan(f32), std.math.inf(f32), -std.math.inf(f32), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 });
    try std.testing.expect(std.math.isNan(special[0]));
    try std.testing.expectEqual(@as(f32, 1), special[1]);
    try std.testing.expectEqual(@as(f32, -1), special[2]);
}

fn tanhRef(x: f64) f64 {
    return std.math.tanh(x);
}

fn logRef(x: f64) f64 {
    return @log(x);
}

fn log1pRef(x: f64) f64 {
    return std.math.log1p(x);
}

test "tanh is within a few float32 ulps of libm, on both sides of the polynomial's range" {
    try std.testing.expect(maxError(tanh, tanhRef, -12, 12, true) < 4e-7);
    try std.testing.expect(maxError(tanh, tanhRef, 1e-6, 1, true) < 4e-7);
    try std.testing.expect(maxError(tanh, tanhRef, -1, -1e-6, true) < 4e-7);
    const special: [lanes]f32 = tanh(V{ std.math.nan(f32), std.math.inf(f32), -std.math.inf(f32), -0.0, 100, -100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 });
    try std.testing.expect(std.math.isNan(special[0]));
    try std.testing.expectEqual(@as(f32, 1), special[1]);
    try std.testing.expectEqual(@as(f32, -1), special[2]);
    try std.testing.expect(std.math.signbit(special[3]) and special[3] == 0);
    try std.testing.expectEqual(@as(f32, 1), special[4]);
    try std.testing.expectEqual(@as(f32, -1), special[5]);
}

test "log is within a few float32 ulps of libm, subnormals and special values included" {
    try std.testing.expect(maxError(log, logRef, 1e-3, 10, true) < 4e-7);
    try std.testing.expect(maxError(log, logRef, 0.5, 2, false) < 2e-7);
    try std.testing.expect(maxError(log, logRef, 1e30, 3e38, true) < 4e-7);
    const tiny: f32 = 1e-40; // subnormal
    const special: [lanes]f32 = log(V{ 0, -0.0, -1, std.math.inf(f32), std.math.nan(f32), tiny, std.math.floatMin(f32), 1, 0, 0, 0, 0, 0, 0, 0, 0 });
    try std.testing.expect(std.math.isNegativeInf(special[0]));
    try std.testing.expect(std.math.isNegativeInf(special[1]));
    try std.testing.expect(std.math.isNan(special[2]));
    try std.testing.expect(std.math.isPositiveInf(special[3]));
    try std.testing.expect(std.math.isNan(special[4]));
    try std.testing.expectApproxEqRel(@log(@as(f64, tiny)), @as(f64, special[5]), 1e-6);
    try std.testing.expectApproxEqRel(@log(@as(f64, std.math.floatMin(f32))), @as(f64, special[6]), 1e-6);
    try std.testing.expectEqual(@as(f32, 0), special[7]);
}

test "log1p keeps its relative accuracy near 0" {
    try std.testing.expect(maxError(log1p, log1pRef, 1e-9, 1e-3, true) < 4e-7);
    try std.testing.expect(maxError(log1p, log1pRef, -0.5, 20, true) < 5e-7);
    const special: [lanes]f32 = log1p(V{ 0, 1e-30, std.math.inf(f32), -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 });
    try std.testing.expectEqual(@as(f32, 0), special[0]);
    try std.testing.expectEqual(@as(f32, 1e-30), special[1]);
    try std.testing.expect(std.math.isPositiveInf(special[2]));
    try std.testing.expect(std.math.isNegativeInf(special[3]));
}

test "map covers a tail shorter than a vector" {
    var x: [lanes + 3]f32 = undefined;
    for (&x, 0..) |*v, i| v.* = @floatFromInt(i);
    var y: [lanes + 3]f32 = undefined;
    map(sigmoid, &x, &y);
    for (x, y) |v, got| try std.testing.expectApproxEqAbs(1 / (1 + @exp(-v)), got, 1e-6);
}
