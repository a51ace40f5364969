//! Signal processing kernels: the HannWindow, HammingWindow and BlackmanWindow generators (a 1-D
//! float tensor of `size` elements, periodic or symmetric), MelWeightMatrix, DFT and STFT. Everything computes in
//! f64 and rounds to the output type once. Signals carry a last dim of 1 (real) or 2 (complex:
//! real, imaginary). The transforms are direct O(n^2) sums over a table of n twiddles: exact
//! enough for any length, prime ones included, and fast enough for the frame sizes of audio
//! features; an FFT is the step up when long signals matter.
const std = @import("std");
const common = @import("nn_common.zig");
const util = @import("tensor_ops_util.zig");

const Context = common.Context;
const Error = common.Error;

const Window = enum { hann, hamming, blackman };

fn value(comptime window: Window, n: f64, denominator: f64) f64 {
    const pi = std.math.pi;
    return switch (window) {
        .hann => std.math.pow(f64, @sin(n * pi / denominator), 2),
        .hamming => blk: {
            const alpha = 25.0 / 46.0;
            break :blk alpha - @cos(n * pi * 2 / denominator) * (1 - alpha);
        },
        .blackman => @cos(n * (pi * 2) / denominator) * -0.5 +
            @cos(n * (pi * 4) / denominator) * 0.08 + 0.42,
    };
}

fn windowKernel(comptime window: Window) fn (*Context) Error!void {
    return struct {
        fn run(ctx: *Context) Error!void {
            const size = try util.scalarInt(ctx, try ctx.require(0), "size");
            if (size < 0) return ctx.fail("size is {d}; it must not be negative", .{size});
            const code = ctx.node.attrInt("output_datatype", 1);
            const dtype = std.meta.intToEnum(common.DType, std.math.cast(i32, code) orelse -1) catch
                return ctx.fail("output_datatype={d} is no element type", .{code});
            _ = try common.precision(ctx, dtype, false);
            const periodic = try common.flag(ctx, "periodic", 1);
            const denominator: f64 = @floatFromInt(if (periodic) size else size - 1);
            const y = try common.floatOutput(f64, ctx, 0, dtype, &.{size});
            for (y.values, 0..) |*o, n| o.* = value(window, @floatFromInt(n), denominator);
            y.finish();
        }
    }.run;
}

/// The twiddles of an n-point transform: cos and sin of 2*pi*j/n, j < n.
const Twiddles = struct {
    cos: []f64,
    sin: []f64,

    fn init(ctx: *const Context, n: usize) Error!Twiddles {
        const t: Twiddles = .{ .cos = try ctx.alloc(f64, n), .sin = try ctx.alloc(f64, n) };
        for (t.cos, t.sin, 0..) |*c, *s, j| {
            const angle = 2 * std.math.pi * @as(f64, @floatFromInt(j)) / @as(f64, @floatFromInt(n));
            c.* = @cos(angle);
            s.* = @sin(angle);
        }
        return t;
    }
};

/// out[f] = sum_k in[k] * exp(-+2*pi*i*f*k/n) for f < out.len, over n = in.len points, divided
/// by n when inverse (as numpy's ifft).
fn dftLine(tw: Twiddles, in_re: []const f64, in_im: []const f64, out_re: []f64, out_im: []f64, inverse: bool) void {
    const n = in_re.len;
    const sign: f64 = if (inverse) 1 else -1;
    const scale: f64 = if (inverse) 1 / @as(f64, @floatFromInt(n)) else 1;
    for (out_re, out_im, 0..) |*o_re, *o_im, f| {
        var sum_re: f64 = 0;
        var sum_im: f64 = 0;
        for (in_re, in_im, 0..) |a, b, k| {
            const j = (f * k) % n;
            const c = tw.cos[j];
            const s = sign * tw.sin[j];
            sum_re += a * c - b * s;
            sum_im += a * s + b * c;
        }
        o_re.* = sum_re * scale;
        o_im.* = sum_im * scale;
    }
}

/// numpy's irfft input rule: the one-sided spectrum X[0..n/2] becomes the full Hermitian one
/// (X[n-f] = conj(X[f])); the imaginary parts of X[0] and, for even n, X[n/2] are ignored.
fn hermitian(re: []f64, im: []f64) void {
    const n = re.len;
    im[0] = 0;
    if (n % 2 == 0) im[n / 2] = 0;
    for (1..(n + 1) / 2) |f| {
        re[n - f] = re[f];
        im[n - f] = -im[f];
    }
}

