//! Shape rules for normalizations (part of the nn family, see nn.zig): BatchNormalization with its
//! training outputs across opsets, Instance/Layer/Group/RMS/MeanVariance/Lp normalization, LRN and
//! Dropout. They all keep X's shape; what differs is their side outputs and parameter checks.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");
const window = @import("nn_window.zig");

const Context = context.Context;
const Dim = ir.Dim;
const Error = status.Error;

/// X's channel dim (1 for a 1-D X, as BatchNormalization allows); null when the rank is unknown.
fn channels(ctx: *const Context) Error!?Dim {
    const xs = ctx.shape(0) orelse return null;
    if (xs.len == 0) return ctx.fail("X is a scalar; it needs a channel dim", .{});
    return if (xs.len == 1) try ctx.dim(1) else xs[1];
}

/// Per-channel parameters (inputs first..last) are 1-D with C values.
fn checkPerChannel(ctx: *const Context, first: usize, last: usize, count: ?Dim) Error!void {
    for (first..last) |i| {
        const s = ctx.shape(i) orelse continue;
        if (s.len != 1) return ctx.fail("input {d} has rank {d}; it must be 1-D", .{ i, s.len });
        if (count) |c| try window.checkSame(ctx, s[0], c, "a per-channel parameter's length and C");
    }
}

/// BatchNormalization: X, scale, B, mean, var. Training outputs: running mean and var (opset 14+),
/// or mean, var, saved mean and saved var (before), shaped like the mean and var inputs.
fn batchNormalization(ctx: *Context) Error!void {
    for (0..5) |i| _ = try ctx.require(i);
    const c = try channels(ctx);
    // Before opset 9, spatial=0 normalized per activation: its parameters have X's dims after N.
    const spatial = ctx.node.opset >= 9 or ctx.attrInt("spatial", 1) != 0;
    if (spatial) try checkPerChannel(ctx, 1, 5, c);
    try ctx.passThrough(0, 0);
    if (ctx.node.opset >= 14) {
        if (ctx.outputCount() > 3) return ctx.fail("has {d} outputs; opset 14 allows 3", .{ctx.outputCount()});
        const training = ctx.attrInt("training_mode", 0) != 0;
        if (!training and (ctx.output(1) != null or ctx.output(2) != null)) {
            return ctx.fail("running_mean and running_var exist only with training_mode=1", .{});
        }
    }
    for (1..5) |k| {
        const source: usize = if (k % 2 == 1) 3 else 4; // means, then variances
        const dtype = ctx.dtype(source) orelse if (ctx.node.opset < 14) ctx.dtype(0) else null;
        var shape = ctx.shape(source);
        if (shape == null and spatial) if (c) |dim| {
            const per_channel = try ctx.alloc(Dim, 1);
            per_channel[0] = dim;
            shape = per_channel;
        };
        try ctx.setOutput(k, dtype, shape);
    }
}

/// InstanceNormalization: input, scale (C), B (C).
fn instanceNormalization(ctx: *Context) Error!void {
    for (0..3) |i| _ = try ctx.require(i);
    if (ctx.rank(0)) |r| if (r < 2) return ctx.fail("the input has rank {d}; it needs N and C", .{r});
    try checkPerChannel(ctx, 1, 3, try channels(ctx));
    try ctx.passThrough(0, 0);
}

/// Scale and bias must broadcast to X one way: no higher rank, each dim 1 or X's.
fn checkBroadcastsTo(ctx: *const Context, i: usize) Error!void {
    const s = ctx.shape(i) orelse return;
    const xs = ctx.shape(0) orelse return;
    if (s.len > xs.len) return ctx.fail("input {d} has rank {d}, above X's {d}", .{ i, s.len, xs.len });
    for (s, xs[xs.len - s.len ..]) |d, x| {
        if (ctx.pool.value(d) == @as(i64, 1)) continue;
        try window.checkSame(ctx, d, x, "a scale or bias dim and X's");
    }
}

/// The axis attribute of the Layer/RMS normalizations, as a non-negative index; null if X's rank is unknown.
fn normAxis(ctx: *const Context) Error!?usize {
    const r = ctx.rank(0) orelse return null;
    return try ctx.axis(ctx.attrInt("axis", -1), r);
}

/// The element type of the statistics: a float type named by stash_type.
fn stashType(ctx: *const Context) Error!ir.DType {
    const code = ctx.attrInt("stash_type", 1);
    const known = [_]ir.DType{ .float32, .bfloat16, .float16, .float64 };
    for (known) |d| if (@intFromEnum(d) == code) return d;
    return ctx.fail("stash_type {d} is not a floating-point type", .{code});
}

