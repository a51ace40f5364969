//! Shape rules for indexing ops: Gather (which also picks dims out of shape vectors), GatherElements,
//! GatherND, the Scatter family, OneHot, and the data-dependent NonZero, Compress and Unique, whose
//! sizes are fresh dims unless their inputs are constants.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const common = @import("common.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");
const util = @import("tensor_ops_util.zig");

const Context = context.Context;
const Dim = ir.Dim;

fn checkIndexType(ctx: *Context, i: usize) status.Error!void {
    const d = ctx.dtype(i) orelse return;
    if (d == .int64 or d == .int32) return;
    return ctx.fail("input {d} must hold int32 or int64 indices, not {s}", .{ i, @tagName(d) });
}

fn concatDims(ctx: *Context, parts: []const []const Dim) status.Error![]const Dim {
    var n: usize = 0;
    for (parts) |p| n += p.len;
    if (n > util.max_rank) return ctx.fail("rank {d} is too large", .{n});
    const out = try ctx.alloc(Dim, n);
    var k: usize = 0;
    for (parts) |p| {
        @memcpy(out[k..][0..p.len], p);
        k += p.len;
    }
    return out;
}

fn gather(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    try checkIndexType(ctx, 1);
    const dtype = ctx.dtype(0);
    const data = ctx.shape(0) orelse return ctx.setOutput(0, dtype, null);
    if (data.len == 0) return ctx.fail("data must have rank >= 1", .{});
    const a = try ctx.axis(ctx.attrInt("axis", 0), data.len);
    const indices = ctx.shape(1) orelse return ctx.setOutput(0, dtype, null);
    try ctx.setOutput(0, dtype, try concatDims(ctx, &.{ data[0..a], indices, data[a + 1 ..] }));
    if (data.len == 1) try gatherElementsOfVector(ctx);
}

/// Gathering known indices from a shape vector picks its elements (Shape → Gather → Reshape).
fn gatherElementsOfVector(ctx: *Context) status.Error!void {
    const e = try util.smallElements(ctx, 0) orelse return;
    const index_dims = try util.smallElements(ctx, 1) orelse return;
    const indices = try util.constants(ctx, index_dims) orelse return;
    const out = try ctx.alloc(Dim, indices.len);
    const n: i64 = @intCast(e.len);
    for (indices, out) |index, *slot| {
        const k = if (index < 0) index + n else index;
        if (k < 0 or k >= n) return ctx.fail("index {d} is out of range for {d} elements", .{ index, n });
        slot.* = e[@intCast(k)];
    }
    try ctx.setElements(0, out);
}

fn gatherElements(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    try checkIndexType(ctx, 1);
    const dtype = ctx.dtype(0);
    const indices = ctx.shape(1);
    if (ctx.shape(0)) |data| {
        if (data.len == 0) return ctx.fail("data must have rank >= 1", .{});
        _ = try ctx.axis(ctx.attrInt("axis", 0), data.len);
        try util.expectRank(ctx, 1, data.len);
    }
    try ctx.setOutput(0, dtype, indices);
}

fn gatherNd(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    try checkIndexType(ctx, 1);
    const dtype = ctx.dtype(0);
    const b_raw = if (ctx.node.opset >= 12) ctx.attrInt("batch_dims", 0) else 0;
    if (b_raw < 0) return ctx.fail("batch_dims must not be negative, not {d}", .{b_raw});
    const data = ctx.shape(0) orelse return ctx.setOutput(0, dtype, null);
    const indices = ctx.shape(1) orelse return ctx.setOutput(0, dtype, null);
    const r = data.len;
    const q = indices.len;
    if (r == 0 or q == 0) return ctx.fail("data and indices must have rank >= 1", .{});
    if (b_raw >= @min(q, r)) return ctx.fail("batch_dims {d} must be below the ranks {d} and {d}", .{ b_raw, r, q });
    const b: usize = @intCast(b_raw);
    for (data[0..b], indices[0..b], 0..) |x, y, k| {
        if (!util.compatible(ctx, x, y)) return ctx.fail("batch dim {d} differs between data and indices", .{k});
    }
    const m = ctx.pool.value(indices[q - 1]) orelse return ctx.setOutput(0, dtype, null);
    if (m < 1 or m > r - b) return ctx.fail("indices end in {d}, which must be in [1, {d}]", .{ m, r - b });
    const tail = data[b + @as(usize, @intCast(m)) ..];
    try ctx.setOutput(0, dtype, try concatDims(ctx, &.{ indices[0 .. q - 1], tail }));
}

// ---- Scatter family ------------------------------------------------------------------------------