/// DFT's axis: attribute (default 1) before opset 20, then input 2 (default -2); never the last.
fn dftAxis(ctx: *const Context, rank: usize) Error!usize {
    const given: i64 = if (ctx.node.opset >= 20) blk: {
        const t = ctx.input(2) orelse break :blk -2;
        break :blk try util.scalarInt(ctx, t, "axis");
    } else ctx.node.attrInt("axis", 1);
    const r: i64 = @intCast(rank);
    const a = if (given < 0) given + r else given;
    if (a < 0 or a >= r - 1) return ctx.fail("axis {d} is out of range for rank {d} (not the last dim)", .{ given, rank });
    return @intCast(a);
}

const DftPlan = struct {
    outer: usize,
    inner: usize,
    in_len: usize,
    in_c: usize,
    n: usize,
    out_len: usize,
    out_c: usize,
    inverse: bool,
    irfft: bool,
};

fn dft(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    _ = try common.precision(ctx, x.dtype, false);
    const rank = x.shape.len;
    if (rank < 2) return ctx.fail("the signal has rank {d}; it needs at least 2", .{rank});
    const in_c = common.dim(x, rank - 1);
    if (in_c != 1 and in_c != 2) return ctx.fail("the signal's last dim is {d}; it must be 1 or 2", .{in_c});
    const axis = try dftAxis(ctx, rank);
    const inverse = try common.flag(ctx, "inverse", 0);
    const onesided = try common.flag(ctx, "onesided", 0);
    const in_len = common.dim(x, axis);
    var n: usize = if (inverse and onesided) 2 * (in_len -| 1) else in_len;
    if (ctx.input(1)) |t| {
        const given = try util.scalarInt(ctx, t, "dft_length");
        n = std.math.cast(usize, given) orelse return ctx.fail("dft_length {d} is negative", .{given});
    }
    if (n == 0) return ctx.fail("the transform length is 0", .{});
    const plan: DftPlan = .{
        .outer = util.product(x.shape[0..axis]),
        .inner = util.product(x.shape[axis + 1 .. rank - 1]),
        .in_len = in_len,
        .in_c = in_c,
        .n = n,
        .out_len = if (onesided and !inverse) n / 2 + 1 else n,
        .out_c = if (onesided and inverse) 1 else 2,
        .inverse = inverse,
        .irfft = onesided and inverse,
    };
    const shape = try ctx.alloc(i64, rank);
    @memcpy(shape, x.shape);
    shape[axis] = @intCast(plan.out_len);
    shape[rank - 1] = @intCast(plan.out_c);
    const y = try common.floatOutput(f64, ctx, 0, x.dtype, shape);
    try runDft(ctx, plan, try common.floats(f64, ctx, x), y.values);
    y.finish();
}

fn runDft(ctx: *const Context, p: DftPlan, xs: []const f64, ys: []f64) Error!void {
    const tw = try Twiddles.init(ctx, p.n);
    const in_re = try ctx.alloc(f64, p.n);
    const in_im = try ctx.alloc(f64, p.n);
    const out_re = try ctx.alloc(f64, p.out_len);
    const out_im = try ctx.alloc(f64, p.out_len);
    // An inverse real transform reads the first n/2+1 bins only; others read up to n (zero-padded).
    const taken = @min(p.in_len, if (p.irfft) p.n / 2 + 1 else p.n);
    for (0..p.outer) |o| for (0..p.inner) |i| {
        @memset(in_re, 0);
        @memset(in_im, 0);
        for (0..taken) |k| {
            const at = ((o * p.in_len + k) * p.inner + i) * p.in_c;
            in_re[k] = xs[at];
            if (p.in_c == 2) in_im[k] = xs[at + 1];
        }
        if (p.irfft) hermitian(in_re, in_im);
        dftLine(tw, in_re, in_im, out_re, out_im, p.inverse);
        for (0..p.out_len) |f| {
            const at = ((o * p.out_len + f) * p.inner + i) * p.out_c;
            ys[at] = out_re[f];
            if (p.out_c == 2) ys[at + 1] = out_im[f];
        }
    };
}

