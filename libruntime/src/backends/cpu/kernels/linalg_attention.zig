//! Attention (opset 23, 24 and 25's window attributes): softmax(Q*K^T * scale + bias) * V over
//! 3-D packed ([B, S, heads*size]) or 4-D ([B, heads, S, size]) inputs, with grouped key/value
//! heads, a KV cache (past_key/past_value in, present_key/present_value out), boolean or
//! additive masks, causal and sliding-window masks, padded keys (nonpad_kv_seqlen) and the
//! optional qk_matmul_output. It follows onnx's reference implementation, whose numbers the
//! backend tests hold.
//!
//! Every input is first read into one compute type (f32; f64 for float64 queries) in the
//! [B, heads, S, size] layout; the per-head products Q*K^T and P*V then run as one batch of
//! SGEMMs (linalg_sgemm.zig), and the per-row work lives in linalg_attention_rows.zig.
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");
const common = @import("linalg_common.zig");
const sgemm = @import("linalg_sgemm.zig");
const rows = @import("linalg_attention_rows.zig");

const Context = kernel.Context;
const Tensor = kernel.Tensor;
const DType = kernel.DType;

pub const roundTo = rows.roundTo;

/// The sizes of one run, with K and V seen as [batch, kv_heads, seq, size].
const Dims = struct {
    batch: usize,
    q_heads: usize,
    kv_heads: usize,
    q_seq: usize,
    kv_seq: usize,
    /// Cached keys before this step (past_key's sequence length; 0 without a cache).
    past: usize,
    head_size: usize,
    v_head_size: usize,
    /// 3-D inputs pack the heads into their last dim.
    is_packed: bool,

    fn total(self: Dims) usize {
        return self.past + self.kv_seq;
    }
};

fn attention(ctx: *Context) status.Error!void {
    const q = try ctx.require(0);
    const d = try readDims(ctx);
    // Sizes of every buffer below, checked once so later products cannot overflow.
    _ = try checkedCount(ctx, &.{ d.batch, d.q_heads, d.q_seq, d.total() });
    _ = try checkedCount(ctx, &.{ d.batch, d.q_heads, d.q_seq, @max(d.head_size, d.v_head_size) });
    _ = try checkedCount(ctx, &.{ d.batch, d.kv_heads, d.total(), @max(d.head_size, d.v_head_size) });
    return switch (q.dtype) {
        .float32, .float16, .bfloat16 => compute(f32, ctx, d),
        .float64 => compute(f64, ctx, d),
        else => ctx.unsupported(q.dtype),
    };
}

fn dimAt(ctx: *Context, t: *const Tensor, axis: usize) status.Error!usize {
    const v = t.shape[axis];
    if (v < 0) return ctx.fail("negative dim {d}", .{v});
    return @intCast(v);
}

fn checkedCount(ctx: *Context, sizes: []const usize) status.Error!usize {
    var n: usize = 1;
    for (sizes) |s| n = std.math.mul(usize, n, s) catch return ctx.fail("the attention tensors are too large", .{});
    return n;
}

fn readDims(ctx: *Context) status.Error!Dims {
    const q = try ctx.require(0);
    const k = try ctx.require(1);
    const v = try ctx.require(2);
    const rank = q.shape.len;
    if (rank != 3 and rank != 4) return ctx.fail("Q must have rank 3 or 4, not {d}", .{rank});
    if (k.shape.len != rank or v.shape.len != rank) {
        return ctx.fail("Q, K and V must have the same rank, not {d}, {d} and {d}", .{ rank, k.shape.len, v.shape.len });
    }
    var d = if (rank == 3) try packedDims(ctx, q, k, v) else try unpackedDims(ctx, q, k, v);
    if (try dimAt(ctx, k, 0) != d.batch or try dimAt(ctx, v, 0) != d.batch) {
        return ctx.fail("Q, K and V must have the same batch size", .{});
    }
    if (d.kv_heads == 0 or d.q_heads % d.kv_heads != 0) {
        return ctx.fail("Q's {d} heads are not a multiple of K's {d}", .{ d.q_heads, d.kv_heads });
    }
    d.past = try readPast(ctx, d);
    return d;
}

