//! Shape rules for reductions (Reduce*, ArgMax/ArgMin), running scans (CumSum, CumProd) and TopK.
//! The rest of this family, the operators that are neither tensor ops, nn, linalg nor control
//! flow, lives beside it and is concatenated into `rules` here: reduce_signal.zig (windows, DFT,
//! STFT, random generators), reduce_text.zig (string ops, TfIdf, training optimizers) and
//! reduce_ml.zig (the ai.onnx.ml domain).
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const symbolic = @import("../symbolic.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");
const util = @import("reduce_util.zig");
const signal = @import("reduce_signal.zig");
const text = @import("reduce_text.zig");
const ml = @import("reduce_ml.zig");

const Context = context.Context;
const Dim = ir.Dim;

/// The opset from which an op reads `axes` from its second input instead of an attribute.
fn axesInputOpset(op: []const u8) i64 {
    return if (std.mem.eql(u8, op, "ReduceSum")) 13 else 18;
}

const Axes = union(enum) {
    /// No axes given: reduce everything, or nothing with noop_with_empty_axes.
    none,
    /// An axes input whose contents are not known before run time.
    unknown,
    list: []const i64,
};

fn reduceAxes(ctx: *Context) status.Error!Axes {
    const from_input = ctx.node.opset >= axesInputOpset(ctx.node.op_type);
    const max_inputs: usize = if (from_input) 2 else 1;
    if (ctx.inputCount() > max_inputs) {
        return ctx.fail("takes at most {d} inputs at opset {d}", .{ max_inputs, ctx.node.opset });
    }
    if (!from_input) {
        const list = ctx.attrInts("axes") orelse return .none;
        return if (list.len == 0) .none else .{ .list = list };
    }
    if (!ctx.hasInput(1)) return .none;
    try util.requireInts(ctx, 1);
    if (ctx.rank(1)) |r| if (r > 1) return ctx.fail("axes must be 1-D, not rank {d}", .{r});
    if (try ctx.elements(1)) |dims| {
        if (dims.len == 0) return .none;
        const out = try ctx.alloc(i64, dims.len);
        for (dims, out) |d, *slot| slot.* = ctx.pool.value(d) orelse return .unknown;
        return .{ .list = out };
    }
    if (ctx.shape(1)) |s| if (s.len == 1 and ctx.pool.value(s[0]) == @as(i64, 0)) return .none;
    return .unknown;
}

/// Reduce*: the reduced axes become 1 (keepdims) or disappear; the element type is kept.
fn reduce(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const dtype = ctx.dtype(0);
    const axes = try reduceAxes(ctx);
    const keep = ctx.attrInt("keepdims", 1) != 0;
    const in_shape = ctx.shape(0) orelse return ctx.setOutput(0, dtype, null);
    const reduced = try ctx.alloc(bool, in_shape.len);
    switch (axes) {
        .unknown => return reduceUnknownAxes(ctx, in_shape, keep),
        .none => {
            const noop = ctx.node.opset >= axesInputOpset(ctx.node.op_type) and
                ctx.attrInt("noop_with_empty_axes", 0) != 0;
            if (noop) return ctx.setOutput(0, dtype, in_shape);
            @memset(reduced, true);
        },
        .list => |list| {
            @memset(reduced, false);
            for (list) |value| {
                const a = try ctx.axis(value, in_shape.len);
                if (reduced[a]) return ctx.fail("axis {d} is listed twice", .{value});
                reduced[a] = true;
            }
        },
    }
    const out = try ctx.alloc(Dim, in_shape.len);
    var n: usize = 0;
    for (in_shape, reduced) |d, r| {
        if (r and !keep) continue;
        out[n] = if (r) try ctx.dim(1) else d;
        n += 1;
    }
    try ctx.setOutput(0, dtype, out[0..n]);
    try reduceElements(ctx, reduced);
}

/// Axes known only at run time: with keepdims each dim is either itself or 1; without, only the
/// rank is known, and only when the number of axes is.
fn reduceUnknownAxes(ctx: *Context, in_shape: []const Dim, keep: bool) status.Error!void {
    const dtype = ctx.dtype(0);
    if (keep) {
        const out = try ctx.alloc(Dim, in_shape.len);
        for (in_shape, out) |d, *slot| {
            slot.* = if (ctx.pool.value(d) == @as(i64, 1)) d else try ctx.freshDim("reduced");
        }
        return ctx.setOutput(0, dtype, out);
    }
    const axes_shape = ctx.shape(1) orelse return ctx.setOutput(0, dtype, null);
    if (axes_shape.len != 1) return ctx.setOutput(0, dtype, null);
    const count = ctx.pool.value(axes_shape[0]) orelse return ctx.setOutput(0, dtype, null);
    if (count < 0 or count > in_shape.len) return ctx.fail("{d} axes for rank {d}", .{ count, in_shape.len });
    const out = try ctx.alloc(Dim, in_shape.len - @as(usize, @intCast(count)));
    for (out) |*slot| slot.* = try ctx.freshDim("reduced");
    try ctx.setOutput(0, dtype, out);
}

