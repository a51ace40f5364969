//! Softmax, LogSoftmax and Hardmax along an axis (before opset 13: over the input coerced to 2-D
//! at the axis), and the losses built on them: SoftmaxCrossEntropyLoss, NegativeLogLikelihoodLoss.
//! Each works on [outer, dim, inner] blocks; with inner > 1 it keeps per-column running values in
//! an `inner`-long buffer so that every pass reads memory in order.
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");
const Entry = @import("entry.zig").Entry;
const common = @import("linalg_common.zig");
const simd = @import("simd_math.zig");

const Context = kernel.Context;
const Tensor = kernel.Tensor;

const Mode = enum { softmax, log_softmax, hardmax };

const Block = struct { outer: usize, dim: usize, inner: usize };

fn blockOf(ctx: *Context, shape: []const i64) status.Error!Block {
    const rank = shape.len;
    _ = try common.product(ctx, shape);
    if (ctx.node.opset < 13) {
        const value = ctx.node.attrInt("axis", 1);
        const r: i64 = @intCast(rank);
        const a = if (value < 0) value + r else value;
        if (a < 0 or a > r) return ctx.fail("axis {d} is out of range for rank {d}", .{ value, rank });
        const axis: usize = @intCast(a);
        return .{
            .outer = try common.product(ctx, shape[0..axis]),
            .dim = try common.product(ctx, shape[axis..]),
            .inner = 1,
        };
    }
    if (rank == 0) return ctx.fail("input must have rank at least 1", .{});
    const axis = try common.axis(ctx, ctx.node.attrInt("axis", -1), rank);
    return .{
        .outer = try common.product(ctx, shape[0..axis]),
        .dim = @intCast(shape[axis]),
        .inner = try common.product(ctx, shape[axis + 1 ..]),
    };
}

fn softmaxFamily(comptime mode: Mode) kernel.Kernel {
    return struct {
        fn run(ctx: *Context) status.Error!void {
            const x = try ctx.require(0);
            const b = try blockOf(ctx, x.shape);
            if (mode == .softmax and x.dtype == .float32 and b.inner == 1 and b.dim > 0) {
                const out = try ctx.output(0, x.dtype, x.shape);
                const job: RowsJob = .{ .x = try common.elems(ctx, f32, x), .y = out.items(f32), .dim = b.dim };
                if (b.outer * b.dim < parallel_min_elements or ctx.threadCount() == 1) return job.run(0, b.outer);
                return ctx.parallelFor(b.outer, &job, RowsJob.run);
            }
            inline for (common.float_kinds) |kind| if (x.dtype == kind.dtype) {
                const xs = try common.elems(ctx, kind.T, x);
                const out = try ctx.output(0, x.dtype, x.shape);
                // An empty axis or inner block leaves nothing to compute, whatever the outer
                // count says (it may be 2^40: the loop below would run that many times).
                if (b.dim == 0 or b.inner == 0) return;
                const scratch = try ctx.alloc(common.Acc(kind.T), 2 * b.inner);
                for (0..b.outer) |o| {
                    const base = o * b.dim * b.inner;
                    const src = xs[base..][0 .. b.dim * b.inner];
                    const dst = out.items(kind.T)[base..][0 .. b.dim * b.inner];
                    if (mode == .hardmax) hardmax(kind.T, src, dst, b, scratch) else softmax(
                        kind.T,
                        mode,
                        src,
                        dst,
                        b,
                        scratch,
                    );
                }
                return;
            };
            return ctx.unsupported(x.dtype);
        }
    }.run;
}

/// Softmax inputs at least this large are split by rows across the pool (a wake costs µs).
const parallel_min_elements = 1 << 14;

/// float32 softmax over contiguous rows of `dim`, a vector of lanes at a time.
const RowsJob = struct {
    x: []const f32,
    y: []f32,
    dim: usize,

    fn run(self: *const RowsJob, begin: usize, end: usize) void {
        for (begin..end) |row| softmaxRowF32(self.x[row * self.dim ..][0..self.dim], self.y[row * self.dim ..][0..self.dim]);
    }
};

