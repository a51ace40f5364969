//! Kernels that order elements: TopK (values and int64 indices per line along an axis) and Unique
//! (of elements or of slices along an axis). Ties go to the lower index, as onnx's reference does;
//! NaN sorts above every number.
const std = @import("std");
const kernel = @import("../kernel.zig");
const Entry = @import("entry.zig").Entry;
const util = @import("tensor_ops_util.zig");

const Context = util.Context;
const Tensor = util.Tensor;
const DType = util.DType;
const Error = util.Error;

fn topK(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const k_raw: i64 = if (ctx.node.opset < 10)
        ctx.node.attrInt("k", -1)
    else
        try util.scalarInt(ctx, try ctx.require(1), "K");
    if (x.shape.len == 0) return ctx.fail("input must have rank >= 1", .{});
    const a = try util.axis(ctx, ctx.node.attrInt("axis", -1), x.shape.len);
    const n: usize = @intCast(x.shape[a]);
    if (k_raw < 0 or k_raw > n) return ctx.fail("k = {d} is outside [0, {d}]", .{ k_raw, n });
    const k: usize = @intCast(k_raw);
    const largest = ctx.node.attrInt("largest", 1) != 0;
    if (n > std.math.maxInt(u32)) return ctx.fail("axis of {d} elements is too long", .{n});
    try util.checkStorage(ctx, x, "input");
    const shape = try ctx.alloc(i64, x.shape.len);
    @memcpy(shape, x.shape);
    shape[a] = k_raw;
    const values = try ctx.output(0, x.dtype, shape);
    const indices = try ctx.output(1, .int64, shape);
    const outer = util.product(x.shape[0..a]);
    const inner = util.product(x.shape[a + 1 ..]);
    inline for (util.numeric_types) |pair| if (x.dtype == pair[0]) {
        const S = pair[1];
        const C = util.Compute(pair[0], S);
        const src = util.view(S, x);
        const dst = util.viewMut(S, values);
        const idx = indices.items(i64);
        const line = try ctx.alloc(C, n);
        const order = try ctx.alloc(u32, n);
        for (0..outer) |o| for (0..inner) |i| {
            const base = o * n * inner + i;
            for (line, 0..) |*v, j| v.* = util.load(pair[0], S, src[base + j * inner]);
            for (order, 0..) |*slot, j| slot.* = @intCast(j);
            const Order = struct {
                values: []const C,
                largest: bool,
                fn before(self: @This(), p: u32, q: u32) bool {
                    const vp = self.values[p];
                    const vq = self.values[q];
                    const first = if (self.largest) util.lessThan(C, vq, vp) else util.lessThan(C, vp, vq);
                    if (first) return true;
                    const second = if (self.largest) util.lessThan(C, vp, vq) else util.lessThan(C, vq, vp);
                    return !second and p < q;
                }
            };
            std.sort.pdq(u32, order, Order{ .values = line, .largest = largest }, Order.before);
            const out_base = o * k * inner + i;
            for (order[0..k], 0..) |j, r| {
                dst[out_base + r * inner] = src[base + @as(usize, j) * inner];
                idx[out_base + r * inner] = j;
            }
        };
        return;
    };
    return ctx.unsupported(x.dtype);
}

fn unique(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    try util.checkStorage(ctx, x, "input");
    if (x.dtype == .string) return uniqueTyped([]const u8, .string, ctx, x);
    inline for (util.numeric_types) |pair| if (x.dtype == pair[0]) {
        return uniqueTyped(pair[1], pair[0], ctx, x);
    };
    return ctx.unsupported(x.dtype);
}