/// Sum/Prod/Max/Min of a shape vector (e.g. ReduceProd(Shape(x)) for an element count) stays
/// symbolic, so a Reshape built from it remains exact. One element with or without keepdims.
fn reduceElements(ctx: *Context, reduced: []const bool) status.Error!void {
    if (reduced.len != 1 or !reduced[0]) return;
    const dtype = ctx.dtype(0) orelse return;
    if (dtype != .int64 and dtype != .int32) return;
    const elements = try ctx.elements(0) orelse return;
    if (elements.len == 0 or elements.len > 64) return;
    const Fold = *const fn (*symbolic.Pool, Dim, Dim) status.Error!Dim;
    const folds = std.StaticStringMap(Fold).initComptime(.{
        .{ "ReduceSum", symbolic.Pool.add },
        .{ "ReduceProd", symbolic.Pool.mul },
        .{ "ReduceMax", symbolic.Pool.max },
        .{ "ReduceMin", symbolic.Pool.min },
    });
    const fold = folds.get(ctx.node.op_type) orelse return;
    var result = elements[0];
    for (elements[1..]) |e| result = try fold(ctx.pool, result, e);
    const out = try ctx.alloc(Dim, 1);
    out[0] = result;
    try ctx.setElements(0, out);
}

/// ArgMax/ArgMin: int64 indices, the axis kept as 1 or removed.
fn argReduce(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const in_shape = ctx.shape(0) orelse return ctx.setOutput(0, .int64, null);
    const a = try ctx.axis(ctx.attrInt("axis", 0), in_shape.len);
    const keep = ctx.attrInt("keepdims", 1) != 0;
    const out = try ctx.alloc(Dim, if (keep) in_shape.len else in_shape.len - 1);
    var k: usize = 0;
    for (in_shape, 0..) |d, i| {
        if (i == a) {
            if (!keep) continue;
            out[k] = try ctx.dim(1);
        } else out[k] = d;
        k += 1;
    }
    try ctx.setOutput(0, .int64, out);
}

/// CumSum/CumProd: the input's type; the axis input is a scalar within the rank.
fn cumulative(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    try util.requireInts(ctx, 1);
    if (ctx.shape(1)) |s| {
        const single = s.len == 0 or (s.len == 1 and ctx.pool.value(s[0]) orelse 1 == 1);
        if (!single) return ctx.fail("axis must be a scalar", .{});
    }
    if (ctx.rank(0)) |r| if (try ctx.ints(1)) |values| {
        if (values.len != 1) return ctx.fail("axis must hold one value, not {d}", .{values.len});
        _ = try ctx.axis(values[0], r);
    };
    try ctx.passThrough(0, 0);
}

/// The number of elements TopK keeps: attribute k before opset 10, the K input after.
fn topKCount(ctx: *Context) status.Error!Dim {
    if (ctx.node.opset < 10) {
        const a = ctx.attribute("k") orelse return ctx.fail("needs attribute k", .{});
        if (a.i < 0) return ctx.fail("k is {d}", .{a.i});
        return ctx.dim(a.i);
    }
    try util.requireInts(ctx, 1);
    if (ctx.shape(1)) |s| if (s.len > 1) return ctx.fail("K must be 1-D, not rank {d}", .{s.len});
    const elements = try ctx.elements(1) orelse return ctx.freshDim("topk");
    if (elements.len != 1) return ctx.fail("K must hold one value, not {d}", .{elements.len});
    if (ctx.pool.value(elements[0])) |k| if (k < 0) return ctx.fail("K is {d}", .{k});
    return elements[0];
}

fn topK(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const k = try topKCount(ctx);
    const dtype = ctx.dtype(0);
    const in_shape = ctx.shape(0) orelse {
        try ctx.setOutput(0, dtype, null);
        return ctx.setOutput(1, .int64, null);
    };
    const a = try ctx.axis(ctx.attrInt("axis", -1), in_shape.len);
    if (ctx.pool.value(k)) |kv| if (ctx.pool.value(in_shape[a])) |n| if (kv > n) {
        return ctx.fail("K = {d} exceeds the axis size {d}", .{ kv, n });
    };
    const out = try ctx.alloc(Dim, in_shape.len);
    @memcpy(out, in_shape);
    out[a] = k;
    try ctx.setOutput(0, dtype, out);
    try ctx.setOutput(1, .int64, out);
}

const reduce_ops = [_][]const u8{
    "ReduceL1",   "ReduceL2",  "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
    "ReduceMean", "ReduceMin", "ReduceProd",   "ReduceSum",       "ReduceSumSquare",
};

const own_rules = blk: {
    var list: []const registry.Entry = &.{};
    for (reduce_ops) |op| list = list ++ [_]registry.Entry{.{ .op = op, .rule = reduce }};
    list = list ++ [_]registry.Entry{
        .{ .op = "ArgMax", .rule = argReduce },
        .{ .op = "ArgMin", .rule = argReduce },
        .{ .op = "CumSum", .rule = cumulative },
        .{ .op = "CumProd", .rule = cumulative },
        .{ .op = "TopK", .rule = topK },
    };
    break :blk list;
};

pub const rules = own_rules ++ signal.rules ++ text.rules ++ ml.rules;

test {
    _ = @import("reduce_test.zig");
}
