//! Kernels that rearrange a tensor without selecting from it. Identity, Reshape, Flatten,
//! Squeeze, Unsqueeze and BitCast alias their input (no copy); Transpose, Expand, Tile,
//! DepthToSpace and SpaceToDepth are strided copies over a view of the output's dims.
const std = @import("std");
const kernel = @import("../kernel.zig");
const Entry = @import("entry.zig").Entry;
const util = @import("tensor_ops_util.zig");

const Context = util.Context;
const Tensor = util.Tensor;
const Error = util.Error;

fn identity(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    try ctx.alias(0, 0, x.shape);
}

// ---- Reshape, Flatten, Squeeze, Unsqueeze --------------------------------------------------------

fn reshape(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const target: []const i64 = if (ctx.node.opset < 5)
        ctx.node.attrInts("shape") orelse return ctx.fail("attribute 'shape' is required", .{})
    else
        try util.ints(ctx, try ctx.require(1), "shape");
    if (target.len > util.max_rank) return ctx.fail("target shape has {d} dims", .{target.len});
    const allow_zero = ctx.node.opset >= 14 and ctx.node.attrInt("allowzero", 0) != 0;
    const out = try ctx.alloc(i64, target.len);
    var infer_at: ?usize = null;
    var known: usize = 1;
    for (target, out, 0..) |d, *slot, k| {
        slot.* = d;
        if (d == -1) {
            if (infer_at != null) return ctx.fail("target shape has more than one -1", .{});
            infer_at = k;
            continue;
        }
        if (d == 0 and !allow_zero) {
            if (k >= x.shape.len) {
                return ctx.fail("target dim {d} is 0 but the input has rank {d}", .{ k, x.shape.len });
            }
            slot.* = x.shape[k];
        } else if (d < 0) return ctx.fail("target dim {d} is {d}", .{ k, d });
        known = std.math.mul(usize, known, @intCast(slot.*)) catch return ctx.fail("target shape overflows", .{});
    }
    const total = x.count();
    if (infer_at) |k| {
        if (known == 0 or total % known != 0) {
            return ctx.fail("cannot reshape {d} elements into a multiple of {d}", .{ total, known });
        }
        out[k] = @intCast(total / known);
    } else if (known != total) {
        return ctx.fail("cannot reshape {d} elements into a shape of {d}", .{ total, known });
    }
    try ctx.alias(0, 0, out);
}

fn flatten(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const r: i64 = @intCast(x.shape.len);
    const raw = ctx.node.attrInt("axis", 1);
    const a = if (raw < 0) raw +| r else raw;
    if (a < 0 or a > r) return ctx.fail("axis {d} is out of range for rank {d}", .{ raw, r });
    const k: usize = @intCast(a);
    const out = [_]i64{ @intCast(util.product(x.shape[0..k])), @intCast(util.product(x.shape[k..])) };
    try ctx.alias(0, 0, &out);
}

/// Axes from the attribute before `since`, from optional input 1 after; null when absent.
fn axesArgument(ctx: *Context, since: i64) Error!?[]const i64 {
    if (ctx.node.opset < since) return ctx.node.attrInts("axes");
    const t = ctx.input(1) orelse return null;
    return try util.ints(ctx, t, "axes");
}

fn squeeze(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const out = try ctx.alloc(i64, x.shape.len);
    var n: usize = 0;
    if (try axesArgument(ctx, 13)) |given| {
        const normalized = try util.axes(ctx, given, x.shape.len);
        for (x.shape, 0..) |d, k| {
            if (std.mem.indexOfScalar(usize, normalized, k) != null) {
                if (d != 1) return ctx.fail("cannot squeeze axis {d} of size {d}", .{ k, d });
                continue;
            }
            out[n] = d;
            n += 1;
        }
    } else {
        for (x.shape) |d| if (d != 1) {
            out[n] = d;
            n += 1;
        };
    }
    try ctx.alias(0, 0, out[0..n]);
}

fn unsqueeze(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const given = try axesArgument(ctx, 13) orelse return ctx.fail("axes are required", .{});
    const rank = x.shape.len + given.len;
    if (rank > util.max_rank) return ctx.fail("rank {d} is too large", .{rank});
    const normalized = try util.axes(ctx, given, rank);
    const out = try ctx.alloc(i64, rank);
    var next: usize = 0;
    for (out, 0..) |*slot, k| {
        if (std.mem.indexOfScalar(usize, normalized, k) != null) {
            slot.* = 1;
        } else {
            slot.* = x.shape[next];
            next += 1;
        }
    }
    try ctx.alias(0, 0, out);
}

/// BitCast reinterprets the bytes: the same memory under another element type of equal width.
fn bitCast(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const code = ctx.node.attrInt("to", 0);
    const to = std.meta.intToEnum(util.DType, std.math.cast(i32, code) orelse -1) catch
        return ctx.fail("attribute to={d} is no element type", .{code});
    if (to == .string or x.dtype == .string or to.bits() != x.dtype.bits() or code >= 100) {
        return ctx.fail("cannot bit-cast {s} to {s}", .{ @tagName(x.dtype), @tagName(to) });
    }
    try ctx.alias(0, 0, x.shape);
    ctx.outputs[0].?.dtype = to;
}

