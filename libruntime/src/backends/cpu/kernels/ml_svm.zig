//! SVMClassifier and SVMRegressor (ai.onnx.ml; part of the ml family, see ml.zig), what
//! scikit-learn's SVC and SVR convert to. With support vectors, a classifier is libsvm's
//! one-versus-one: each pair of classes (i, j) has a decision value from the kernel values of
//! both classes' vectors, whose sign is a vote; with prob_a/prob_b those values become pairwise
//! probabilities that libsvm's coupling turns into one probability per class. Without support
//! vectors the model is linear (one coefficient row per class). Labels and the binary score
//! layout follow onnxruntime.
const std = @import("std");
const common = @import("nn_common.zig");
const scores = @import("ml_scores.zig");

const Context = common.Context;
const Error = common.Error;

const KernelType = enum { linear, poly, rbf, sigmoid };

/// A kernel function with its parameters (kernel_params: gamma, coef0, degree).
const Kernel = struct {
    kind: KernelType,
    gamma: f64 = 0,
    coef0: f64 = 0,
    degree: f64 = 0,

    fn load(ctx: *const Context) Error!Kernel {
        const name = ctx.node.attrString("kernel_type", "LINEAR");
        const kinds = std.StaticStringMap(KernelType).initComptime(.{
            .{ "LINEAR", .linear }, .{ "POLY", .poly }, .{ "RBF", .rbf }, .{ "SIGMOID", .sigmoid },
        });
        var k: Kernel = .{ .kind = kinds.get(name) orelse return ctx.fail("kernel_type '{s}' is unknown", .{name}) };
        const params = ctx.node.attrFloats("kernel_params") orelse &.{};
        if (params.len != 0 and params.len != 3) return ctx.fail("kernel_params has {d} values, not 3", .{params.len});
        if (params.len == 3) {
            k.gamma = params[0];
            k.coef0 = params[1];
            k.degree = @trunc(params[2]);
        }
        return k;
    }

    fn eval(self: Kernel, a: []const f64, b: []const f64) f64 {
        if (self.kind == .rbf) {
            var sum: f64 = 0;
            for (a, b) |u, v| sum += (u - v) * (u - v);
            return @exp(-self.gamma * sum);
        }
        var dot: f64 = 0;
        for (a, b) |u, v| dot += u * v;
        return switch (self.kind) {
            .linear, .rbf => dot,
            .poly => std.math.pow(f64, self.gamma * dot + self.coef0, self.degree),
            .sigmoid => std.math.tanh(self.gamma * dot + self.coef0),
        };
    }
};

/// The support vectors [count, width], checked against X's width.
fn supportVectors(ctx: *const Context, count: usize, width: usize) Error![]const f64 {
    const vectors = try scores.floatList(ctx, "support_vectors");
    if (vectors.len != try common.mulChecked(ctx, count, width)) {
        return ctx.fail("{d} support vector values for {d} vectors of {d} features", .{ vectors.len, count, width });
    }
    return vectors;
}

/// The kernel between a row and every support vector.
fn kernelRow(kernel: Kernel, x: []const f64, vectors: []const f64, out: []f64) void {
    for (out, 0..) |*o, j| o.* = kernel.eval(x, vectors[j * x.len ..][0..x.len]);
}

fn vectorCount(ctx: *const Context, per_class: []const i64) Error!usize {
    var total: usize = 0;
    for (per_class) |n| {
        const v = std.math.cast(usize, n) orelse return ctx.fail("vectors_per_class holds {d}", .{n});
        total = std.math.add(usize, total, v) catch return ctx.fail("vectors_per_class overflows", .{});
    }
    return total;
}

/// The one-versus-one model: class c's vectors start at `starts[c]`; the coefficients are
/// [classes - 1, vectors] (libsvm's dual coefficients); rho one per pair.
const Pairwise = struct {
    classes: usize,
    starts: []const usize,
    per_class: []const usize,
    coefficients: []const f64,
    rho: []const f64,
    vectors: usize,

    fn pairs(self: Pairwise) usize {
        return self.classes * (self.classes - 1) / 2;
    }

    fn span(self: Pairwise, row: usize, class: usize, kernel_values: []const f64) f64 {
        const at = self.starts[class];
        const n = self.per_class[class];
        var sum: f64 = 0;
        for (self.coefficients[row * self.vectors + at ..][0..n], kernel_values[at..][0..n]) |c, k| sum += c * k;
        return sum;
    }

    /// Fills one decision value per pair (i < j, in order) and counts the votes.
    fn decide(self: Pairwise, kernel_values: []const f64, values: []f64, votes: []f64) void {
        @memset(votes, 0);
        var pair: usize = 0;
        for (0..self.classes) |i| for (i + 1..self.classes) |j| {
            const s = self.rho[pair] + self.span(j - 1, i, kernel_values) + self.span(i, j, kernel_values);
            values[pair] = s;
            votes[if (s > 0) i else j] += 1;
            pair += 1;
        };
    }
};