/// Scatter and ScatterElements: indices and updates have data's rank and each other's shape.
fn scatterElements(ctx: *Context) status.Error!void {
    for (0..3) |i| _ = try ctx.require(i);
    try checkIndexType(ctx, 1);
    try checkReduction(ctx);
    if (ctx.shape(0)) |data| {
        if (data.len == 0) return ctx.fail("data must have rank >= 1", .{});
        _ = try ctx.axis(ctx.attrInt("axis", 0), data.len);
        try util.expectRank(ctx, 1, data.len);
        try util.expectRank(ctx, 2, data.len);
    }
    if (ctx.shape(1)) |indices| if (ctx.shape(2)) |updates| {
        try expectSameShape(ctx, indices, updates, "updates", "indices");
    };
    try ctx.passThrough(0, 0);
}

fn checkReduction(ctx: *Context) status.Error!void {
    const reduction = ctx.attrString("reduction", "none");
    const known = [_][]const u8{ "none", "add", "mul", "max", "min" };
    for (known) |k| if (std.mem.eql(u8, k, reduction)) return;
    return ctx.fail("unknown reduction '{s}'", .{reduction});
}

fn expectSameShape(
    ctx: *Context,
    a: []const Dim,
    b: []const Dim,
    a_name: []const u8,
    b_name: []const u8,
) status.Error!void {
    if (a.len != b.len) return ctx.fail("{s} has rank {d}, {s} rank {d}", .{ a_name, a.len, b_name, b.len });
    for (a, b, 0..) |x, y, k| {
        if (!util.compatible(ctx, x, y)) {
            return ctx.fail("{s} has dim {d} = {f}, {s} {f}", .{ a_name, k, ctx.pool.fmt(x), b_name, ctx.pool.fmt(y) });
        }
    }
}

/// ScatterND: updates are shaped indices.shape[:-1] + data.shape[m:].
fn scatterNd(ctx: *Context) status.Error!void {
    for (0..3) |i| _ = try ctx.require(i);
    try checkIndexType(ctx, 1);
    try checkReduction(ctx);
    try ctx.passThrough(0, 0);
    const data = ctx.shape(0) orelse return;
    const indices = ctx.shape(1) orelse return;
    const updates = ctx.shape(2) orelse return;
    if (data.len == 0 or indices.len == 0) return ctx.fail("data and indices must have rank >= 1", .{});
    const m = ctx.pool.value(indices[indices.len - 1]) orelse return;
    if (m < 1 or m > data.len) return ctx.fail("indices end in {d}, which must be in [1, {d}]", .{ m, data.len });
    const expected = try concatDims(ctx, &.{ indices[0 .. indices.len - 1], data[@intCast(m)..] });
    try expectSameShape(ctx, updates, expected, "updates", "indices and data imply");
}

/// TensorScatter writes `update` into a KV cache along `axis`: the result is the cache.
fn tensorScatter(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    const mode = ctx.attrString("mode", "linear");
    if (!std.mem.eql(u8, mode, "linear") and !std.mem.eql(u8, mode, "circular")) {
        return ctx.fail("mode must be linear or circular, not '{s}'", .{mode});
    }
    if (ctx.shape(0)) |cache| {
        if (cache.len < 2) return ctx.fail("past_cache must have rank >= 2", .{});
        const axis = try ctx.axis(ctx.attrInt("axis", -2), cache.len);
        if (axis == 0) return ctx.fail("axis must not be the batch axis", .{});
        try util.expectRank(ctx, 1, cache.len);
        if (ctx.shape(1)) |update| for (cache, update, 0..) |x, y, k| {
            if (k == axis or util.compatible(ctx, x, y)) continue;
            return ctx.fail("update differs from past_cache in dim {d}", .{k});
        };
    }
    try ctx.passThrough(0, 0);
}

// ---- OneHot, NonZero, Compress, Unique, ReverseSequence -----------------------------------------

fn oneHot(ctx: *Context) status.Error!void {
    for (0..3) |i| _ = try ctx.require(i);
    const dtype = ctx.dtype(2);
    if (ctx.shape(2)) |values| {
        if (values.len != 1 or !util.compatible(ctx, values[0], try ctx.dim(2))) {
            return ctx.fail("values must hold two elements", .{});
        }
    }
    const indices = ctx.shape(0) orelse return ctx.setOutput(0, dtype, null);
    const axis = try ctx.axis(ctx.attrInt("axis", -1), indices.len + 1);
    const depth = try depthDim(ctx);
    try ctx.setOutput(0, dtype, try concatDims(ctx, &.{ indices[0..axis], &.{depth}, indices[axis..] }));
}

/// OneHot's depth may be of any numeric type; a float depth is truncated, as ONNX casts it.
fn depthDim(ctx: *Context) status.Error!Dim {
    if (ctx.constant(1)) |c| {
        if (c.count != 1) return ctx.fail("depth must hold one element", .{});
        const v: i64 = c.int(0) orelse blk: {
            const f = c.float(0) orelse return ctx.freshDim("depth");
            if (!(f >= 0 and f < 1e15)) return ctx.fail("depth {d} is invalid", .{f});
            break :blk @intFromFloat(f);
        };
        if (v < 0) return ctx.fail("depth must not be negative, not {d}", .{v});
        return ctx.dim(v);
    }
    if (try util.smallElements(ctx, 1)) |e| if (e.len == 1) return e[0];
    return ctx.freshDim("depth");
}

