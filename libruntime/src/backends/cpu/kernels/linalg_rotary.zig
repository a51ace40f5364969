//! RotaryEmbedding (opset 23): rotates the first rotary_embedding_dim values of every head by
//! per-position angles, given as cos and sin caches. X is [B, H, S, D] or [B, S, H*D]
//! (num_heads unpacks it); the caches are [max_position, R/2] looked up by position_ids
//! [B, S], or [B, S, R/2] without them (batch and sequence dims of 1 broadcast). The pairs
//! rotated are (x[k], x[k + R/2]), or (x[2k], x[2k + 1]) when interleaved.
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");
const common = @import("linalg_common.zig");

const Context = kernel.Context;
const Tensor = kernel.Tensor;

/// X's sizes, and where the head of (batch b, position s, head h) starts in it.
const Layout = struct {
    batch: usize,
    seq: usize,
    heads: usize,
    head_size: usize,
    /// 4-D X is [B, H, S, D]; 3-D X is [B, S, H*D].
    heads_first: bool,

    fn headOffset(self: Layout, b: usize, s: usize, h: usize) usize {
        const row = if (self.heads_first) (b * self.heads + h) * self.seq + s else (b * self.seq + s) * self.heads + h;
        return row * self.head_size;
    }
};

/// Where each (b, s) finds its cos and sin rows: a cache row index per position.
const Angles = struct {
    /// Each cache row holds R/2 values.
    half: usize,
    /// With position_ids: its values and dims (broadcast over B and S).
    positions: ?[]const i64,
    position_dims: [2]usize,
    /// Without: the caches' own [B', S'] dims (broadcast).
    cache_dims: [2]usize,

    fn row(self: Angles, b: usize, s: usize) usize {
        if (self.positions) |p| {
            const pb = if (self.position_dims[0] == 1) 0 else b;
            const ps = if (self.position_dims[1] == 1) 0 else s;
            return @intCast(p[pb * self.position_dims[1] + ps]);
        }
        const cb = if (self.cache_dims[0] == 1) 0 else b;
        const cs = if (self.cache_dims[1] == 1) 0 else s;
        return cb * self.cache_dims[1] + cs;
    }
};

fn rotaryEmbedding(ctx: *Context) status.Error!void {
    const x = try ctx.require(0);
    const layout = try readLayout(ctx, x);
    const rotary = try rotaryDim(ctx, layout.head_size);
    const angles = try readAngles(ctx, layout, rotary / 2);
    const interleaved = ctx.node.attrInt("interleaved", 0) != 0;
    inline for (common.float_kinds) |kind| if (x.dtype == kind.dtype) {
        const cos = try common.elems(ctx, kind.T, ctx.inputs[1].?);
        const sin = try common.elems(ctx, kind.T, ctx.inputs[2].?);
        const src = try common.elems(ctx, kind.T, x);
        const out = try ctx.output(0, x.dtype, x.shape);
        const dst = out.items(kind.T)[0..src.len];
        @memcpy(dst, src);
        for (0..layout.batch) |b| for (0..layout.seq) |s| {
            const r = angles.row(b, s);
            const c = cos[r * angles.half ..][0..angles.half];
            const n = sin[r * angles.half ..][0..angles.half];
            for (0..layout.heads) |h| {
                const head = dst[layout.headOffset(b, s, h)..][0..rotary];
                rotate(kind.T, head, c, n, interleaved);
            }
        };
        return;
    };
    return ctx.unsupported(x.dtype);
}

fn rotate(comptime T: type, head: []T, cos: []const T, sin: []const T, interleaved: bool) void {
    const half = cos.len;
    for (0..half) |k| {
        const first = if (interleaved) 2 * k else k;
        const second = if (interleaved) 2 * k + 1 else k + half;
        const x1 = common.load(T, head[first]);
        const x2 = common.load(T, head[second]);
        const c = common.load(T, cos[k]);
        const s = common.load(T, sin[k]);
        head[first] = common.store(T, c * x1 - s * x2);
        head[second] = common.store(T, s * x1 + c * x2);
    }
}

fn dimAt(ctx: *Context, t: *const Tensor, axis: usize) status.Error!usize {
    const v = t.shape[axis];
    if (v < 0) return ctx.fail("negative dim {d}", .{v});
    return @intCast(v);
}

