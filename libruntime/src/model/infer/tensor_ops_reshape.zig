//! Shape rules for ops that rearrange a tensor without selecting from it: Reshape, Flatten,
//! Squeeze, Unsqueeze, Transpose, Expand, Tile, DepthToSpace and SpaceToDepth. Target shapes are
//! read as dims (ctx.elements), so shapes computed from Shape stay symbolic and exact.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const common = @import("common.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");
const util = @import("tensor_ops_util.zig");
const join = @import("tensor_ops_join.zig");

const Context = context.Context;
const Dim = ir.Dim;

// ---- Reshape -----------------------------------------------------------------------------------

fn reshape(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const dtype = ctx.dtype(0);
    if (ctx.node.opset >= 5) {
        _ = try ctx.require(1);
        try util.expectRank(ctx, 1, 1);
    }
    const target = try util.dimsArgument(ctx, "shape", 5, 1) orelse {
        if (ctx.node.opset < 5) return ctx.fail("attribute 'shape' is required", .{});
        const n = util.knownLength(ctx, 1) orelse return ctx.setOutput(0, dtype, null);
        return ctx.setOutput(0, dtype, try util.freshShape(ctx, n, "reshape"));
    };
    const allow_zero = ctx.node.opset >= 14 and ctx.attrInt("allowzero", 0) != 0;
    const shape = try reshapeDims(ctx, ctx.shape(0), target, allow_zero);
    try ctx.setOutput(0, dtype, shape);
    try util.keepElements(ctx, shape);
}

/// The target shape with 0 (copy the input's dim, unless allowzero) and -1 (whatever is left)
/// resolved. Symbolic entries are taken as the dims they stand for.
fn reshapeDims(ctx: *Context, input: ?[]const Dim, target: []const Dim, allow_zero: bool) status.Error![]const Dim {
    if (target.len > util.max_rank) return ctx.fail("target shape has {d} dims", .{target.len});
    const out = try ctx.alloc(Dim, target.len);
    const one = try ctx.dim(1);
    var infer_at: ?usize = null;
    var has_zero = false;
    for (target, out, 0..) |d, *slot, k| {
        slot.* = d;
        const v = ctx.pool.value(d) orelse continue;
        if (v == -1) {
            if (infer_at != null) return ctx.fail("target shape has more than one -1", .{});
            infer_at = k;
            slot.* = one; // a placeholder, so that the product of `out` is that of the others
        } else if (v == 0) {
            has_zero = true;
            if (allow_zero) continue;
            const s = input orelse {
                slot.* = try ctx.freshDim("reshape");
                continue;
            };
            if (k >= s.len) return ctx.fail("target dim {d} is 0 but the input has rank {d}", .{ k, s.len });
            slot.* = s[k];
        } else if (v < 0) return ctx.fail("target dim {d} is {d}", .{ k, v });
    }
    if (allow_zero and has_zero and infer_at != null) {
        return ctx.fail("with allowzero, a target shape cannot hold both 0 and -1", .{});
    }
    const others = try common.product(ctx, out);
    const total = if (input) |s| try common.product(ctx, s) else null;
    if (infer_at) |k| {
        out[k] = try inferredDim(ctx, total, others);
    } else if (total) |t| {
        const a = ctx.pool.value(t);
        const b = ctx.pool.value(others);
        if (a != null and b != null and a.? != b.?) {
            return ctx.fail("cannot reshape {d} elements into a shape of {d}", .{ a.?, b.? });
        }
    }
    return out;
}

/// The dim a -1 stands for: the input's element count over the product of the other dims.
fn inferredDim(ctx: *Context, total: ?Dim, others: Dim) status.Error!Dim {
    const t = total orelse return ctx.freshDim("reshape");
    const pool = ctx.pool;
    const b = pool.value(others);
    if (b == @as(i64, 0)) {
        if (pool.value(t)) |a| if (a != 0) return ctx.fail("cannot reshape {d} elements with a 0 dim and -1", .{a});
        return ctx.freshDim("reshape");
    }
    if (pool.value(t)) |a| if (b) |bv| {
        if (@rem(a, bv) != 0) return ctx.fail("cannot reshape {d} elements into a multiple of {d}", .{ a, bv });
    };
    return pool.div(t, others);
}

