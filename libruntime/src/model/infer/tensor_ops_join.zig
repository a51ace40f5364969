//! Shape rules for Concat and Split. Concatenated and split shape vectors keep their symbolic
//! elements: PyTorch exports build Reshape targets as Concat(Gather(Shape(x)), constants).
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");
const util = @import("tensor_ops_util.zig");

const Context = context.Context;
const Dim = ir.Dim;

fn concat(ctx: *Context) status.Error!void {
    const n = ctx.inputCount();
    if (n == 0) return ctx.fail("needs at least one input", .{});
    var dtype: ?ir.DType = null;
    var first: ?[]const Dim = null;
    for (0..n) |i| {
        _ = try ctx.require(i);
        if (ctx.dtype(i)) |d| {
            if (dtype) |seen| if (seen != d) {
                return ctx.fail("inputs mix {s} and {s}", .{ @tagName(seen), @tagName(d) });
            };
            dtype = d;
        }
        const s = ctx.shape(i) orelse continue;
        if (first) |f| if (f.len != s.len) {
            return ctx.fail("input {d} has rank {d}, another input rank {d}", .{ i, s.len, f.len });
        };
        if (first == null) first = s;
    }
    const attribute = ctx.attribute("axis");
    if (attribute == null and ctx.node.opset >= 4) return ctx.fail("attribute 'axis' is required", .{});
    const f = first orelse return ctx.setOutput(0, dtype, null);
    const raw = if (attribute) |a| a.i else 1;
    if (f.len == 0) return ctx.fail("cannot concatenate scalars", .{});
    const axis = try ctx.axis(raw, f.len);
    const out = try ctx.alloc(Dim, f.len);
    @memcpy(out, f);
    var total: ?Dim = try ctx.dim(0);
    for (0..n) |i| {
        const s = ctx.shape(i) orelse {
            total = null;
            continue;
        };
        for (s, out, 0..) |d, *slot, k| {
            if (k == axis) continue;
            if (!util.compatible(ctx, d, slot.*)) {
                const pool = ctx.pool;
                return ctx.fail("input {d} has dim {d} = {f}, another input {f}", .{ i, k, pool.fmt(d), pool.fmt(slot.*) });
            }
            slot.* = util.unify(ctx, slot.*, d);
        }
        if (total) |t| total = try ctx.pool.add(t, s[axis]);
    }
    out[axis] = total orelse try ctx.freshDim("concat");
    try ctx.setOutput(0, dtype, out);
    if (out.len == 1) try concatElements(ctx);
}

fn concatElements(ctx: *Context) status.Error!void {
    var all: []const Dim = &.{};
    for (0..ctx.inputCount()) |i| {
        const e = try util.smallElements(ctx, i) orelse return;
        if (all.len + e.len > util.max_elements) return;
        const joined = try ctx.alloc(Dim, all.len + e.len);
        @memcpy(joined[0..all.len], all);
        @memcpy(joined[all.len..], e);
        all = joined;
    }
    try ctx.setElements(0, all);
}

// ---- Split -------------------------------------------------------------------------------------

fn split(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const n = ctx.outputCount();
    if (n == 0) return ctx.fail("needs at least one output", .{});
    const dtype = ctx.dtype(0);
    const s = ctx.shape(0) orelse {
        for (0..n) |k| try ctx.setOutput(k, dtype, null);
        return;
    };
    if (s.len == 0) return ctx.fail("cannot split a scalar", .{});
    const axis = try ctx.axis(ctx.attrInt("axis", 0), s.len);
    const sizes = try splitSizes(ctx, s[axis], n);
    for (sizes, 0..) |size, k| {
        const out = try ctx.alloc(Dim, s.len);
        @memcpy(out, s);
        out[axis] = size;
        try ctx.setOutput(k, dtype, out);
    }
    if (s.len == 1) try splitElements(ctx, sizes);
}

/// The size of each of the `n` parts of a dim `d`: given by `split` (attribute or input), or
/// equal parts, where opset 18's num_outputs lets the last part be smaller.
fn splitSizes(ctx: *Context, d: Dim, n: usize) status.Error![]const Dim {
    const given: ?[]const Dim = if (ctx.attrInts("split")) |v|
        try ctx.dims(v)
    else if (ctx.hasInput(1)) try ctx.elements(1) else null;
    if (given) |sizes| return checkSizes(ctx, d, sizes, n);
    if (ctx.hasInput(1)) return util.freshShape(ctx, n, "split");
    const num_outputs = ctx.attribute("num_outputs");
    if (num_outputs) |a| if (a.i != @as(i64, @intCast(n))) {
        return ctx.fail("num_outputs is {d} but the node has {d} outputs", .{ a.i, n });
    };
    const pool = ctx.pool;
    const parts = try ctx.dim(@intCast(n));
    const out = try ctx.alloc(Dim, n);
    if (num_outputs != null and ctx.node.opset >= 18) {
        const chunk = try pool.ceilDiv(d, parts);
        const last = try pool.sub(d, try pool.mul(chunk, try ctx.dim(@intCast(n - 1))));
        @memset(out, chunk);
        out[n - 1] = last;
        // Too many parts for the dim cannot run, but ONNX's own functions (AffineGrid) hold such
        // Splits in If branches that are never taken, and onnx's checker accepts them: no error.
        if (pool.value(last)) |v| if (v < 0) {
            out[n - 1] = try ctx.freshDim("split");
        };
        return out;
    }
    if (pool.value(d)) |v| if (@rem(v, @as(i64, @intCast(n))) != 0) {
        return ctx.fail("cannot split {d} into {d} equal parts", .{ v, n });
    };
    @memset(out, try pool.div(d, parts));
    return out;
}

fn checkSizes(ctx: *Context, d: Dim, sizes: []const Dim, n: usize) status.Error![]const Dim {
    if (sizes.len != n) return ctx.fail("split has {d} entries for {d} outputs", .{ sizes.len, n });
    var total = try ctx.dim(0);
    for (sizes) |size| {
        try util.checkNonNegative(ctx, size, "a split size");
        total = try ctx.pool.add(total, size);
    }
    if (!util.compatible(ctx, total, d)) {
        return ctx.fail("split sizes add up to {f}, the dim is {f}", .{ ctx.pool.fmt(total), ctx.pool.fmt(d) });
    }
    return sizes;
}

fn splitElements(ctx: *Context, sizes: []const Dim) status.Error!void {
    const e = try util.smallElements(ctx, 0) orelse return;
    var start: usize = 0;
    for (sizes, 0..) |size, k| {
        const v = ctx.pool.value(size) orelse return;
        if (v < 0 or v > e.len - start) return;
        const end = start + @as(usize, @intCast(v));
        try ctx.setElements(k, e[start..end]);
        start = end;
    }
}

fn entry(comptime op: []const u8, rule: context.Rule) registry.Entry {
    return .{ .op = op, .rule = rule };
}

pub const rules = [_]registry.Entry{
    entry("Concat", concat),
    entry("Split", split),
};
