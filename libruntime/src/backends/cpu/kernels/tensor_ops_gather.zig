//! Indexing kernels: Gather, GatherElements, GatherND and the scatters (ScatterElements, the old
//! Scatter, ScatterND with their reductions, TensorScatter). Every index is checked (and
//! negative ones wrapped) before any memory is touched; copies move elements by width, so
//! strings gather too, and only reductions dispatch on the numeric type.
const std = @import("std");
const kernel = @import("../kernel.zig");
const Entry = @import("entry.zig").Entry;
const util = @import("tensor_ops_util.zig");

const Context = util.Context;
const Tensor = util.Tensor;
const Error = util.Error;

fn gather(ctx: *Context) Error!void {
    const data = try ctx.require(0);
    const index_tensor = try ctx.require(1);
    if (data.shape.len == 0) return ctx.fail("data must have rank >= 1", .{});
    const a = try util.axis(ctx, ctx.node.attrInt("axis", 0), data.shape.len);
    const idx = try util.indices(ctx, index_tensor);
    const n: usize = @intCast(data.shape[a]);
    const wrapped = try ctx.alloc(usize, idx.len);
    for (idx, wrapped) |i, *slot| slot.* = util.wrapIndex(i, n) orelse return badIndex(ctx, i, n);
    const rank = data.shape.len - 1 + index_tensor.shape.len;
    if (rank > util.max_rank) return ctx.fail("output rank {d} is too large", .{rank});
    const shape = try ctx.alloc(i64, rank);
    @memcpy(shape[0..a], data.shape[0..a]);
    @memcpy(shape[a..][0..index_tensor.shape.len], index_tensor.shape);
    @memcpy(shape[a + index_tensor.shape.len ..], data.shape[a + 1 ..]);
    try util.checkStorage(ctx, data, "data");
    const out = try ctx.output(0, data.dtype, shape);
    const outer = util.product(data.shape[0..a]);
    const inner = util.product(data.shape[a + 1 ..]);
    switch (try util.width(ctx, data.dtype)) {
        inline else => |w| {
            const T = util.Elem(w);
            const dst = util.viewMut(T, out);
            const src = util.view(T, data);
            var pos: usize = 0;
            for (0..outer) |o| {
                const block = src[o * n * inner ..];
                if (inner == 1) {
                    for (dst[pos..][0..wrapped.len], wrapped) |*d, i| d.* = block[i];
                    pos += wrapped.len;
                    continue;
                }
                for (wrapped) |i| {
                    @memcpy(dst[pos..][0..inner], block[i * inner ..][0..inner]);
                    pos += inner;
                }
            }
        },
    }
}

fn badIndex(ctx: *const Context, index: i64, n: usize) Error {
    return ctx.fail("index {d} is out of range for a dim of {d}", .{ index, n });
}

/// Where each element of an indices tensor shaped like `shape` lands in `data` (GatherElements and
/// the element scatters): the element's own position, with `axis` replaced by its index.
fn elementOffsets(ctx: *Context, data: *const Tensor, index_tensor: *const Tensor, a: usize) Error![]usize {
    const rank = data.shape.len;
    if (index_tensor.shape.len != rank) {
        return ctx.fail("indices have rank {d}, data rank {d}", .{ index_tensor.shape.len, rank });
    }
    for (index_tensor.shape, data.shape, 0..) |i, d, k| {
        if (k != a and i > d) return ctx.fail("indices dim {d} is {d}, beyond data's {d}", .{ k, i, d });
    }
    const idx = try util.indices(ctx, index_tensor);
    var strides: [util.max_rank]isize = undefined;
    util.stridesOf(data.shape, strides[0..rank]);
    const axis_stride = strides[a];
    strides[a] = 0;
    var walker = util.Walker.init(index_tensor.shape, strides[0..rank]);
    const n: usize = @intCast(data.shape[a]);
    const offsets = try ctx.alloc(usize, idx.len);
    for (idx, offsets) |i, *slot| {
        const k = util.wrapIndex(i, n) orelse return badIndex(ctx, i, n);
        slot.* = @intCast(walker.offset + @as(isize, @intCast(k)) * axis_stride);
        walker.next();
    }
    return offsets;
}

