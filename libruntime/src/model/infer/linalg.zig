//! Shape rules (family: linalg): matrix products (MatMul, MatMulInteger, QLinearMatMul, Gemm), Det,
//! the softmax family and the losses. Einsum, quantization, recurrent and attention operators live
//! in the linalg_*.zig files beside this one; their tables are concatenated into `rules` here.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const common = @import("common.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");
const dims = @import("linalg_dims.zig");

const Context = context.Context;
const Dim = ir.Dim;

/// The numpy matmul shape of inputs `a` and `b`: 1-D operands are promoted (and the added dim
/// dropped again), leading dims broadcast. Null when either rank is unknown.
fn matmulShape(ctx: *Context, a_index: usize, b_index: usize) status.Error!?[]const Dim {
    _ = try ctx.require(a_index);
    _ = try ctx.require(b_index);
    const a = ctx.shape(a_index) orelse return null;
    const b = ctx.shape(b_index) orelse return null;
    if (a.len == 0 or b.len == 0) return ctx.fail("matrix product operands must not be scalars", .{});
    const k_b = if (b.len == 1) b[0] else b[b.len - 2];
    _ = try dims.unify(ctx, a[a.len - 1], k_b, "inner dims of the matrix product");
    const a_batch: []const Dim = if (a.len > 2) a[0 .. a.len - 2] else &.{};
    const b_batch: []const Dim = if (b.len > 2) b[0 .. b.len - 2] else &.{};
    const batch = (try common.broadcast(ctx, &[_]?[]const Dim{ a_batch, b_batch })).?;
    var out: std.ArrayList(Dim) = .empty;
    const extra: usize = @as(usize, @intFromBool(a.len > 1)) + @intFromBool(b.len > 1);
    out.ensureTotalCapacityPrecise(ctx.arena, batch.len + extra) catch return dims.outOfMemory();
    out.appendSliceAssumeCapacity(batch);
    if (a.len > 1) out.appendAssumeCapacity(a[a.len - 2]);
    if (b.len > 1) out.appendAssumeCapacity(b[b.len - 1]);
    return out.items;
}

fn matmul(ctx: *Context) status.Error!void {
    const dtype = try dims.sameDType(ctx, &.{ 0, 1 });
    try ctx.setOutput(0, dtype, try matmulShape(ctx, 0, 1));
}

/// MatMulInteger: 8-bit operands with optional zero points of their own types; int32 result.
fn matmulInteger(ctx: *Context) status.Error!void {
    _ = try dims.sameDType(ctx, &.{ 0, 2 });
    _ = try dims.sameDType(ctx, &.{ 1, 3 });
    try ctx.setOutput(0, .int32, try matmulShape(ctx, 0, 1));
}

/// QLinearMatMul(a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point): the
/// result has y_zero_point's type.
fn qlinearMatmul(ctx: *Context) status.Error!void {
    for (0..8) |i| _ = try ctx.require(i);
    _ = try dims.sameDType(ctx, &.{ 0, 2 });
    _ = try dims.sameDType(ctx, &.{ 3, 5 });
    try ctx.setOutput(0, ctx.dtype(7), try matmulShape(ctx, 0, 3));
}

/// Gemm: Y[M, N] = alpha * A' B' + beta * C, where C broadcasts to [M, N] (unidirectionally).
fn gemm(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    if (ctx.node.opset < 11) _ = try ctx.require(2);
    const dtype = try dims.sameDType(ctx, &.{ 0, 1, 2 });
    const trans_a = ctx.attrInt("transA", 0) != 0;
    const trans_b = ctx.attrInt("transB", 0) != 0;
    const a = try dims.shapeOfRank(ctx, 0, 2, "A");
    const b = try dims.shapeOfRank(ctx, 1, 2, "B");
    const m = if (a) |s| s[@intFromBool(trans_a)] else try ctx.freshDim("gemm_m");
    const n = if (b) |s| s[@intFromBool(!trans_b)] else try ctx.freshDim("gemm_n");
    if (a != null and b != null) {
        _ = try dims.unify(ctx, a.?[@intFromBool(!trans_a)], b.?[@intFromBool(trans_b)], "inner dims of Gemm");
    }
    if (ctx.shape(2)) |c| try checkBias(ctx, c, m, n);
    try ctx.setOutput(0, dtype, try dims.shapeOf(ctx, .{ m, n }));
}

