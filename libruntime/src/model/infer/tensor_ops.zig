//! Shape rules for tensor manipulation (family: tensor_ops). This file holds the type-changing
//! and shape-producing ops (Identity, Cast, Constant, Shape, Size, ConstantOfShape, Range, ...)
//! and gathers the rest of the family from tensor_ops_*.zig. Shape, Size, Gather, Concat, Slice
//! and friends carry the symbolic contents of shape vectors (Value.symbolic_elements), so that
//! Reshape, Expand and ConstantOfShape stay exact on dynamic models exported from PyTorch.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const common = @import("common.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");
const util = @import("tensor_ops_util.zig");
const reshape = @import("tensor_ops_reshape.zig");
const slice = @import("tensor_ops_slice.zig");
const gather = @import("tensor_ops_gather.zig");

const Context = context.Context;
const Dim = ir.Dim;

fn identity(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    try ctx.passThrough(0, 0);
    if (try util.smallElements(ctx, 0)) |e| try ctx.setElements(0, e);
}

/// Integer-to-integer casts keep shape vectors' contents (dims fit in 32 bits in practice).
fn keepIntElements(ctx: *Context, to: ir.DType) status.Error!void {
    const from = ctx.dtype(0) orelse return;
    if (!util.isInteger(from) or (to != .int64 and to != .int32)) return;
    const e = try util.smallElements(ctx, 0) orelse return;
    try ctx.setElements(0, e);
}

fn cast(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const to = try util.dtypeAttribute(ctx, "to") orelse return ctx.fail("attribute 'to' is required", .{});
    try ctx.setOutput(0, to, ctx.shape(0));
    try keepIntElements(ctx, to);
}

fn castLike(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    const to = ctx.dtype(1);
    try ctx.setOutput(0, to, ctx.shape(0));
    if (to) |t| try keepIntElements(ctx, t);
}

/// BitCast reinterprets bits: the element width must not change, so neither does the shape.
fn bitCast(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const to = try util.dtypeAttribute(ctx, "to") orelse return ctx.fail("attribute 'to' is required", .{});
    if (to == .string) return ctx.fail("cannot bit-cast to string", .{});
    if (ctx.dtype(0)) |from| {
        if (from == .string) return ctx.fail("cannot bit-cast a string tensor", .{});
        if (from.bits() != to.bits()) {
            return ctx.fail("{s} has {d} bits, {s} has {d}", .{ @tagName(from), from.bits(), @tagName(to), to.bits() });
        }
    }
    try ctx.setOutput(0, to, ctx.shape(0));
}

// ---- Constant ----------------------------------------------------------------------------------

fn constantOp(ctx: *Context) status.Error!void {
    const stored = ctx.arena.create(ir.Constant) catch
        return status.fail(error.OutOfResource, "out of memory in shape inference", .{});
    stored.* = try @import("../constant_node.zig").value(ctx);
    try ctx.setOutput(0, stored.dtype, try ctx.dims(stored.dims));
    // Later nodes (Reshape, Slice, ...) read it as they read initializers.
    if (ctx.output(0)) |value| value.constant = stored;
}

// ---- shapes as data ------------------------------------------------------------------------------

/// Shape: the input's dims (from start to end, opset 15) as an int64 vector whose elements are
/// those dims.
fn shapeOp(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const s = ctx.shape(0) orelse return ctx.setOutput(0, .int64, try util.freshShape(ctx, 1, "shape_rank"));
    const r: i64 = @intCast(s.len);
    const start = clampIndex(ctx.attrInt("start", 0), r);
    const end = @max(start, clampIndex(ctx.attrInt("end", r), r));
    const dims = s[@intCast(start)..@intCast(end)];
    try ctx.setOutput(0, .int64, try ctx.dims(&.{end - start}));
    try ctx.setElements(0, dims);
}

/// A Shape start/end: negative counts from the end, then clamped into [0, r].
fn clampIndex(value: i64, r: i64) i64 {
    const v = if (value < 0) value +| r else value;
    return std.math.clamp(v, 0, r);
}

fn size(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    try ctx.setOutput(0, .int64, &.{});
    const s = ctx.shape(0) orelse return;
    const elements = try ctx.alloc(Dim, 1);
    elements[0] = try common.product(ctx, s);
    try ctx.setElements(0, elements);
}

/// The shape a shape-vector input describes: its elements, or fresh dims when only its length
/// is known, or null.
fn shapeFromInput(ctx: *Context, i: usize, hint: []const u8) status.Error!?[]const Dim {
    try util.expectRank(ctx, i, 1);
    if (try ctx.elements(i)) |e| {
        if (e.len > util.max_rank) return ctx.fail("shape has {d} dims", .{e.len});
        for (e) |d| try util.checkNonNegative(ctx, d, "a dim");
        return e;
    }
    const n = util.knownLength(ctx, i) orelse return null;
    return try util.freshShape(ctx, n, hint);
}

fn constantOfShape(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    var dtype: ir.DType = .float32;
    var fill: ?i64 = 0;
    if (ctx.attrTensor("value")) |c| {
        if (c.count != 1) return ctx.fail("attribute 'value' must hold one element, not {d}", .{c.count});
        dtype = c.dtype;
        fill = if (util.isInteger(dtype)) c.int(0) else null;
    }
    const shape = try shapeFromInput(ctx, 0, "constant_of_shape");
    try ctx.setOutput(0, dtype, shape);
    // A filled int vector (e.g. ones for Expand) keeps its contents.
    const s = shape orelse return;
    const v = fill orelse return;
    if (s.len != 1 or !util.isInteger(dtype)) return;
    const n = ctx.pool.value(s[0]) orelse return;
    if (n > util.max_elements) return;
    const elements = try ctx.alloc(Dim, @intCast(n));
    for (elements) |*slot| slot.* = try ctx.dim(v);
    try ctx.setElements(0, elements);
}