/// STFT: signal [batch, length, 1 or 2], frame_step, optional window and frame_length. Frame t
/// starts at t * frame_step; output [batch, frames, bins, 2], bins frame_length/2+1 when onesided
/// (the default).
fn stft(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    _ = try common.precision(ctx, x.dtype, false);
    if (x.shape.len != 3) return ctx.fail("the signal must be [batch, length, 1 or 2]", .{});
    const batch = common.dim(x, 0);
    const length = common.dim(x, 1);
    const c = common.dim(x, 2);
    if (c != 1 and c != 2) return ctx.fail("the signal's last dim is {d}; it must be 1 or 2", .{c});
    const step_given = try util.scalarInt(ctx, try ctx.require(1), "frame_step");
    const step = std.math.cast(usize, step_given) orelse 0;
    if (step == 0) return ctx.fail("frame_step is {d}; it must be positive", .{step_given});
    const window = ctx.input(2);
    var frame: usize = if (window) |w| w.count() else length;
    if (ctx.input(3)) |t| {
        const given = try util.scalarInt(ctx, t, "frame_length");
        frame = std.math.cast(usize, given) orelse return ctx.fail("frame_length {d} is negative", .{given});
    }
    if (window) |w| if (w.count() != frame) return ctx.fail("the window has {d} values, frame_length is {d}", .{ w.count(), frame });
    if (frame == 0 or frame > length) return ctx.fail("frame_length {d} does not fit a signal of {d}", .{ frame, length });
    const frames = 1 + (length - frame) / step;
    const bins = if (try common.flag(ctx, "onesided", 1)) frame / 2 + 1 else frame;
    const xs = try common.floats(f64, ctx, x);
    const ws: ?[]const f64 = if (window) |w| try common.floats(f64, ctx, w) else null;
    const y = try common.floatOutput(f64, ctx, 0, x.dtype, &.{ @intCast(batch), @intCast(frames), @intCast(bins), 2 });
    const tw = try Twiddles.init(ctx, frame);
    const in_re = try ctx.alloc(f64, frame);
    const in_im = try ctx.alloc(f64, frame);
    const out_re = try ctx.alloc(f64, bins);
    const out_im = try ctx.alloc(f64, bins);
    for (0..batch) |b| for (0..frames) |t| {
        for (0..frame) |k| {
            const at = (b * length + t * step + k) * c;
            const weight = if (ws) |w| w[k] else 1;
            in_re[k] = xs[at] * weight;
            in_im[k] = if (c == 2) xs[at + 1] * weight else 0;
        }
        dftLine(tw, in_re, in_im, out_re, out_im, false);
        const base = (b * frames + t) * bins * 2;
        for (0..bins) |f| {
            y.values[base + 2 * f] = out_re[f];
            y.values[base + 2 * f + 1] = out_im[f];
        }
    };
    y.finish();
}

/// A frequency in hertz on the mel scale, 2595 * log10(1 + f / 700). numpy's reference computes
/// the log in the input's own type (float32 usually), then divides by ln(10) in f64; the same steps
/// here keep the bin edges, which are floored, where the reference puts them.
fn melOf(hertz: *const common.Tensor, hz: f64) f64 {
    if (hertz.dtype == .float32) {
        const h: f32 = @floatCast(hz);
        const log: f32 = 2595 * std.math.log1p(h / 700);
        return @as(f64, log) / @log(10.0);
    }
    return 2595 * std.math.log1p(hz / 700) / @log(10.0);
}

fn scalarFloat(ctx: *const Context, i: usize, what: []const u8) Error!f64 {
    const t = try ctx.require(i);
    if (t.count() != 1) return ctx.fail("{s} must hold one value", .{what});
    _ = try common.precision(ctx, t.dtype, true);
    return (try common.floats(f64, ctx, t))[0];
}