// ---- Transpose -------------------------------------------------------------------------------------

fn transpose(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const rank = x.shape.len;
    const perm = try ctx.alloc(usize, rank);
    if (ctx.node.attrInts("perm")) |p| {
        if (p.len != rank) return ctx.fail("perm has {d} entries for rank {d}", .{ p.len, rank });
        for (p, perm, 0..) |v, *slot, k| {
            if (v < 0 or v >= @as(i64, @intCast(rank))) return ctx.fail("perm[{d}] = {d} is out of range", .{ k, v });
            slot.* = @intCast(v);
            if (std.mem.indexOfScalar(usize, perm[0..k], slot.*) != null) return ctx.fail("perm repeats {d}", .{v});
        }
    } else {
        for (perm, 0..) |*slot, k| slot.* = rank - 1 - k;
    }
    const shape = try ctx.alloc(i64, rank);
    for (shape, perm) |*d, p| d.* = x.shape[p];
    // Moving only dims of size 1 keeps the element order: the same memory will do.
    var order_kept = true;
    var last: usize = 0;
    for (perm) |p| if (x.shape[p] != 1) {
        if (p < last) order_kept = false;
        last = p;
    };
    if (order_kept) return ctx.alias(0, 0, shape);
    try util.checkStorage(ctx, x, "input");
    const out = try ctx.output(0, x.dtype, shape);
    var in_strides: [util.max_rank]isize = undefined;
    util.stridesOf(x.shape, in_strides[0..rank]);
    var dims: [util.max_rank]usize = undefined;
    var strides: [util.max_rank]isize = undefined;
    for (perm, 0..) |p, k| {
        dims[k] = @intCast(x.shape[p]);
        strides[k] = in_strides[p];
    }
    try util.copyStrided(ctx, out, x, dims[0..rank], strides[0..rank], 0);
}

// ---- Expand, Tile ----------------------------------------------------------------------------------

fn expand(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const target = try util.ints(ctx, try ctx.require(1), "shape");
    const rank = @max(x.shape.len, target.len);
    if (rank > util.max_rank) return ctx.fail("shape has {d} dims", .{target.len});
    const shape = try ctx.alloc(i64, rank);
    var dims: [util.max_rank]usize = undefined;
    var strides: [util.max_rank]isize = undefined;
    var in_strides: [util.max_rank]isize = undefined;
    util.stridesOf(x.shape, in_strides[0..x.shape.len]);
    for (shape, 0..) |*d, k| {
        const a: i64 = if (k + x.shape.len >= rank) x.shape[k + x.shape.len - rank] else 1;
        const b: i64 = if (k + target.len >= rank) target[k + target.len - rank] else 1;
        if (b < 0) return ctx.fail("shape holds {d}", .{b});
        if (a != b and a != 1 and b != 1) return ctx.fail("cannot expand dim {d} of size {d} to {d}", .{ k, a, b });
        d.* = if (a == 1) b else a;
        dims[k] = @intCast(d.*);
        strides[k] = if (a == 1) 0 else in_strides[k + x.shape.len - rank];
    }
    try util.checkStorage(ctx, x, "input");
    const out = try ctx.output(0, x.dtype, shape);
    try util.copyStrided(ctx, out, x, dims[0..rank], strides[0..rank], 0);
}

fn tile(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const rank = x.shape.len;
    const repeats = try ctx.alloc(i64, rank);
    if (ctx.node.opset < 6) {
        // Tile-1: one axis repeated `tiles` times.
        @memset(repeats, 1);
        const tiles = try util.scalarInt(ctx, try ctx.require(1), "tiles");
        const a = try util.axis(ctx, try util.scalarInt(ctx, try ctx.require(2), "axis"), rank);
        repeats[a] = tiles;
    } else {
        const given = try util.ints(ctx, try ctx.require(1), "repeats");
        if (given.len != rank) return ctx.fail("repeats has {d} entries for rank {d}", .{ given.len, rank });
        @memcpy(repeats, given);
    }
    const shape = try ctx.alloc(i64, rank);
    // The output, seen as (r0, d0, r1, d1, ...), reads the input with stride 0 along each r.
    var dims: [2 * util.max_rank]usize = undefined;
    var strides: [2 * util.max_rank]isize = undefined;
    var in_strides: [util.max_rank]isize = undefined;
    util.stridesOf(x.shape, in_strides[0..rank]);
    for (shape, x.shape, repeats, 0..) |*d, size, r, k| {
        if (r < 0) return ctx.fail("repeat count {d} is negative", .{r});
        d.* = std.math.mul(i64, size, r) catch return ctx.fail("tiled dim overflows", .{});
        dims[2 * k] = @intCast(r);
        dims[2 * k + 1] = @intCast(size);
        strides[2 * k] = 0;
        strides[2 * k + 1] = in_strides[k];
    }
    try util.checkStorage(ctx, x, "input");
    const out = try ctx.output(0, x.dtype, shape);
    try util.copyStrided(ctx, out, x, dims[0 .. 2 * rank], strides[0 .. 2 * rank], 0);
}

