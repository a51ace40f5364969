//! CPU kernels (family: reduce): the Reduce* operators here; ArgMax/ArgMin and CumSum/CumProd in
//! reduce_scan.zig. Axes are coalesced first (dims of 1 dropped, neighbours that are both kept or
//! both reduced merged), so every reduction is one pass over the input in memory order: either
//! folding a contiguous run into one output, or adding a contiguous run into a row of outputs.
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");
const Entry = @import("entry.zig").Entry;
const common = @import("linalg_common.zig");

const Context = kernel.Context;
const Tensor = kernel.Tensor;
const DType = kernel.DType;

const Op = enum { sum, mean, max, min, prod, l1, l2, log_sum, log_sum_exp, sum_square };

const max_groups = 64;

/// The input as alternating kept and reduced groups of dims.
const Plan = struct {
    sizes: [max_groups]usize = undefined,
    reduced: [max_groups]bool = undefined,
    /// Output stride per group (0 for reduced groups).
    out_strides: [max_groups]usize = undefined,
    len: usize = 0,
    /// Elements folded into each output.
    reduce_count: usize = 1,
    out_count: usize = 1,
};

/// The reduced axes as a mask; null means none (noop_with_empty_axes with no axes).
fn axesMask(ctx: *Context, rank: usize, from_input: bool) status.Error!?[]bool {
    var axes: []const i64 = &.{};
    if (from_input) {
        if (ctx.input(1)) |t| axes = try common.readInts(ctx, t, "axes");
    } else if (ctx.node.attrInts("axes")) |a| axes = a;
    const mask = try ctx.alloc(bool, rank);
    if (axes.len == 0) {
        if (ctx.node.attrInt("noop_with_empty_axes", 0) != 0) return null;
        @memset(mask, true);
        return mask;
    }
    @memset(mask, false);
    for (axes) |a| mask[try common.axis(ctx, a, rank)] = true;
    return mask;
}

fn makePlan(ctx: *Context, shape: []const i64, mask: []const bool) status.Error!Plan {
    var p: Plan = .{};
    _ = try common.product(ctx, shape);
    for (shape, mask) |d, r| {
        const size: usize = @intCast(d);
        if (r) p.reduce_count = std.math.mul(usize, p.reduce_count, size) catch return ctx.fail("too large", .{});
        if (!r) p.out_count = std.math.mul(usize, p.out_count, size) catch return ctx.fail("too large", .{});
        if (size == 1) continue;
        if (p.len > 0 and p.reduced[p.len - 1] == r) {
            p.sizes[p.len - 1] *= size;
            continue;
        }
        if (p.len == max_groups) return ctx.fail("too many dims", .{});
        p.sizes[p.len] = size;
        p.reduced[p.len] = r;
        p.len += 1;
    }
    if (p.len == 0) {
        p.sizes[0] = 1;
        p.reduced[0] = false;
        p.len = 1;
    }
    var stride: usize = 1;
    var g = p.len;
    while (g > 0) {
        g -= 1;
        p.out_strides[g] = if (p.reduced[g]) 0 else stride;
        if (!p.reduced[g]) stride *= p.sizes[g];
    }
    return p;
}

fn identity(comptime A: type, comptime op: Op, is_bool: bool) A {
    const float = @typeInfo(A) == .float;
    return switch (op) {
        .prod => 1,
        .max => if (float) -std.math.inf(A) else std.math.minInt(A),
        .min => if (float) std.math.inf(A) else if (is_bool) 1 else std.math.maxInt(A),
        else => 0,
    };
}

/// The value an element contributes (before combining).
inline fn pre(comptime A: type, comptime op: Op, v: A, shift: A) A {
    return switch (op) {
        .l1 => if (@typeInfo(A) == .float) @abs(v) else if (std.math.minInt(A) < 0 and v < 0) 0 -% v else v,
        .l2, .sum_square => common.mul(A, v, v),
        .log_sum_exp => @exp(v - shift),
        else => v,
    };
}

inline fn combine(comptime A: type, comptime op: Op, acc: A, v: A) A {
    return switch (op) {
        .max => @max(acc, v),
        .min => @min(acc, v),
        .prod => common.mul(A, acc, v),
        else => common.add(A, acc, v),
    };
}

const lanes = 16;

/// Folds a contiguous run; sums of f32/f64 use vector lanes (also more accurate than one chain).
fn foldRun(comptime T: type, comptime A: type, comptime op: Op, run: []const T, start: A, shift: A) A {
    var acc = start;
    var i: usize = 0;
    if (T == A and @typeInfo(A) == .float and op != .log_sum_exp and run.len >= 2 * lanes) {
        const V = @Vector(lanes, A);
        var vacc: V = @splat(identity(A, op, false));
        while (i + lanes <= run.len) : (i += lanes) {
            const v: V = run[i..][0..lanes].*;
            const p: V = switch (op) {
                .l1 => @abs(v),
                .l2, .sum_square => v * v,
                else => v,
            };
            vacc = switch (op) {
                .max => @max(vacc, p),
                .min => @min(vacc, p),
                .prod => vacc * p,
                else => vacc + p,
            };
        }
        acc = combine(A, op, acc, switch (op) {
            .max => @reduce(.Max, vacc),
            .min => @reduce(.Min, vacc),
            .prod => @reduce(.Mul, vacc),
            else => @reduce(.Add, vacc),
        });
    }
    for (run[i..]) |v| acc = combine(A, op, acc, pre(A, op, common.load(T, v), shift));
    return acc;
}

