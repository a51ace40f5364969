//! Shape rules for the other transformer building blocks: LinearAttention (opset 27, recurrent
//! state), FlexAttention (ai.onnx.preview, whose modifier subgraphs are inferred here),
//! RotaryEmbedding (opset 23) and SwiGLU (opset 28).
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");
const dims = @import("linalg_dims.zig");

const Context = context.Context;
const Dim = ir.Dim;
const DType = ir.DType;

/// Which of decay (input 4) and beta (input 5) each update rule needs; the others forbid them.
const UpdateRule = struct { name: []const u8, decay: bool, beta: bool };
const update_rules = [_]UpdateRule{
    .{ .name = "linear", .decay = false, .beta = false },
    .{ .name = "gated", .decay = true, .beta = false },
    .{ .name = "delta", .decay = false, .beta = true },
    .{ .name = "gated_delta", .decay = true, .beta = true },
};

/// LinearAttention(query [B, T, Hq*Dk], key [B, T, Hkv*Dk], value [B, T, Hkv*Dv],
/// past_state? [B, Hkv, Dk, Dv], decay?, beta?) -> (output [B, T, Hq*Dv], present_state).
fn linearAttention(ctx: *Context) status.Error!void {
    for (0..3) |i| _ = try ctx.require(i);
    const dtype = try dims.sameDType(ctx, &.{ 0, 1, 2, 4, 5 });
    const q_heads = try dims.positiveAttr(ctx, "q_num_heads");
    const kv_heads = try dims.positiveAttr(ctx, "kv_num_heads");
    try dims.checkGroups(ctx, q_heads, kv_heads);
    try checkUpdateRule(ctx);
    var batch: ?Dim = null;
    var steps: ?Dim = null;
    var key_size: ?Dim = null;
    var value_size: ?Dim = null;
    // (input, head count packed into its last dim; 0: decay and beta, whose last dim varies)
    const packed_inputs = [_]struct { usize, i64 }{
        .{ 0, q_heads }, .{ 1, kv_heads }, .{ 2, kv_heads }, .{ 4, 0 }, .{ 5, 0 },
    };
    for (packed_inputs) |item| {
        const i, const count = item;
        const s = try dims.shapeOfRank(ctx, i, 3, "query, key, value, decay and beta") orelse continue;
        batch = try dims.unifyMaybe(ctx, batch, s[0], "batch sizes");
        steps = try dims.unifyMaybe(ctx, steps, s[1], "sequence lengths");
        if (count == 0) continue;
        const size = try dims.divExact(ctx, s[2], count, "packed last dim over its head count");
        if (i == 2) value_size = size else key_size = try dims.unifyMaybe(ctx, key_size, size, "key head sizes");
    }
    const heads = try ctx.dim(kv_heads);
    if (ctx.hasInput(3)) if (try dims.shapeOfRank(ctx, 3, 4, "past_state")) |s| {
        batch = try dims.unifyMaybe(ctx, batch, s[0], "past_state's batch size");
        _ = try dims.unify(ctx, heads, s[1], "past_state's head count");
        key_size = try dims.unifyMaybe(ctx, key_size, s[2], "past_state's key size");
        value_size = try dims.unifyMaybe(ctx, value_size, s[3], "past_state's value size");
    };
    try checkGates(ctx, kv_heads, key_size);
    const b = batch orelse try ctx.freshDim("batch");
    const dk = key_size orelse try ctx.freshDim("key_size");
    const dv = value_size orelse try ctx.freshDim("value_size");
    const t = steps orelse try ctx.freshDim("sequence");
    try ctx.setOutput(0, dtype, try dims.shapeOf(ctx, .{ b, t, try dims.times(ctx, dv, q_heads) }));
    // Without past_state nothing names the state type S: it falls back to the query's type.
    const state_dtype = if (ctx.hasInput(3)) ctx.dtype(3) else dtype;
    try ctx.setOutput(1, state_dtype, try dims.shapeOf(ctx, .{ b, heads, dk, dv }));
}

fn checkUpdateRule(ctx: *Context) status.Error!void {
    const name = ctx.attrString("update_rule", "gated_delta");
    for (update_rules) |rule| {
        if (!std.mem.eql(u8, rule.name, name)) continue;
        if (rule.decay != ctx.hasInput(4)) return ctx.fail("update_rule '{s}' {s} decay", .{ name, needs(rule.decay) });
        if (rule.beta != ctx.hasInput(5)) return ctx.fail("update_rule '{s}' {s} beta", .{ name, needs(rule.beta) });
        return;
    }
    return ctx.fail("unknown update_rule '{s}'", .{name});
}

