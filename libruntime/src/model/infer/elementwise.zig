//! Shape rules for elementwise operators: unary math and activations, broadcasting binary
//! arithmetic, comparisons and logic (bool results), variadic Sum/Mean/Max/Min, Where and Clip.
//! Integer arithmetic on shape vectors is also evaluated symbolically, so Reshape targets computed
//! from Shape stay exact on dynamic models.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const common = @import("common.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");

const Context = context.Context;
const Dim = ir.Dim;

/// Output 0 has input 0's type and shape.
fn sameAsInput(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    try ctx.passThrough(0, 0);
}

/// Output 0 has input 0's shape, as bool (IsNaN, IsInf).
fn boolOfInput(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    try ctx.setOutput(0, .bool, ctx.shape(0));
}

fn broadcastShapes(ctx: *Context, first: usize, last: usize) status.Error!?[]const Dim {
    var shapes: [8]?[]const Dim = undefined;
    if (last - first > shapes.len) return ctx.fail("too many inputs ({d})", .{last - first});
    for (first..last) |i| {
        _ = try ctx.require(i);
        shapes[i - first] = ctx.shape(i);
    }
    return common.broadcast(ctx, shapes[0 .. last - first]);
}

fn checkSameTypes(ctx: *Context, first: usize, last: usize) status.Error!?ir.DType {
    var seen: ?ir.DType = null;
    for (first..last) |i| {
        const d = ctx.dtype(i) orelse continue;
        if (seen) |s| if (s != d) return ctx.fail("inputs mix {s} and {s}", .{ @tagName(s), @tagName(d) });
        seen = d;
    }
    return seen;
}

/// Broadcasting binary arithmetic: the output has the inputs' element type.
fn arithmetic(ctx: *Context) status.Error!void {
    const dtype = try checkSameTypes(ctx, 0, 2);
    try ctx.setOutput(0, dtype, try broadcastShapes(ctx, 0, 2));
    try propagate(ctx);
}

/// Pow and BitShift-like ops whose second input may have another type: output follows input 0.
fn firstTyped(ctx: *Context) status.Error!void {
    try ctx.setOutput(0, ctx.dtype(0), try broadcastShapes(ctx, 0, 2));
}

/// Comparisons and logic: broadcasting, bool result.
fn predicate(ctx: *Context) status.Error!void {
    _ = try checkSameTypes(ctx, 0, 2);
    try ctx.setOutput(0, .bool, try broadcastShapes(ctx, 0, 2));
}

/// Sum, Mean, Max, Min over any number of broadcasting inputs.
fn variadic(ctx: *Context) status.Error!void {
    if (ctx.inputCount() == 0) return ctx.fail("needs at least one input", .{});
    const dtype = try checkSameTypes(ctx, 0, ctx.inputCount());
    try ctx.setOutput(0, dtype, try broadcastShapes(ctx, 0, ctx.inputCount()));
    if (ctx.inputCount() == 2) try propagate(ctx);
}

fn where(ctx: *Context) status.Error!void {
    if (ctx.dtype(0)) |d| if (d != .bool) return ctx.fail("condition must be bool, not {s}", .{@tagName(d)});
    const dtype = try checkSameTypes(ctx, 1, 3);
    try ctx.setOutput(0, dtype, try broadcastShapes(ctx, 0, 3));
}

/// PRelu broadcasts the slope to X (unidirectionally): the output is X's shape.
fn prelu(ctx: *Context) status.Error!void {
    _ = try ctx.require(1);
    try sameAsInput(ctx);
}

/// Evaluates integer arithmetic on short 1-D shape vectors (Add/Sub/Mul/Div/Max/Min/Mod).
fn propagate(ctx: *Context) status.Error!void {
    const a = try ctx.elements(0) orelse return;
    const b = try ctx.elements(1) orelse return;
    const dtype = ctx.dtype(0) orelse return;
    if (dtype != .int64 and dtype != .int32) return;
    if (a.len == 0 or b.len == 0) return; // an empty vector broadcasts to empty: nothing to track
    if (a.len != b.len and a.len != 1 and b.len != 1) return;
    const n = @max(a.len, b.len);
    if (n > 64) return;
    const out = try ctx.alloc(Dim, n);
    const pool = ctx.pool;
    for (out, 0..) |*slot, k| {
        const x = a[if (a.len == 1) 0 else k];
        const y = b[if (b.len == 1) 0 else k];
        const op = ctx.node.op_type;
        slot.* = if (eql(op, "Add") or eql(op, "Sum")) try pool.add(x, y)
        else if (eql(op, "Sub")) try pool.sub(x, y)
        else if (eql(op, "Mul")) try pool.mul(x, y)
        else if (eql(op, "Div")) (if (pool.value(y) == @as(i64, 0)) return else try pool.div(x, y))
        else if (eql(op, "Mod")) (if (pool.value(y) == @as(i64, 0)) return else try pool.mod(x, y))
        else if (eql(op, "Max")) try pool.max(x, y)
        else if (eql(op, "Min")) try pool.min(x, y)
        else return;
    }
    try ctx.setElements(0, out);
}

fn eql(a: []const u8, b: []const u8) bool {
    return std.mem.eql(u8, a, b);
}

fn entry(comptime op: []const u8, rule: context.Rule) registry.Entry {
    return .{ .op = op, .rule = rule };
}

const unary_ops = [_][]const u8{
    "Abs",      "Acos",      "Acosh",    "Asin",   "Asinh",          "Atan",     "Atanh",    "Ceil",
    "Cos",      "Cosh",      "Erf",      "Exp",    "Floor",          "Log",      "Neg",      "Reciprocal",
    "Round",    "Sigmoid",   "Sign",     "Sin",    "Sinh",           "Sqrt",     "Tan",      "Tanh",
    "Relu",     "LeakyRelu", "Elu",      "Selu",   "Celu",           "HardSigmoid", "HardSwish", "Softplus",
    "Softsign", "ThresholdedRelu", "Mish", "Gelu", "Swish",          "Shrink",   "BitwiseNot", "Not",
    "Clip",
};

pub const rules = blk: {
    var list: []const registry.Entry = &.{};
    for (unary_ops) |op| list = list ++ [_]registry.Entry{entry(op, sameAsInput)};
    for ([_][]const u8{ "Add", "Sub", "Mul", "Div", "Mod", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitShift" }) |op| {
        list = list ++ [_]registry.Entry{entry(op, arithmetic)};
    }
    for ([_][]const u8{ "Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "And", "Or", "Xor" }) |op| {
        list = list ++ [_]registry.Entry{entry(op, predicate)};
    }
    for ([_][]const u8{ "Sum", "Mean", "Max", "Min" }) |op| list = list ++ [_]registry.Entry{entry(op, variadic)};
    list = list ++ [_]registry.Entry{
        entry("Pow", firstTyped),
        entry("Where", where),
        entry("PRelu", prelu),
        entry("IsNaN", boolOfInput),
        entry("IsInf", boolOfInput),
    };
    break :blk list;
};