/// Q [B, Sq, Hq*D], K [B, Skv, Hkv*D], V [B, Skv, Hkv*Dv], heads from the attributes.
fn packedDims(ctx: *Context, q: *const Tensor, k: *const Tensor, v: *const Tensor) status.Error!Dims {
    const q_heads = ctx.node.attrInt("q_num_heads", 0);
    const kv_heads = ctx.node.attrInt("kv_num_heads", 0);
    if (q_heads <= 0 or kv_heads <= 0) {
        return ctx.fail("3-D inputs need positive q_num_heads and kv_num_heads, not {d} and {d}", .{ q_heads, kv_heads });
    }
    const hq: usize = @intCast(q_heads);
    const hkv: usize = @intCast(kv_heads);
    const q_hidden = try dimAt(ctx, q, 2);
    const k_hidden = try dimAt(ctx, k, 2);
    const v_hidden = try dimAt(ctx, v, 2);
    if (q_hidden % hq != 0) return ctx.fail("Q's hidden size {d} is not a multiple of q_num_heads {d}", .{ q_hidden, hq });
    if (k_hidden % hkv != 0) return ctx.fail("K's hidden size {d} is not a multiple of kv_num_heads {d}", .{ k_hidden, hkv });
    if (v_hidden % hkv != 0) return ctx.fail("V's hidden size {d} is not a multiple of kv_num_heads {d}", .{ v_hidden, hkv });
    if (q_hidden / hq != k_hidden / hkv) {
        return ctx.fail("Q's head size {d} differs from K's {d}", .{ q_hidden / hq, k_hidden / hkv });
    }
    const kv_seq = try dimAt(ctx, k, 1);
    if (try dimAt(ctx, v, 1) != kv_seq) return ctx.fail("K and V must have the same sequence length", .{});
    return .{
        .batch = try dimAt(ctx, q, 0),
        .q_heads = hq,
        .kv_heads = hkv,
        .q_seq = try dimAt(ctx, q, 1),
        .kv_seq = kv_seq,
        .past = 0,
        .head_size = q_hidden / hq,
        .v_head_size = v_hidden / hkv,
        .is_packed = true,
    };
}

/// Q [B, Hq, Sq, D], K [B, Hkv, Skv, D], V [B, Hkv, Skv, Dv].
fn unpackedDims(ctx: *Context, q: *const Tensor, k: *const Tensor, v: *const Tensor) status.Error!Dims {
    if (ctx.node.opset >= 25 and (ctx.node.has("q_num_heads") or ctx.node.has("kv_num_heads"))) {
        return ctx.fail("q_num_heads and kv_num_heads must not be set for 4-D inputs", .{});
    }
    const kv_heads = try dimAt(ctx, k, 1);
    const kv_seq = try dimAt(ctx, k, 2);
    if (try dimAt(ctx, v, 1) != kv_heads) return ctx.fail("K and V must have the same number of heads", .{});
    if (try dimAt(ctx, v, 2) != kv_seq) return ctx.fail("K and V must have the same sequence length", .{});
    const head_size = try dimAt(ctx, q, 3);
    if (try dimAt(ctx, k, 3) != head_size) {
        return ctx.fail("Q's head size {d} differs from K's {d}", .{ head_size, k.shape[3] });
    }
    return .{
        .batch = try dimAt(ctx, q, 0),
        .q_heads = try dimAt(ctx, q, 1),
        .kv_heads = kv_heads,
        .q_seq = try dimAt(ctx, q, 2),
        .kv_seq = kv_seq,
        .past = 0,
        .head_size = head_size,
        .v_head_size = try dimAt(ctx, v, 3),
        .is_packed = false,
    };
}