fn nonZero(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    // A scalar's row count is left open, as onnx does: runtimes disagree on treating it as 1-D.
    const known = ctx.rank(0) orelse 0;
    const rank = if (known > 0) try ctx.dim(@intCast(known)) else try ctx.freshDim("rank");
    try ctx.setOutput(0, .int64, try util.owned(ctx, &.{ rank, try ctx.freshDim("nonzero") }));
}

fn compress(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    try util.expectRank(ctx, 1, 1);
    if (ctx.dtype(1)) |d| if (d != .bool) return ctx.fail("condition must be bool, not {s}", .{@tagName(d)});
    const dtype = ctx.dtype(0);
    const axis_attr = ctx.attribute("axis");
    if (axis_attr == null) return ctx.setOutput(0, dtype, try util.owned(ctx, &.{try selectedCount(ctx, null)}));
    const s = ctx.shape(0) orelse return ctx.setOutput(0, dtype, null);
    const a = try ctx.axis(axis_attr.?.i, s.len);
    const out = try ctx.alloc(Dim, s.len);
    @memcpy(out, s);
    out[a] = try selectedCount(ctx, s[a]);
    try ctx.setOutput(0, dtype, out);
}

/// How many entries a constant condition selects among the first `available` (all if unknown).
fn selectedCount(ctx: *Context, available: ?Dim) status.Error!Dim {
    const c = ctx.constant(1) orelse return ctx.freshDim("compress");
    if (c.dtype != .bool) return ctx.freshDim("compress");
    var n: usize = c.bytes.len;
    if (available) |d| if (ctx.pool.value(d)) |v| {
        n = @min(n, @as(usize, @intCast(@max(v, 0))));
    };
    var count: i64 = 0;
    for (c.bytes[0..n]) |byte| count += @intFromBool(byte != 0);
    return ctx.dim(count);
}

fn unique(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const u = try ctx.freshDim("unique");
    const s = ctx.shape(0);
    if (ctx.attribute("axis")) |axis_attr| {
        if (s) |shape| {
            const a = try ctx.axis(axis_attr.i, shape.len);
            const y = try ctx.alloc(Dim, shape.len);
            @memcpy(y, shape);
            y[a] = u;
            try ctx.setOutput(0, ctx.dtype(0), y);
            try ctx.setOutput(2, .int64, try util.owned(ctx, &.{shape[a]}));
        } else {
            try ctx.setOutput(0, ctx.dtype(0), null);
            try ctx.setOutput(2, .int64, try util.owned(ctx, &.{try ctx.freshDim("unique_inverse")}));
        }
    } else {
        try ctx.setOutput(0, ctx.dtype(0), try util.owned(ctx, &.{u}));
        const total = if (s) |shape| try common.product(ctx, shape) else try ctx.freshDim("unique_inverse");
        try ctx.setOutput(2, .int64, try util.owned(ctx, &.{total}));
    }
    try ctx.setOutput(1, .int64, try util.owned(ctx, &.{u}));
    try ctx.setOutput(3, .int64, try util.owned(ctx, &.{u}));
}

fn reverseSequence(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    try util.expectRank(ctx, 1, 1);
    const batch_axis = ctx.attrInt("batch_axis", 1);
    const time_axis = ctx.attrInt("time_axis", 0);
    if ((batch_axis != 0 and batch_axis != 1) or (time_axis != 0 and time_axis != 1) or batch_axis == time_axis) {
        return ctx.fail("batch_axis {d} and time_axis {d} must be 0 and 1", .{ batch_axis, time_axis });
    }
    if (ctx.shape(0)) |s| {
        if (s.len < 2) return ctx.fail("input must have rank >= 2, not {d}", .{s.len});
        const batch = s[@intCast(batch_axis)];
        if (ctx.shape(1)) |lens| if (!util.compatible(ctx, lens[0], batch)) {
            const pool = ctx.pool;
            return ctx.fail("sequence_lens has {f} entries for a batch of {f}", .{ pool.fmt(lens[0]), pool.fmt(batch) });
        };
    }
    try ctx.passThrough(0, 0);
}

fn entry(comptime op: []const u8, rule: context.Rule) registry.Entry {
    return .{ .op = op, .rule = rule };
}

pub const rules = [_]registry.Entry{
    entry("Gather", gather),
    entry("GatherElements", gatherElements),
    entry("GatherND", gatherNd),
    entry("Scatter", scatterElements),
    entry("ScatterElements", scatterElements),
    entry("ScatterND", scatterNd),
    entry("TensorScatter", tensorScatter),
    entry("OneHot", oneHot),
    entry("NonZero", nonZero),
    entry("Compress", compress),
    entry("Unique", unique),
    entry("ReverseSequence", reverseSequence),
};