fn gatherElements(ctx: *Context) Error!void {
    const data = try ctx.require(0);
    const index_tensor = try ctx.require(1);
    if (data.shape.len == 0) return ctx.fail("data must have rank >= 1", .{});
    const a = try util.axis(ctx, ctx.node.attrInt("axis", 0), data.shape.len);
    const offsets = try elementOffsets(ctx, data, index_tensor, a);
    try util.checkStorage(ctx, data, "data");
    const out = try ctx.output(0, data.dtype, index_tensor.shape);
    switch (try util.width(ctx, data.dtype)) {
        inline else => |w| {
            const T = util.Elem(w);
            const src = util.view(T, data);
            for (util.viewMut(T, out), offsets) |*d, o| d.* = src[o];
        },
    }
}

/// Data offsets of GatherND/ScatterND index tuples: `b` batch dims, then tuples of `m` indices
/// into the dims that follow, each addressing a block of `inner` elements.
const Tuples = struct { offsets: []usize, inner: usize, m: usize };

fn tupleOffsets(ctx: *Context, data: *const Tensor, index_tensor: *const Tensor, b: usize) Error!Tuples {
    const r = data.shape.len;
    const q = index_tensor.shape.len;
    if (r == 0 or q == 0) return ctx.fail("data and indices must have rank >= 1", .{});
    if (b >= @min(q, r)) return ctx.fail("batch_dims {d} must be below the ranks {d} and {d}", .{ b, r, q });
    for (data.shape[0..b], index_tensor.shape[0..b], 0..) |x, y, k| {
        if (x != y) return ctx.fail("batch dim {d} is {d} in data, {d} in indices", .{ k, x, y });
    }
    const m_raw = index_tensor.shape[q - 1];
    if (m_raw < 1 or m_raw > r - b) return ctx.fail("indices end in {d}, which must be in [1, {d}]", .{ m_raw, r - b });
    const m: usize = @intCast(m_raw);
    const idx = try util.indices(ctx, index_tensor);
    var strides: [util.max_rank]isize = undefined;
    util.stridesOf(data.shape, strides[0..r]);
    const batches = util.product(data.shape[0..b]);
    const tuples = util.product(index_tensor.shape[0 .. q - 1]);
    const per_batch = if (batches == 0) 0 else tuples / batches;
    const batch_stride: usize = if (b == 0) 0 else @intCast(strides[b - 1]);
    const offsets = try ctx.alloc(usize, tuples);
    for (offsets, 0..) |*slot, t| {
        var off: usize = (t / @max(per_batch, 1)) * batch_stride;
        for (idx[t * m ..][0..m], 0..) |i, j| {
            const n: usize = @intCast(data.shape[b + j]);
            const k = util.wrapIndex(i, n) orelse return badIndex(ctx, i, n);
            off += k * @as(usize, @intCast(strides[b + j]));
        }
        slot.* = off;
    }
    return .{ .offsets = offsets, .inner = util.product(data.shape[b + m ..]), .m = m };
}

fn gatherNd(ctx: *Context) Error!void {
    const data = try ctx.require(0);
    const index_tensor = try ctx.require(1);
    const b_raw = if (ctx.node.opset >= 12) ctx.node.attrInt("batch_dims", 0) else 0;
    if (b_raw < 0 or b_raw > util.max_rank) return ctx.fail("batch_dims {d} is out of range", .{b_raw});
    const b: usize = @intCast(b_raw);
    const t = try tupleOffsets(ctx, data, index_tensor, b);
    const q = index_tensor.shape.len;
    const tail = data.shape[b + t.m ..];
    const shape = try ctx.alloc(i64, q - 1 + tail.len);
    @memcpy(shape[0 .. q - 1], index_tensor.shape[0 .. q - 1]);
    @memcpy(shape[q - 1 ..], tail);
    try util.checkStorage(ctx, data, "data");
    const out = try ctx.output(0, data.dtype, shape);
    switch (try util.width(ctx, data.dtype)) {
        inline else => |w| {
            const T = util.Elem(w);
            const dst = util.viewMut(T, out);
            const src = util.view(T, data);
            for (t.offsets, 0..) |o, k| @memcpy(dst[k * t.inner ..][0..t.inner], src[o..][0..t.inner]);
        },
    }
}

