//! Shape rules for signal processing (HannWindow, HammingWindow, BlackmanWindow, DFT, STFT,
//! MelWeightMatrix) and random generators (RandomNormal/Uniform and their -Like forms, Bernoulli,
//! Multinomial). Part of the reduce family; reduce.zig lists these rules.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const tensor = @import("../../tensor/tensor.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");
const util = @import("reduce_util.zig");

const Context = context.Context;
const Dim = ir.Dim;
const DType = ir.DType;

/// HannWindow, HammingWindow, BlackmanWindow: a 1-D window of `size` elements.
fn window(ctx: *Context) status.Error!void {
    const size = try util.scalarDim(ctx, 0, "window");
    const dtype = try util.dtypeAttr(ctx, "output_datatype", &util.numeric_types) orelse .float32;
    const out = try ctx.alloc(Dim, 1);
    out[0] = size;
    try ctx.setOutput(0, dtype, out);
}

/// [floor(dft_length / 2) + 1, num_mel_bins].
fn melWeightMatrix(ctx: *Context) status.Error!void {
    for (2..5) |i| _ = try ctx.require(i);
    const bins = try util.scalarDim(ctx, 0, "mel_bins");
    const dft_length = try util.scalarDim(ctx, 1, "dft_length");
    const dtype = try util.dtypeAttr(ctx, "output_datatype", &util.numeric_types) orelse .float32;
    const out = try ctx.alloc(Dim, 2);
    out[0] = try util.halfPlusOne(ctx, dft_length);
    out[1] = bins;
    try ctx.setOutput(0, dtype, out);
}

/// The DFT axis as an index into the input shape; null when an axis input is not known. The
/// last dim holds the real and imaginary parts, so it is no valid axis.
fn dftAxis(ctx: *Context, rank: usize) status.Error!?usize {
    var value: i64 = undefined;
    if (ctx.node.opset < 20) {
        value = ctx.attrInt("axis", 1);
    } else if (!ctx.hasInput(2)) {
        value = -2;
    } else {
        try util.requireInts(ctx, 2);
        if (ctx.shape(2)) |s| if (s.len > 1) return ctx.fail("axis must be a scalar", .{});
        const elements = try ctx.elements(2) orelse return null;
        if (elements.len != 1) return ctx.fail("axis must hold one value, not {d}", .{elements.len});
        value = ctx.pool.value(elements[0]) orelse return null;
    }
    const r: i64 = @intCast(rank);
    const a = if (value < 0) value +| r else value;
    if (a < 0 or a > r - 2) return ctx.fail("axis {d} is out of range for rank {d}", .{ value, rank });
    return @intCast(a);
}

/// The transformed axis' output size: dft_length, halved for a forward one-sided transform.
/// Without dft_length, the IRFFT restores 2 * (n - 1) samples from n bins.
fn dftAxisDim(ctx: *Context, n: Dim, onesided: bool, inverse: bool) status.Error!Dim {
    var length = n;
    if (ctx.hasInput(1)) {
        length = try util.scalarDim(ctx, 1, "dft_length");
    } else if (onesided and inverse) {
        length = try ctx.pool.mul(try ctx.dim(2), try ctx.pool.sub(n, try ctx.dim(1)));
    }
    if (ctx.pool.value(length)) |v| if (v < 1) return ctx.fail("dft_length is {d}", .{v});
    return if (onesided and !inverse) util.halfPlusOne(ctx, length) else length;
}

/// The last dim of a signal: 1 for real values, 2 for complex ones.
fn checkComplexDim(ctx: *Context, d: Dim) status.Error!?i64 {
    const v = ctx.pool.value(d) orelse return null;
    if (v != 1 and v != 2) return ctx.fail("the last dim must be 1 (real) or 2 (complex), not {d}", .{v});
    return v;
}

fn dft(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    if (ctx.inputCount() > (if (ctx.node.opset < 20) @as(usize, 2) else 3)) return ctx.fail("too many inputs", .{});
    const dtype = ctx.dtype(0);
    const onesided = ctx.attrInt("onesided", 0) != 0;
    const inverse = ctx.attrInt("inverse", 0) != 0;
    const in_shape = ctx.shape(0) orelse return ctx.setOutput(0, dtype, null);
    const r = in_shape.len;
    if (r < 2) return ctx.fail("input must have rank 2 or more, not {d}", .{r});
    if (try checkComplexDim(ctx, in_shape[r - 1])) |parts| if (onesided and parts != @as(i64, if (inverse) 2 else 1)) {
        return ctx.fail("a one-sided {s} needs {s} input", .{
            if (inverse) "IRFFT" else "RFFT", if (inverse) "complex" else "real",
        });
    };
    const out = try ctx.alloc(Dim, r);
    @memcpy(out, in_shape);
    out[r - 1] = try ctx.dim(if (onesided and inverse) 1 else 2);
    if (try dftAxis(ctx, r)) |a| {
        out[a] = try dftAxisDim(ctx, in_shape[a], onesided, inverse);
    } else if (onesided or ctx.hasInput(1)) {
        // Which dim changes is unknown; a plain DFT without dft_length changes none.
        for (out[0 .. r - 1]) |*d| d.* = try ctx.freshDim("dft");
    }
    try ctx.setOutput(0, dtype, out);
}

