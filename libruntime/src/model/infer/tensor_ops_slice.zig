//! Shape rules for ops that cut or extend a tensor along axes: Slice, Pad and CenterCropPad.
//! Slice is exact for known dims. On a symbolic dim it takes the indices as lying inside it (and
//! any bound beyond 2^31 as "to the end"), so x[:, 1:] of N rows has N-1 of them rather than an
//! expression in min/max that would no longer match the other dims of the model.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");
const util = @import("tensor_ops_util.zig");

const Context = context.Context;
const Dim = ir.Dim;

/// Bounds at or beyond this mean "past the end" on a symbolic dim (PyTorch writes INT64_MAX).
const big: i64 = std.math.maxInt(i32);

const Parameters = struct {
    starts: []const Dim,
    ends: []const Dim,
    axes: []const usize,
    steps: []const i64,
};

fn slice(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const dtype = ctx.dtype(0);
    if (ctx.node.opset >= 10) {
        _ = try ctx.require(1);
        _ = try ctx.require(2);
    }
    if (ctx.node.opset < 10 and (ctx.attribute("starts") == null or ctx.attribute("ends") == null)) {
        return ctx.fail("attributes 'starts' and 'ends' are required", .{});
    }
    const s = ctx.shape(0) orelse return ctx.setOutput(0, dtype, null);
    const p = try sliceParameters(ctx, s.len) orelse return ctx.setOutput(0, dtype, try unknownSlice(ctx, s));
    const out = try ctx.alloc(Dim, s.len);
    @memcpy(out, s);
    for (p.axes, p.starts, p.ends, p.steps) |a, start, end, step| {
        out[a] = try sliceLength(ctx, s[a], start, end, step) orelse try ctx.freshDim("slice");
    }
    try ctx.setOutput(0, dtype, out);
    if (s.len == 1) try sliceElements(ctx, p);
}

/// The slice's parameters, checked; null when some are not known.
fn sliceParameters(ctx: *Context, rank: usize) status.Error!?Parameters {
    const starts = try util.dimsArgument(ctx, "starts", 10, 1) orelse return null;
    const ends = try util.dimsArgument(ctx, "ends", 10, 2) orelse return null;
    if (starts.len != ends.len) return ctx.fail("{d} starts but {d} ends", .{ starts.len, ends.len });
    const n = starts.len;
    var axes: []const usize = undefined;
    if (util.hasArgument(ctx, "axes", 10, 3)) {
        const given = try util.intsArgument(ctx, "axes", 10, 3) orelse return null;
        if (given.len != n) return ctx.fail("{d} axes for {d} starts", .{ given.len, n });
        axes = try util.normalizeAxes(ctx, given, rank);
    } else {
        if (n > rank) return ctx.fail("{d} starts for rank {d}", .{ n, rank });
        const list = try ctx.alloc(usize, n);
        for (list, 0..) |*slot, k| slot.* = k;
        axes = list;
    }
    const steps = try ctx.alloc(i64, n);
    @memset(steps, 1);
    if (ctx.node.opset >= 10 and ctx.hasInput(4)) {
        const given = try ctx.elements(4) orelse return null;
        if (given.len != n) return ctx.fail("{d} steps for {d} starts", .{ given.len, n });
        for (given, steps) |d, *slot| slot.* = ctx.pool.value(d) orelse return null;
    }
    for (steps) |step| if (step == 0) return ctx.fail("a step is 0", .{});
    return .{ .starts = starts, .ends = ends, .axes = axes, .steps = steps };
}

/// Unknown parameters: the dims of the axes sliced become fresh, when we know which they are.
fn unknownSlice(ctx: *Context, s: []const Dim) status.Error![]const Dim {
    if (ctx.node.opset >= 10 and ctx.hasInput(3)) {
        const given = try util.intsArgument(ctx, "axes", 10, 3) orelse return util.freshShape(ctx, s.len, "slice");
        return util.freshAt(ctx, s, try util.normalizeAxes(ctx, given, s.len), "slice");
    }
    const n = util.knownLength(ctx, 1) orelse s.len;
    const axes = try ctx.alloc(usize, @min(n, s.len));
    for (axes, 0..) |*slot, k| slot.* = k;
    return util.freshAt(ctx, s, axes, "slice");
}

/// How many indices start, start+step, ... lie before end (after, for negative steps).
fn sliceLength(ctx: *Context, d: Dim, start: Dim, end: Dim, step: i64) status.Error!?Dim {
    const pool = ctx.pool;
    if (pool.value(d)) |n| if (pool.value(start)) |a| if (pool.value(end)) |b| {
        const r = exactRange(n, a, b, step);
        return try ctx.dim(r.len);
    };
    const first = try boundary(ctx, d, start, step) orelse return null;
    const last = try boundary(ctx, d, end, step) orelse return null;
    const magnitude = if (step == std.math.minInt(i64)) std.math.maxInt(i64) else @abs(step);
    const span = if (step > 0) try pool.sub(last, first) else try pool.sub(first, last);
    const len = try pool.ceilDiv(span, try ctx.dim(@intCast(magnitude)));
    if (pool.value(len)) |v| return try ctx.dim(@max(v, 0));
    return len;
}

/// A bound on a symbolic dim, taken to lie inside it (see the header).
fn boundary(ctx: *Context, d: Dim, x: Dim, step: i64) status.Error!?Dim {
    const pool = ctx.pool;
    const v = pool.value(x) orelse {
        // A symbolic bound (from Shape, say) is used when it is provably not negative.
        if (try pool.max(x, try ctx.dim(0)) == x) return x;
        return null;
    };
    if (v >= big) return if (step > 0) d else try pool.sub(d, try ctx.dim(1));
    if (v <= -big) return if (step > 0) try ctx.dim(0) else try ctx.dim(-1);
    if (v < 0) return try pool.add(d, x);
    return x;
}

