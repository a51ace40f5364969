//! FlexAttention (ai.onnx.preview): softmax(Q*K^T * scale) * V over 4-D inputs
//! ([B, heads, seq, size], grouped key/value heads), where the scores may pass through the
//! `score_mod` subgraph before the softmax and the probabilities through `prob_mod` after it.
//! Both subgraphs see one [B, Hq, L, S] tensor of the softmax precision (the attribute, else
//! float32, or float64 for float64 inputs). Shares the batched products of linalg_attention.zig.
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");
const common = @import("linalg_common.zig");
const attention = @import("linalg_attention.zig");
const util = @import("control_util.zig");

const Context = kernel.Context;
const Tensor = kernel.Tensor;
const DType = kernel.DType;

const Dims = struct {
    batch: usize,
    q_heads: usize,
    kv_heads: usize,
    q_seq: usize,
    kv_seq: usize,
    head_size: usize,
    v_head_size: usize,
};

fn flexAttention(ctx: *Context) status.Error!void {
    const d = try readDims(ctx);
    const q_dtype = ctx.inputs[0].?.dtype;
    const precision = try softmaxPrecision(ctx, q_dtype);
    return if (precision == .float64) compute(f64, ctx, d, precision) else compute(f32, ctx, d, precision);
}

fn dimAt(ctx: *Context, t: *const Tensor, axis: usize) status.Error!usize {
    const v = t.shape[axis];
    if (v < 0) return ctx.fail("negative dim {d}", .{v});
    return @intCast(v);
}

fn readDims(ctx: *Context) status.Error!Dims {
    const q = try ctx.require(0);
    const k = try ctx.require(1);
    const v = try ctx.require(2);
    if (q.shape.len != 4 or k.shape.len != 4 or v.shape.len != 4) {
        return ctx.fail("Q, K and V must have rank 4, not {d}, {d} and {d}", .{ q.shape.len, k.shape.len, v.shape.len });
    }
    const d: Dims = .{
        .batch = try dimAt(ctx, q, 0),
        .q_heads = try dimAt(ctx, q, 1),
        .kv_heads = try dimAt(ctx, k, 1),
        .q_seq = try dimAt(ctx, q, 2),
        .kv_seq = try dimAt(ctx, k, 2),
        .head_size = try dimAt(ctx, q, 3),
        .v_head_size = try dimAt(ctx, v, 3),
    };
    if (try dimAt(ctx, k, 0) != d.batch or try dimAt(ctx, v, 0) != d.batch) return ctx.fail("Q, K and V must share the batch size", .{});
    if (try dimAt(ctx, v, 1) != d.kv_heads) return ctx.fail("K and V must have the same number of heads", .{});
    if (try dimAt(ctx, v, 2) != d.kv_seq) return ctx.fail("K and V must have the same sequence length", .{});
    if (try dimAt(ctx, k, 3) != d.head_size) return ctx.fail("Q and K must have the same head size", .{});
    if (d.kv_heads == 0 or d.q_heads % d.kv_heads != 0) {
        return ctx.fail("Q's {d} heads are not a multiple of K's {d}", .{ d.q_heads, d.kv_heads });
    }
    var n: usize = d.batch;
    for ([_]usize{ d.q_heads, d.q_seq, @max(d.kv_seq, d.head_size, d.v_head_size) }) |s| {
        n = std.math.mul(usize, n, s) catch return ctx.fail("the attention tensors are too large", .{});
    }
    return d;
}

/// The type the softmax and the modifier subgraphs work in.
fn softmaxPrecision(ctx: *Context, q_dtype: DType) status.Error!DType {
    const raw = ctx.node.attrInt("softmax_precision", 0);
    if (raw == 0) return if (q_dtype == .float64) .float64 else .float32;
    for ([_]DType{ .float32, .float16, .bfloat16, .float64 }) |t| if (raw == @intFromEnum(t)) return t;
    return ctx.fail("softmax_precision must be float, float16, bfloat16 or double, not type {d}", .{raw});
}

