//! Normalizations over contiguous rows (part of the nn family, see nn.zig): BatchNormalization
//! (inference, and training statistics when asked), InstanceNormalization, LayerNormalization
//! with its Mean/InvStdDev outputs, GroupNormalization and RMSNormalization. Each sees X as rows
//! of contiguous values (a channel plane, a group, the axes from `axis` on) and makes two passes.
const std = @import("std");
const common = @import("nn_common.zig");
const broadcast = @import("broadcast.zig");

const Context = common.Context;
const Tensor = common.Tensor;
const DType = common.DType;
const Error = common.Error;

/// Mean and (population) variance of a row, with vector accumulators so the adds pipeline.
fn moments(comptime F: type, row: []const F) [2]F {
    if (row.len == 0) return .{ 0, 0 };
    const V = @Vector(8, F);
    var acc: V = @splat(0);
    var i: usize = 0;
    while (i + 8 <= row.len) : (i += 8) acc += row[i..][0..8].*;
    var sum = @reduce(.Add, acc);
    for (row[i..]) |v| sum += v;
    const n: F = @floatFromInt(row.len);
    const mean = sum / n;
    var acc2: V = @splat(0);
    const mv: V = @splat(mean);
    i = 0;
    while (i + 8 <= row.len) : (i += 8) {
        const d = @as(V, row[i..][0..8].*) - mv;
        acc2 += d * d;
    }
    var squares = @reduce(.Add, acc2);
    for (row[i..]) |v| squares += (v - mean) * (v - mean);
    return .{ mean, squares / n };
}

fn meanSquare(comptime F: type, row: []const F) F {
    if (row.len == 0) return 0;
    const V = @Vector(8, F);
    var acc: V = @splat(0);
    var i: usize = 0;
    while (i + 8 <= row.len) : (i += 8) {
        const v: V = row[i..][0..8].*;
        acc += v * v;
    }
    var sum = @reduce(.Add, acc);
    for (row[i..]) |v| sum += v * v;
    return sum / @as(F, @floatFromInt(row.len));
}

fn channelsOf(x: *const Tensor) [3]usize {
    // N, C, and the elements per (n, c) plane; a 1-D X is N values of one channel.
    if (x.rank() < 2) return .{ x.count(), 1, 1 };
    const n = common.dim(x, 0);
    const c = common.dim(x, 1);
    return .{ n, c, if (n * c == 0) 0 else x.count() / (n * c) };
}

fn perChannel(
    comptime F: type,
    ctx: *const Context,
    t: *const Tensor,
    count: usize,
    comptime name: []const u8,
) Error![]const F {
    if (t.count() != count) return ctx.fail(name ++ " has {d} values; it needs {d}", .{ t.count(), count });
    return common.floats(F, ctx, t);
}

fn batchNormalization(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const shape = channelsOf(x);
    const epsilon: f64 = ctx.node.attrFloat("epsilon", 1e-5);
    // Before opset 9, spatial=0 gave per-activation parameters (C x D1 x ...).
    const per_activation = ctx.node.opset < 9 and ctx.node.attrInt("spatial", 1) == 0;
    const params = if (per_activation) shape[1] * shape[2] else shape[1];
    const training = if (ctx.node.opset >= 14) try common.flag(ctx, "training_mode", 0) else ctx.wantsOutput(1);
    switch (try common.precision(ctx, x.dtype, false)) {
        inline else => |p| {
            const F = if (p == .f32) f32 else f64;
            var mean = try perChannel(F, ctx, try ctx.require(3), params, "mean");
            var variance = try perChannel(F, ctx, try ctx.require(4), params, "var");
            const scale = try perChannel(F, ctx, try ctx.require(1), params, "scale");
            const bias = try perChannel(F, ctx, try ctx.require(2), params, "B");
            const values = try common.floats(F, ctx, x);
            if (training and !per_activation) {
                const stats = try batchStatistics(F, ctx, values, shape);
                try writeTrainingOutputs(F, ctx, mean, variance, stats);
                mean = stats[0];
                variance = stats[1];
            }
            const out = try common.floatOutput(F, ctx, 0, x.dtype, x.shape);
            const a = try ctx.alloc(F, params);
            const b = try ctx.alloc(F, params);
            for (a, b, scale, bias, mean, variance) |*ai, *bi, s, o, m, v| {
                ai.* = s / @sqrt(v + @as(F, @floatCast(epsilon)));
                bi.* = o - m * ai.*;
            }
            const inner = if (per_activation) 1 else shape[2];
            for (0..shape[0]) |n| for (0..params) |c| {
                const at = (n * params + c) * inner;
                for (out.values[at..][0..inner], values[at..][0..inner]) |*y, v| y.* = v * a[c] + b[c];
            };
            out.finish();
        },
    }
}