/// The frame length: the frame_length input, else the window's length, else the whole signal.
fn stftFrameLength(ctx: *Context, signal_length: Dim) status.Error!Dim {
    var from_window: ?Dim = null;
    if (ctx.hasInput(2)) {
        if (ctx.shape(2)) |w| {
            if (w.len != 1) return ctx.fail("window must be 1-D, not rank {d}", .{w.len});
            from_window = w[0];
        } else from_window = try ctx.freshDim("frame_length");
    }
    if (!ctx.hasInput(3)) return from_window orelse signal_length;
    const given = try util.scalarDim(ctx, 3, "frame_length");
    if (from_window) |w| if (ctx.pool.value(w)) |wv| if (ctx.pool.value(given)) |gv| if (wv != gv) {
        return ctx.fail("window length {d} differs from frame_length {d}", .{ wv, gv });
    };
    return given;
}

/// [batch, frames, bins, 2] with frames = floor((signal_length - frame_length) / frame_step) + 1.
fn stft(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const dtype = ctx.dtype(0);
    const step = try util.knownScalar(ctx, 1);
    if (step) |s| if (ctx.pool.value(s)) |v| if (v < 1) return ctx.fail("frame_step is {d}", .{v});
    const in_shape = ctx.shape(0) orelse return ctx.setOutput(0, dtype, null);
    if (in_shape.len != 3) return ctx.fail("signal must have rank 3, not {d}", .{in_shape.len});
    const parts = try checkComplexDim(ctx, in_shape[2]);
    const onesided = ctx.attrInt("onesided", 1) != 0;
    if (onesided and parts == @as(i64, 2)) return ctx.fail("a one-sided STFT needs real input", .{});
    const frame_length = try stftFrameLength(ctx, in_shape[1]);
    if (ctx.pool.value(frame_length)) |v| if (v < 1) return ctx.fail("frame_length is {d}", .{v});
    const pool = ctx.pool;
    const frames = if (step) |s|
        try pool.add(try pool.div(try pool.sub(in_shape[1], frame_length), s), try ctx.dim(1))
    else
        try ctx.freshDim("frames");
    if (pool.value(frames)) |v| if (v < 1) return ctx.fail("the frame is longer than the signal", .{});
    const out = try ctx.alloc(Dim, 4);
    out[0] = in_shape[0];
    out[1] = frames;
    out[2] = if (onesided) try util.halfPlusOne(ctx, frame_length) else frame_length;
    out[3] = try ctx.dim(2);
    try ctx.setOutput(0, dtype, out);
}

/// RandomNormal, RandomUniform: the shape and dtype attributes decide the output.
fn randomShaped(ctx: *Context) status.Error!void {
    if (ctx.inputCount() != 0) return ctx.fail("takes no inputs", .{});
    const shape = ctx.attrInts("shape") orelse return ctx.fail("needs attribute shape", .{});
    if (shape.len > tensor.max_rank) return ctx.fail("shape has rank {d}, over {d}", .{ shape.len, tensor.max_rank });
    for (shape) |d| if (d < 0) return ctx.fail("shape has a negative dim {d}", .{d});
    const dtype = try util.dtypeAttr(ctx, "dtype", &util.float_types) orelse .float32;
    try ctx.setOutput(0, dtype, try ctx.dims(shape));
}

/// RandomNormalLike, RandomUniformLike: the input's shape; dtype from the attribute or the input.
fn randomLike(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const dtype = try util.dtypeAttr(ctx, "dtype", &util.float_types) orelse ctx.dtype(0);
    try util.shapeOf(ctx, 0, 0, dtype);
}

const bernoulli_types = util.numeric_types ++ [_]DType{.bool};

fn bernoulli(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const dtype = try util.dtypeAttr(ctx, "dtype", &bernoulli_types) orelse ctx.dtype(0);
    try util.shapeOf(ctx, 0, 0, dtype);
}

/// [batch_size, class_size] probabilities → [batch_size, sample_size] class indices.
fn multinomial(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const dtype = try util.dtypeAttr(ctx, "dtype", &.{ .int32, .int64 }) orelse .int32;
    const samples = ctx.attrInt("sample_size", 1);
    if (samples < 0) return ctx.fail("sample_size is {d}", .{samples});
    const out = try ctx.alloc(Dim, 2);
    if (ctx.shape(0)) |in_shape| {
        if (in_shape.len != 2) return ctx.fail("input must be [batch_size, class_size], not rank {d}", .{in_shape.len});
        out[0] = in_shape[0];
    } else out[0] = try ctx.freshDim("batch");
    out[1] = try ctx.dim(samples);
    try ctx.setOutput(0, dtype, out);
}

pub const rules = [_]registry.Entry{
    .{ .op = "HannWindow", .rule = window },
    .{ .op = "HammingWindow", .rule = window },
    .{ .op = "BlackmanWindow", .rule = window },
    .{ .op = "MelWeightMatrix", .rule = melWeightMatrix },
    .{ .op = "DFT", .rule = dft },
    .{ .op = "STFT", .rule = stft },
    .{ .op = "RandomNormal", .rule = randomShaped },
    .{ .op = "RandomUniform", .rule = randomShaped },
    .{ .op = "RandomNormalLike", .rule = randomLike },
    .{ .op = "RandomUniformLike", .rule = randomLike },
    .{ .op = "Bernoulli", .rule = bernoulli },
    .{ .op = "Multinomial", .rule = multinomial },
};