fn flatten(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const dtype = ctx.dtype(0);
    const s = ctx.shape(0) orelse return ctx.setOutput(0, dtype, try util.freshShape(ctx, 2, "flatten"));
    const r: i64 = @intCast(s.len);
    const raw = ctx.attrInt("axis", 1);
    const a = if (raw < 0) raw +| r else raw;
    if (a < 0 or a > r) return ctx.fail("axis {d} is out of range for rank {d}", .{ raw, r });
    const k: usize = @intCast(a);
    const out = try ctx.alloc(Dim, 2);
    out[0] = try common.product(ctx, s[0..k]);
    out[1] = try common.product(ctx, s[k..]);
    try ctx.setOutput(0, dtype, out);
}

// ---- Squeeze / Unsqueeze -------------------------------------------------------------------------

fn squeeze(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const dtype = ctx.dtype(0);
    const s = ctx.shape(0) orelse return ctx.setOutput(0, dtype, null);
    if (!util.hasArgument(ctx, "axes", 13, 1)) {
        // Every 1 goes; a symbolic dim might be 1, so the rank is unknown then.
        const kept = try ctx.alloc(Dim, s.len);
        var n: usize = 0;
        for (s) |d| {
            const v = ctx.pool.value(d) orelse return ctx.setOutput(0, dtype, null);
            if (v == 1) continue;
            kept[n] = d;
            n += 1;
        }
        try ctx.setOutput(0, dtype, kept[0..n]);
        return util.keepElements(ctx, kept[0..n]);
    }
    const axes = try util.intsArgument(ctx, "axes", 13, 1) orelse {
        const k = util.knownLength(ctx, 1) orelse return ctx.setOutput(0, dtype, null);
        if (k > s.len) return ctx.fail("{d} axes for rank {d}", .{ k, s.len });
        return ctx.setOutput(0, dtype, try util.freshShape(ctx, s.len - k, "squeeze"));
    };
    const normalized = try util.normalizeAxes(ctx, axes, s.len);
    const out = try ctx.alloc(Dim, s.len - normalized.len);
    var n: usize = 0;
    for (s, 0..) |d, k| {
        if (std.mem.indexOfScalar(usize, normalized, k) != null) {
            if (ctx.pool.value(d)) |v| if (v != 1) return ctx.fail("cannot squeeze axis {d} of size {d}", .{ k, v });
            continue;
        }
        out[n] = d;
        n += 1;
    }
    try ctx.setOutput(0, dtype, out);
    try util.keepElements(ctx, out);
}

fn unsqueeze(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const dtype = ctx.dtype(0);
    if (ctx.node.opset >= 13) _ = try ctx.require(1);
    const axes = try util.intsArgument(ctx, "axes", 13, 1) orelse {
        if (ctx.node.opset < 13) return ctx.fail("attribute 'axes' is required", .{});
        const s = ctx.shape(0) orelse return ctx.setOutput(0, dtype, null);
        const k = util.knownLength(ctx, 1) orelse return ctx.setOutput(0, dtype, null);
        return ctx.setOutput(0, dtype, try util.freshShape(ctx, s.len + k, "unsqueeze"));
    };
    const s = ctx.shape(0) orelse return ctx.setOutput(0, dtype, null);
    const out_rank = s.len + axes.len;
    if (out_rank > util.max_rank) return ctx.fail("rank {d} is too large", .{out_rank});
    const normalized = try util.normalizeAxes(ctx, axes, out_rank);
    const out = try ctx.alloc(Dim, out_rank);
    const one = try ctx.dim(1);
    var next: usize = 0;
    for (out, 0..) |*slot, k| {
        if (std.mem.indexOfScalar(usize, normalized, k) != null) {
            slot.* = one;
        } else {
            slot.* = s[next];
            next += 1;
        }
    }
    try ctx.setOutput(0, dtype, out);
    try util.keepElements(ctx, out);
}

