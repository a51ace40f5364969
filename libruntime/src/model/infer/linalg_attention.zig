//! Shape rules for attention operators: Attention (opset 23+, 3-D packed or 4-D inputs, KV cache),
//! LinearAttention, FlexAttention (ai.onnx.preview, with score/prob modifier subgraphs), and the
//! helpers models pair with them: RotaryEmbedding and SwiGLU.
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");
const dims = @import("linalg_dims.zig");

const Context = context.Context;
const Dim = ir.Dim;
const DType = ir.DType;

/// The logical sizes of one Attention node, with K and V unpacked to [B, heads, seq, head_size].
const Heads = struct {
    batch: Dim,
    q_heads: Dim,
    q_seq: Dim,
    kv_heads: Dim,
    kv_seq: Dim,
    head_size: Dim,
    v_head_size: Dim,
};

fn attention(ctx: *Context) status.Error!void {
    for (0..3) |i| _ = try ctx.require(i);
    const dtype = try dims.sameDType(ctx, &.{ 0, 1, 4 });
    const v_dtype = try dims.sameDType(ctx, &.{ 2, 5 });
    try checkAttentionOptions(ctx);
    const rank = try attentionRank(ctx);
    const heads: ?Heads = if (rank) |r| (if (r == 3) try packedHeads(ctx) else try unpackedHeads(ctx)) else null;
    var y: ?[]const Dim = null;
    var present_key: ?[]const Dim = null;
    var present_value: ?[]const Dim = null;
    var qk: ?[]const Dim = null;
    if (heads) |h| {
        y = if (rank.? == 3)
            try dims.shapeOf(ctx, .{ h.batch, h.q_seq, try ctx.pool.mul(h.q_heads, h.v_head_size) })
        else
            try dims.shapeOf(ctx, .{ h.batch, h.q_heads, h.q_seq, h.v_head_size });
        if (try totalSequence(ctx, h)) |total| {
            present_key = try dims.shapeOf(ctx, .{ h.batch, h.kv_heads, total, h.head_size });
            present_value = try dims.shapeOf(ctx, .{ h.batch, h.kv_heads, total, h.v_head_size });
            qk = try dims.shapeOf(ctx, .{ h.batch, h.q_heads, h.q_seq, total });
        }
    }
    try ctx.setOutput(0, dtype, y);
    try ctx.setOutput(1, dtype, present_key);
    try ctx.setOutput(2, v_dtype, present_value);
    try ctx.setOutput(3, dtype, qk);
}

/// The pairing rules of the cache inputs and outputs, and the window attributes (opset 25).
fn checkAttentionOptions(ctx: *Context) status.Error!void {
    const has_past = ctx.hasInput(4);
    if (has_past != ctx.hasInput(5)) return ctx.fail("past_key and past_value must be given together", .{});
    const has_present = ctx.output(1) != null;
    if (has_present != (ctx.output(2) != null)) {
        return ctx.fail("present_key and present_value must be requested together", .{});
    }
    if (ctx.node.opset < 25) return;
    if (ctx.hasInput(6) and (has_past or has_present)) {
        return ctx.fail("nonpad_kv_seqlen cannot be combined with past or present key/value", .{});
    }
    inline for ([_][]const u8{ "left_window_size", "right_window_size" }) |name| {
        const size = ctx.attrInt(name, -1);
        if (size < -1) return ctx.fail("{s} must be -1 or nonnegative, not {d}", .{ name, size });
    }
}

/// 3 or 4, shared by Q, K and V; null when any of them is unknown.
fn attentionRank(ctx: *Context) status.Error!?usize {
    const ranks = [_]usize{ 3, 4 };
    const q = try dims.shapeOfRanks(ctx, 0, &ranks, "Q");
    const k = try dims.shapeOfRanks(ctx, 1, &ranks, "K");
    const v = try dims.shapeOfRanks(ctx, 2, &ranks, "V");
    if (ctx.hasInput(3)) if (ctx.shape(3)) |m| {
        if (m.len > 4) return ctx.fail("attn_mask must have rank at most 4, not {d}", .{m.len});
    };
    if (q == null or k == null or v == null) return null;
    if (q.?.len != k.?.len or q.?.len != v.?.len) {
        return ctx.fail("Q, K and V must have the same rank, not {d}, {d} and {d}", .{ q.?.len, k.?.len, v.?.len });
    }
    return q.?.len;
}