/// Per-channel mean and population variance over N and the spatial axes.
fn batchStatistics(comptime F: type, ctx: *const Context, values: []const F, shape: [3]usize) Error![2][]F {
    const mean = try ctx.alloc(F, shape[1]);
    const variance = try ctx.alloc(F, shape[1]);
    const count: F = @floatFromInt(@max(shape[0] * shape[2], 1));
    for (0..shape[1]) |c| {
        var sum: F = 0;
        for (0..shape[0]) |n| for (values[(n * shape[1] + c) * shape[2] ..][0..shape[2]]) |v| {
            sum += v;
        };
        const m = sum / count;
        var squares: F = 0;
        for (0..shape[0]) |n| for (values[(n * shape[1] + c) * shape[2] ..][0..shape[2]]) |v| {
            squares += (v - m) * (v - m);
        };
        mean[c] = m;
        variance[c] = squares / count;
    }
    return .{ mean, variance };
}

/// Opset 14+: running_mean, running_var. Before: mean, var (running), saved_mean, saved_var.
fn writeTrainingOutputs(
    comptime F: type,
    ctx: *const Context,
    mean: []const F,
    variance: []const F,
    stats: [2][]F,
) Error!void {
    const momentum: F = @floatCast(ctx.node.attrFloat("momentum", 0.9));
    const mean_type = (try ctx.require(3)).dtype;
    const var_type = (try ctx.require(4)).dtype;
    const shape = [_]i64{@intCast(mean.len)};
    for (1..5) |k| {
        if (!ctx.wantsOutput(k) or (ctx.node.opset >= 14 and k > 2)) continue;
        const out = try common.floatOutput(F, ctx, k, if (k % 2 == 1) mean_type else var_type, &shape);
        const running = if (k % 2 == 1) mean else variance;
        const batch = if (k % 2 == 1) stats[0] else stats[1];
        for (out.values, running, batch) |*o, r, s| o.* = if (k <= 2) r * momentum + s * (1 - momentum) else s;
        out.finish();
    }
}

fn instanceNormalization(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    if (x.rank() < 2) return ctx.fail("the input has rank {d}; it needs N and C", .{x.rank()});
    const shape = channelsOf(x);
    const epsilon: f64 = ctx.node.attrFloat("epsilon", 1e-5);
    switch (try common.precision(ctx, x.dtype, false)) {
        inline else => |p| {
            const F = if (p == .f32) f32 else f64;
            const scale = try perChannel(F, ctx, try ctx.require(1), shape[1], "scale");
            const bias = try perChannel(F, ctx, try ctx.require(2), shape[1], "B");
            const values = try common.floats(F, ctx, x);
            const out = try common.floatOutput(F, ctx, 0, x.dtype, x.shape);
            for (0..shape[0] * shape[1]) |row| {
                const c = row % shape[1];
                const src = values[row * shape[2] ..][0..shape[2]];
                const m = moments(F, src);
                const a = scale[c] / @sqrt(m[1] + @as(F, @floatCast(epsilon)));
                const b = bias[c] - m[0] * a;
                for (out.values[row * shape[2] ..][0..shape[2]], src) |*y, v| y.* = v * a + b;
            }
            out.finish();
        },
    }
}