// ---- scatters --------------------------------------------------------------------------------------

const Reduction = enum { none, add, mul, max, min };

fn reduction(ctx: *Context) Error!Reduction {
    const name = ctx.node.attrString("reduction", "none");
    return std.meta.stringToEnum(Reduction, name) orelse ctx.fail("unknown reduction '{s}'", .{name});
}

fn combine(comptime C: type, comptime r: Reduction, comptime is_bool: bool, a: C, b: C) C {
    const float = @typeInfo(C) == .float;
    return switch (r) {
        .none => b,
        .add => if (is_bool) a | b else if (float) a + b else a +% b,
        .mul => if (is_bool) a & b else if (float) a * b else a *% b,
        .max => @max(a, b),
        .min => @min(a, b),
    };
}

/// out[offsets[k] + j] = updates[k * block + j] (combined by the reduction), in index order.
fn applyUpdates(
    ctx: *Context,
    out: *Tensor,
    updates: *const Tensor,
    offsets: []const usize,
    block: usize,
    r: Reduction,
) Error!void {
    if (r == .none) {
        switch (try util.width(ctx, out.dtype)) {
            inline else => |w| {
                const T = util.Elem(w);
                const dst = util.viewMut(T, out);
                const src = util.view(T, updates);
                for (offsets, 0..) |o, k| @memcpy(dst[o..][0..block], src[k * block ..][0..block]);
            },
        }
        return;
    }
    inline for (util.numeric_types) |pair| if (out.dtype == pair[0]) {
        const S = pair[1];
        const dt = pair[0];
        const dst = util.viewMut(S, out);
        const src = util.view(S, updates);
        switch (r) {
            inline else => |red| for (offsets, 0..) |o, k| {
                for (dst[o..][0..block], src[k * block ..][0..block]) |*d, u| {
                    const C = util.Compute(dt, S);
                    d.* = util.store(dt, S, combine(C, red, dt == .bool, util.load(dt, S, d.*), util.load(dt, S, u)));
                }
            },
        }
        return;
    };
    return ctx.unsupported(out.dtype);
}

/// A copy of data to scatter into.
fn copyOfData(ctx: *Context, data: *const Tensor) Error!*Tensor {
    try util.checkStorage(ctx, data, "data");
    const out = try ctx.output(0, data.dtype, data.shape);
    if (data.dtype == .string) {
        @memcpy(out.strings, data.strings[0..out.strings.len]);
    } else {
        @memcpy(out.data, data.data[0..out.data.len]);
    }
    return out;
}

fn scatterElements(ctx: *Context) Error!void {
    const data = try ctx.require(0);
    const index_tensor = try ctx.require(1);
    const updates = try ctx.require(2);
    const r = try reduction(ctx);
    if (data.shape.len == 0) return ctx.fail("data must have rank >= 1", .{});
    if (updates.dtype != data.dtype) {
        return ctx.fail("updates are {s}, data {s}", .{ @tagName(updates.dtype), @tagName(data.dtype) });
    }
    if (!std.mem.eql(i64, updates.shape, index_tensor.shape)) {
        return ctx.fail("updates and indices differ in shape", .{});
    }
    const a = try util.axis(ctx, ctx.node.attrInt("axis", 0), data.shape.len);
    const offsets = try elementOffsets(ctx, data, index_tensor, a);
    try util.checkStorage(ctx, updates, "updates");
    const out = try copyOfData(ctx, data);
    try applyUpdates(ctx, out, updates, offsets, 1, r);
}

