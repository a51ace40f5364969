//! Shape rules for resampling and vision ops (part of the nn family, see nn.zig): Resize and
//! Upsample (scales or sizes, constant or computed), GridSample, AffineGrid, Col2Im,
//! NonMaxSuppression and ImageDecoder, whose data-dependent sizes get fresh dims.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");
const window = @import("nn_window.zig");

const Context = context.Context;
const Dim = ir.Dim;
const Error = status.Error;

/// Output sizes past this are refused rather than risk overflow in later arithmetic.
const max_extent: f64 = 1 << 62;

/// floor(in * scale), as the reference computes it (the f32 scale widened to f64). A symbolic `in`
/// uses the scale's exact binary fraction m / 2^k, so floor(in * m / 2^k) is the same number.
fn scaled(ctx: *const Context, in: Dim, scale: f64) Error!Dim {
    if (!std.math.isFinite(scale) or scale <= 0) return ctx.fail("scale {d} is not a positive number", .{scale});
    if (ctx.pool.value(in)) |v| {
        const out = @floor(@as(f64, @floatFromInt(v)) * scale);
        if (@abs(out) >= max_extent) return ctx.fail("scale {d} makes dim {d} too large", .{ scale, v });
        return ctx.dim(@intFromFloat(out));
    }
    var numerator = scale;
    var shift: u6 = 0;
    while (numerator != @floor(numerator)) : (shift += 1) {
        if (shift == 40) return ctx.freshDim("resized"); // a scale this fine has no tidy expression
        numerator *= 2;
    }
    if (numerator >= 1 << 40) return ctx.fail("scale {d} is too large", .{scale});
    const product = try ctx.pool.mul(in, try ctx.dim(@intFromFloat(numerator)));
    return ctx.pool.div(product, try ctx.dim(@as(i64, 1) << shift));
}

/// What is known of an optional 1-D input that may be passed empty (Resize's scales or sizes).
const Presence = enum { absent, empty, filled, unknown };

fn presence(ctx: *const Context, i: usize) Presence {
    if (!ctx.hasInput(i)) return .absent;
    if (ctx.constant(i)) |c| return if (c.count == 0) .empty else .filled;
    const s = ctx.shape(i) orelse return .unknown;
    if (s.len != 1) return .unknown;
    const n = ctx.pool.value(s[0]) orelse return .unknown;
    return if (n == 0) .empty else .filled;
}

fn given(p: Presence) bool {
    return p == .filled or p == .unknown;
}

/// The axes Resize's scales and sizes refer to: the axes attribute (opset 18), else all of them.
fn resizeAxes(ctx: *const Context, r: usize) Error![]const usize {
    const out = if (ctx.attrInts("axes")) |axes| blk: {
        const list = try ctx.alloc(usize, axes.len);
        for (axes, list, 0..) |a, *slot, k| {
            slot.* = try ctx.axis(a, r);
            if (std.mem.indexOfScalar(usize, list[0..k], slot.*) != null) return ctx.fail("axis {d} is repeated", .{a});
        }
        break :blk list;
    } else blk: {
        const list = try ctx.alloc(usize, r);
        for (list, 0..) |*slot, k| slot.* = k;
        break :blk list;
    };
    return out;
}

/// Resize: X, roi, scales, sizes (X, scales in opset 10). Axes outside `axes` keep their size.
fn resize(ctx: *Context) Error!void {
    _ = try ctx.require(0);
    const scales_index: usize = if (ctx.node.opset < 11) 1 else 2;
    const scales = presence(ctx, scales_index);
    const sizes = if (ctx.node.opset < 11) Presence.absent else presence(ctx, 3);
    if (scales == .filled and sizes == .filled) return ctx.fail("scales and sizes are both given", .{});
    if (!given(scales) and !given(sizes)) return ctx.fail("needs scales or sizes", .{});
    const xs = ctx.shape(0) orelse return ctx.setOutput(0, ctx.dtype(0), try sizedWithoutRank(ctx, sizes));
    const axes = try resizeAxes(ctx, xs.len);
    const out = try ctx.alloc(Dim, xs.len);
    @memcpy(out, xs);
    if (given(scales) and given(sizes)) {
        // One of them is empty at run time; which one is not known here.
        for (axes) |a| out[a] = try ctx.freshDim("resized");
    } else if (given(sizes)) {
        try applySizes(ctx, xs, axes, out);
    } else try applyScales(ctx, scales_index, xs, axes, out);
    try ctx.setOutput(0, ctx.dtype(0), out);
}

/// With X's rank unknown, plain sizes for every axis still give the output shape.
fn sizedWithoutRank(ctx: *const Context, sizes: Presence) Error!?[]const Dim {
    if (!given(sizes) or ctx.attrInts("axes") != null or !stretches(ctx)) return null;
    return ctx.elements(3);
}