// ---- Range -----------------------------------------------------------------------------------------

fn range(ctx: *Context) status.Error!void {
    var dtype: ?ir.DType = null;
    for (0..3) |i| {
        _ = try ctx.require(i);
        try expectScalar(ctx, i);
        const d = ctx.dtype(i) orelse continue;
        if (dtype) |seen| if (seen != d) return ctx.fail("inputs mix {s} and {s}", .{ @tagName(seen), @tagName(d) });
        dtype = d;
    }
    const length = try rangeLength(ctx, dtype) orelse try ctx.freshDim("range");
    try ctx.setOutput(0, dtype, try util.owned(ctx, &.{length}));
    try rangeElements(ctx, dtype, length);
}

/// A scalar, or (as exporters often write) a vector that may hold a single element.
fn expectScalar(ctx: *Context, i: usize) status.Error!void {
    const s = ctx.shape(i) orelse return;
    const single = s.len == 0 or (s.len == 1 and (ctx.pool.value(s[0]) orelse 1) == 1);
    if (!single) return ctx.fail("input {d} must be a scalar", .{i});
}

fn rangeLength(ctx: *Context, dtype: ?ir.DType) status.Error!?Dim {
    const t = dtype orelse return null;
    if (util.isInteger(t)) return rangeLengthInt(ctx);
    const start = scalarFloat(ctx, 0) orelse return null;
    const limit = scalarFloat(ctx, 1) orelse return null;
    const delta = scalarFloat(ctx, 2) orelse return null;
    // The count is computed in the element type (float16 and bfloat16 accumulate in float32).
    const n: f64 = if (t == .float64)
        @ceil((limit - start) / delta)
    else
        @ceil((@as(f32, @floatCast(limit)) - @as(f32, @floatCast(start))) / @as(f32, @floatCast(delta)));
    if (std.math.isNan(n) or n > 1e15) return ctx.fail("Range would have {d} elements", .{n});
    return try ctx.dim(if (n < 0) 0 else @intFromFloat(n));
}

fn scalarFloat(ctx: *Context, i: usize) ?f64 {
    const c = ctx.constant(i) orelse return null;
    if (c.count != 1) return null;
    return c.float(0);
}

/// max(ceil((limit - start) / delta), 0), symbolic when limit or start come from shapes.
fn rangeLengthInt(ctx: *Context) status.Error!?Dim {
    const start = try scalarElement(ctx, 0) orelse return null;
    const limit = try scalarElement(ctx, 1) orelse return null;
    const delta_dim = try scalarElement(ctx, 2) orelse return null;
    const delta = ctx.pool.value(delta_dim) orelse return null;
    if (delta == 0) return ctx.fail("delta must not be 0", .{});
    const pool = ctx.pool;
    if (pool.value(start)) |s| if (pool.value(limit)) |l| {
        const diff: i128 = @as(i128, l) - s;
        const n = std.math.divCeil(i128, diff, delta) catch unreachable;
        return try ctx.dim(std.math.cast(i64, @max(n, 0)) orelse return ctx.fail("Range is too long", .{}));
    };
    const n = try pool.ceilDiv(try pool.sub(limit, start), delta_dim);
    return try pool.max(n, try ctx.dim(0));
}

fn scalarElement(ctx: *Context, i: usize) status.Error!?Dim {
    const e = try util.smallElements(ctx, i) orelse return null;
    return if (e.len == 1) e[0] else null;
}

fn rangeElements(ctx: *Context, dtype: ?ir.DType, length: Dim) status.Error!void {
    const t = dtype orelse return;
    if (!util.isInteger(t)) return;
    const n = ctx.pool.value(length) orelse return;
    if (n > util.max_elements) return;
    const start = try scalarElement(ctx, 0) orelse return;
    const delta = try scalarElement(ctx, 2) orelse return;
    const elements = try ctx.alloc(Dim, @intCast(n));
    var current = start;
    for (elements) |*slot| {
        slot.* = current;
        current = try ctx.pool.add(current, delta);
    }
    try ctx.setElements(0, elements);
}

// ---- matrices ----------------------------------------------------------------------------------------

fn eyeLike(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    try util.expectRank(ctx, 0, 2);
    const dtype = try util.dtypeAttribute(ctx, "dtype") orelse ctx.dtype(0);
    try ctx.setOutput(0, dtype, ctx.shape(0));
}

fn trilu(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    if (ctx.rank(0)) |r| if (r < 2) return ctx.fail("input must have rank >= 2, not {d}", .{r});
    try expectScalar(ctx, 1);
    try ctx.passThrough(0, 0);
}

fn entry(comptime op: []const u8, rule: context.Rule) registry.Entry {
    return .{ .op = op, .rule = rule };
}

const own_rules = [_]registry.Entry{
    entry("Identity", identity),
    entry("Cast", cast),
    entry("CastLike", castLike),
    entry("BitCast", bitCast),
    entry("Constant", constantOp),
    entry("Shape", shapeOp),
    entry("Size", size),
    entry("ConstantOfShape", constantOfShape),
    entry("Range", range),
    entry("EyeLike", eyeLike),
    entry("Trilu", trilu),
};

pub const rules = own_rules ++ reshape.rules ++ slice.rules ++ gather.rules;

test {
    _ = @import("tensor_ops_test.zig");
}