fn loadPairwise(ctx: *const Context, classes: usize, rho: []const f64) Error!Pairwise {
    const counts = scores.ints(ctx, "vectors_per_class");
    if (counts.len != classes) return ctx.fail("vectors_per_class has {d} entries for {d} classes", .{ counts.len, classes });
    if (classes < 2) return ctx.fail("needs at least two classes", .{});
    const vectors = try vectorCount(ctx, counts);
    const starts = try ctx.alloc(usize, classes);
    const per_class = try ctx.alloc(usize, classes);
    var at: usize = 0;
    for (starts, per_class, counts) |*s, *n, c| {
        s.* = at;
        n.* = @intCast(c);
        at += n.*;
    }
    const coefficients = try scores.floatList(ctx, "coefficients");
    if (coefficients.len != (classes - 1) * vectors) {
        return ctx.fail("{d} coefficients for {d} classes and {d} vectors", .{ coefficients.len, classes, vectors });
    }
    const model: Pairwise = .{
        .classes = classes,
        .starts = starts,
        .per_class = per_class,
        .coefficients = coefficients,
        .rho = rho,
        .vectors = vectors,
    };
    if (rho.len != model.pairs()) return ctx.fail("{d} rho values for {d} class pairs", .{ rho.len, model.pairs() });
    return model;
}

const probability = @import("ml_svm_probability.zig");

/// What one classifier row computes before labels: raw scores (per pair, or per class when
/// linear or with probabilities) and, one-versus-one, the votes.
const Classifier = struct {
    kernel: Kernel,
    labels: scores.Labels,
    post: scores.Transform,
    rho: []const f64,
    pairwise: ?Pairwise,
    support: []const f64,
    linear: []const f64,
    prob_a: []const f64,
    prob_b: []const f64,
    all_positive: bool,

    fn classes(self: *const Classifier) usize {
        return self.labels.count();
    }

    fn rawWidth(self: *const Classifier) usize {
        const model = self.pairwise orelse return self.classes();
        return if (self.prob_a.len > 0) self.classes() else model.pairs();
    }

    /// Z's width: a single raw score with two labels is written as two columns.
    fn width(self: *const Classifier) usize {
        const raw = self.rawWidth();
        if (raw != 1) return raw;
        return if (self.binaryLabels()) 2 else 1;
    }

    fn binaryLabels(self: *const Classifier) bool {
        return self.rho.len == 1 and self.classes() == 2;
    }
};

fn loadClassifier(ctx: *const Context, width: usize) Error!Classifier {
    const labels = scores.Labels.load(ctx, "classlabels_ints");
    if (labels.count() == 0) return ctx.fail("needs classlabels_ints or classlabels_strings", .{});
    const rho = try scores.floatList(ctx, "rho");
    if (rho.len == 0) return ctx.fail("needs rho", .{});
    const prob_a = try scores.floatList(ctx, "prob_a");
    const prob_b = try scores.floatList(ctx, "prob_b");
    if (prob_a.len != prob_b.len) return ctx.fail("{d} prob_a values but {d} prob_b", .{ prob_a.len, prob_b.len });
    const coefficients = try scores.floatList(ctx, "coefficients");
    var all_positive = true;
    for (coefficients) |c| all_positive = all_positive and c >= 0;
    var c: Classifier = .{
        .kernel = try Kernel.load(ctx),
        .labels = labels,
        .post = try scores.transform(ctx),
        .rho = rho,
        .pairwise = null,
        .support = &.{},
        .linear = &.{},
        .prob_a = &.{},
        .prob_b = &.{},
        .all_positive = all_positive,
    };
    if (try vectorCount(ctx, scores.ints(ctx, "vectors_per_class")) == 0) {
        // liblinear form: one coefficient row per class, always a linear kernel.
        c.kernel = .{ .kind = .linear };
        if (coefficients.len != try common.mulChecked(ctx, labels.count(), width)) {
            return ctx.fail("{d} coefficients for {d} classes of {d} features", .{ coefficients.len, labels.count(), width });
        }
        c.linear = coefficients;
        return c;
    }
    const model = try loadPairwise(ctx, labels.count(), rho);
    c.pairwise = model;
    c.support = try supportVectors(ctx, model.vectors, width);
    if (prob_a.len > 0) {
        if (prob_a.len != model.pairs()) return ctx.fail("{d} prob_a values for {d} class pairs", .{ prob_a.len, model.pairs() });
        c.prob_a = prob_a;
        c.prob_b = prob_b;
    }
    return c;
}

/// Scratch for one row.
const Scratch = struct { kernel_values: []f64, raw: []f64, votes: []f64, probabilities: []f64, coupling: []f32 };