fn needs(required: bool) []const u8 {
    return if (required) "requires" else "forbids";
}

/// decay's last dim is Hkv (per head) or Hkv*Dk (per key dim); beta's is 1 or Hkv.
fn checkGates(ctx: *Context, kv_heads: i64, key_size: ?Dim) status.Error!void {
    if (ctx.hasInput(4)) if (ctx.shape(4)) |s| if (ctx.pool.value(s[2])) |last| {
        const dk = if (key_size) |d| ctx.pool.value(d) else null;
        const per_dim = if (dk) |v| std.math.mul(i64, v, kv_heads) catch null else null;
        const ok = last == kv_heads or (if (per_dim) |p| last == p else @mod(last, kv_heads) == 0);
        if (!ok) return ctx.fail("decay's last dim {d} is neither kv_num_heads nor kv_num_heads * d_k", .{last});
    };
    if (ctx.hasInput(5)) if (ctx.shape(5)) |s| if (ctx.pool.value(s[2])) |last| {
        if (last != 1 and last != kv_heads) {
            return ctx.fail("beta's last dim {d} is neither 1 nor kv_num_heads", .{last});
        }
    };
}

/// FlexAttention(Q [B, Hq, L, D], K [B, Hkv, S, D], V [B, Hkv, S, Dv]) -> Y [B, Hq, L, Dv].
fn flexAttention(ctx: *Context) status.Error!void {
    for (0..3) |i| _ = try ctx.require(i);
    const dtype = try dims.sameDType(ctx, &.{ 0, 1, 2 });
    const q = try dims.shapeOfRank(ctx, 0, 4, "Q");
    const k = try dims.shapeOfRank(ctx, 1, 4, "K");
    const v = try dims.shapeOfRank(ctx, 2, 4, "V");
    var scores: ?[]const Dim = null;
    var y: ?[]const Dim = null;
    if (q != null and k != null and v != null) {
        const kv_heads = try dims.unify(ctx, k.?[1], v.?[1], "head counts of K and V");
        const s = try dims.unify(ctx, k.?[2], v.?[2], "sequence lengths of K and V");
        _ = try dims.unify(ctx, q.?[3], k.?[3], "head sizes of Q and K");
        const qh = ctx.pool.value(q.?[1]);
        const kvh = ctx.pool.value(kv_heads);
        if (qh != null and kvh != null and qh.? != kvh.? and (kvh.? <= 0 or @mod(qh.?, kvh.?) != 0)) {
            return ctx.fail("Q's {d} heads are not a multiple of K's {d}", .{ qh.?, kvh.? });
        }
        const batch = try dims.unifyAll(ctx, &.{ q.?[0], k.?[0], v.?[0] }, "batch sizes of Q, K and V");
        scores = try dims.shapeOf(ctx, .{ batch, q.?[1], q.?[2], s });
        y = try dims.shapeOf(ctx, .{ batch, q.?[1], q.?[2], v.?[3] });
    }
    try inferModifiers(ctx, dtype, scores);
    try ctx.setOutput(0, dtype, y);
}

/// score_mod and prob_mod take and return one rank-4 tensor of the softmax precision: the
/// `softmax_precision` attribute, else float64 for float64 inputs and float32 otherwise.
fn inferModifiers(ctx: *Context, dtype: ?DType, scores: ?[]const Dim) status.Error!void {
    var precision = try dims.dtypeAttr(ctx, "softmax_precision");
    if (precision == null) if (dtype) |d| {
        precision = if (d == .float64) .float64 else .float32;
    };
    if (precision) |p| switch (p) {
        .float32, .float16, .bfloat16, .float64 => {},
        else => return ctx.fail("softmax_precision cannot be {s}", .{@tagName(p)}),
    };
    inline for ([_][]const u8{ "score_mod", "prob_mod" }) |name| {
        if (ctx.attribute(name) != null) try checkModifier(ctx, name, precision, scores);
    }
}

/// score_mod or prob_mod: a graph from one rank-4 tensor to one of the same element type.
fn checkModifier(ctx: *Context, comptime name: []const u8, precision: ?DType, scores: ?[]const Dim) status.Error!void {
    const graph = ctx.attrGraph(name) orelse return ctx.fail("attribute {s} must be a graph", .{name});
    if (graph.inputs.len != 1 or graph.outputs.len != 1) {
        const counts = .{ name, graph.inputs.len, graph.outputs.len };
        return ctx.fail("{s} must have one input and one output, not {d} and {d}", counts);
    }
    try ctx.inferSubgraph(graph, &.{.{ .kind = .tensor, .dtype = precision, .shape = scores }});
    const out = graph.value(graph.outputs[0]).type;
    if (out.rank()) |r| if (r != 4) return ctx.fail("{s} must return a rank-4 tensor, not rank {d}", .{ name, r });
    if (out.dtype != null and precision != null and out.dtype.? != precision.?) {
        return ctx.fail("{s} must return {s}, not {s}", .{ name, @tagName(precision.?), @tagName(out.dtype.?) });
    }
}