fn uniqueTyped(comptime S: type, comptime dt: DType, ctx: *Context, x: *const Tensor) Error!void {
    const sorted = ctx.node.attrInt("sorted", 1) != 0;
    var outer: usize = 1;
    var n: usize = x.count();
    var inner: usize = 1;
    var a: ?usize = null;
    if (ctx.node.has("axis")) {
        const axis = try util.axis(ctx, ctx.node.attrInt("axis", 0), x.shape.len);
        a = axis;
        outer = util.product(x.shape[0..axis]);
        n = @intCast(x.shape[axis]);
        inner = util.product(x.shape[axis + 1 ..]);
    }
    const src = util.view(S, x);
    // Slice i is x[o, i, j] for all (o, j), compared in that order.
    const Slices = struct {
        src: []align(1) const S,
        outer: usize,
        n: usize,
        inner: usize,

        fn order(self: @This(), p: usize, q: usize) std.math.Order {
            for (0..self.outer) |o| for (0..self.inner) |j| {
                const vp = self.src[(o * self.n + p) * self.inner + j];
                const vq = self.src[(o * self.n + q) * self.inner + j];
                if (S == []const u8) {
                    const c = std.mem.order(u8, vp, vq);
                    if (c != .eq) return c;
                } else {
                    const C = util.Compute(dt, S);
                    const cp = util.load(dt, S, vp);
                    const cq = util.load(dt, S, vq);
                    if (util.lessThan(C, cp, cq)) return .lt;
                    if (util.lessThan(C, cq, cp)) return .gt;
                }
            };
            return .eq;
        }

        fn before(self: @This(), p: usize, q: usize) bool {
            const c = self.order(p, q);
            return c == .lt or (c == .eq and p < q);
        }
    };
    const slices = Slices{ .src = src, .outer = outer, .n = n, .inner = inner };
    const perm = try ctx.alloc(usize, n);
    for (perm, 0..) |*slot, i| slot.* = i;
    std.sort.pdq(usize, perm, slices, Slices.before);
    // Groups of equal slices, in sorted order; each group's first member is its first occurrence.
    const group_of = try ctx.alloc(usize, n);
    const firsts = try ctx.alloc(usize, n);
    const counts = try ctx.alloc(usize, n);
    var groups: usize = 0;
    for (perm, 0..) |p, r| {
        if (r == 0 or slices.order(perm[r - 1], p) != .eq) {
            firsts[groups] = p;
            counts[groups] = 0;
            groups += 1;
        }
        group_of[p] = groups - 1;
        counts[groups - 1] += 1;
    }
    // rank[g]: the position of group g in the output (sorted, or by first occurrence).
    const rank = try ctx.alloc(usize, groups);
    const by_position = try ctx.alloc(usize, groups);
    for (by_position, 0..) |*slot, g| slot.* = g;
    if (!sorted) {
        std.sort.pdq(usize, by_position, firsts[0..groups], struct {
            fn less(f: []const usize, p: usize, q: usize) bool {
                return f[p] < f[q];
            }
        }.less);
    }
    for (by_position, 0..) |g, position| rank[g] = position;
    try writeUnique(S, ctx, x, a, slices.outer, n, inner, groups, by_position, firsts, counts, group_of, rank);
}

fn writeUnique(
    comptime S: type,
    ctx: *Context,
    x: *const Tensor,
    a: ?usize,
    outer: usize,
    n: usize,
    inner: usize,
    groups: usize,
    by_position: []const usize,
    firsts: []const usize,
    counts: []const usize,
    group_of: []const usize,
    rank: []const usize,
) Error!void {
    const src = util.view(S, x);
    var y_shape: []i64 = undefined;
    if (a) |axis| {
        y_shape = try ctx.alloc(i64, x.shape.len);
        @memcpy(y_shape, x.shape);
        y_shape[axis] = @intCast(groups);
    } else {
        y_shape = try ctx.alloc(i64, 1);
        y_shape[0] = @intCast(groups);
    }
    const y = try ctx.output(0, x.dtype, y_shape);
    const dst = util.viewMut(S, y);
    for (0..outer) |o| for (by_position, 0..) |g, position| {
        const from = src[(o * n + firsts[g]) * inner ..][0..inner];
        @memcpy(dst[(o * groups + position) * inner ..][0..inner], from);
    };
    const g_shape = [_]i64{@intCast(groups)};
    if (ctx.wantsOutput(1)) {
        const t = try ctx.output(1, .int64, &g_shape);
        for (t.items(i64), by_position) |*slot, g| slot.* = @intCast(firsts[g]);
    }
    if (ctx.wantsOutput(2)) {
        const t = try ctx.output(2, .int64, &.{@intCast(n)});
        for (t.items(i64), group_of) |*slot, g| slot.* = @intCast(rank[g]);
    }
    if (ctx.wantsOutput(3)) {
        const t = try ctx.output(3, .int64, &g_shape);
        for (t.items(i64), by_position) |*slot, g| slot.* = @intCast(counts[g]);
    }
}

fn entry(comptime op: []const u8, run: kernel.Kernel) Entry {
    return .{ .op = op, .run = run };
}

pub const kernels = [_]Entry{
    entry("TopK", topK),
    entry("Unique", unique),
};