/// LayerNormalization: X, Scale, optional B. Mean and InvStdDev keep the dims before axis and have
/// 1 from axis on, in stash_type.
fn layerNormalization(ctx: *Context) Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    try checkBroadcastsTo(ctx, 1);
    try checkBroadcastsTo(ctx, 2);
    const stash = try stashType(ctx);
    try ctx.passThrough(0, 0);
    const axis = try normAxis(ctx) orelse {
        try ctx.setOutput(1, stash, null);
        return ctx.setOutput(2, stash, null);
    };
    const xs = ctx.shape(0).?;
    const reduced = try ctx.alloc(Dim, xs.len);
    @memcpy(reduced[0..axis], xs[0..axis]);
    for (reduced[axis..]) |*slot| slot.* = try ctx.dim(1);
    try ctx.setOutput(1, stash, reduced);
    try ctx.setOutput(2, stash, reduced);
}

/// RMSNormalization: X, scale; Y has the scale's type (V), which the function body makes X's too.
fn rmsNormalization(ctx: *Context) Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    try checkBroadcastsTo(ctx, 1);
    _ = try stashType(ctx);
    _ = try normAxis(ctx);
    try ctx.setOutput(0, ctx.dtype(1) orelse ctx.dtype(0), ctx.shape(0));
}

/// GroupNormalization: X, scale, bias; scale and bias have num_groups values in opset 18, C after.
fn groupNormalization(ctx: *Context) Error!void {
    for (0..3) |i| _ = try ctx.require(i);
    const groups_attribute = ctx.attribute("num_groups") orelse return ctx.fail("num_groups is required", .{});
    const groups = groups_attribute.i;
    if (groups < 1) return ctx.fail("num_groups is {d}; it must be >= 1", .{groups});
    if (ctx.rank(0)) |r| if (r < 2) return ctx.fail("X has rank {d}; it needs N and C", .{r});
    const c = try channels(ctx);
    if (c) |dim| if (ctx.pool.value(dim)) |v| if (@mod(v, groups) != 0) {
        return ctx.fail("{d} channels do not split into {d} groups", .{ v, groups });
    };
    if (ctx.node.opset >= 21) {
        _ = try stashType(ctx);
        try checkPerChannel(ctx, 1, 3, c);
    } else try checkPerChannel(ctx, 1, 3, try ctx.dim(groups));
    try ctx.passThrough(0, 0);
}

/// MeanVarianceNormalization: axes (default 0, 2, 3) must name distinct axes of X.
fn meanVarianceNormalization(ctx: *Context) Error!void {
    _ = try ctx.require(0);
    if (ctx.rank(0)) |r| try checkAxes(ctx, ctx.attrInts("axes") orelse &[_]i64{ 0, 2, 3 }, r);
    try ctx.passThrough(0, 0);
}

fn checkAxes(ctx: *const Context, axes: []const i64, r: usize) Error!void {
    for (axes, 0..) |a, k| {
        const first = try ctx.axis(a, r);
        for (axes[0..k]) |b| if (try ctx.axis(b, r) == first) return ctx.fail("axis {d} is repeated", .{a});
    }
}

/// LpNormalization: p is 1 or 2 along one axis.
fn lpNormalization(ctx: *Context) Error!void {
    _ = try ctx.require(0);
    const p = ctx.attrInt("p", 2);
    if (p != 1 and p != 2) return ctx.fail("p is {d}; it must be 1 or 2", .{p});
    if (ctx.rank(0)) |r| _ = try ctx.axis(ctx.attrInt("axis", -1), r);
    try ctx.passThrough(0, 0);
}

/// LRN: size (required) is the number of channels summed over.
fn lrn(ctx: *Context) Error!void {
    _ = try ctx.require(0);
    const size = ctx.attribute("size") orelse return ctx.fail("size is required", .{});
    if (size.i < 1) return ctx.fail("size is {d}; it must be >= 1", .{size.i});
    if (ctx.rank(0)) |r| if (r < 2) return ctx.fail("X has rank {d}; it needs N and C", .{r});
    try ctx.passThrough(0, 0);
}

/// Dropout: output and optional mask of X's shape; the mask is bool since opset 10, X's type before.
/// Opset 12 moved ratio and training_mode (a bool) to inputs.
fn dropout(ctx: *Context) Error!void {
    _ = try ctx.require(0);
    if (ctx.node.opset >= 12) if (ctx.dtype(2)) |d| if (d != .bool) {
        return ctx.fail("training_mode must be bool, not {s}", .{@tagName(d)});
    };
    try ctx.passThrough(0, 0);
    try ctx.setOutput(1, if (ctx.node.opset >= 10) .bool else ctx.dtype(0), ctx.shape(0));
}

fn entry(comptime op: []const u8, rule: context.Rule) registry.Entry {
    return .{ .op = op, .rule = rule };
}

pub const rules = [_]registry.Entry{
    entry("BatchNormalization", batchNormalization),
    entry("InstanceNormalization", instanceNormalization),
    entry("LayerNormalization", layerNormalization),
    entry("RMSNormalization", rmsNormalization),
    entry("GroupNormalization", groupNormalization),
    entry("MeanVarianceNormalization", meanVarianceNormalization),
    entry("LpNormalization", lpNormalization),
    entry("LRN", lrn),
    entry("Dropout", dropout),
};