fn softmaxRowF32(x: []const f32, y: []f32) void {
    const V = simd.V;
    const n = simd.lanes;
    const full = x.len / n * n;
    var vmax: V = @splat(-std.math.inf(f32));
    var i: usize = 0;
    while (i < full) : (i += n) vmax = @max(vmax, @as(V, x[i..][0..n].*));
    var max = @reduce(.Max, vmax);
    for (x[full..]) |v| max = @max(max, v);
    const shift: V = @splat(max);
    var vsum: V = @splat(0);
    i = 0;
    while (i < full) : (i += n) {
        const e = simd.exp(@as(V, x[i..][0..n].*) - shift);
        y[i..][0..n].* = e;
        vsum += e;
    }
    if (full < x.len) {
        // The tail through a vector padded with -inf, whose exponentials add nothing.
        var tail: [simd.lanes]f32 = @splat(-std.math.inf(f32));
        @memcpy(tail[0 .. x.len - full], x[full..]);
        const e: [simd.lanes]f32 = simd.exp(@as(V, tail) - shift);
        @memcpy(y[full..], e[0 .. x.len - full]);
        vsum += @as(V, e);
    }
    const scale: V = @splat(1 / @reduce(.Add, vsum));
    i = 0;
    while (i < full) : (i += n) y[i..][0..n].* = @as(V, y[i..][0..n].*) * scale;
    for (y[full..]) |*o| o.* *= scale[0];
}

/// One [dim, inner] block: max, sum of exp(x - max), then the normalized values.
fn softmax(comptime T: type, comptime mode: Mode, x: []const T, y: []T, b: Block, scratch: []common.Acc(T)) void {
    const A = common.Acc(T);
    if (b.inner == 1) return softmaxRow(T, mode, x, y);
    const max = scratch[0..b.inner];
    const sum = scratch[b.inner..][0..b.inner];
    @memset(max, -std.math.inf(A));
    @memset(sum, 0);
    for (0..b.dim) |d| for (max, x[d * b.inner ..][0..b.inner]) |*m, v| {
        m.* = @max(m.*, common.load(T, v));
    };
    if (mode == .log_softmax) {
        for (0..b.dim) |d| for (sum, max, x[d * b.inner ..][0..b.inner]) |*s, m, v| {
            s.* += @exp(common.load(T, v) - m);
        };
        for (sum) |*s| s.* = @log(s.*);
        for (0..b.dim) |d| for (y[d * b.inner ..][0..b.inner], x[d * b.inner ..][0..b.inner], max, sum) |*o, v, m, s| {
            o.* = common.store(T, common.load(T, v) - m - s);
        };
    } else if (T != A) {
        // Rounded as softmaxRow rounds float16 and bfloat16.
        for (0..b.dim) |d| for (sum, max, x[d * b.inner ..][0..b.inner]) |*s, m, v| {
            s.* += reducedExp(T, v, m);
        };
        for (sum) |*s| s.* = reduced(T, s.*);
        for (0..b.dim) |d| for (y[d * b.inner ..][0..b.inner], x[d * b.inner ..][0..b.inner], max, sum) |*o, v, m, s| {
            o.* = common.store(T, reducedExp(T, v, m) / s);
        };
    } else {
        for (0..b.dim) |d| for (sum, max, x[d * b.inner ..][0..b.inner]) |*s, m, v| {
            s.* += @exp(v - m);
        };
        for (sum) |*s| s.* = 1 / s.*;
        for (0..b.dim) |d| for (y[d * b.inner ..][0..b.inner], x[d * b.inner ..][0..b.inner], max, sum) |*o, v, m, s| {
            o.* = @exp(v - m) * s;
        };
    }
}