/// RotaryEmbedding(X [B, H, S, D] or [B, S, H*D], cos_cache, sin_cache, position_ids?) -> Y like X.
/// With position_ids [B, S] the caches are [max_position, R/2], else [B, S, R/2], where R is
/// rotary_embedding_dim (0: the head size).
fn rotaryEmbedding(ctx: *Context) status.Error!void {
    for (0..3) |i| _ = try ctx.require(i);
    _ = try dims.sameDType(ctx, &.{ 0, 1, 2 });
    try dims.expectDType(ctx, 3, &.{.int64}, "position_ids");
    const rotary = ctx.attrInt("rotary_embedding_dim", 0);
    if (rotary < 0) return ctx.fail("rotary_embedding_dim must not be negative, not {d}", .{rotary});
    if (@mod(rotary, 2) != 0) return ctx.fail("rotary_embedding_dim must be even, not {d}", .{rotary});
    const x = try dims.shapeOfRanks(ctx, 0, &.{ 3, 4 }, "X");
    if (x) |s| {
        // num_heads unpacks 3-D input [B, S, H*D]; 4-D input carries its heads.
        const head_size = if (s.len == 4) s[3] else blk: {
            const heads = try dims.positiveAttr(ctx, "num_heads");
            break :blk try dims.divExact(ctx, s[2], heads, "X's last dim / num_heads");
        };
        try checkCaches(ctx, s, head_size, rotary);
    }
    try ctx.passThrough(0, 0);
}

fn checkCaches(ctx: *Context, x: []const Dim, head_size: Dim, rotary: i64) status.Error!void {
    const head = ctx.pool.value(head_size);
    if (rotary > 0 and head != null and rotary > head.?) {
        return ctx.fail("rotary_embedding_dim {d} exceeds the head size {d}", .{ rotary, head.? });
    }
    if (rotary == 0 and head != null and @mod(head.?, 2) != 0) return ctx.fail("the head size {d} is odd", .{head.?});
    const half = if (rotary > 0) try ctx.dim(@divExact(rotary, 2)) else try ctx.pool.div(head_size, try ctx.dim(2));
    const batch = x[0];
    const seq = if (x.len == 4) x[2] else x[1];
    const has_positions = ctx.hasInput(3);
    if (has_positions) if (try dims.shapeOfRank(ctx, 3, 2, "position_ids")) |p| {
        _ = try dims.broadcastDim(ctx, p[0], batch, "position_ids' batch size");
        _ = try dims.broadcastDim(ctx, p[1], seq, "position_ids' sequence length");
    };
    const cache_rank: usize = if (has_positions) 2 else 3;
    for ([_]usize{ 1, 2 }) |i| {
        const c = try dims.shapeOfRank(ctx, i, cache_rank, "cos_cache and sin_cache") orelse continue;
        _ = try dims.unify(ctx, c[c.len - 1], half, "the caches' last dim and half the rotary dim");
        if (has_positions) continue;
        _ = try dims.broadcastDim(ctx, c[0], batch, "the caches' batch size");
        _ = try dims.broadcastDim(ctx, c[1], seq, "the caches' sequence length");
    }
}

/// SwiGLU(A, B) -> Y: A and B have identical shapes (no broadcasting).
fn swiglu(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    const dtype = try dims.sameDType(ctx, &.{ 0, 1 });
    const a = ctx.shape(0);
    const b = ctx.shape(1);
    var shape = a orelse b;
    if (a != null and b != null) {
        if (a.?.len != b.?.len) return ctx.fail("A and B differ in rank: {d} and {d}", .{ a.?.len, b.?.len });
        const merged = try dims.copy(ctx, a.?);
        for (merged, b.?) |*slot, d| slot.* = try dims.unify(ctx, slot.*, d, "dims of A and B");
        shape = merged;
    }
    try ctx.setOutput(0, dtype, shape);
}

pub const rules = [_]registry.Entry{
    .{ .op = "LinearAttention", .rule = linearAttention },
    .{ .domain = "ai.onnx.preview", .op = "FlexAttention", .rule = flexAttention },
    .{ .op = "RotaryEmbedding", .rule = rotaryEmbedding },
    .{ .op = "SwiGLU", .rule = swiglu },
};