fn compute(comptime A: type, ctx: *Context, d: Dims, precision: DType) status.Error!void {
    const q_dtype = ctx.inputs[0].?.dtype;
    // The reference takes the square root in float32, then rounds it to Q's type.
    const scale: f32 = if (ctx.node.has("scale"))
        ctx.node.attrFloat("scale", 1)
    else
        @floatCast(1 / @sqrt(@as(f64, @floatFromInt(@max(d.head_size, 1)))));
    const root_scale = attention.roundTo(A, q_dtype, @floatCast(@sqrt(scale)));
    const q = try attention.readFloats(A, ctx, ctx.inputs[0].?);
    for (q) |*v| v.* = attention.roundTo(A, q_dtype, v.* * root_scale);
    const key = try attention.readFloats(A, ctx, ctx.inputs[1].?);
    const key_t = try attention.scaledTranspose(A, ctx, d.batch * d.kv_heads, d.kv_seq, d.head_size, key, root_scale, q_dtype);
    const indices = try attention.groupedIndices(ctx, d.batch, d.q_heads, d.kv_heads);
    var scores = try ctx.alloc(A, d.batch * d.q_heads * d.q_seq * d.kv_seq);
    try attention.products(A, ctx, .{ .m = d.q_seq, .k = d.head_size, .n = d.kv_seq }, q, key_t, scores, indices);
    for (scores) |*v| v.* = attention.roundTo(A, precision, v.*);
    const shape = [_]i64{ @intCast(d.batch), @intCast(d.q_heads), @intCast(d.q_seq), @intCast(d.kv_seq) };
    scores = try modify(A, ctx, "score_mod", precision, &shape, scores);
    if (d.kv_seq > 0) {
        var row: usize = 0;
        while (row < scores.len) : (row += d.kv_seq) softmax(A, scores[row..][0..d.kv_seq]);
    }
    scores = try modify(A, ctx, "prob_mod", precision, &shape, scores);
    try ctx.checkStop();
    const value = try attention.readFloats(A, ctx, ctx.inputs[2].?);
    for (value) |*v| v.* = attention.roundTo(A, precision, v.*);
    const y = try ctx.alloc(A, d.batch * d.q_heads * d.q_seq * d.v_head_size);
    try attention.products(A, ctx, .{ .m = d.q_seq, .k = d.kv_seq, .n = d.v_head_size }, scores, value, y, indices);
    const y_shape = [_]usize{ d.batch, d.q_heads, d.q_seq, d.v_head_size };
    try attention.writeOutput(A, ctx, 0, ctx.inputs[2].?.dtype, &y_shape, y);
}

/// Runs the modifier subgraph `name` (when the node has one) on `values`, which it replaces.
fn modify(comptime A: type, ctx: *Context, comptime name: []const u8, precision: DType, shape: []const i64, values: []A) status.Error![]A {
    if (!ctx.node.has(name)) return values;
    const graph = try util.graphAttribute(ctx, name);
    if (graph.inputs.len != 1 or graph.outputs.len != 1) {
        return ctx.fail(name ++ " must have one input and one output, not {d} and {d}", .{ graph.inputs.len, graph.outputs.len });
    }
    const input = try util.newTensor(ctx, precision, shape);
    inline for (common.float_kinds) |kind| if (precision == kind.dtype) {
        for (input.items(kind.T)[0..values.len], values) |*o, v| o.* = common.store(kind.T, @floatCast(v));
    };
    const results = try ctx.runSubgraph(graph, &.{input});
    if (results.len != 1) return ctx.fail(name ++ " gave {d} outputs, not 1", .{results.len});
    const result = results[0];
    if (!std.mem.eql(i64, result.shape, shape)) return ctx.fail(name ++ " must keep the shape of its input", .{});
    return attention.readFloats(A, ctx, result);
}

/// A plain softmax, as the reference takes it: a row of -inf gives NaN.
fn softmax(comptime A: type, x: []A) void {
    var max: A = -std.math.inf(A);
    for (x) |v| max = @max(max, v);
    var sum: A = 0;
    for (x) |*v| {
        v.* = @exp(v.* - max);
        sum += v.*;
    }
    for (x) |*v| v.* /= sum;
}

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .domain = "ai.onnx.preview", .op = "FlexAttention", .run = flexAttention },
};