// ---- Transpose, Expand, Tile -----------------------------------------------------------------------

fn transpose(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const dtype = ctx.dtype(0);
    const perm = ctx.attrInts("perm");
    const s = ctx.shape(0) orelse {
        const p = perm orelse return ctx.setOutput(0, dtype, null);
        _ = try checkPermutation(ctx, p, p.len);
        return ctx.setOutput(0, dtype, try util.freshShape(ctx, p.len, "transpose"));
    };
    const out = try ctx.alloc(Dim, s.len);
    if (perm) |p| {
        const order = try checkPermutation(ctx, p, s.len);
        for (out, order) |*slot, k| slot.* = s[k];
    } else {
        for (out, 0..) |*slot, k| slot.* = s[s.len - 1 - k];
    }
    try ctx.setOutput(0, dtype, out);
}

fn checkPermutation(ctx: *Context, perm: []const i64, rank: usize) status.Error![]const usize {
    if (perm.len != rank) return ctx.fail("perm has {d} entries for rank {d}", .{ perm.len, rank });
    const out = try ctx.alloc(usize, perm.len);
    for (perm, out, 0..) |p, *slot, k| {
        if (p < 0 or p >= @as(i64, @intCast(rank))) return ctx.fail("perm[{d}] = {d} is out of range", .{ k, p });
        slot.* = @intCast(p);
        if (std.mem.indexOfScalar(usize, out[0..k], slot.*) != null) return ctx.fail("perm repeats {d}", .{p});
    }
    return out;
}

fn expand(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    try util.expectRank(ctx, 1, 1);
    const dtype = ctx.dtype(0);
    const s = ctx.shape(0) orelse return ctx.setOutput(0, dtype, null);
    const target = try ctx.elements(1) orelse blk: {
        const n = util.knownLength(ctx, 1) orelse return ctx.setOutput(0, dtype, null);
        break :blk try util.freshShape(ctx, n, "expand");
    };
    if (target.len > util.max_rank) return ctx.fail("shape has {d} dims", .{target.len});
    for (target) |d| try util.checkNonNegative(ctx, d, "a dim");
    const out = (try common.broadcast(ctx, &.{ s, target })).?;
    try ctx.setOutput(0, dtype, out);
    try expandElements(ctx, out);
}

/// Expanding a scalar or one-element vector into a short vector repeats its element.
fn expandElements(ctx: *Context, out: []const Dim) status.Error!void {
    if (out.len != 1) return;
    const e = try util.smallElements(ctx, 0) orelse return;
    const n = ctx.pool.value(out[0]) orelse return;
    if (n > util.max_elements or (e.len != 1 and e.len != n)) return;
    const elements = try ctx.alloc(Dim, @intCast(n));
    for (elements, 0..) |*slot, k| slot.* = e[if (e.len == 1) 0 else k];
    try ctx.setElements(0, elements);
}

fn tile(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    if (ctx.node.opset < 6) return tileV1(ctx);
    try util.expectRank(ctx, 1, 1);
    const dtype = ctx.dtype(0);
    const repeats = try ctx.elements(1);
    const s = ctx.shape(0) orelse {
        const r = repeats orelse return ctx.setOutput(0, dtype, null);
        return ctx.setOutput(0, dtype, try util.freshShape(ctx, r.len, "tile"));
    };
    const r = repeats orelse return ctx.setOutput(0, dtype, try util.freshShape(ctx, s.len, "tile"));
    if (r.len != s.len) return ctx.fail("repeats has {d} entries for rank {d}", .{ r.len, s.len });
    const out = try ctx.alloc(Dim, s.len);
    for (out, s, r) |*slot, d, k| {
        try util.checkNonNegative(ctx, k, "a repeat count");
        slot.* = try ctx.pool.mul(d, k);
    }
    try ctx.setOutput(0, dtype, out);
}