/// C broadcasts to [M, N] unidirectionally; before opset 7 only with `broadcast` set, and is
/// exactly [M, N] otherwise.
fn checkBias(ctx: *Context, c: []const Dim, m: Dim, n: Dim) status.Error!void {
    const target = [2]Dim{ m, n };
    if (ctx.node.opset < 7 and ctx.attrInt("broadcast", 0) == 0) {
        if (c.len != 2) return ctx.fail("C must be [M, N] without broadcast, not rank {d}", .{c.len});
        for (c, target) |cd, td| _ = try dims.unify(ctx, cd, td, "C and [M, N]");
        return;
    }
    if (c.len > 2) return ctx.fail("C must have rank at most 2, not {d}", .{c.len});
    for (c, target[2 - c.len ..]) |cd, td| {
        const v = ctx.pool.value(cd);
        const t = ctx.pool.value(td);
        if (v != null and v.? != 1 and t != null and v.? != t.?) {
            return ctx.fail("C cannot broadcast to [M, N]: dim {d} is not {d}", .{ v.?, t.? });
        }
    }
}

/// Det: [*, M, M] -> [*].
fn det(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const x = ctx.shape(0) orelse return ctx.setOutput(0, ctx.dtype(0), null);
    if (x.len < 2) return ctx.fail("input must have rank at least 2, not {d}", .{x.len});
    _ = try dims.unify(ctx, x[x.len - 2], x[x.len - 1], "Det needs square matrices");
    try ctx.setOutput(0, ctx.dtype(0), x[0 .. x.len - 2]);
}

/// Softmax, LogSoftmax, Hardmax: same type and shape as the input. The axis default changed
/// from 1 (coercion to 2-D) to -1 at opset 13; opset 1 did not bound it.
fn softmaxFamily(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    if (ctx.shape(0)) |x| {
        const default: i64 = if (ctx.node.opset >= 13) -1 else 1;
        const axis = ctx.attrInt("axis", default);
        if (ctx.node.opset >= 11) {
            if (x.len == 0) return ctx.fail("input must have rank at least 1", .{});
            _ = try ctx.axis(axis, x.len);
        } else {
            const r: i64 = @intCast(x.len);
            if (axis < -r or axis > r) return ctx.fail("axis {d} is out of range for rank {d}", .{ axis, x.len });
        }
    }
    try ctx.passThrough(0, 0);
}

/// NegativeLogLikelihoodLoss(input [N, C, d...], target [N, d...], weight [C]?) and
/// SoftmaxCrossEntropyLoss(scores, labels, weights?) -> loss, plus log_prob (scores' type).
fn loss(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    const reduction = ctx.attrString("reduction", "mean");
    const reduce = !std.mem.eql(u8, reduction, "none");
    if (reduce and !std.mem.eql(u8, reduction, "mean") and !std.mem.eql(u8, reduction, "sum")) {
        return ctx.fail("reduction must be none, sum or mean, not '{s}'", .{reduction});
    }
    try dims.expectDType(ctx, 1, &.{ .int32, .int64 }, "the target");
    _ = try dims.sameDType(ctx, &.{ 0, 2 });
    const target = try lossTarget(ctx);
    const empty: []const Dim = &.{};
    try ctx.setOutput(0, ctx.dtype(0), if (reduce) empty else target);
    try ctx.passThrough(1, 0);
}

/// The target's shape [N, d...], checked against the scores [N, C, d...] and the weight [C].
fn lossTarget(ctx: *Context) status.Error!?[]const Dim {
    const scores = ctx.shape(0);
    const labels = ctx.shape(1);
    var class: ?Dim = null;
    if (scores) |s| {
        if (s.len < 2) return ctx.fail("the scores must have rank at least 2, not {d}", .{s.len});
        class = s[1];
    }
    if (ctx.hasInput(2)) if (try dims.shapeOfRank(ctx, 2, 1, "the weight")) |w| {
        _ = try dims.unifyMaybe(ctx, class, w[0], "the weight's length and the class count");
    };
    const s = scores orelse return labels;
    const out = try ctx.alloc(Dim, s.len - 1);
    out[0] = s[0];
    @memcpy(out[1..], s[2..]);
    const l = labels orelse return out;
    if (l.len != out.len) return ctx.fail("the target must have rank {d}, not {d}", .{ out.len, l.len });
    for (out, l) |*slot, d| slot.* = try dims.unify(ctx, slot.*, d, "target and scores dims");
    return out;
}

fn entry(comptime op: []const u8, rule: context.Rule) registry.Entry {
    return .{ .op = op, .rule = rule };
}

const own = [_]registry.Entry{
    entry("MatMul", matmul),
    entry("MatMulInteger", matmulInteger),
    entry("QLinearMatMul", qlinearMatmul),
    entry("Gemm", gemm),
    entry("Det", det),
    entry("Softmax", softmaxFamily),
    entry("LogSoftmax", softmaxFamily),
    entry("Hardmax", softmaxFamily),
    entry("NegativeLogLikelihoodLoss", loss),
    entry("SoftmaxCrossEntropyLoss", loss),
};

pub const rules = own ++ @import("linalg_einsum.zig").rules ++ @import("linalg_quant.zig").rules ++
    @import("linalg_recurrent.zig").rules ++ @import("linalg_attention.zig").rules;

test {
    _ = @import("linalg_test.zig");
}