fn readLayout(ctx: *Context, x: *const Tensor) status.Error!Layout {
    if (x.shape.len == 4) return .{
        .batch = try dimAt(ctx, x, 0),
        .heads = try dimAt(ctx, x, 1),
        .seq = try dimAt(ctx, x, 2),
        .head_size = try dimAt(ctx, x, 3),
        .heads_first = true,
    };
    if (x.shape.len != 3) return ctx.fail("X must have rank 3 or 4, not {d}", .{x.shape.len});
    const heads = ctx.node.attrInt("num_heads", 0);
    if (heads <= 0) return ctx.fail("3-D X needs a positive num_heads, not {d}", .{heads});
    const hidden = try dimAt(ctx, x, 2);
    const h: usize = @intCast(heads);
    if (hidden % h != 0) return ctx.fail("X's last dim {d} is not a multiple of num_heads {d}", .{ hidden, h });
    return .{
        .batch = try dimAt(ctx, x, 0),
        .seq = try dimAt(ctx, x, 1),
        .heads = h,
        .head_size = hidden / h,
        .heads_first = false,
    };
}

/// rotary_embedding_dim, or the head size when it is 0; even and at most the head size.
fn rotaryDim(ctx: *Context, head_size: usize) status.Error!usize {
    const attr = ctx.node.attrInt("rotary_embedding_dim", 0);
    if (attr < 0) return ctx.fail("rotary_embedding_dim must not be negative, not {d}", .{attr});
    const rotary: usize = if (attr == 0) head_size else @intCast(attr);
    if (rotary > head_size) return ctx.fail("rotary_embedding_dim {d} exceeds the head size {d}", .{ rotary, head_size });
    if (rotary % 2 != 0) return ctx.fail("the rotary dim {d} is odd", .{rotary});
    return rotary;
}

/// Checks the caches (and position_ids) against X and resolves how positions find cache rows.
fn readAngles(ctx: *Context, layout: Layout, half: usize) status.Error!Angles {
    const cos = try ctx.require(1);
    const sin = try ctx.require(2);
    if (cos.dtype != ctx.inputs[0].?.dtype or sin.dtype != cos.dtype) {
        return ctx.fail("X, cos_cache and sin_cache must have the same type", .{});
    }
    const rank: usize = if (ctx.input(3) != null) 2 else 3;
    if (cos.shape.len != rank or !std.mem.eql(i64, cos.shape, sin.shape)) {
        return ctx.fail("cos_cache and sin_cache must have the same shape of rank {d}", .{rank});
    }
    if (try dimAt(ctx, cos, rank - 1) != half) {
        return ctx.fail("the caches' last dim {d} is not half the rotary dim {d}", .{ cos.shape[rank - 1], 2 * half });
    }
    const cache_rows = try common.product(ctx, cos.shape[0 .. rank - 1]);
    var angles: Angles = .{ .half = half, .positions = null, .position_dims = .{ 1, 1 }, .cache_dims = .{ 1, 1 } };
    const target = [_]usize{ layout.batch, layout.seq };
    if (ctx.input(3)) |ids| {
        if (ids.shape.len != 2) return ctx.fail("position_ids must have rank 2, not {d}", .{ids.shape.len});
        const positions = try common.readInts(ctx, ids, "position_ids");
        for (positions) |p| if (p < 0 or p >= cache_rows) {
            return ctx.fail("position id {d} is outside the cache's {d} positions", .{ p, cache_rows });
        };
        angles.positions = positions;
        angles.position_dims = .{ try dimAt(ctx, ids, 0), try dimAt(ctx, ids, 1) };
        try checkBroadcast(ctx, angles.position_dims, target, "position_ids");
    } else {
        angles.cache_dims = .{ try dimAt(ctx, cos, 0), try dimAt(ctx, cos, 1) };
        try checkBroadcast(ctx, angles.cache_dims, target, "the caches");
    }
    return angles;
}

fn checkBroadcast(ctx: *Context, dims: [2]usize, target: [2]usize, what: []const u8) status.Error!void {
    for (dims, target) |d, t| if (d != 1 and d != t) {
        return ctx.fail("{s} dims [{d}, {d}] do not broadcast to [batch {d}, sequence {d}]", .{ what, dims[0], dims[1], target[0], target[1] });
    };
}

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .op = "RotaryEmbedding", .run = rotaryEmbedding },
};

test "a half-split rotation by 90 degrees maps (x1, x2) to (-x2, x1)" {
    var head = [_]f32{ 1, 2, 3, 4 };
    rotate(f32, &head, &.{ 0, 0 }, &.{ 1, 1 }, false);
    try std.testing.expectEqualSlices(f32, &.{ -3, -4, 1, 2 }, &head);
    var pairs = [_]f32{ 1, 2, 3, 4 };
    rotate(f32, &pairs, &.{ 0, 0 }, &.{ 1, 1 }, true);
    try std.testing.expectEqualSlices(f32, &.{ -2, 1, -4, 3 }, &pairs);
}
