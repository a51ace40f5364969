//! What the ai.onnx.ml models share (part of the ml family, see ml.zig): reading X as rows of
//! features, float lists given as floats or as a tensor, the post_transform every classifier and
//! regressor applies to its scores, and class labels (int64 or strings) for the label output.
//! Where ONNX leaves details open (a binary classifier's one score, labels with no list) these
//! follow onnxruntime, which scikit-learn conversions are made against.
const std = @import("std");
const common = @import("nn_common.zig");

const Context = common.Context;
const Error = common.Error;
const Tensor = common.Tensor;

/// X [N, F], or [F] as one row, as f64 values.
pub const Rows = struct {
    values: []const f64,
    count: usize,
    width: usize,

    pub fn row(self: Rows, i: usize) []const f64 {
        return self.values[i * self.width ..][0..self.width];
    }
};

/// Input `index` as rows of numbers: float16/32/64, int32 or int64, rank 1 or 2.
pub fn rows(ctx: *const Context, index: usize) Error!Rows {
    const x = try ctx.require(index);
    switch (x.dtype) {
        .float16, .float32, .float64, .int32, .int64 => {},
        else => return ctx.fail("X must be float, double, int32 or int64, not {s}", .{@tagName(x.dtype)}),
    }
    if (x.shape.len != 1 and x.shape.len != 2) return ctx.fail("X must be [N, F] or [F], not rank {d}", .{x.shape.len});
    const width = common.dim(x, x.shape.len - 1);
    const count = if (x.shape.len == 1) 1 else common.dim(x, 0);
    return .{ .values = try common.floats(f64, ctx, x), .count = count, .width = width };
}

/// A float list given as `name` (floats) or `name`_as_tensor (any float tensor); empty when
/// neither is set. Both set is refused, as the shape rules do.
pub fn floatList(ctx: *const Context, comptime name: []const u8) Error![]const f64 {
    const listed = ctx.node.attrFloats(name);
    const tensor = ctx.node.attr(name ++ "_as_tensor");
    if (listed != null and tensor != null) return ctx.fail("sets both {s} and {s}_as_tensor", .{ name, name });
    if (tensor) |a| {
        const c = a.tensor orelse return ctx.fail("{s}_as_tensor holds no tensor", .{name});
        const out = try ctx.alloc(f64, @intCast(c.count));
        for (out, 0..) |*o, i| o.* = c.float(i) orelse return ctx.fail("{s}_as_tensor must hold floats", .{name});
        return out;
    }
    const values = listed orelse return &.{};
    const out = try ctx.alloc(f64, values.len);
    for (out, values) |*o, v| o.* = v;
    return out;
}

pub fn ints(ctx: *const Context, comptime name: []const u8) []const i64 {
    return ctx.node.attrInts(name) orelse &.{};
}

/// How scores are turned into outputs (the post_transform attribute).
pub const Transform = enum { none, softmax, logistic, softmax_zero, probit };

pub fn transform(ctx: *const Context) Error!Transform {
    const name = ctx.node.attrString("post_transform", "NONE");
    const names = std.StaticStringMap(Transform).initComptime(.{
        .{ "NONE", .none },                 .{ "SOFTMAX", .softmax }, .{ "LOGISTIC", .logistic },
        .{ "SOFTMAX_ZERO", .softmax_zero }, .{ "PROBIT", .probit },
    });
    return names.get(name) orelse ctx.fail("post_transform '{s}' is unknown", .{name});
}

/// 1 / (1 + e^-x), written so that neither branch overflows.
pub fn logistic(x: f64) f64 {
    const v = 1.0 / (1.0 + @exp(-@abs(x)));
    return if (x < 0) 1.0 - v else v;
}

/// The normal quantile of p, sqrt(2) * erfinv(2p - 1), with the closed-form erfinv estimate
/// (Winitzki, a = 0.147) that onnxruntime uses, so that both give the same numbers.
pub fn probit(p: f64) f64 {
    const x = 2.0 * p - 1.0;
    const sign: f64 = if (x < 0) -1.0 else 1.0;
    const one_minus_sq = (1.0 - x) * (1.0 + x);
    if (one_minus_sq == 0) return 0;
    const ln = @log(one_minus_sq);
    const a = 2.0 / (std.math.pi * 0.147) + 0.5 * ln;
    const b = ln / 0.147;
    return std.math.sqrt2 * sign * @sqrt(-a + @sqrt(a * a - b));
}

fn softmax(values: []f64) void {
    const top = std.mem.max(f64, values);
    var sum: f64 = 0;
    for (values) |*v| {
        v.* = @exp(v.* - top);
        sum += v.*;
    }
    for (values) |*v| v.* /= sum;
}