/// MelWeightMatrix: [dft_length/2+1, num_mel_bins] triangular filters between mel-spaced edges
/// (num_mel_bins + 2 of them, from lower_edge_hertz, stepping by the range over that count).
fn melWeightMatrix(ctx: *Context) Error!void {
    const bins_given = try util.scalarInt(ctx, try ctx.require(0), "num_mel_bins");
    const dft_given = try util.scalarInt(ctx, try ctx.require(1), "dft_length");
    const rate = try util.scalarInt(ctx, try ctx.require(2), "sample_rate");
    const mels = std.math.cast(usize, bins_given) orelse return ctx.fail("num_mel_bins is negative", .{});
    const dft_length = std.math.cast(usize, dft_given) orelse return ctx.fail("dft_length is negative", .{});
    if (rate <= 0) return ctx.fail("sample_rate is {d}; it must be positive", .{rate});
    const low = melOf(try ctx.require(3), try scalarFloat(ctx, 3, "lower_edge_hertz"));
    const high = melOf(try ctx.require(4), try scalarFloat(ctx, 4, "upper_edge_hertz"));
    const code = ctx.node.attrInt("output_datatype", 1);
    const dtype = std.meta.intToEnum(common.DType, std.math.cast(i32, code) orelse -1) catch
        return ctx.fail("output_datatype={d} is no element type", .{code});
    _ = try common.precision(ctx, dtype, true);
    const spectrum = dft_length / 2 + 1;
    const edges = try ctx.alloc(usize, mels + 2);
    const step = (high - low) / @as(f64, @floatFromInt(mels + 2));
    for (edges, 0..) |*e, i| {
        const mel = @as(f64, @floatFromInt(i)) * step + low;
        const hertz = 700 * std.math.expm1(mel / 2595 * @log(10.0));
        const bin = @floor(@as(f64, @floatFromInt(dft_length + 1)) * hertz / @as(f64, @floatFromInt(rate)));
        e.* = std.math.cast(usize, @as(i64, @intFromFloat(bin))) orelse 0;
        if (e.* >= spectrum) return ctx.fail("mel edge {d} lies past the {d} spectrum bins", .{ e.*, spectrum });
    }
    const y = try common.floatOutput(f64, ctx, 0, dtype, &.{ @intCast(spectrum), @intCast(mels) });
    @memset(y.values, 0);
    for (0..mels) |i| {
        const left = edges[i];
        const center = edges[i + 1];
        const right = edges[i + 2];
        if (center == left) y.values[center * mels + i] = 1;
        if (center > left) for (left..center + 1) |j| {
            y.values[j * mels + i] = @as(f64, @floatFromInt(j - left)) / @as(f64, @floatFromInt(center - left));
        };
        if (right > center) for (center..right) |j| {
            y.values[j * mels + i] = @as(f64, @floatFromInt(right - j)) / @as(f64, @floatFromInt(right - center));
        };
    }
    y.finish();
}

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .op = "DFT", .run = dft },
    .{ .op = "MelWeightMatrix", .run = melWeightMatrix },
    .{ .op = "STFT", .run = stft },
    .{ .op = "HannWindow", .run = windowKernel(.hann) },
    .{ .op = "HammingWindow", .run = windowKernel(.hamming) },
    .{ .op = "BlackmanWindow", .run = windowKernel(.blackman) },
};

test "dftLine of a 4-point impulse is flat, and the inverse brings it back" {
    const tw = Twiddles{ .cos = @constCast(&[_]f64{ 1, 0, -1, 0 }), .sin = @constCast(&[_]f64{ 0, 1, 0, -1 }) };
    var re = [_]f64{ 0, 0, 0, 0 };
    var im = [_]f64{ 0, 0, 0, 0 };
    dftLine(tw, &.{ 1, 0, 0, 0 }, &.{ 0, 0, 0, 0 }, &re, &im, false);
    try std.testing.expectEqualSlices(f64, &.{ 1, 1, 1, 1 }, &re);
    var back_re = [_]f64{ 0, 0, 0, 0 };
    var back_im = [_]f64{ 0, 0, 0, 0 };
    dftLine(tw, &re, &im, &back_re, &back_im, true);
    try std.testing.expectEqualSlices(f64, &.{ 1, 0, 0, 0 }, &back_re);
}

test "a periodic Hann window of 4 is 0, 0.5, 1, 0.5" {
    const expected = [_]f64{ 0, 0.5, 1, 0.5 };
    for (expected, 0..) |e, n| {
        try std.testing.expectApproxEqAbs(e, value(.hann, @floatFromInt(n), 4), 1e-12);
    }
}