fn stretches(ctx: *const Context) bool {
    return ctx.node.opset < 18 or std.mem.eql(u8, ctx.attrString("keep_aspect_ratio_policy", "stretch"), "stretch");
}

/// Checks that a 1-D input meant for `count` axes has that many values when its length is known.
fn checkLength(ctx: *const Context, i: usize, count: usize) Error!void {
    const s = ctx.shape(i) orelse return;
    if (s.len != 1) return ctx.fail("input {d} has rank {d}; it must be 1-D", .{ i, s.len });
    const n = ctx.pool.value(s[0]) orelse return;
    if (n != count) return ctx.fail("input {d} has {d} values for {d} axes", .{ i, n, count });
}

fn applySizes(ctx: *Context, xs: []const Dim, axes: []const usize, out: []Dim) Error!void {
    try checkLength(ctx, 3, axes.len);
    if (ctx.dtype(3)) |d| if (d != .int64) return ctx.fail("sizes must be int64, not {s}", .{@tagName(d)});
    const policy = if (ctx.node.opset >= 18) ctx.attrString("keep_aspect_ratio_policy", "stretch") else "stretch";
    const larger = std.mem.eql(u8, policy, "not_smaller");
    if (!larger and !std.mem.eql(u8, policy, "not_larger") and !std.mem.eql(u8, policy, "stretch")) {
        return ctx.fail("keep_aspect_ratio_policy '{s}' is unknown", .{window.clip(policy)});
    }
    const sizes = try ctx.elements(3) orelse {
        for (axes) |a| out[a] = try ctx.freshDim("resized");
        return;
    };
    if (sizes.len != axes.len) return ctx.fail("sizes has {d} values for {d} axes", .{ sizes.len, axes.len });
    for (sizes) |d| if (ctx.pool.value(d)) |v| if (v < 0) return ctx.fail("sizes holds {d}", .{v});
    if (std.mem.eql(u8, policy, "stretch")) {
        for (axes, sizes) |a, d| out[a] = d;
        return;
    }
    try keepAspectRatio(ctx, xs, axes, sizes, larger, out);
}

/// not_larger / not_smaller: one scale, the min (max) of sizes / in, applied to every listed axis.
fn keepAspectRatio(
    ctx: *Context,
    xs: []const Dim,
    axes: []const usize,
    sizes: []const Dim,
    larger: bool,
    out: []Dim,
) Error!void {
    var scale: ?f64 = null;
    for (axes, sizes) |a, d| {
        const want = ctx.pool.value(d) orelse break;
        const have = ctx.pool.value(xs[a]) orelse break;
        if (have == 0) return ctx.fail("axis {d} is empty; its aspect ratio is undefined", .{a});
        const ratio = @as(f64, @floatFromInt(want)) / @as(f64, @floatFromInt(have));
        scale = if (scale) |s| (if (larger) @max(s, ratio) else @min(s, ratio)) else ratio;
    } else {
        const s = scale orelse return;
        for (axes) |a| {
            const rounded = @floor(s * @as(f64, @floatFromInt(ctx.pool.value(xs[a]).?)) + 0.5);
            if (@abs(rounded) >= max_extent) return ctx.fail("the resized axis {d} is out of range", .{a});
            out[a] = try ctx.dim(@intFromFloat(rounded));
        }
        return;
    }
    for (axes) |a| out[a] = try ctx.freshDim("resized");
}

/// Scales from a constant input; computed scales leave the listed axes unknown.
fn applyScales(ctx: *Context, i: usize, xs: []const Dim, axes: []const usize, out: []Dim) Error!void {
    try checkLength(ctx, i, axes.len);
    const c = ctx.constant(i) orelse {
        for (axes) |a| out[a] = try ctx.freshDim("resized");
        return;
    };
    if (c.count != axes.len) return ctx.fail("scales has {d} values for {d} axes", .{ c.count, axes.len });
    for (axes, 0..) |a, k| {
        const scale = c.float(k) orelse return ctx.fail("scales must be floats, not {s}", .{@tagName(c.dtype)});
        out[a] = try scaled(ctx, xs[a], scale);
    }
}

