//! The generator operators: RandomNormal, RandomUniform, RandomNormalLike, RandomUniformLike,
//! Bernoulli and Multinomial.
//!
//! They draw from random.zig's Mt19937 (numpy's legacy RandomState, as onnx's reference does),
//! one element after another in row-major order: uniform values are low + (high - low)·u for
//! numpy's 53-bit double u; normal values come from RandomState's polar method (legacy_gauss,
//! which keeps the second value of each pair for the next draw); Bernoulli is numpy's
//! binomial(1, p) by inversion, one draw or more per element. The draws are numpy's; the values
//! are computed in f64 and rounded once to the output type, where the reference rounds after each
//! step, so a seeded node can differ from it in the last bit. Multinomial has no reference in onnx
//! and onnxruntime uses its own generator: each sample is one uniform draw inverted through the
//! row's cumulative probabilities. A seeded node gives the same tensor on every run (the generator
//! is built from the seed at each run); an unseeded node draws a fresh seed each run.
const std = @import("std");
const common = @import("nn_common.zig");
const random = @import("random.zig");

const Context = common.Context;
const Error = common.Error;
const Tensor = common.Tensor;
const DType = common.DType;

/// The stream a node draws from: the generator and the Gauss value held back from the last pair.
pub const Draws = struct {
    rng: random.Mt19937,
    gauss: ?f64 = null,

    pub fn init(seed: u32) Draws {
        return .{ .rng = random.Mt19937.init(seed) };
    }

    /// A double in [0, 1).
    pub fn uniform(self: *Draws) f64 {
        return self.rng.nextDouble();
    }

    /// A standard normal value, as RandomState.standard_normal (Marsaglia's polar method).
    pub fn normal(self: *Draws) f64 {
        if (self.gauss) |held| {
            self.gauss = null;
            return held;
        }
        while (true) {
            const x1 = 2 * self.uniform() - 1;
            const x2 = 2 * self.uniform() - 1;
            const r2 = x1 * x1 + x2 * x2;
            if (r2 >= 1 or r2 == 0) continue;
            const f = @sqrt(-2 * @log(r2) / r2);
            self.gauss = f * x1;
            return f * x2;
        }
    }

    /// One Bernoulli trial, as RandomState.binomial(1, p) with p in [0, 1].
    pub fn bernoulli(self: *Draws, p: f64) bool {
        std.debug.assert(p >= 0 and p <= 1);
        // numpy inverts for the rarer outcome: for p > 0.5 it counts failures with 1 - p.
        if (p <= 0.5) return self.binomialOne(p);
        return !self.binomialOne(1 - p);
    }

    /// numpy's random_binomial_inversion with n = 1, whose bound min(n, np + 10·sqrt(npq + 1))
    /// is then always 1: a walk that passes one success starts over with a fresh draw.
    fn binomialOne(self: *Draws, p: f64) bool {
        const q = 1 - p;
        const qn = @exp(@log(q));
        var successes: f64 = 0;
        var px = qn;
        var u = self.uniform();
        while (u > px) {
            successes += 1;
            if (successes > 1) {
                successes = 0;
                px = qn;
                u = self.uniform();
            } else {
                u -= px;
                px = ((1 - successes + 1) * p * px) / (successes * q);
            }
        }
        return successes == 1;
    }

    /// A class index drawn with the weights whose running sums are `cumulative` (the last is the
    /// total, positive). Rounding can put u·total at the total itself: that is the last class
    /// with a weight, never one after it.
    pub fn category(self: *Draws, cumulative: []const f64, last_weighted: usize) usize {
        const target = self.uniform() * cumulative[cumulative.len - 1];
        var lo: usize = 0;
        var hi: usize = cumulative.len;
        while (lo < hi) {
            const mid = lo + (hi - lo) / 2;
            if (cumulative[mid] > target) hi = mid else lo = mid + 1;
        }
        return @min(lo, last_weighted);
    }
};

