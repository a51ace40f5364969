//! Shape rules for pooling (part of the nn family, see nn.zig): MaxPool with its int64 indices,
//! AveragePool, LpPool, the global pools, MaxUnpool, and the region pools MaxRoiPool and RoiAlign.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");
const window = @import("nn_window.zig");

const Context = context.Context;
const Dim = ir.Dim;
const Error = status.Error;

/// N x C x pooled extents; null when X's rank is unknown.
fn poolShape(ctx: *Context) Error!?[]const Dim {
    _ = try ctx.require(0);
    const xs = ctx.shape(0) orelse return null;
    if (xs.len < 2) return ctx.fail("X has rank {d}; it needs at least N and C", .{xs.len});
    const n = xs.len - 2;
    const kernel = try window.kernelAttribute(ctx, n) orelse return ctx.fail("kernel_shape is required", .{});
    var w = try window.Window.read(ctx, n, kernel);
    w.ceil_mode = try flag(ctx, "ceil_mode");
    const out = try ctx.alloc(Dim, xs.len);
    out[0] = xs[0];
    out[1] = xs[1];
    for (0..n) |i| out[2 + i] = try window.extent(ctx, w, i, xs[2 + i]);
    return out;
}

/// A 0/1 attribute.
fn flag(ctx: *const Context, comptime name: []const u8) Error!bool {
    const v = ctx.attrInt(name, 0);
    if (v != 0 and v != 1) return ctx.fail("{s} is {d}; it must be 0 or 1", .{ name, v });
    return v == 1;
}

/// MaxPool: pooled values, and (since opset 8) the flat int64 index of each maximum.
fn maxPool(ctx: *Context) Error!void {
    _ = try flag(ctx, "storage_order");
    const shape = try poolShape(ctx);
    try ctx.setOutput(0, ctx.dtype(0), shape);
    try ctx.setOutput(1, .int64, shape);
}

/// AveragePool and LpPool: count_include_pad and p change values, not shapes.
fn pool(ctx: *Context) Error!void {
    try ctx.setOutput(0, ctx.dtype(0), try poolShape(ctx));
}

/// GlobalAveragePool, GlobalMaxPool, GlobalLpPool: every spatial dim becomes 1.
fn globalPool(ctx: *Context) Error!void {
    _ = try ctx.require(0);
    const xs = ctx.shape(0) orelse return ctx.setOutput(0, ctx.dtype(0), null);
    if (xs.len < 2) return ctx.fail("X has rank {d}; it needs at least N and C", .{xs.len});
    const out = try ctx.alloc(Dim, xs.len);
    out[0] = xs[0];
    out[1] = xs[1];
    for (out[2..]) |*slot| slot.* = try ctx.dim(1);
    try ctx.setOutput(0, ctx.dtype(0), out);
}

/// MaxUnpool: X, indices I (same shape), optional output_shape (the whole output shape).
fn maxUnpool(ctx: *Context) Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    if (ctx.dtype(1)) |d| if (d != .int64) return ctx.fail("the indices must be int64, not {s}", .{@tagName(d)});
    const xs = ctx.shape(0);
    if (xs) |s| if (ctx.shape(1)) |is| {
        if (is.len != s.len) return ctx.fail("I has rank {d} but X has rank {d}", .{ is.len, s.len });
        for (s, is) |a, b| try window.checkSame(ctx, a, b, "X and I dims");
    };
    const shape = if (ctx.hasInput(2)) try givenShape(ctx, xs) else try unpooledShape(ctx, xs);
    try ctx.setOutput(0, ctx.dtype(0), shape);
}

/// The output_shape input: its elements when known, else N and C from X and fresh spatial dims.
fn givenShape(ctx: *Context, xs: ?[]const Dim) Error!?[]const Dim {
    try window.checkRank(ctx, 2, 1);
    if (try ctx.elements(2)) |e| {
        if (xs) |s| if (e.len != s.len) return ctx.fail("output_shape has {d} values for rank {d}", .{ e.len, s.len });
        for (e) |d| if (ctx.pool.value(d)) |v| if (v < 0) return ctx.fail("output_shape holds {d}", .{v});
        return e;
    }
    const s = xs orelse return null;
    if (s.len < 2) return ctx.fail("X has rank {d}; it needs at least N and C", .{s.len});
    const out = try ctx.alloc(Dim, s.len);
    out[0] = s[0];
    out[1] = s[1];
    for (out[2..]) |*slot| slot.* = try ctx.freshDim("unpooled");
    return out;
}