/// Fills scratch.raw (rawWidth values) for one row and returns the label.
fn classifyRow(c: *const Classifier, x: []const f64, scratch: Scratch) scores.Choice {
    const raw = scratch.raw[0..c.rawWidth()];
    const model = c.pairwise orelse {
        for (raw, 0..) |*r, k| r.* = c.rho[0] + c.kernel.eval(x, c.linear[k * x.len ..][0..x.len]);
        return chooseLabel(c, raw);
    };
    kernelRow(c.kernel, x, c.support, scratch.kernel_values);
    const values = scratch.probabilities[0..model.pairs()];
    model.decide(scratch.kernel_values, values, scratch.votes);
    if (c.prob_a.len > 0) {
        probability.couple(model.classes, values, c.prob_a, c.prob_b, scratch.coupling, raw);
    } else {
        @memcpy(raw, values);
    }
    return chooseLabel(c, scratch.votes);
}

/// The label from the votes (or, linear, the scores), as onnxruntime picks it for one rho.
fn chooseLabel(c: *const Classifier, weights: []const f64) scores.Choice {
    const best = scores.argmax(weights);
    const top = weights[best];
    if (c.rho.len != 1) return .{ .index = best };
    if (c.classes() != 2) return .{ .raw = @intFromBool(top > 0) };
    const positive_probability = c.all_positive and top >= 0.5 and c.prob_a.len == 0;
    return .{ .index = if (positive_probability) 1 else best };
}

fn svmClassifier(ctx: *Context) Error!void {
    const x = try scores.rows(ctx, 0);
    const c = try loadClassifier(ctx, x.width);
    const vectors = if (c.pairwise) |m| m.vectors else 0;
    const pairs = if (c.pairwise) |m| m.pairs() else 0;
    const scratch: Scratch = .{
        .kernel_values = try ctx.alloc(f64, vectors),
        .raw = try ctx.alloc(f64, c.rawWidth()),
        .votes = try ctx.alloc(f64, c.classes()),
        .probabilities = try ctx.alloc(f64, pairs),
        .coupling = try ctx.alloc(f32, if (c.prob_a.len > 0) probability.scratchSize(c.classes()) else 0),
    };
    const y = try scores.LabelOutput.init(ctx, c.labels, x.count);
    const width = c.width();
    const z = try scores.scoresOutput(ctx, 1, x.count, width);
    for (0..x.count) |i| {
        if (i % 64 == 63) try ctx.checkStop();
        try y.set(ctx, i, classifyRow(&c, x.row(i), scratch));
        const out = z orelse continue;
        const row = out[i * width ..][0..width];
        if (scratch.raw.len == 1 and width == 2) {
            scores.store(row, &scores.binaryPair(c.post, scratch.raw[0], true));
        } else {
            scores.apply(c.post, scratch.raw);
            scores.store(row, scratch.raw);
        }
    }
}

/// Y [N, 1]: rho + the coefficients against the kernel of each support vector (or, with none,
/// against X itself); one_class gives +1 or -1 by the sign.
fn svmRegressor(ctx: *Context) Error!void {
    const x = try scores.rows(ctx, 0);
    const kernel = try Kernel.load(ctx);
    const coefficients = try scores.floatList(ctx, "coefficients");
    const rho = try scores.floatList(ctx, "rho");
    if (rho.len != 1) return ctx.fail("needs one rho value, not {d}", .{rho.len});
    const supports = std.math.cast(usize, ctx.node.attrInt("n_supports", 0)) orelse
        return ctx.fail("n_supports must not be negative", .{});
    const one_class = try common.flag(ctx, "one_class", 0);
    const vectors = if (supports > 0) try supportVectors(ctx, supports, x.width) else &.{};
    const expected = if (supports > 0) supports else x.width;
    if (coefficients.len != expected) return ctx.fail("{d} coefficients, expected {d}", .{ coefficients.len, expected });
    const kernel_values = try ctx.alloc(f64, supports);
    const y = try ctx.output(0, .float32, &.{ @intCast(x.count), 1 });
    for (y.items(f32), 0..) |*o, i| {
        if (i % 64 == 63) try ctx.checkStop();
        var s = rho[0];
        if (supports > 0) {
            kernelRow(kernel, x.row(i), vectors, kernel_values);
            for (coefficients, kernel_values) |w, k| s += w * k;
        } else {
            s += Kernel.eval(.{ .kind = .linear }, x.row(i), coefficients);
        }
        o.* = @floatCast(if (one_class) (if (s > 0) @as(f64, 1) else -1) else s);
    }
}

const domain = "ai.onnx.ml";

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .domain = domain, .op = "SVMClassifier", .run = svmClassifier },
    .{ .domain = domain, .op = "SVMRegressor", .run = svmRegressor },
};