/// Upsample: floor(in * scale) per axis; scales are attributes until opset 9 made them an input.
fn upsample(ctx: *Context) Error!void {
    _ = try ctx.require(0);
    const xs = ctx.shape(0) orelse return ctx.setOutput(0, ctx.dtype(0), null);
    const out = try ctx.alloc(Dim, xs.len);
    @memcpy(out, xs);
    if (ctx.node.opset >= 9) {
        _ = try ctx.require(1);
        try applyScales(ctx, 1, xs, try resizeAxes(ctx, xs.len), out);
    } else if (ctx.node.opset >= 7) {
        const scales = ctx.attrFloats("scales") orelse return ctx.fail("scales is required", .{});
        if (scales.len != xs.len) return ctx.fail("scales has {d} values for rank {d}", .{ scales.len, xs.len });
        for (out, scales) |*slot, s| slot.* = try scaled(ctx, slot.*, s);
    } else {
        if (xs.len != 4) return ctx.fail("X has rank {d}; Upsample-1 needs N x C x H x W", .{xs.len});
        const height = ctx.attribute("height_scale") orelse return ctx.fail("height_scale is required", .{});
        const width = ctx.attribute("width_scale") orelse return ctx.fail("width_scale is required", .{});
        out[2] = try scaled(ctx, xs[2], height.f);
        out[3] = try scaled(ctx, xs[3], width.f);
    }
    try ctx.setOutput(0, ctx.dtype(0), out);
}

fn oneOf(ctx: *const Context, comptime name: []const u8, default: []const u8, allowed: []const []const u8) Error!void {
    const value = ctx.attrString(name, default);
    for (allowed) |a| if (std.mem.eql(u8, a, value)) return;
    return ctx.fail("{s} '{s}' is not supported", .{ name, window.clip(value) });
}

/// GridSample: X (N, C, D1..Dr), grid (N, D1_out..Dr_out, r) -> (N, C, D1_out..Dr_out).
fn gridSample(ctx: *Context) Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    if (ctx.node.opset < 20) {
        try window.checkRank(ctx, 0, 4);
        try window.checkRank(ctx, 1, 4);
        try oneOf(ctx, "mode", "bilinear", &.{ "bilinear", "nearest", "bicubic" });
    } else try oneOf(ctx, "mode", "linear", &.{ "linear", "nearest", "cubic" });
    try oneOf(ctx, "padding_mode", "zeros", &.{ "zeros", "border", "reflection" });
    const xs = ctx.shape(0);
    const gs = ctx.shape(1);
    const r = if (xs) |s| s.len else if (gs) |s| s.len else return ctx.setOutput(0, ctx.dtype(0), null);
    if (r < 3) return ctx.fail("X has rank {d}; it needs N, C and a spatial dim", .{r});
    const out = try ctx.alloc(Dim, r);
    out[0] = if (xs) |s| s[0] else gs.?[0];
    out[1] = if (xs) |s| s[1] else try ctx.freshDim("channels");
    if (gs) |g| {
        if (g.len != r) return ctx.fail("grid has rank {d}; X has rank {d}", .{ g.len, r });
        try window.checkSame(ctx, g[0], out[0], "X and grid batch sizes");
        try window.checkSame(ctx, g[r - 1], try ctx.dim(@intCast(r - 2)), "grid's last dim and the spatial rank");
        @memcpy(out[2..], g[1 .. r - 1]);
    } else for (out[2..]) |*slot| {
        slot.* = try ctx.freshDim("sampled");
    }
    try ctx.setOutput(0, ctx.dtype(0), out);
}

/// AffineGrid: theta (N, 2, 3) or (N, 3, 4), size (N, C, H, W) or (N, C, D, H, W) ->
/// grid (N, H, W, 2) or (N, D, H, W, 3).
fn affineGrid(ctx: *Context) Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    try window.checkRank(ctx, 0, 3);
    try window.checkRank(ctx, 1, 1);
    const size = try ctx.elements(1);
    const theta = ctx.shape(0);
    const length: i64 = if (size) |s| @intCast(s.len) else blk: {
        if (ctx.shape(1)) |s| if (ctx.pool.value(s[0])) |v| break :blk v;
        if (theta) |t| if (ctx.pool.value(t[1])) |v| break :blk v + 2;
        return ctx.setOutput(0, ctx.dtype(0), null);
    };
    if (length != 4 and length != 5) return ctx.fail("size has {d} values; it needs 4 or 5", .{length});
    const n: usize = @intCast(length - 2);
    if (theta) |t| {
        try window.checkSame(ctx, t[1], try ctx.dim(@intCast(n)), "theta.shape[1] and the spatial rank");
        try window.checkSame(ctx, t[2], try ctx.dim(@intCast(n + 1)), "theta.shape[2] and the spatial rank + 1");
        if (size) |s| try window.checkSame(ctx, t[0], s[0], "theta and size batch sizes");
    }
    const out = try ctx.alloc(Dim, n + 2);
    out[0] = if (size) |s| s[0] else if (theta) |t| t[0] else try ctx.freshDim("batch");
    for (out[1 .. n + 1], 0..) |*slot, k| slot.* = if (size) |s| s[2 + k] else try ctx.freshDim("grid");
    out[n + 1] = try ctx.dim(@intCast(n));
    try ctx.setOutput(0, ctx.dtype(0), out);
}