// ---- DepthToSpace / SpaceToDepth ---------------------------------------------------------------------

const Blocks = struct { b: usize, crd: bool, n: usize, c: usize, h: usize, w: usize };

fn blocks(ctx: *Context, x: *const Tensor) Error!Blocks {
    const size = ctx.node.attrInt("blocksize", 0);
    if (size <= 0 or size > 1 << 20) return ctx.fail("blocksize must be positive, not {d}", .{size});
    const mode = ctx.node.attrString("mode", "DCR");
    const crd = std.mem.eql(u8, mode, "CRD");
    if (!crd and !std.mem.eql(u8, mode, "DCR")) return ctx.fail("mode must be DCR or CRD, not '{s}'", .{mode});
    if (x.shape.len != 4) return ctx.fail("input must have rank 4, not {d}", .{x.shape.len});
    try util.checkStorage(ctx, x, "input");
    var d: [4]usize = undefined;
    util.toUsize(x.shape, &d);
    return .{ .b = @intCast(size), .crd = crd, .n = d[0], .c = d[1], .h = d[2], .w = d[3] };
}

fn depthToSpace(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const p = try blocks(ctx, x);
    const b = p.b;
    if (p.c % (b * b) != 0) return ctx.fail("channel count {d} is not a multiple of {d}", .{ p.c, b * b });
    const c = p.c / (b * b);
    const h = std.math.mul(usize, p.h, b) catch return ctx.fail("output height overflows", .{});
    const w = std.math.mul(usize, p.w, b) catch return ctx.fail("output width overflows", .{});
    const shape = [_]i64{ @intCast(p.n), @intCast(c), @intCast(h), @intCast(w) };
    const out = try ctx.output(0, x.dtype, &shape);
    // The output as (n, c, h, b1, w, b2); DCR reads channel (b1, b2, c), CRD reads (c, b1, b2).
    const hw: isize = @intCast(p.h * p.w);
    const ib: isize = @intCast(b);
    const ic: isize = @intCast(c);
    const dims = [_]usize{ p.n, c, p.h, b, p.w, b };
    const strides = if (p.crd)
        [_]isize{ @as(isize, @intCast(p.c)) * hw, ib * ib * hw, @intCast(p.w), ib * hw, 1, hw }
    else
        [_]isize{ @as(isize, @intCast(p.c)) * hw, hw, @intCast(p.w), ib * ic * hw, 1, ic * hw };
    try util.copyStrided(ctx, out, x, &dims, &strides, 0);
}

fn spaceToDepth(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const p = try blocks(ctx, x);
    const b = p.b;
    if (p.h % b != 0 or p.w % b != 0) {
        return ctx.fail("height {d} and width {d} must be multiples of {d}", .{ p.h, p.w, b });
    }
    const c = std.math.mul(usize, p.c, b * b) catch return ctx.fail("output channel count overflows", .{});
    const shape = [_]i64{ @intCast(p.n), @intCast(c), @intCast(p.h / b), @intCast(p.w / b) };
    const out = try ctx.output(0, x.dtype, &shape);
    const hw: isize = @intCast(p.h * p.w);
    const iw: isize = @intCast(p.w);
    const ib: isize = @intCast(b);
    const n_stride = @as(isize, @intCast(p.c)) * hw;
    // DCR: output channel is (b1, b2, c); CRD: (c, b1, b2). Then (h', w') read rows h'*b + b1.
    if (p.crd) {
        const dims = [_]usize{ p.n, p.c, b, b, p.h / b, p.w / b };
        const strides = [_]isize{ n_stride, hw, iw, 1, ib * iw, ib };
        try util.copyStrided(ctx, out, x, &dims, &strides, 0);
    } else {
        const dims = [_]usize{ p.n, b, b, p.c, p.h / b, p.w / b };
        const strides = [_]isize{ n_stride, iw, 1, hw, ib * iw, ib };
        try util.copyStrided(ctx, out, x, &dims, &strides, 0);
    }
}

fn entry(comptime op: []const u8, run: kernel.Kernel) Entry {
    return .{ .op = op, .run = run };
}

pub const kernels = [_]Entry{
    entry("Identity", identity),
    entry("Reshape", reshape),
    entry("Flatten", flatten),
    entry("Squeeze", squeeze),
    entry("Unsqueeze", unsqueeze),
    entry("BitCast", bitCast),
    entry("Transpose", transpose),
    entry("Expand", expand),
    entry("Tile", tile),
    entry("DepthToSpace", depthToSpace),
    entry("SpaceToDepth", spaceToDepth),
};