/// Softmax that leaves zeros (the scores of classes no tree voted for) at zero.
fn softmaxZero(values: []f64) void {
    const top = std.mem.max(f64, values);
    const shrink = @exp(-top);
    var sum: f64 = 0;
    for (values) |*v| {
        v.* = if (@abs(v.*) > 1e-7) @exp(v.* - top) else v.* * shrink;
        sum += v.*;
    }
    if (sum == 0) return @memset(values, 0.5);
    for (values) |*v| v.* /= sum;
}

/// Applies the transform to one row of scores.
pub fn apply(t: Transform, scores: []f64) void {
    if (scores.len == 0) return;
    switch (t) {
        .none => {},
        .softmax => softmax(scores),
        .softmax_zero => softmaxZero(scores),
        .logistic => for (scores) |*v| {
            v.* = logistic(v.*);
        },
        .probit => for (scores) |*v| {
            v.* = probit(v.*);
        },
    }
}

/// The two columns onnxruntime writes for a binary model that computes one score s. Weights of
/// one sign make s a probability of the positive class: [1 - s, s]. Mixed weights make s a
/// margin: [-s, s], through the transform. PROBIT writes only the first column there.
pub fn binaryPair(t: Transform, s: f64, mixed_signs: bool) [2]f64 {
    if (t == .probit) return .{ probit(s), 0 };
    if (!mixed_signs) return .{ 1 - s, s };
    var pair = [2]f64{ -s, s };
    apply(t, &pair);
    return pair;
}

/// The index of the largest value, the first on ties.
pub fn argmax(values: []const f64) usize {
    var best: usize = 0;
    for (values, 0..) |v, i| if (v > values[best]) {
        best = i;
    };
    return best;
}

/// A classifier's class labels: classlabels_strings when set and non-empty, else the int list.
pub const Labels = struct {
    ints: []const i64 = &.{},
    strings: []const []const u8 = &.{},

    pub fn load(ctx: *const Context, comptime ints_name: []const u8) Labels {
        if (ctx.node.attrStrings("classlabels_strings")) |labels| if (labels.len > 0) return .{ .strings = labels };
        return .{ .ints = ints(ctx, ints_name) };
    }

    pub fn count(self: Labels) usize {
        return if (self.strings.len > 0) self.strings.len else self.ints.len;
    }

    pub fn dtype(self: Labels) common.DType {
        return if (self.strings.len > 0) .string else .int64;
    }
};

/// A row's predicted class: the label at `index`, or (where onnxruntime falls back to it) the
/// bare value 0 or 1, which string labels read as an index.
pub const Choice = union(enum) { index: usize, raw: i64 };

/// The label output Y [N] and the labels it writes from.
pub const LabelOutput = struct {
    tensor: *Tensor,
    labels: Labels,

    pub fn init(ctx: *const Context, labels: Labels, count: usize) Error!LabelOutput {
        return .{ .tensor = try ctx.output(0, labels.dtype(), &.{@intCast(count)}), .labels = labels };
    }

    pub fn set(self: LabelOutput, ctx: *const Context, i: usize, choice: Choice) Error!void {
        const index: ?usize = switch (choice) {
            .index => |k| k,
            .raw => |v| if (self.labels.strings.len > 0) @intCast(v) else null,
        };
        if (self.labels.strings.len > 0) {
            const k = index.?;
            if (k >= self.labels.strings.len) return ctx.fail("class {d} has no label", .{k});
            self.tensor.strings[i] = self.labels.strings[k];
            return;
        }
        const out = &self.tensor.items(i64)[i];
        const k = index orelse {
            out.* = choice.raw;
            return;
        };
        if (self.labels.ints.len == 0) {
            out.* = @intCast(k);
        } else {
            if (k >= self.labels.ints.len) return ctx.fail("class {d} has no label", .{k});
            out.* = self.labels.ints[k];
        }
    }
};

/// The scores output [N, width] as f32, or null when the node does not ask for it.
pub fn scoresOutput(ctx: *const Context, index: usize, count: usize, width: usize) Error!?[]f32 {
    if (!ctx.wantsOutput(index)) return null;
    const t = try ctx.output(index, .float32, &.{ @intCast(count), @intCast(width) });
    return t.items(f32)[0 .. count * width];
}

pub fn store(out: []f32, values: []const f64) void {
    for (out, values) |*o, v| o.* = @floatCast(v);
}

test "probit inverts the normal CDF closely enough, logistic is symmetric" {
    try std.testing.expectApproxEqAbs(@as(f64, 0), probit(0.5), 1e-12);
    try std.testing.expectApproxEqAbs(@as(f64, 1.6449), probit(0.95), 2e-3);
    try std.testing.expectApproxEqAbs(@as(f64, 1), logistic(3) + logistic(-3), 1e-15);
}