/// The cached sequence length: past_key [B, Hkv, P, D] and past_value [B, Hkv, P, Dv].
fn readPast(ctx: *Context, d: Dims) status.Error!usize {
    const past_key = ctx.input(4);
    const past_value = ctx.input(5);
    if ((past_key == null) != (past_value == null)) return ctx.fail("past_key and past_value must be given together", .{});
    const pk = past_key orelse return 0;
    const pv = past_value.?;
    if (pk.shape.len != 4 or pv.shape.len != 4) return ctx.fail("past_key and past_value must have rank 4", .{});
    const past = try dimAt(ctx, pk, 2);
    const want_key = [_]usize{ d.batch, d.kv_heads, past, d.head_size };
    const want_value = [_]usize{ d.batch, d.kv_heads, past, d.v_head_size };
    for (0..4) |axis| {
        if (try dimAt(ctx, pk, axis) != want_key[axis]) {
            return ctx.fail("past_key's dim {d} is {d}, expected {d}", .{ axis, pk.shape[axis], want_key[axis] });
        }
        if (try dimAt(ctx, pv, axis) != want_value[axis]) {
            return ctx.fail("past_value's dim {d} is {d}, expected {d}", .{ axis, pv.shape[axis], want_value[axis] });
        }
    }
    return past;
}

fn compute(comptime A: type, ctx: *Context, d: Dims) status.Error!void {
    const q_dtype = ctx.inputs[0].?.dtype;
    const total = d.total();
    // The reference scales Q and K by sqrt(scale) each, rounded to Q's type.
    const default_scale = 1 / @sqrt(@as(f64, @floatFromInt(@max(d.head_size, 1))));
    const scale_attr = if (ctx.node.has("scale")) @as(f64, ctx.node.attrFloat("scale", 1)) else default_scale;
    const root_scale = rows.roundTo(A, q_dtype, @floatCast(@sqrt(scale_attr)));
    const q = try toHeads(A, ctx, 0, .{ d.batch, d.q_heads, d.q_seq, d.head_size }, d.is_packed);
    for (q) |*v| v.* = rows.roundTo(A, q_dtype, v.* * root_scale);
    const present_key = try withPast(A, ctx, d, 1, d.head_size);
    const present_value = try withPast(A, ctx, d, 2, d.v_head_size);
    try writeOutput(A, ctx, 1, ctx.inputs[1].?.dtype, &.{ d.batch, d.kv_heads, total, d.head_size }, present_key);
    try writeOutput(A, ctx, 2, ctx.inputs[2].?.dtype, &.{ d.batch, d.kv_heads, total, d.v_head_size }, present_value);
    const key_t = try scaledTranspose(A, ctx, d.batch * d.kv_heads, total, d.head_size, present_key, root_scale, q_dtype);

    const scores = try ctx.alloc(A, d.batch * d.q_heads * d.q_seq * total);
    const indices = try headIndices(ctx, d);
    try products(A, ctx, .{ .m = d.q_seq, .k = d.head_size, .n = total }, q, key_t, scores, indices);
    try ctx.checkStop();

    const qk_shape = [_]usize{ d.batch, d.q_heads, d.q_seq, total };
    const qk: ?[]A = if (ctx.wantsOutput(3)) try ctx.alloc(A, scores.len) else null;
    const job: rows.RowJob(A) = .{
        .scores = scores,
        .total = total,
        .q_seq = d.q_seq,
        .q_heads = d.q_heads,
        .softcap = @floatCast(ctx.node.attrFloat("softcap", 0)),
        .bias = try readBias(A, ctx, d),
        .qk = qk,
        .qk_mode = try qkMode(ctx),
    };
    try checkSoftmaxPrecision(ctx);
    ctx.parallelFor(d.batch * d.q_heads * d.q_seq, &job, rows.RowJob(A).run);
    if (qk) |values| try writeOutput(A, ctx, 3, q_dtype, &qk_shape, values);
    try ctx.checkStop();

    const y = try ctx.alloc(A, d.batch * d.q_heads * d.q_seq * d.v_head_size);
    try products(A, ctx, .{ .m = d.q_seq, .k = total, .n = d.v_head_size }, scores, present_value, y, indices);
    try writeY(A, ctx, d, q_dtype, y);
}