/// The node's stream: its float `seed` attribute truncated as Python's int() does (a NaN seed
/// counts as none, as in the reference), else a fresh seed.
fn draws(ctx: *const Context) Error!Draws {
    if (!ctx.node.has("seed")) return .{ .rng = try random.seeded(ctx, null) };
    const seed = ctx.node.attrFloat("seed", 0);
    if (std.math.isNan(seed)) return .{ .rng = try random.seeded(ctx, null) };
    const whole = @trunc(@as(f64, seed));
    if (!(whole >= 0 and whole <= std.math.maxInt(u32))) {
        return ctx.fail("seed {d} is outside 0..2^32-1", .{seed});
    }
    return .{ .rng = try random.seeded(ctx, @intFromFloat(whole)) };
}

const float_types = [_]DType{ .float32, .float64, .float16, .bfloat16 };

/// The `dtype` attribute when set, else `default`; it must be one of `allowed`.
fn outputType(ctx: *const Context, default: DType, allowed: []const DType) Error!DType {
    const code = ctx.node.attrInt("dtype", @intFromEnum(default));
    const small = std.math.cast(i32, code) orelse return ctx.fail("dtype {d} is not an element type", .{code});
    const dtype = DType.fromInt(small) catch return ctx.fail("dtype {d} is not an element type", .{code});
    if (std.mem.indexOfScalar(DType, allowed, dtype) == null) return ctx.unsupported(dtype);
    return dtype;
}

/// Elements drawn between two checks for cancellation: a shape attribute can ask for billions.
const chunk_elements = 1 << 16;

const Law = union(enum) {
    normal: struct { mean: f64, scale: f64 },
    uniform: struct { low: f64, high: f64 },
};

fn law(ctx: *const Context, normal: bool) Law {
    const node = ctx.node;
    if (normal) return .{ .normal = .{ .mean = node.attrFloat("mean", 0), .scale = node.attrFloat("scale", 1) } };
    return .{ .uniform = .{ .low = node.attrFloat("low", 0), .high = node.attrFloat("high", 1) } };
}

/// Fills output 0 of `shape` and `dtype` with draws from `distribution`.
fn fillFloats(ctx: *Context, dtype: DType, shape: []const i64, distribution: Law) Error!void {
    var stream = try draws(ctx);
    const out = try common.floatOutput(f64, ctx, 0, dtype, shape);
    var start: usize = 0;
    while (start < out.values.len) : (start += chunk_elements) {
        try ctx.checkStop();
        const chunk = out.values[start..@min(start + chunk_elements, out.values.len)];
        switch (distribution) {
            .normal => |n| for (chunk) |*v| {
                v.* = n.mean + n.scale * stream.normal();
            },
            .uniform => |u| for (chunk) |*v| {
                v.* = u.low + (u.high - u.low) * stream.uniform();
            },
        }
    }
    out.finish();
}

/// RandomNormal, RandomUniform: the shape attribute (required, non-empty as the reference has it).
fn shaped(comptime normal: bool) @import("../kernel.zig").Kernel {
    return struct {
        fn run(ctx: *Context) Error!void {
            const shape = ctx.node.attrInts("shape") orelse return ctx.fail("needs attribute shape", .{});
            if (shape.len == 0) return ctx.fail("attribute shape is empty", .{});
            for (shape) |d| if (d < 0) return ctx.fail("shape has a negative dim {d}", .{d});
            _ = try common.countOf(ctx, shape);
            const dtype = try outputType(ctx, .float32, &float_types);
            try fillFloats(ctx, dtype, shape, law(ctx, normal));
        }
    }.run;
}

/// RandomNormalLike, RandomUniformLike: the input's shape, and its type unless dtype is set.
fn like(comptime normal: bool) @import("../kernel.zig").Kernel {
    return struct {
        fn run(ctx: *Context) Error!void {
            const x = try ctx.require(0);
            const dtype = try outputType(ctx, x.dtype, &float_types);
            try fillFloats(ctx, dtype, x.shape, law(ctx, normal));
        }
    }.run;
}