/// One pass over x in memory order, combining into acc (one per output); `shift` is the
/// per-output max for log_sum_exp.
fn walk(
    comptime T: type,
    comptime A: type,
    comptime op: Op,
    p: *const Plan,
    x: []const T,
    acc: []A,
    shift: []const A,
) void {
    const inner = p.sizes[p.len - 1];
    const inner_reduced = p.reduced[p.len - 1];
    var index = [_]usize{0} ** max_groups;
    var out: usize = 0;
    var in: usize = 0;
    while (in < x.len) : (in += inner) {
        const run = x[in..][0..inner];
        if (inner_reduced) {
            acc[out] = foldRun(T, A, op, run, acc[out], if (op == .log_sum_exp) shift[out] else 0);
        } else {
            const dst = acc[out..][0..inner];
            if (op == .log_sum_exp) {
                for (dst, run, shift[out..][0..inner]) |*d, v, s| d.* = combine(
                    A,
                    op,
                    d.*,
                    pre(A, op, common.load(T, v), s),
                );
            } else {
                for (dst, run) |*d, v| d.* = combine(A, op, d.*, pre(A, op, common.load(T, v), 0));
            }
        }
        // Advance the odometer over the outer groups, keeping the output offset current.
        var g = p.len - 1;
        while (g > 0) {
            g -= 1;
            index[g] += 1;
            out += p.out_strides[g];
            if (index[g] < p.sizes[g]) break;
            out -= p.out_strides[g] * index[g];
            index[g] = 0;
        }
    }
}

fn reduceTyped(
    comptime T: type,
    comptime op: Op,
    ctx: *Context,
    x: *const Tensor,
    p: *const Plan,
    out: []T,
) status.Error!void {
    const A = common.Acc(T);
    const float = @typeInfo(A) == .float;
    if (!float and (op == .l2 or op == .log_sum or op == .log_sum_exp)) return ctx.unsupported(x.dtype);
    const xs = try common.elems(ctx, T, x);
    const acc = try ctx.alloc(A, p.out_count);
    var shift: []A = &.{};
    if (op == .log_sum_exp) {
        // The max of the finite values keeps exp() in range; infinities pass through the sum.
        shift = try ctx.alloc(A, p.out_count);
        @memset(shift, -std.math.inf(A));
        walk(T, A, .max, p, xs, shift, &.{});
        for (shift) |*s| if (std.math.isInf(s.*)) {
            s.* = 0;
        };
    }
    @memset(acc, identity(A, op, x.dtype == .bool));
    walk(T, A, op, p, xs, acc, shift);
    const count: A = if (float) @floatFromInt(p.reduce_count) else @intCast(@min(p.reduce_count, std.math.maxInt(A)));
    for (out, acc, 0..) |*o, a, i| o.* = common.store(T, switch (op) {
        .mean => if (float) a / count else if (count == 0) 0 else @divTrunc(a, count),
        .l2 => @sqrt(a),
        .log_sum => @log(a),
        .log_sum_exp => @log(a) + shift[i],
        else => a,
    });
}

const reduce_kinds = common.numeric_kinds;

fn reduceKernel(comptime op: Op, comptime axes_input_opset: i64) kernel.Kernel {
    return struct {
        fn run(ctx: *Context) status.Error!void {
            const x = try ctx.require(0);
            const rank = x.shape.len;
            const mask = try axesMask(ctx, rank, ctx.node.opset >= axes_input_opset) orelse
                blk: {
                    const none = try ctx.alloc(bool, rank);
                    @memset(none, false);
                    break :blk none;
                };
            const keepdims = ctx.node.attrInt("keepdims", 1) != 0;
            var shape: std.ArrayList(i64) = .empty;
            for (x.shape, mask) |d, r| {
                if (r and !keepdims) continue;
                shape.append(ctx.arena, if (r) 1 else d) catch return status.fail(
                    error.OutOfResource,
                    "out of memory",
                    .{},
                );
            }
            const p = try makePlan(ctx, x.shape, mask);
            if (x.dtype == .bool and (op == .max or op == .min)) {
                const out = try ctx.output(0, .bool, shape.items);
                return reduceTyped(u8, op, ctx, x, &p, out.items(u8));
            }
            inline for (reduce_kinds) |kind| if (x.dtype == kind.dtype) {
                const out = try ctx.output(0, x.dtype, shape.items);
                return reduceTyped(kind.T, op, ctx, x, &p, out.items(kind.T));
            };
            return ctx.unsupported(x.dtype);
        }
    }.run;
}

fn entry(comptime name: []const u8, comptime op: Op, comptime opset: i64) Entry {
    return .{ .op = name, .run = reduceKernel(op, opset) };
}

pub const kernels = [_]Entry{
    // ReduceSum took its axes as an input from opset 13, the others from opset 18.
    entry("ReduceSum", .sum, 13),
    entry("ReduceMean", .mean, 18),
    entry("ReduceMax", .max, 18),
    entry("ReduceMin", .min, 18),
    entry("ReduceProd", .prod, 18),
    entry("ReduceL1", .l1, 18),
    entry("ReduceL2", .l2, 18),
    entry("ReduceLogSum", .log_sum, 18),
    entry("ReduceLogSumExp", .log_sum_exp, 18),
    entry("ReduceSumSquare", .sum_square, 18),
} ++ @import("reduce_scan.zig").kernels;