fn qkMode(ctx: *Context) status.Error!rows.QkMode {
    const mode = ctx.node.attrInt("qk_matmul_output_mode", 0);
    if (mode < 0 or mode > 3) return ctx.fail("qk_matmul_output_mode must be 0 to 3, not {d}", .{mode});
    return @enumFromInt(@as(u2, @intCast(mode)));
}

/// The softmax runs in f32 (f64 for float64) whatever the attribute asks, which is at least as
/// precise as any type it may name; only the name itself is checked.
fn checkSoftmaxPrecision(ctx: *Context) status.Error!void {
    const raw = ctx.node.attrInt("softmax_precision", 1);
    const allowed = [_]DType{ .float32, .float16, .bfloat16, .float64 };
    for (allowed) |t| if (raw == @intFromEnum(t)) return;
    return ctx.fail("softmax_precision must be float, float16, bfloat16 or double, not type {d}", .{raw});
}

/// Input `i` (a float tensor) in the compute type, as [B, heads, seq, size]: 3-D inputs are
/// unpacked from [B, seq, heads*size].
fn toHeads(comptime A: type, ctx: *Context, i: usize, sizes: [4]usize, is_packed: bool) status.Error![]A {
    const batch, const heads, const seq, const size = sizes;
    const flat = try readFloats(A, ctx, ctx.inputs[i].?);
    if (flat.len != batch * heads * seq * size) return ctx.fail("input {d} does not hold the expected {d} values", .{ i, batch * heads * seq * size });
    if (!is_packed) return flat;
    const out = try ctx.alloc(A, flat.len);
    for (0..batch) |b| for (0..seq) |s| for (0..heads) |h| {
        const src = flat[((b * seq + s) * heads + h) * size ..][0..size];
        @memcpy(out[((b * heads + h) * seq + s) * size ..][0..size], src);
    };
    return out;
}

/// The elements of a float tensor converted to A (its byte length checked against its shape).
pub fn readFloats(comptime A: type, ctx: *Context, t: *const Tensor) status.Error![]A {
    inline for (common.float_kinds) |kind| if (t.dtype == kind.dtype) {
        const src = try common.elems(ctx, kind.T, t);
        const out = try ctx.alloc(A, src.len);
        for (out, src) |*o, v| o.* = @floatCast(common.load(kind.T, v));
        return out;
    };
    return ctx.fail("the attention inputs must be float tensors, not {s}", .{@tagName(t.dtype)});
}

/// K (input 1) or V (input 2) as [B, Hkv, past + seq, size], after the cached entries of
/// past_key or past_value (inputs 4 and 5).
fn withPast(comptime A: type, ctx: *Context, d: Dims, i: usize, size: usize) status.Error![]A {
    const fresh = try toHeads(A, ctx, i, .{ d.batch, d.kv_heads, d.kv_seq, size }, d.is_packed);
    const cached = try readFloats(A, ctx, ctx.input(i + 3) orelse return fresh);
    const total = d.total();
    const out = try ctx.alloc(A, d.batch * d.kv_heads * total * size);
    for (0..d.batch * d.kv_heads) |bh| {
        const dst = out[bh * total * size ..][0 .. total * size];
        @memcpy(dst[0 .. d.past * size], cached[bh * d.past * size ..][0 .. d.past * size]);
        @memcpy(dst[d.past * size ..], fresh[bh * d.kv_seq * size ..][0 .. d.kv_seq * size]);
    }
    return out;
}