const bernoulli_types = float_types ++ [_]DType{ .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64, .bool };

/// Bernoulli: each element 1 with the input's probability; the output takes dtype, else the
/// input's type. A probability outside [0, 1] (or NaN) fails, as numpy refuses it.
fn bernoulli(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    _ = try common.precision(ctx, x.dtype, false);
    const dtype = try outputType(ctx, x.dtype, &bernoulli_types);
    const p = try common.floats(f64, ctx, x);
    for (p, 0..) |v, i| if (!(v >= 0 and v <= 1)) {
        return ctx.fail("probability {d} at element {d} is outside [0, 1]", .{ v, i });
    };
    var stream = try draws(ctx);
    if (dtype == .bool) {
        const out = try ctx.output(0, .bool, x.shape);
        for (out.data[0..p.len], p) |*o, v| o.* = @intFromBool(stream.bernoulli(v));
        return;
    }
    const out = try common.floatOutput(f64, ctx, 0, dtype, x.shape);
    for (out.values, p) |*o, v| o.* = @floatFromInt(@intFromBool(stream.bernoulli(v)));
    out.finish();
}

/// Multinomial: input [batch, classes] of unnormalized log-probabilities; output [batch,
/// sample_size] of class indices, int32 unless dtype says int64.
fn multinomial(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    _ = try common.precision(ctx, x.dtype, false);
    if (x.shape.len != 2) return ctx.fail("input must be [batch_size, class_size], not rank {d}", .{x.shape.len});
    const batch = common.dim(x, 0);
    const classes = common.dim(x, 1);
    const samples = ctx.node.attrInt("sample_size", 1);
    if (samples < 0) return ctx.fail("sample_size is {d}", .{samples});
    const dtype = try outputType(ctx, .int32, &.{ .int32, .int64 });
    const out = try ctx.output(0, dtype, &.{ @intCast(batch), samples });
    const per_row: usize = @intCast(samples);
    if (batch == 0 or per_row == 0) return;
    if (classes == 0) return ctx.fail("has no classes to draw from", .{});
    const logits = try common.floats(f64, ctx, x);
    const cumulative = try ctx.alloc(f64, classes);
    var stream = try draws(ctx);
    for (0..batch) |row| {
        try ctx.checkStop();
        const last_weighted = try weights(ctx, row, logits[row * classes ..][0..classes], cumulative);
        for (0..per_row) |s| {
            const class = stream.category(cumulative, last_weighted);
            const at = row * per_row + s;
            if (dtype == .int32) out.items(i32)[at] = @intCast(class) else out.items(i64)[at] = @intCast(class);
        }
    }
}

/// The running sums of exp(logit - max) over one row, and the last class with a weight.
fn weights(ctx: *const Context, row: usize, logits: []const f64, cumulative: []f64) Error!usize {
    var max = -std.math.inf(f64);
    for (logits) |v| {
        if (std.math.isNan(v) or v == std.math.inf(f64)) return ctx.fail("row {d} holds {d}", .{ row, v });
        max = @max(max, v);
    }
    if (max == -std.math.inf(f64)) return ctx.fail("row {d} gives every class probability 0", .{row});
    var total: f64 = 0;
    var last: usize = 0;
    for (logits, cumulative, 0..) |v, *c, i| {
        const w = @exp(v - max);
        if (w > 0) last = i;
        total += w;
        c.* = total;
    }
    return last;
}

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .op = "RandomNormal", .run = shaped(true) },
    .{ .op = "RandomUniform", .run = shaped(false) },
    .{ .op = "RandomNormalLike", .run = like(true) },
    .{ .op = "RandomUniformLike", .run = like(false) },
    .{ .op = "Bernoulli", .run = bernoulli },
    .{ .op = "Multinomial", .run = multinomial },
};