/// Without output_shape: (in - 1) * stride + kernel - pads per spatial axis.
fn unpooledShape(ctx: *Context, xs: ?[]const Dim) Error!?[]const Dim {
    const s = xs orelse return null;
    if (s.len < 2) return ctx.fail("X has rank {d}; it needs at least N and C", .{s.len});
    const n = s.len - 2;
    const kernel = try window.kernelAttribute(ctx, n) orelse return ctx.fail("kernel_shape is required", .{});
    const w = try window.Window.read(ctx, n, kernel);
    const out = try ctx.alloc(Dim, s.len);
    out[0] = s[0];
    out[1] = s[1];
    for (0..n) |i| out[2 + i] = try window.transposedExtent(ctx, w, i, s[2 + i], 0);
    return out;
}

/// The number of regions: rois' first dim, else batch_indices' (RoiAlign), else unknown.
fn roiCount(ctx: *const Context, box_size: i64) Error!Dim {
    try window.checkRank(ctx, 1, 2);
    const rois = ctx.shape(1) orelse {
        if (ctx.shape(2)) |b| if (b.len == 1) return b[0];
        return ctx.freshDim("rois");
    };
    try window.checkSame(ctx, rois[1], try ctx.dim(box_size), "the rois' box size and its expected size");
    return rois[0];
}

/// Region pools: num_rois x C x height x width.
fn regionShape(ctx: *const Context, count: Dim, height: i64, width: i64) Error![]const Dim {
    if (height < 1 or width < 1) return ctx.fail("the pooled size {d} x {d} is not positive", .{ height, width });
    try window.checkRank(ctx, 0, 4);
    const out = try ctx.alloc(Dim, 4);
    out[0] = count;
    out[1] = if (ctx.shape(0)) |xs| xs[1] else try ctx.freshDim("channels");
    out[2] = try ctx.dim(height);
    out[3] = try ctx.dim(width);
    return out;
}

/// MaxRoiPool: X, rois (num_rois x 5: batch index and box).
fn maxRoiPool(ctx: *Context) Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    const pooled = ctx.attrInts("pooled_shape") orelse return ctx.fail("pooled_shape is required", .{});
    if (pooled.len != 2) return ctx.fail("pooled_shape has {d} values; it needs 2", .{pooled.len});
    const shape = try regionShape(ctx, try roiCount(ctx, 5), pooled[0], pooled[1]);
    try ctx.setOutput(0, ctx.dtype(0), shape);
}

/// RoiAlign: X, rois (num_rois x 4), batch_indices (num_rois, int64).
fn roiAlign(ctx: *Context) Error!void {
    for (0..3) |i| _ = try ctx.require(i);
    try window.checkRank(ctx, 2, 1);
    if (ctx.dtype(2)) |d| if (d != .int64) return ctx.fail("batch_indices must be int64, not {s}", .{@tagName(d)});
    const mode = ctx.attrString("mode", "avg");
    if (!std.mem.eql(u8, mode, "avg") and !std.mem.eql(u8, mode, "max")) {
        return ctx.fail("mode '{s}' is not avg or max", .{window.clip(mode)});
    }
    if (ctx.attrInt("sampling_ratio", 0) < 0) return ctx.fail("sampling_ratio must be >= 0", .{});
    const count = try roiCount(ctx, 4);
    if (ctx.shape(2)) |b| try window.checkSame(ctx, b[0], count, "batch_indices length and the number of rois");
    const height = ctx.attrInt("output_height", 1);
    const width = ctx.attrInt("output_width", 1);
    try ctx.setOutput(0, ctx.dtype(0), try regionShape(ctx, count, height, width));
}

fn entry(comptime op: []const u8, rule: context.Rule) registry.Entry {
    return .{ .op = op, .rule = rule };
}

pub const rules = [_]registry.Entry{
    entry("MaxPool", maxPool),
    entry("AveragePool", pool),
    entry("LpPool", pool),
    entry("GlobalAveragePool", globalPool),
    entry("GlobalMaxPool", globalPool),
    entry("GlobalLpPool", globalPool),
    entry("MaxUnpool", maxUnpool),
    entry("MaxRoiPool", maxRoiPool),
    entry("RoiAlign", roiAlign),
};