/// K^T per head: `blocks` matrices [total, size] become [size, total], each value times
/// `root_scale` and rounded to `dtype` as the reference scales K; the SGEMM batch takes B
/// row-major.
pub fn scaledTranspose(comptime A: type, ctx: *Context, blocks: usize, total: usize, size: usize, key: []const A, root_scale: A, dtype: DType) status.Error![]A {
    const out = try ctx.alloc(A, blocks * total * size);
    for (0..blocks) |block| {
        const src = key[block * total * size ..][0 .. total * size];
        const dst = out[block * total * size ..][0 .. total * size];
        for (0..total) |t| for (0..size) |c| {
            dst[c * total + t] = rows.roundTo(A, dtype, src[t * size + c] * root_scale);
        };
    }
    return out;
}

/// For each (batch, query head) product: its Q block, and the key/value block it reads.
pub const Indices = struct { query: []usize, key: []usize };

fn headIndices(ctx: *Context, d: Dims) status.Error!Indices {
    return groupedIndices(ctx, d.batch, d.q_heads, d.kv_heads);
}

/// Query head h of a batch reads key/value head h / (q_heads / kv_heads) of the same batch.
pub fn groupedIndices(ctx: *Context, batch: usize, q_heads: usize, kv_heads: usize) status.Error!Indices {
    const count = batch * q_heads;
    const indices: Indices = .{ .query = try ctx.alloc(usize, count), .key = try ctx.alloc(usize, count) };
    const group = q_heads / kv_heads;
    for (0..count) |i| {
        indices.query[i] = i;
        indices.key[i] = (i / q_heads) * kv_heads + (i % q_heads) / group;
    }
    return indices;
}

pub const Product = struct { m: usize, k: usize, n: usize };

/// c[i] (M x N) = a[query[i]] (M x K) * b[key[i]] (K x N) for every (batch, head).
pub fn products(comptime A: type, ctx: *Context, p: Product, a: []const A, b: []const A, c: []A, indices: Indices) status.Error!void {
    if (c.len == 0) return;
    if (p.k == 0) return @memset(c, 0);
    if (A == f32) {
        const batch: sgemm.Batch = .{
            .m = p.m,
            .n = p.n,
            .k = p.k,
            .a = a,
            .b = b,
            .c = c,
            .a_index = indices.query,
            .b_index = indices.key,
        };
        return batch.run(ctx.pool);
    }
    for (indices.query, indices.key, 0..) |ai, bi, i| {
        const a_block = a[ai * p.m * p.k ..][0 .. p.m * p.k];
        const b_block = b[bi * p.k * p.n ..][0 .. p.k * p.n];
        const c_block = c[i * p.m * p.n ..][0 .. p.m * p.n];
        @memset(c_block, 0);
        for (0..p.m) |r| for (0..p.k) |j| {
            const x = a_block[r * p.k + j];
            for (c_block[r * p.n ..][0..p.n], b_block[j * p.n ..][0..p.n]) |*o, y| o.* += x * y;
        };
    }
}

/// attn_mask, is_causal, the window attributes and nonpad_kv_seqlen, checked and resolved.
fn readBias(comptime A: type, ctx: *Context, d: Dims) status.Error!rows.Bias(A) {
    const has_nonpad = ctx.input(6) != null;
    if (has_nonpad and ctx.input(4) != null) {
        return ctx.fail("nonpad_kv_seqlen cannot be combined with past_key and past_value", .{});
    }
    const offsets = try ctx.alloc(i64, d.batch);
    var bias: rows.Bias(A) = .{ .offsets = offsets };
    bias.causal = ctx.node.attrInt("is_causal", 0) != 0;
    if (ctx.node.opset >= 25) {
        bias.left_window = ctx.node.attrInt("left_window_size", -1);
        bias.right_window = ctx.node.attrInt("right_window_size", -1);
        if (bias.left_window < -1 or bias.right_window < -1) {
            return ctx.fail("window sizes must be -1 or nonnegative, not {d} and {d}", .{ bias.left_window, bias.right_window });
        }
    }
    @memset(offsets, @intCast(d.past));
    if (has_nonpad) {
        const lengths = try common.readInts(ctx, ctx.inputs[6].?, "nonpad_kv_seqlen");
        if (lengths.len != d.batch) {
            return ctx.fail("nonpad_kv_seqlen has {d} values for a batch of {d}", .{ lengths.len, d.batch });
        }
        for (offsets, lengths) |*o, n| o.* = n -| @as(i64, @intCast(d.q_seq));
        bias.nonpad = lengths;
    }
    if (ctx.input(3)) |mask| try readMask(A, ctx, d, mask, &bias);
    return bias;
}