/// The common case, softmax over the last axis: one contiguous row.
fn softmaxRow(comptime T: type, comptime mode: Mode, x: []const T, y: []T) void {
    const A = common.Acc(T);
    var max: A = -std.math.inf(A);
    for (x) |v| max = @max(max, common.load(T, v));
    var sum: A = 0;
    if (mode == .log_softmax) {
        for (x) |v| sum += @exp(common.load(T, v) - max);
        const shift = max + @log(sum);
        for (y, x) |*o, v| o.* = common.store(T, common.load(T, v) - shift);
        return;
    }
    // exp once per element: y holds exp(x - max) until the final scaling.
    if (T == A) {
        for (y, x) |*o, v| {
            o.* = @exp(v - max);
            sum += o.*;
        }
        const scale = 1 / sum;
        for (y) |*o| o.* *= scale;
    } else {
        // float16 and bfloat16 round where onnx's reference (numpy in the element type) rounds:
        // x - max, its exp, the sum, and the quotient. One rounding at the end instead differs
        // from it by an ulp now and then, which the backend suite's float16 tolerance can notice.
        for (x) |v| sum += reducedExp(T, v, max);
        const total = reduced(T, sum);
        for (y, x) |*o, v| o.* = common.store(T, reducedExp(T, v, max) / total);
    }
}

/// `v` rounded to T and back: the value an operation computed in T would hold.
inline fn reduced(comptime T: type, v: common.Acc(T)) common.Acc(T) {
    return common.load(T, common.store(T, v));
}

/// exp(v - max) as two operations in T: the difference rounded, then its exp.
inline fn reducedExp(comptime T: type, v: T, max: common.Acc(T)) common.Acc(T) {
    return reduced(T, @exp(reduced(T, common.load(T, v) - max)));
}

/// 1 at the first maximum along the axis, 0 elsewhere.
fn hardmax(comptime T: type, x: []const T, y: []T, b: Block, scratch: []common.Acc(T)) void {
    const A = common.Acc(T);
    const max = scratch[0..b.inner];
    @memset(max, -std.math.inf(A));
    for (0..b.dim) |d| for (max, x[d * b.inner ..][0..b.inner]) |*m, v| {
        m.* = @max(m.*, common.load(T, v));
    };
    // The first index that reaches the max wins: clear the max once it has been claimed.
    const claimed = scratch[b.inner..][0..b.inner];
    @memset(claimed, 0);
    for (0..b.dim) |d| for (y[d * b.inner ..][0..b.inner], x[d * b.inner ..][0..b.inner], max, claimed) |*o, v, m, *c| {
        const hit = c.* == 0 and common.load(T, v) == m;
        if (hit) c.* = 1;
        o.* = common.store(T, if (hit) 1 else 0);
    };
}

/// Shared by both losses: log-probabilities [N, C, D] (as Acc), targets [N, D], optional
/// class weights; writes the loss (per element or reduced) to output 0.
fn lossFromLogProb(
    comptime T: type,
    ctx: *Context,
    logp: []const common.Acc(T),
    n: usize,
    c: usize,
    d: usize,
) status.Error!void {
    const A = common.Acc(T);
    const target = try ctx.require(1);
    const labels = try common.readInts(ctx, target, "the target");
    if (labels.len != n * d) return ctx.fail("the target has {d} values, expected {d}", .{ labels.len, n * d });
    var weights: ?[]const T = null;
    if (ctx.input(2)) |w| {
        if (w.dtype != ctx.inputs[0].?.dtype) return ctx.fail("the weight's type differs from the input's", .{});
        const values = try common.elems(ctx, T, w);
        if (values.len != c) return ctx.fail("the weight has {d} values for {d} classes", .{ values.len, c });
        weights = values;
    }
    const ignore: ?i64 = if (ctx.node.has("ignore_index")) ctx.node.attrInt("ignore_index", 0) else null;
    const reduction = ctx.node.attrString("reduction", "mean");
    const none = std.mem.eql(u8, reduction, "none");
    const mean = std.mem.eql(u8, reduction, "mean");
    if (!none and !mean and !std.mem.eql(u8, reduction, "sum")) {
        return ctx.fail("reduction must be none, sum or mean, not '{s}'", .{reduction});
    }
    const per = try ctx.alloc(A, n * d);
    var total: A = 0;
    var weight_sum: A = 0;
    for (0..n) |i| for (0..d) |j| {
        const label = labels[i * d + j];
        if (ignore != null and label == ignore.?) {
            per[i * d + j] = 0;
            continue;
        }
        if (label < 0 or label >= @as(i64, @intCast(c))) {
            return ctx.fail("target {d} is out of range [0, {d})", .{ label, c });
        }
        const k: usize = @intCast(label);
        const w: A = if (weights) |ws| common.load(T, ws[k]) else 1;
        per[i * d + j] = -logp[(i * c + k) * d + j] * w;
        total += per[i * d + j];
        weight_sum += w;
    };
    if (none) {
        const out = try ctx.output(0, ctx.inputs[0].?.dtype, target.shape);
        for (out.items(T), per) |*o, v| o.* = common.store(T, v);
        return;
    }
    const out = try ctx.output(0, ctx.inputs[0].?.dtype, &[_]i64{});
    // Mean divides by the weights of the targets counted (their number without weights).
    out.items(T)[0] = common.store(T, if (mean) total / weight_sum else total);
}