/// GroupNormalization: statistics per (n, group); scale and bias per channel (opset 21) or per
/// group (opset 18).
fn groupNormalization(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    if (x.rank() < 2) return ctx.fail("X has rank {d}; it needs N and C", .{x.rank()});
    const shape = channelsOf(x);
    const groups_attribute = ctx.node.attrInt("num_groups", 0);
    if (groups_attribute < 1) return ctx.fail("num_groups must be >= 1", .{});
    const groups: usize = @intCast(groups_attribute);
    if (shape[1] % groups != 0) return ctx.fail("{d} channels do not split into {d} groups", .{ shape[1], groups });
    const epsilon: f64 = ctx.node.attrFloat("epsilon", 1e-5);
    const per_group_params = ctx.node.opset < 21 and (try ctx.require(1)).count() == groups;
    const params = if (per_group_params) groups else shape[1];
    switch (try common.precision(ctx, x.dtype, false)) {
        inline else => |p| {
            const F = if (p == .f32) f32 else f64;
            const scale = try perChannel(F, ctx, try ctx.require(1), params, "scale");
            const bias = try perChannel(F, ctx, try ctx.require(2), params, "bias");
            const values = try common.floats(F, ctx, x);
            const out = try common.floatOutput(F, ctx, 0, x.dtype, x.shape);
            const per_group = shape[1] / groups;
            const row_len = per_group * shape[2];
            for (0..shape[0] * groups) |row| {
                const group = row % groups;
                const m = moments(F, values[row * row_len ..][0..row_len]);
                const inv = 1 / @sqrt(m[1] + @as(F, @floatCast(epsilon)));
                for (0..per_group) |i| {
                    const param = if (per_group_params) group else group * per_group + i;
                    const a = scale[param] * inv;
                    const b = bias[param] - m[0] * a;
                    const at = row * row_len + i * shape[2];
                    for (out.values[at..][0..shape[2]], values[at..][0..shape[2]]) |*y, v| y.* = v * a + b;
                }
            }
            out.finish();
        },
    }
}

/// A Scale or B input broadcast against X, flattened over X's trailing axes from the first one
/// it varies along (at most `axis`): element i of a row block of X uses values[i % len].
fn trailingParameter(
    comptime F: type,
    ctx: *const Context,
    t: *const Tensor,
    x_shape: []const i64,
    axis: usize,
) Error![]const F {
    if (t.rank() > x_shape.len) {
        return ctx.fail("a scale or bias has rank {d}, above X's {d}", .{ t.rank(), x_shape.len });
    }
    const lead = x_shape.len - t.rank();
    var start = axis;
    for (t.shape, 0..) |d, i| {
        if (d != 1 and d != x_shape[lead + i]) return ctx.fail("a scale or bias does not broadcast to X", .{});
        if (d != 1) start = @min(start, lead + i);
    }
    const target = x_shape[start..];
    const values = try common.floats(F, ctx, t);
    const trimmed = t.shape[@min(t.rank(), start -| lead)..];
    if (std.mem.eql(i64, trimmed, target)) return values;
    const count = try common.countOf(ctx, target);
    const out = try ctx.alloc(F, count);
    var walker = broadcast.Walker(1).init(target, .{trimmed});
    for (out) |*o| {
        o.* = values[walker.offsets[0]];
        walker.next();
    }
    return out;
}

fn stashType(ctx: *const Context) Error!DType {
    const code = ctx.node.attrInt("stash_type", 1);
    return switch (code) {
        1 => .float32,
        10 => .float16,
        11 => .float64,
        16 => .bfloat16,
        else => ctx.fail("stash_type {d} is not a float type", .{code}),
    };
}

fn layerNormalization(ctx: *Context) Error!void {
    try rowNormalization(ctx, false);
}

fn rmsNormalization(ctx: *Context) Error!void {
    try rowNormalization(ctx, true);
}

/// Row normalizations at least this large are split by rows across the pool (a wake costs µs).
const parallel_min_elements = 1 << 15;

