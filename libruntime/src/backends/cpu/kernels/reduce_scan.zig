//! Reductions along one axis that keep positions: ArgMax/ArgMin (int64 indices) and the running
//! CumSum/CumProd. Each views the input as [outer, dim, inner] and walks it in memory order with
//! an `inner`-long buffer of running values.
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");
const Entry = @import("entry.zig").Entry;
const common = @import("linalg_common.zig");

const Context = kernel.Context;
const Tensor = kernel.Tensor;

const Block = struct { outer: usize, dim: usize, inner: usize };

fn blockAt(ctx: *Context, shape: []const i64, axis: usize) status.Error!Block {
    _ = try common.product(ctx, shape);
    return .{
        .outer = try common.product(ctx, shape[0..axis]),
        .dim = @intCast(shape[axis]),
        .inner = try common.product(ctx, shape[axis + 1 ..]),
    };
}

fn argKernel(comptime is_max: bool) kernel.Kernel {
    return struct {
        fn run(ctx: *Context) status.Error!void {
            const x = try ctx.require(0);
            if (x.shape.len == 0) return ctx.fail("input must have rank at least 1", .{});
            const axis = try common.axis(ctx, ctx.node.attrInt("axis", 0), x.shape.len);
            const keepdims = ctx.node.attrInt("keepdims", 1) != 0;
            const last = ctx.node.attrInt("select_last_index", 0) != 0;
            const b = try blockAt(ctx, x.shape, axis);
            if (b.dim == 0 and b.outer * b.inner > 0) return ctx.fail(
                "cannot take the arg{s} of an empty axis",
                .{if (is_max) "max" else "min"},
            );
            var shape: std.ArrayList(i64) = .empty;
            for (x.shape, 0..) |d, k| {
                if (k == axis and !keepdims) continue;
                shape.append(ctx.arena, if (k == axis) 1 else d) catch return status.fail(
                    error.OutOfResource,
                    "out of memory",
                    .{},
                );
            }
            inline for (common.numeric_kinds) |kind| if (x.dtype == kind.dtype) {
                const xs = try common.elems(ctx, kind.T, x);
                const out = try ctx.output(0, .int64, shape.items);
                const best = try ctx.alloc(common.Acc(kind.T), b.inner);
                if (last) argLoop(kind.T, is_max, true, xs, out.items(i64), b, best) else argLoop(
                    kind.T,
                    is_max,
                    false,
                    xs,
                    out.items(i64),
                    b,
                    best,
                );
                return;
            };
            return ctx.unsupported(x.dtype);
        }
    }.run;
}

fn argLoop(
    comptime T: type,
    comptime is_max: bool,
    comptime last: bool,
    x: []const T,
    out: []i64,
    b: Block,
    best: []common.Acc(T),
) void {
    for (0..b.outer) |o| {
        const idx = out[o * b.inner ..][0..b.inner];
        const block = x[o * b.dim * b.inner ..][0 .. b.dim * b.inner];
        @memset(idx, 0);
        if (b.dim == 0) continue;
        if (b.inner == 1) {
            idx[0] = argRow(T, is_max, last, block);
            continue;
        }
        for (best, block[0..b.inner]) |*m, v| m.* = common.load(T, v);
        for (1..b.dim) |d| for (best, idx, block[d * b.inner ..][0..b.inner]) |*m, *i, raw| {
            const v = common.load(T, raw);
            // Strict comparison keeps the first extreme; the non-strict one the last.
            const better = if (is_max) (if (last) v >= m.* else v > m.*) else (if (last) v <= m.* else v < m.*);
            if (better) {
                m.* = v;
                i.* = @intCast(d);
            }
        };
    }
}

fn argRow(comptime T: type, comptime is_max: bool, comptime last: bool, row: []const T) i64 {
    var best = common.load(T, row[0]);
    var at: usize = 0;
    for (row[1..], 1..) |raw, d| {
        const v = common.load(T, raw);
        const better = if (is_max) (if (last) v >= best else v > best) else (if (last) v <= best else v < best);
        if (better) {
            best = v;
            at = d;
        }
    }
    return @intCast(at);
}

const scan_kinds = common.float_kinds ++ [_]common.Kind{
    .{ .dtype = .int32, .T = i32 },
    .{ .dtype = .int64, .T = i64 },
    .{ .dtype = .uint32, .T = u32 },
    .{ .dtype = .uint64, .T = u64 },
};

fn scanKernel(comptime is_prod: bool) kernel.Kernel {
    return struct {
        fn run(ctx: *Context) status.Error!void {
            const x = try ctx.require(0);
            const axis_values = try common.readInts(ctx, try ctx.require(1), "axis");
            if (axis_values.len != 1) return ctx.fail("axis must hold one value, not {d}", .{axis_values.len});
            if (x.shape.len == 0) return ctx.fail("input must have rank at least 1", .{});
            const axis = try common.axis(ctx, axis_values[0], x.shape.len);
            const b = try blockAt(ctx, x.shape, axis);
            const exclusive = ctx.node.attrInt("exclusive", 0) != 0;
            const reverse = ctx.node.attrInt("reverse", 0) != 0;
            inline for (scan_kinds) |kind| if (x.dtype == kind.dtype) {
                const xs = try common.elems(ctx, kind.T, x);
                const out = try ctx.output(0, x.dtype, x.shape);
                const running = try ctx.alloc(common.Acc(kind.T), b.inner);
                scanLoop(kind.T, is_prod, xs, out.items(kind.T), b, running, exclusive, reverse);
                return;
            };
            return ctx.unsupported(x.dtype);
        }
    }.run;
}

fn scanLoop(
    comptime T: type,
    comptime is_prod: bool,
    x: []const T,
    y: []T,
    b: Block,
    running: []common.Acc(T),
    exclusive: bool,
    reverse: bool,
) void {
    const A = common.Acc(T);
    for (0..b.outer) |o| {
        @memset(running, if (is_prod) 1 else 0);
        const base = o * b.dim * b.inner;
        for (0..b.dim) |step| {
            const d = if (reverse) b.dim - 1 - step else step;
            const src = x[base + d * b.inner ..][0..b.inner];
            const dst = y[base + d * b.inner ..][0..b.inner];
            for (dst, src, running) |*out, v, *r| {
                const next = if (is_prod) common.mul(A, r.*, common.load(T, v)) else common.add(
                    A,
                    r.*,
                    common.load(T, v),
                );
                out.* = common.store(T, if (exclusive) r.* else next);
                r.* = next;
            }
        }
    }
}

pub const kernels = [_]Entry{
    .{ .op = "ArgMax", .run = argKernel(true) },
    .{ .op = "ArgMin", .run = argKernel(false) },
    .{ .op = "CumSum", .run = scanKernel(false) },
    .{ .op = "CumProd", .run = scanKernel(true) },
};
