//! Normalizations over strided axes (part of the nn family, see nn.zig):
//! MeanVarianceNormalization (any set of axes), LpNormalization (one axis) and LRN (across
//! channels). Dropout is in random.zig.
const std = @import("std");
const common = @import("nn_common.zig");

const Context = common.Context;
const Tensor = common.Tensor;
const Error = common.Error;

/// X viewed as outer x axis x inner (row-major): normalizing along `axis` touches one value per
/// inner position in each of `len` consecutive blocks.
const Strided = struct { outer: usize, len: usize, inner: usize };

fn stridedOf(x: *const Tensor, axis: usize) Strided {
    var outer: usize = 1;
    for (x.shape[0..axis]) |d| outer *= @intCast(d);
    return .{ .outer = outer, .len = common.dim(x, axis), .inner = x.stride(axis) };
}

/// LpNormalization: x / ||x||_p along one axis (p is 1 or 2); a zero norm gives 0.
fn lpNormalization(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    if (x.rank() == 0) return ctx.fail("X is a scalar", .{});
    const axis = try common.normalizeAxis(ctx, ctx.node.attrInt("axis", -1), x.rank());
    const p = ctx.node.attrInt("p", 2);
    if (p != 1 and p != 2) return ctx.fail("p is {d}; it must be 1 or 2", .{p});
    const s = stridedOf(x, axis);
    switch (try common.precision(ctx, x.dtype, false)) {
        inline else => |prec| {
            const F = if (prec == .f32) f32 else f64;
            const values = try common.floats(F, ctx, x);
            const out = try common.floatOutput(F, ctx, 0, x.dtype, x.shape);
            const norms = try ctx.alloc(F, s.inner);
            for (0..s.outer) |o| {
                const block = o * s.len * s.inner;
                @memset(norms, 0);
                for (0..s.len) |k| for (norms, values[block + k * s.inner ..][0..s.inner]) |*n, v| {
                    n.* += if (p == 1) @abs(v) else v * v;
                };
                if (p == 2) for (norms) |*n| {
                    n.* = @sqrt(n.*);
                };
                for (0..s.len) |k| {
                    const at = block + k * s.inner;
                    for (out.values[at..][0..s.inner], values[at..][0..s.inner], norms) |*y, v, n| {
                        y.* = if (n == 0) 0 else v / n;
                    }
                }
            }
            out.finish();
        },
    }
}

/// LRN: x / (bias + alpha / size * sum of squares over nearby channels) ^ beta.
fn lrn(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    if (x.rank() < 2) return ctx.fail("X has rank {d}; it needs N and C", .{x.rank()});
    const size_attribute = ctx.node.attrInt("size", 0);
    if (size_attribute < 1 or size_attribute > 1 << 31) {
        return ctx.fail("size is {d}; it must be >= 1", .{size_attribute});
    }
    const size: usize = @intCast(size_attribute);
    const alpha: f64 = ctx.node.attrFloat("alpha", 1e-4);
    const beta: f64 = ctx.node.attrFloat("beta", 0.75);
    const bias: f64 = ctx.node.attrFloat("bias", 1.0);
    const s = stridedOf(x, 1);
    const before = (size - 1) / 2;
    const after = size - 1 - before; // ceil((size - 1) / 2)
    switch (try common.precision(ctx, x.dtype, false)) {
        inline else => |prec| {
            const F = if (prec == .f32) f32 else f64;
            const values = try common.floats(F, ctx, x);
            const out = try common.floatOutput(F, ctx, 0, x.dtype, x.shape);
            const sums = try ctx.alloc(F, s.inner);
            const coefficient: F = @floatCast(alpha / @as(f64, @floatFromInt(size)));
            for (0..s.outer) |n| {
                const block = n * s.len * s.inner;
                for (0..s.len) |c| {
                    @memset(sums, 0);
                    const first = c -| before;
                    const last = @min(s.len, c + after + 1);
                    for (first..last) |k| for (sums, values[block + k * s.inner ..][0..s.inner]) |*acc, v| {
                        acc.* += v * v;
                    };
                    const at = block + c * s.inner;
                    for (out.values[at..][0..s.inner], values[at..][0..s.inner], sums) |*y, v, q| {
                        y.* = v / std.math.pow(F, @as(F, @floatCast(bias)) + coefficient * q, @floatCast(beta));
                    }
                }
            }
            out.finish();
        },
    }
}

/// MeanVarianceNormalization: (x - mean) / (sqrt(variance) + 1e-9) over `axes` (default 0, 2, 3).
fn meanVarianceNormalization(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const axes = ctx.node.attrInts("axes") orelse &[_]i64{ 0, 2, 3 };
    var reduced = [_]bool{false} ** 64;
    if (x.rank() > 64) return ctx.fail("rank {d} is too high", .{x.rank()});
    for (axes) |a| {
        const axis = try common.normalizeAxis(ctx, a, x.rank());
        if (reduced[axis]) return ctx.fail("axis {d} is repeated", .{a});
        reduced[axis] = true;
    }
    // Each element's group: its index over the kept axes, in row-major order.
    const groups_of = try ctx.alloc(u32, x.count());
    var group_count: usize = 1;
    for (x.shape, 0..) |d, i| if (!reduced[i]) {
        group_count *= @intCast(d);
    };
    if (group_count > std.math.maxInt(u32)) return ctx.fail("too many groups", .{});
    assignGroups(x.shape, reduced[0..x.rank()], groups_of);
    switch (try common.precision(ctx, x.dtype, false)) {
        inline else => |prec| {
            const F = if (prec == .f32) f32 else f64;
            const values = try common.floats(F, ctx, x);
            const out = try common.floatOutput(F, ctx, 0, x.dtype, x.shape);
            const mean = try ctx.alloc(F, group_count);
            const spread = try ctx.alloc(F, group_count);
            @memset(mean, 0);
            @memset(spread, 0);
            const per_group: F = @floatFromInt(if (group_count == 0) 1 else x.count() / group_count);
            for (values, groups_of) |v, g| mean[g] += v;
            for (mean) |*m| m.* /= per_group;
            for (values, groups_of) |v, g| spread[g] += (v - mean[g]) * (v - mean[g]);
            for (spread) |*s| s.* = @sqrt(s.* / per_group) + 1e-9;
            for (out.values, values, groups_of) |*y, v, g| y.* = (v - mean[g]) / spread[g];
            out.finish();
        },
    }
}

fn assignGroups(shape: []const i64, reduced: []const bool, groups_of: []u32) void {
    var index = [_]usize{0} ** 64;
    for (groups_of) |*g| {
        var group: usize = 0;
        for (shape, 0..) |d, a| if (!reduced[a]) {
            group = group * @as(usize, @intCast(d)) + index[a];
        };
        g.* = @intCast(group);
        var a = shape.len;
        while (a > 0) {
            a -= 1;
            index[a] += 1;
            if (index[a] < shape[a]) break;
            index[a] = 0;
        }
    }
}

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .op = "LpNormalization", .run = lpNormalization },
    .{ .op = "LRN", .run = lrn },
    .{ .op = "MeanVarianceNormalization", .run = meanVarianceNormalization },
};