/// attn_mask broadcasts right-aligned to [B, Hq, Sq, total]; a last dim shorter than total
/// masks the keys past it (the reference pads it with -inf).
fn readMask(comptime A: type, ctx: *Context, d: Dims, mask: *const Tensor, bias: *rows.Bias(A)) status.Error!void {
    const rank = mask.shape.len;
    if (rank < 1 or rank > 4) return ctx.fail("attn_mask must have rank 1 to 4, not {d}", .{rank});
    var dims: [4]usize = .{ 1, 1, 1, 1 };
    for (mask.shape, 4 - rank..) |_, axis| dims[axis] = try dimAt(ctx, mask, axis - (4 - rank));
    const target = [_]usize{ d.batch, d.q_heads, d.q_seq };
    for (0..3) |axis| if (dims[axis] != 1 and dims[axis] != target[axis]) {
        return ctx.fail("attn_mask's dim {d} does not broadcast to {d}", .{ dims[axis], target[axis] });
    };
    if (dims[3] > d.total()) {
        return ctx.fail("attn_mask has {d} columns, more than the {d} keys", .{ dims[3], d.total() });
    }
    if (mask.dtype == .bool) {
        const flags = try common.elems(ctx, u8, mask);
        const values = try ctx.alloc(A, flags.len);
        for (values, flags) |*v, f| v.* = if (f != 0) 0 else -std.math.inf(A);
        bias.mask = values;
    } else {
        bias.mask = try readFloats(A, ctx, mask);
    }
    bias.mask_dims = dims;
}

/// Output `i` of `shape`, stored as `dtype` from compute-type values; skipped when not wanted.
pub fn writeOutput(comptime A: type, ctx: *Context, i: usize, dtype: DType, shape: []const usize, values: []const A) status.Error!void {
    if (!ctx.wantsOutput(i)) return;
    var dims: [4]i64 = undefined;
    for (shape, 0..) |s, axis| dims[axis] = @intCast(s);
    const out = try ctx.output(i, dtype, dims[0..shape.len]);
    inline for (common.float_kinds) |kind| if (dtype == kind.dtype) {
        for (out.items(kind.T)[0..values.len], values) |*o, v| o.* = common.store(kind.T, @floatCast(v));
        return;
    };
    return ctx.unsupported(dtype);
}

/// Y is [B, Hq, Sq, Dv] for 4-D inputs and [B, Sq, Hq*Dv] for 3-D ones.
fn writeY(comptime A: type, ctx: *Context, d: Dims, dtype: DType, y: []A) status.Error!void {
    if (!d.is_packed) return writeOutput(A, ctx, 0, dtype, &.{ d.batch, d.q_heads, d.q_seq, d.v_head_size }, y);
    const packed_y = try ctx.alloc(A, y.len);
    const size = d.v_head_size;
    for (0..d.batch) |b| for (0..d.q_heads) |h| for (0..d.q_seq) |s| {
        const src = y[((b * d.q_heads + h) * d.q_seq + s) * size ..][0..size];
        @memcpy(packed_y[((b * d.q_seq + s) * d.q_heads + h) * size ..][0..size], src);
    };
    return writeOutput(A, ctx, 0, dtype, &.{ d.batch, d.q_seq, d.q_heads * size }, packed_y);
}

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .op = "Attention", .run = attention },
};

test {
    _ = rows;
}