/// The length of a 1-D int input: its element count, else its known dim, else null.
fn vectorLength(ctx: *const Context, i: usize, elements: ?[]const Dim) ?usize {
    if (elements) |e| return e.len;
    const s = ctx.shape(i) orelse return null;
    if (s.len != 1) return null;
    const v = ctx.pool.value(s[0]) orelse return null;
    return std.math.cast(usize, v);
}

/// Col2Im: input (N, C * prod(block_shape), L), image_shape, block_shape -> (N, C, image_shape...).
fn col2Im(ctx: *Context) Error!void {
    for (0..3) |i| _ = try ctx.require(i);
    try window.checkRank(ctx, 0, 3);
    try window.checkRank(ctx, 1, 1);
    try window.checkRank(ctx, 2, 1);
    const image = try ctx.elements(1);
    const block = try ctx.elements(2);
    const n = vectorLength(ctx, 1, image) orelse vectorLength(ctx, 2, block) orelse
        return ctx.setOutput(0, ctx.dtype(0), null);
    if (vectorLength(ctx, 1, image)) |a| if (vectorLength(ctx, 2, block)) |b| if (a != b) {
        return ctx.fail("image_shape has {d} values but block_shape has {d}", .{ a, b });
    };
    if (n == 0) return ctx.fail("image_shape is empty", .{});
    const w = try window.Window.read(ctx, n, block);
    if (block) |b| for (b) |d| if (ctx.pool.value(d)) |v| if (v < 1) return ctx.fail("block_shape holds {d}", .{v});
    const xs = ctx.shape(0);
    const out = try ctx.alloc(Dim, n + 2);
    out[0] = if (xs) |s| s[0] else try ctx.freshDim("batch");
    out[1] = try ctx.freshDim("channels");
    if (block) |b| if (xs) |s| {
        out[1] = try blockChannels(ctx, s[1], b);
    };
    for (out[2..], 0..) |*slot, k| slot.* = if (image) |e| e[k] else try ctx.freshDim("image");
    if (image != null and block != null and xs != null) {
        var blocks = try ctx.dim(1);
        for (0..n) |i| blocks = try ctx.pool.mul(blocks, try window.extent(ctx, w, i, image.?[i]));
        try window.checkSame(ctx, xs.?[2], blocks, "the input's block count and the blocks the image holds");
    }
    try ctx.setOutput(0, ctx.dtype(0), out);
}

/// C = input.shape[1] / prod(block_shape), which must divide exactly.
fn blockChannels(ctx: *const Context, packed_channels: Dim, block: []const Dim) Error!Dim {
    var size = try ctx.dim(1);
    for (block) |d| size = try ctx.pool.mul(size, d);
    if (ctx.pool.value(size)) |v| if (ctx.pool.value(packed_channels)) |c| if (@mod(c, v) != 0) {
        return ctx.fail("input.shape[1] = {d} is not a multiple of the block size {d}", .{ c, v });
    };
    return ctx.pool.div(packed_channels, size);
}

/// NonMaxSuppression: boxes (B, S, 4), scores (B, classes, S) -> (selected, 3) int64.
fn nonMaxSuppression(ctx: *Context) Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    try window.checkRank(ctx, 0, 3);
    try window.checkRank(ctx, 1, 3);
    const center = ctx.attrInt("center_point_box", 0);
    if (center != 0 and center != 1) return ctx.fail("center_point_box is {d}; it must be 0 or 1", .{center});
    if (ctx.shape(0)) |boxes| {
        try window.checkSame(ctx, boxes[2], try ctx.dim(4), "the box size and 4");
        if (ctx.shape(1)) |scores| {
            try window.checkSame(ctx, boxes[0], scores[0], "boxes and scores batch sizes");
            try window.checkSame(ctx, boxes[1], scores[2], "boxes and scores box counts");
        }
    }
    const out = try ctx.alloc(Dim, 2);
    out[0] = try ctx.freshDim("selected");
    out[1] = try ctx.dim(3);
    try ctx.setOutput(0, .int64, out);
}

fn entry(comptime op: []const u8, rule: context.Rule) registry.Entry {
    return .{ .op = op, .rule = rule };
}

pub const rules = [_]registry.Entry{
    entry("Resize", resize),
    entry("Upsample", upsample),
    entry("GridSample", gridSample),
    entry("AffineGrid", affineGrid),
    entry("Col2Im", col2Im),
    entry("NonMaxSuppression", nonMaxSuppression),
};
