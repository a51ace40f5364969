//! LinearClassifier and LinearRegressor (ai.onnx.ml; part of the ml family, see ml.zig): one
//! score per class or target, intercept + coefficients . x, then the post_transform. These are
//! what scikit-learn's LogisticRegression, LinearSVC and LinearRegression convert to.
const std = @import("std");
const common = @import("nn_common.zig");
const scores = @import("ml_scores.zig");

const Context = common.Context;
const Error = common.Error;

/// `outputs` rows of coefficients [outputs, width] and their intercepts (empty means zeros).
const Weights = struct {
    coefficients: []const f64,
    intercepts: []const f64,
    outputs: usize,

    fn load(ctx: *const Context, outputs: usize, width: usize) Error!Weights {
        const coefficients = try scores.floatList(ctx, "coefficients");
        const intercepts = try scores.floatList(ctx, "intercepts");
        if (coefficients.len != try common.mulChecked(ctx, outputs, width)) {
            return ctx.fail("{d} coefficients for {d} outputs of {d} features", .{ coefficients.len, outputs, width });
        }
        if (intercepts.len != 0 and intercepts.len != outputs) {
            return ctx.fail("{d} intercepts for {d} outputs", .{ intercepts.len, outputs });
        }
        return .{ .coefficients = coefficients, .intercepts = intercepts, .outputs = outputs };
    }

    fn apply(self: Weights, x: []const f64, out: []f64) void {
        for (out, 0..) |*o, k| {
            var sum: f64 = if (self.intercepts.len > 0) self.intercepts[k] else 0;
            for (x, self.coefficients[k * x.len ..][0..x.len]) |v, w| sum += v * w;
            o.* = sum;
        }
    }
};

/// The class count: one per intercept, else one per row of coefficients.
fn classCount(ctx: *const Context, width: usize) Error!usize {
    if (ctx.node.attrFloats("intercepts")) |intercepts| if (intercepts.len > 0) return intercepts.len;
    const coefficients = ctx.node.attrFloats("coefficients") orelse &.{};
    if (width == 0 or coefficients.len == 0) return ctx.fail("needs intercepts or coefficients", .{});
    return coefficients.len / width;
}

/// Y [N] labels and Z [N, classes] scores. A single score with two labels is a binary model:
/// s > 0 picks the second label and Z is [1 - t(s), t(s)], t the LOGISTIC (or PROBIT)
/// transform, as onnxruntime writes it.
fn linearClassifier(ctx: *Context) Error!void {
    const x = try scores.rows(ctx, 0);
    const labels = scores.Labels.load(ctx, "classlabels_ints");
    const post = try scores.transform(ctx);
    const classes = try classCount(ctx, x.width);
    const weights = try Weights.load(ctx, classes, x.width);
    const labelled = labels.count();
    if (classes > 1 and labelled != 0 and labelled != classes) {
        return ctx.fail("{d} class labels for {d} classes", .{ labelled, classes });
    }
    const binary = classes == 1 and labelled == 2;
    const width: usize = if (binary) 2 else classes;
    const y = try scores.LabelOutput.init(ctx, labels, x.count);
    const z = try scores.scoresOutput(ctx, 1, x.count, width);
    const row_scores = try ctx.alloc(f64, width);
    for (0..x.count) |i| {
        const s = row_scores[0..classes];
        weights.apply(x.row(i), s);
        if (classes == 1) {
            const positive: usize = @intFromBool(s[0] > 0);
            try y.set(ctx, i, if (binary) .{ .index = positive } else .{ .raw = @intCast(positive) });
        } else {
            try y.set(ctx, i, .{ .index = scores.argmax(s) });
        }
        if (binary) {
            const t = switch (post) {
                .logistic => scores.logistic(s[0]),
                .probit => scores.probit(s[0]),
                else => s[0],
            };
            row_scores[0..2].* = .{ 1 - t, t };
        } else {
            scores.apply(post, s);
        }
        if (z) |out| scores.store(out[i * width ..][0..width], row_scores);
    }
}

/// Y [N, targets]: one linear score per target, through the post_transform.
fn linearRegressor(ctx: *Context) Error!void {
    const x = try scores.rows(ctx, 0);
    const post = try scores.transform(ctx);
    const targets = std.math.cast(usize, ctx.node.attrInt("targets", 1)) orelse
        return ctx.fail("targets must not be negative", .{});
    const weights = try Weights.load(ctx, targets, x.width);
    const y = try ctx.output(0, .float32, &.{ @intCast(x.count), @intCast(targets) });
    const out = y.items(f32);
    const row_scores = try ctx.alloc(f64, targets);
    for (0..x.count) |i| {
        weights.apply(x.row(i), row_scores);
        scores.apply(post, row_scores);
        scores.store(out[i * targets ..][0..targets], row_scores);
    }
}

const domain = "ai.onnx.ml";

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .domain = domain, .op = "LinearClassifier", .run = linearClassifier },
    .{ .domain = domain, .op = "LinearRegressor", .run = linearRegressor },
};