/// 3-D inputs pack the heads into the last dim: Q [B, Sq, Hq*D], K [B, Skv, Hkv*D], V [B, Skv, Hkv*Dv].
fn packedHeads(ctx: *Context) status.Error!Heads {
    const q_count = try dims.positiveAttr(ctx, "q_num_heads");
    const kv_count = try dims.positiveAttr(ctx, "kv_num_heads");
    try dims.checkGroups(ctx, q_count, kv_count);
    const q = ctx.shape(0).?;
    const k = ctx.shape(1).?;
    const v = ctx.shape(2).?;
    const head_size = try dims.divExact(ctx, q[2], q_count, "Q's hidden size over q_num_heads");
    const k_head_size = try dims.divExact(ctx, k[2], kv_count, "K's hidden size over kv_num_heads");
    return .{
        .batch = try dims.unifyAll(ctx, &.{ q[0], k[0], v[0] }, "batch sizes of Q, K and V"),
        .q_heads = try ctx.dim(q_count),
        .q_seq = q[1],
        .kv_heads = try ctx.dim(kv_count),
        .kv_seq = try dims.unify(ctx, k[1], v[1], "sequence lengths of K and V"),
        .head_size = try dims.unify(ctx, head_size, k_head_size, "head sizes of Q and K"),
        .v_head_size = try dims.divExact(ctx, v[2], kv_count, "V's hidden size over kv_num_heads"),
    };
}

/// 4-D inputs: Q [B, Hq, Sq, D], K [B, Hkv, Skv, D], V [B, Hkv, Skv, Dv].
fn unpackedHeads(ctx: *Context) status.Error!Heads {
    if (ctx.node.opset >= 25 and (ctx.attribute("q_num_heads") != null or ctx.attribute("kv_num_heads") != null)) {
        return ctx.fail("q_num_heads and kv_num_heads must not be set for 4-D inputs", .{});
    }
    const q = ctx.shape(0).?;
    const k = ctx.shape(1).?;
    const v = ctx.shape(2).?;
    const kv_heads = try dims.unify(ctx, k[1], v[1], "head counts of K and V");
    const qh = ctx.pool.value(q[1]);
    const kvh = ctx.pool.value(kv_heads);
    if (qh != null and kvh != null and (kvh.? <= 0 or @mod(qh.?, kvh.?) != 0)) {
        return ctx.fail("Q's {d} heads are not a multiple of K's {d}", .{ qh.?, kvh.? });
    }
    return .{
        .batch = try dims.unifyAll(ctx, &.{ q[0], k[0], v[0] }, "batch sizes of Q, K and V"),
        .q_heads = q[1],
        .q_seq = q[2],
        .kv_heads = kv_heads,
        .kv_seq = try dims.unify(ctx, k[2], v[2], "sequence lengths of K and V"),
        .head_size = try dims.unify(ctx, q[3], k[3], "head sizes of Q and K"),
        .v_head_size = v[3],
    };
}

/// The key length after the cache: past [B, Hkv, P, D] + K's length; null if past is unknown.
fn totalSequence(ctx: *Context, h: Heads) status.Error!?Dim {
    if (!ctx.hasInput(4)) return h.kv_seq;
    const past_key = try dims.shapeOfRank(ctx, 4, 4, "past_key") orelse return null;
    const past_value = try dims.shapeOfRank(ctx, 5, 4, "past_value") orelse return null;
    _ = try dims.unifyAll(ctx, &.{ h.batch, past_key[0], past_value[0] }, "batch sizes of the cache");
    _ = try dims.unifyAll(ctx, &.{ h.kv_heads, past_key[1], past_value[1] }, "head counts of the cache");
    _ = try dims.unify(ctx, past_key[3], h.head_size, "past_key's head size");
    _ = try dims.unify(ctx, past_value[3], h.v_head_size, "past_value's head size");
    const past = try dims.unify(ctx, past_key[2], past_value[2], "past sequence lengths");
    return try ctx.pool.add(past, h.kv_seq);
}

pub const rules = [_]registry.Entry{
    .{ .op = "Attention", .rule = attention },
} ++ @import("linalg_transformer.zig").rules;