fn scatterNd(ctx: *Context) Error!void {
    const data = try ctx.require(0);
    const index_tensor = try ctx.require(1);
    const updates = try ctx.require(2);
    const r = try reduction(ctx);
    if (updates.dtype != data.dtype) {
        return ctx.fail("updates are {s}, data {s}", .{ @tagName(updates.dtype), @tagName(data.dtype) });
    }
    const t = try tupleOffsets(ctx, data, index_tensor, 0);
    const q = index_tensor.shape.len;
    const tail = data.shape[t.m..];
    const expected_rank = q - 1 + tail.len;
    const lead = index_tensor.shape[0 .. q - 1];
    if (updates.shape.len != expected_rank or !std.mem.eql(i64, updates.shape[0 .. q - 1], lead) or
        !std.mem.eql(i64, updates.shape[q - 1 ..], tail))
    {
        return ctx.fail("updates must be shaped indices.shape[:-1] + data.shape[{d}:]", .{t.m});
    }
    try util.checkStorage(ctx, updates, "updates");
    const out = try copyOfData(ctx, data);
    try applyUpdates(ctx, out, updates, t.offsets, t.inner, r);
}

/// TensorScatter (KV caches): update's rows go to rows write_indices[batch] + s of the cache.
fn tensorScatter(ctx: *Context) Error!void {
    const cache = try ctx.require(0);
    const update = try ctx.require(1);
    const mode = ctx.node.attrString("mode", "linear");
    const circular = std.mem.eql(u8, mode, "circular");
    if (!circular and !std.mem.eql(u8, mode, "linear")) {
        return ctx.fail("mode must be linear or circular, not '{s}'", .{mode});
    }
    const rank = cache.shape.len;
    if (rank < 2) return ctx.fail("past_cache must have rank >= 2", .{});
    const a = try util.axis(ctx, ctx.node.attrInt("axis", -2), rank);
    if (a == 0) return ctx.fail("axis must not be the batch axis", .{});
    if (update.dtype != cache.dtype or update.shape.len != rank) {
        return ctx.fail("update must match past_cache's type and rank", .{});
    }
    for (cache.shape, update.shape, 0..) |c, u, k| {
        if ((k != a and c != u) or (k == a and u > c)) {
            return ctx.fail("update's dim {d} ({d}) does not fit the cache's {d}", .{ k, u, c });
        }
    }
    const batch: usize = @intCast(cache.shape[0]);
    const starts = try ctx.alloc(i64, batch);
    @memset(starts, 0);
    if (ctx.input(2)) |w| {
        const given = try util.ints(ctx, w, "write_indices");
        if (given.len != batch) {
            return ctx.fail("write_indices has {d} entries for a batch of {d}", .{ given.len, batch });
        }
        @memcpy(starts, given);
    }
    const max_len: usize = @intCast(cache.shape[a]);
    const seq: usize = @intCast(update.shape[a]);
    const inner = util.product(cache.shape[a + 1 ..]);
    const prefixes = util.product(cache.shape[0..a]);
    const per_batch = prefixes / @max(batch, 1);
    const offsets = try ctx.alloc(usize, prefixes * seq);
    for (0..prefixes) |p| {
        const start = starts[p / @max(per_batch, 1)];
        for (0..seq) |s| {
            var row = std.math.add(i64, start, @intCast(s)) catch return ctx.fail("write index overflows", .{});
            if (circular and max_len > 0) row = @mod(row, @as(i64, @intCast(max_len)));
            if (row < 0 or row >= max_len) {
                return ctx.fail("write position {d} is outside the cache's {d}", .{ row, max_len });
            }
            offsets[p * seq + s] = (p * max_len + @as(usize, @intCast(row))) * inner;
        }
    }
    try util.checkStorage(ctx, update, "update");
    const out = try copyOfData(ctx, cache);
    try applyUpdates(ctx, out, update, offsets, inner, .none);
}

fn entry(comptime op: []const u8, run: kernel.Kernel) Entry {
    return .{ .op = op, .run = run };
}

pub const kernels = [_]Entry{
    entry("Gather", gather),
    entry("GatherElements", gatherElements),
    entry("GatherND", gatherNd),
    entry("Scatter", scatterElements),
    entry("ScatterElements", scatterElements),
    entry("ScatterND", scatterNd),
    entry("TensorScatter", tensorScatter),
};