/// Normalizes rows [begin, end): statistics, then (x - mean) * inv * scale + bias.
fn RowJob(comptime F: type, comptime rms: bool) type {
    return struct {
        values: []const F,
        out: []F,
        scale: []const F,
        bias: ?[]const F,
        mean_out: ?[]F,
        inv_out: ?[]F,
        cols: usize,
        epsilon: F,

        fn run(self: *const @This(), begin: usize, end: usize) void {
            for (begin..end) |row| self.normalize(row);
        }

        fn normalize(self: *const @This(), row: usize) void {
            const cols = self.cols;
            const scale = self.scale;
            const src = self.values[row * cols ..][0..cols];
            const m: [2]F = if (rms) .{ 0, meanSquare(F, src) } else moments(F, src);
            const inv = 1 / @sqrt(m[1] + self.epsilon);
            if (self.mean_out) |o| o[row] = m[0];
            if (self.inv_out) |o| o[row] = inv;
            const base = (row * cols) % scale.len;
            const dst = self.out[row * cols ..][0..cols];
            const bias = self.bias;
            if (scale.len - base >= cols and (bias == null or bias.?.len - (row * cols) % bias.?.len >= cols)) {
                const s = scale[base..][0..cols];
                if (bias) |b| {
                    const bb = b[(row * cols) % b.len ..][0..cols];
                    for (dst, src, s, bb) |*y, v, sv, bv| y.* = (v - m[0]) * inv * sv + bv;
                } else for (dst, src, s) |*y, v, sv| {
                    y.* = (v - m[0]) * inv * sv;
                }
            } else for (dst, src, 0..) |*y, v, i| {
                const at = row * cols + i;
                y.* = (v - m[0]) * inv * scale[at % scale.len] + if (bias) |b| b[at % b.len] else 0;
            }
        }
    };
}

/// LayerNormalization and RMSNormalization: each row is X's axes from `axis` on.
fn rowNormalization(ctx: *Context, comptime rms: bool) Error!void {
    const x = try ctx.require(0);
    if (x.rank() == 0) return ctx.fail("X is a scalar", .{});
    const axis = try common.normalizeAxis(ctx, ctx.node.attrInt("axis", -1), x.rank());
    const stash = try stashType(ctx);
    const epsilon: f64 = ctx.node.attrFloat("epsilon", 1e-5);
    const rows = try common.countOf(ctx, x.shape[0..axis]);
    const cols = try common.countOf(ctx, x.shape[axis..]);
    const scale_tensor = try ctx.require(1);
    const out_type = if (rms) scale_tensor.dtype else x.dtype;
    switch (try common.precision(ctx, x.dtype, false)) {
        inline else => |p| {
            const F = if (p == .f32) f32 else f64;
            _ = try common.precision(ctx, out_type, false);
            const scale = try trailingParameter(F, ctx, scale_tensor, x.shape, axis);
            const bias_tensor = if (rms) null else ctx.input(2);
            const bias = if (bias_tensor) |b| try trailingParameter(F, ctx, b, x.shape, axis) else null;
            const values = try common.floats(F, ctx, x);
            const out = try common.floatOutput(F, ctx, 0, out_type, x.shape);
            const stats_shape = try ctx.alloc(i64, x.rank());
            @memcpy(stats_shape[0..axis], x.shape[0..axis]);
            @memset(stats_shape[axis..], 1);
            const mean_out = if (!rms and ctx.wantsOutput(1))
                try common.floatOutput(F, ctx, 1, stash, stats_shape)
            else
                null;
            const inv_out = if (!rms and ctx.wantsOutput(2))
                try common.floatOutput(F, ctx, 2, stash, stats_shape)
            else
                null;
            const job: RowJob(F, rms) = .{
                .values = values,
                .out = out.values,
                .scale = scale,
                .bias = bias,
                .mean_out = if (mean_out) |o| o.values else null,
                .inv_out = if (inv_out) |o| o.values else null,
                .cols = cols,
                .epsilon = @floatCast(epsilon),
            };
            const count = if (cols == 0) 0 else rows;
            if (rows * cols < parallel_min_elements or ctx.threadCount() == 1) {
                job.run(0, count);
            } else ctx.parallelFor(count, &job, RowJob(F, rms).run);
            out.finish();
            if (mean_out) |o| o.finish();
            if (inv_out) |o| o.finish();
        },
    }
}

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .op = "BatchNormalization", .run = batchNormalization },
    .{ .op = "InstanceNormalization", .run = instanceNormalization },
    .{ .op = "GroupNormalization", .run = groupNormalization },
    .{ .op = "LayerNormalization", .run = layerNormalization },
    .{ .op = "RMSNormalization", .run = rmsNormalization },
};