fn lossShape(ctx: *Context, x: *const Tensor) status.Error![3]usize {
    if (x.shape.len < 2) return ctx.fail("the scores must have rank at least 2, not {d}", .{x.shape.len});
    return .{ @intCast(x.shape[0]), @intCast(x.shape[1]), try common.product(ctx, x.shape[2..]) };
}

fn negativeLogLikelihoodLoss(ctx: *Context) status.Error!void {
    const x = try ctx.require(0);
    const s = try lossShape(ctx, x);
    inline for (common.float_kinds) |kind| if (x.dtype == kind.dtype) {
        const xs = try common.elems(ctx, kind.T, x);
        const logp = try ctx.alloc(common.Acc(kind.T), xs.len);
        for (logp, xs) |*l, v| l.* = common.load(kind.T, v);
        return lossFromLogProb(kind.T, ctx, logp, s[0], s[1], s[2]);
    };
    return ctx.unsupported(x.dtype);
}

fn softmaxCrossEntropyLoss(ctx: *Context) status.Error!void {
    const x = try ctx.require(0);
    const s = try lossShape(ctx, x);
    inline for (common.float_kinds) |kind| if (x.dtype == kind.dtype) {
        const A = common.Acc(kind.T);
        const xs = try common.elems(ctx, kind.T, x);
        const wide = try ctx.alloc(A, xs.len);
        for (wide, xs) |*l, v| l.* = common.load(kind.T, v);
        const logp = try ctx.alloc(A, xs.len);
        const scratch = try ctx.alloc(A, 2 * s[2]);
        const b: Block = .{ .outer = s[0], .dim = s[1], .inner = s[2] };
        for (0..s[0]) |o| {
            const base = o * s[1] * s[2];
            softmax(A, .log_softmax, wide[base..][0 .. s[1] * s[2]], logp[base..][0 .. s[1] * s[2]], b, scratch);
        }
        try lossFromLogProb(kind.T, ctx, logp, s[0], s[1], s[2]);
        if (ctx.wantsOutput(1)) {
            const out = try ctx.output(1, x.dtype, x.shape);
            for (out.items(kind.T), logp) |*o, v| o.* = common.store(kind.T, v);
        }
        return;
    };
    return ctx.unsupported(x.dtype);
}

pub const kernels = [_]Entry{
    .{ .op = "Softmax", .run = softmaxFamily(.softmax) },
    .{ .op = "LogSoftmax", .run = softmaxFamily(.log_softmax) },
    .{ .op = "Hardmax", .run = softmaxFamily(.hardmax) },
    .{ .op = "SoftmaxCrossEntropyLoss", .run = softmaxCrossEntropyLoss },
    .{ .op = "NegativeLogLikelihoodLoss", .run = negativeLogLikelihoodLoss },
};