/// Tile-1 repeats one axis: inputs (input, tiles, axis), both scalars.
fn tileV1(ctx: *Context) status.Error!void {
    _ = try ctx.require(2);
    const dtype = ctx.dtype(0);
    const s = ctx.shape(0) orelse return ctx.setOutput(0, dtype, null);
    const tiles = try util.smallElements(ctx, 1);
    const axis = try util.smallElements(ctx, 2);
    const a_dim = (axis orelse return ctx.setOutput(0, dtype, try util.freshShape(ctx, s.len, "tile")))[0];
    const a = ctx.pool.value(a_dim) orelse return ctx.setOutput(0, dtype, try util.freshShape(ctx, s.len, "tile"));
    const k = try ctx.axis(a, s.len);
    const out = try ctx.alloc(Dim, s.len);
    @memcpy(out, s);
    const t = tiles orelse &.{};
    out[k] = if (t.len == 1) try ctx.pool.mul(s[k], t[0]) else try ctx.freshDim("tile");
    try util.checkNonNegative(ctx, out[k], "the tiled dim");
    try ctx.setOutput(0, dtype, out);
}

// ---- DepthToSpace / SpaceToDepth ---------------------------------------------------------------------

fn blockSize(ctx: *Context) status.Error!Dim {
    const a = ctx.attribute("blocksize") orelse return ctx.fail("attribute 'blocksize' is required", .{});
    if (a.i <= 0) return ctx.fail("blocksize must be positive, not {d}", .{a.i});
    const mode = ctx.attrString("mode", "DCR");
    if (!std.mem.eql(u8, mode, "DCR") and !std.mem.eql(u8, mode, "CRD")) {
        return ctx.fail("mode must be DCR or CRD, not '{s}'", .{mode});
    }
    return ctx.dim(a.i);
}

fn checkDivisible(ctx: *Context, d: Dim, by: Dim, what: []const u8) status.Error!void {
    const a = ctx.pool.value(d) orelse return;
    const b = ctx.pool.value(by).?;
    if (@rem(a, b) != 0) return ctx.fail("{s} {d} is not a multiple of {d}", .{ what, a, b });
}

fn depthToSpace(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const b = try blockSize(ctx);
    const dtype = ctx.dtype(0);
    try util.expectRank(ctx, 0, 4);
    const s = ctx.shape(0) orelse return ctx.setOutput(0, dtype, try util.freshShape(ctx, 4, "depth_to_space"));
    const pool = ctx.pool;
    const square = try pool.mul(b, b);
    try checkDivisible(ctx, s[1], square, "channel count");
    const out = try ctx.alloc(Dim, 4);
    out[0] = s[0];
    out[1] = try pool.div(s[1], square);
    out[2] = try pool.mul(s[2], b);
    out[3] = try pool.mul(s[3], b);
    try ctx.setOutput(0, dtype, out);
}

fn spaceToDepth(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const b = try blockSize(ctx);
    const dtype = ctx.dtype(0);
    try util.expectRank(ctx, 0, 4);
    const s = ctx.shape(0) orelse return ctx.setOutput(0, dtype, try util.freshShape(ctx, 4, "space_to_depth"));
    const pool = ctx.pool;
    try checkDivisible(ctx, s[2], b, "height");
    try checkDivisible(ctx, s[3], b, "width");
    const out = try ctx.alloc(Dim, 4);
    out[0] = s[0];
    out[1] = try pool.mul(s[1], try pool.mul(b, b));
    out[2] = try pool.div(s[2], b);
    out[3] = try pool.div(s[3], b);
    try ctx.setOutput(0, dtype, out);
}

fn entry(comptime op: []const u8, rule: context.Rule) registry.Entry {
    return .{ .op = op, .rule = rule };
}

pub const rules = [_]registry.Entry{
    entry("Reshape", reshape),
    entry("Flatten", flatten),
    entry("Squeeze", squeeze),
    entry("Unsqueeze", unsqueeze),
    entry("Transpose", transpose),
    entry("Expand", expand),
    entry("Tile", tile),
    entry("DepthToSpace", depthToSpace),
    entry("SpaceToDepth", spaceToDepth),
} ++ join.rules;