const Range = struct { first: i64, len: i64 };

/// ONNX's clamping of start and end into the dim, then the element count; in i128 so that no
/// bound (INT64_MIN, INT64_MAX) can overflow.
fn exactRange(n: i64, start: i64, end: i64, step: i64) Range {
    const size: i128 = n;
    var a: i128 = start;
    var b: i128 = end;
    if (a < 0) a += size;
    if (b < 0) b += size;
    const len: i128 = if (step > 0) blk: {
        a = std.math.clamp(a, 0, size);
        b = std.math.clamp(b, 0, size);
        break :blk if (b > a) @divFloor(b - a + step - 1, step) else 0;
    } else blk: {
        a = std.math.clamp(a, -1, size - 1);
        b = std.math.clamp(b, -1, size - 1);
        const down: i128 = -@as(i128, step);
        break :blk if (a > b) @divFloor(a - b + down - 1, down) else 0;
    };
    return .{ .first = @intCast(a), .len = @intCast(len) };
}

/// Slicing a shape vector slices its elements.
fn sliceElements(ctx: *Context, p: Parameters) status.Error!void {
    const e = try util.smallElements(ctx, 0) orelse return;
    if (p.axes.len != 1) return;
    const start = ctx.pool.value(p.starts[0]) orelse return;
    const end = ctx.pool.value(p.ends[0]) orelse return;
    const r = exactRange(@intCast(e.len), start, end, p.steps[0]);
    const out = try ctx.alloc(Dim, @intCast(r.len));
    var index: i128 = r.first;
    for (out) |*slot| {
        slot.* = e[@intCast(index)];
        index += p.steps[0];
    }
    try ctx.setElements(0, out);
}

// ---- Pad -----------------------------------------------------------------------------------------

fn pad(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const dtype = ctx.dtype(0);
    const mode = ctx.attrString("mode", "constant");
    const modes = [_][]const u8{ "constant", "reflect", "edge", "wrap" };
    for (modes) |m| {
        if (std.mem.eql(u8, m, mode)) break;
    } else return ctx.fail("unknown mode '{s}'", .{mode});
    const pads = try padsArgument(ctx);
    const s = ctx.shape(0) orelse return ctx.setOutput(0, dtype, null);
    var axes: []const usize = undefined;
    if (ctx.node.opset >= 18 and ctx.hasInput(3)) {
        const given = try util.intsArgument(ctx, "axes", 18, 3) orelse
            return ctx.setOutput(0, dtype, try util.freshShape(ctx, s.len, "pad"));
        axes = try util.normalizeAxes(ctx, given, s.len);
    } else {
        const list = try ctx.alloc(usize, s.len);
        for (list, 0..) |*slot, k| slot.* = k;
        axes = list;
    }
    const p = pads orelse return ctx.setOutput(0, dtype, try util.freshAt(ctx, s, axes, "pad"));
    if (p.len != 2 * axes.len) return ctx.fail("{d} pads for {d} axes", .{ p.len, axes.len });
    const out = try ctx.alloc(Dim, s.len);
    @memcpy(out, s);
    const pool = ctx.pool;
    for (axes, 0..) |a, j| {
        out[a] = try pool.add(try pool.add(s[a], p[j]), p[j + axes.len]);
        try util.checkNonNegative(ctx, out[a], "a padded dim");
    }
    try ctx.setOutput(0, dtype, out);
}

/// Pads as dims: attribute `paddings` (opset 1), `pads` (opset 2 to 10) or input 1.
fn padsArgument(ctx: *Context) status.Error!?[]const Dim {
    if (ctx.node.opset >= 11) {
        _ = try ctx.require(1);
        try util.expectRank(ctx, 1, 1);
        return ctx.elements(1);
    }
    const name = if (ctx.node.opset < 2) "paddings" else "pads";
    const values = (if (ctx.node.opset < 2) ctx.attrInts("paddings") else ctx.attrInts("pads")) orelse return ctx.fail("attribute '{s}' is required", .{name});
    return try ctx.dims(values);
}

fn centerCropPad(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    try util.expectRank(ctx, 1, 1);
    const dtype = ctx.dtype(0);
    const s = ctx.shape(0) orelse return ctx.setOutput(0, dtype, null);
    var axes: []const usize = undefined;
    if (ctx.attrInts("axes")) |given| {
        axes = try util.normalizeAxes(ctx, given, s.len);
    } else {
        const list = try ctx.alloc(usize, s.len);
        for (list, 0..) |*slot, k| slot.* = k;
        axes = list;
    }
    const target = try ctx.elements(1) orelse return ctx.setOutput(0, dtype, try util.freshAt(ctx, s, axes, "crop"));
    if (target.len != axes.len) return ctx.fail("shape has {d} entries for {d} axes", .{ target.len, axes.len });
    const out = try ctx.alloc(Dim, s.len);
    @memcpy(out, s);
    for (axes, target) |a, d| {
        try util.checkNonNegative(ctx, d, "a target dim");
        out[a] = d;
    }
    try ctx.setOutput(0, dtype, out);
}

fn entry(comptime op: []const u8, rule: context.Rule) registry.Entry {
    return .{ .op = op, .rule = rule };
}

pub const rules = [_]registry.Entry{
    entry("Slice", slice),
    entry("Pad", pad),
    entry("CenterCropPad", centerCropPad),
};
