//! Helpers shared by the tensor_ops shape rules: reading small integer vectors (axes, pads,
//! shapes) from attributes, constants or symbolic elements without trusting them, normalizing
//! axis lists, and building shapes of fresh dims where only the rank is known.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const context = @import("context.zig");

const Context = context.Context;
const Dim = ir.Dim;

/// Longest 1-D vector whose symbolic elements rules track; shape vectors are far shorter.
pub const max_elements = 64;

/// Ranks beyond this are rejected: no real tensor has them, and they bound every loop.
pub const max_rank = 1024;

pub fn isInteger(dtype: ir.DType) bool {
    return switch (dtype) {
        .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64 => true,
        else => false,
    };
}

/// The elements of input `i` when it is a short integer vector (or scalar) whose contents are
/// known, symbolically or as a constant. Unlike ctx.elements, never fails on float data.
pub fn smallElements(ctx: *const Context, i: usize) status.Error!?[]const Dim {
    const value = ctx.input(i) orelse return null;
    if (value.symbolic_elements) |e| return e;
    const c = value.constant orelse return null;
    if (!isInteger(c.dtype) or c.count > max_elements or c.dims.len > 1) return null;
    return try ctx.elements(i);
}

/// The integers of dims that are all known, or null.
pub fn constants(ctx: *const Context, dims: []const Dim) status.Error!?[]const i64 {
    const out = try ctx.alloc(i64, dims.len);
    for (dims, out) |d, *slot| slot.* = ctx.pool.value(d) orelse return null;
    return out;
}

/// A known integer vector: from attribute `name` when the node's opset is below `since`, else
/// from input `i` (constant or symbolic elements that are all known). Null when absent/unknown.
pub fn intsArgument(ctx: *const Context, comptime name: []const u8, since: i64, i: usize) status.Error!?[]const i64 {
    if (ctx.node.opset < since) return ctx.attrInts(name);
    const elems = try ctx.elements(i) orelse return null;
    return constants(ctx, elems);
}

/// The elements of an integer-vector argument as dims: attribute before `since`, input after.
pub fn dimsArgument(ctx: *const Context, comptime name: []const u8, since: i64, i: usize) status.Error!?[]const Dim {
    if (ctx.node.opset < since) {
        const values = ctx.attrInts(name) orelse return null;
        return try ctx.dims(values);
    }
    return ctx.elements(i);
}

/// Whether the argument is given at all (attribute or non-empty input name).
pub fn hasArgument(ctx: *const Context, comptime name: []const u8, since: i64, i: usize) bool {
    if (ctx.node.opset < since) return ctx.attribute(name) != null;
    return ctx.hasInput(i);
}

/// The length of a 1-D input whose shape is known, e.g. a shape vector of unknown contents.
pub fn knownLength(ctx: *const Context, i: usize) ?usize {
    const s = ctx.shape(i) orelse return null;
    if (s.len != 1) return null;
    const n = ctx.pool.value(s[0]) orelse return null;
    if (n < 0 or n > max_rank) return null;
    return @intCast(n);
}

/// Axes normalized against `rank`; out-of-range and repeated axes are ShapeErrors.
pub fn normalizeAxes(ctx: *const Context, axes: []const i64, rank: usize) status.Error![]usize {
    const out = try ctx.alloc(usize, axes.len);
    for (axes, out, 0..) |a, *slot, k| {
        slot.* = try ctx.axis(a, rank);
        for (out[0..k]) |seen| if (seen == slot.*) return ctx.fail("axis {d} is repeated", .{a});
    }
    return out;
}

/// `n` unrelated dims: the rank is known but not the sizes.
pub fn freshShape(ctx: *const Context, n: usize, hint: []const u8) status.Error![]const Dim {
    if (n > max_rank) return ctx.fail("rank {d} is too large", .{n});
    const out = try ctx.alloc(Dim, n);
    for (out) |*slot| slot.* = try ctx.freshDim(hint);
    return out;
}

/// A copy of `shape` with the dims at `axes` replaced by fresh ones.
pub fn freshAt(
    ctx: *const Context,
    shape: []const Dim,
    axes: []const usize,
    hint: []const u8,
) status.Error![]const Dim {
    const out = try ctx.alloc(Dim, shape.len);
    @memcpy(out, shape);
    for (axes) |a| out[a] = try ctx.freshDim(hint);
    return out;
}

/// Fails unless dim `d` is known to be non-negative or is symbolic.
pub fn checkNonNegative(ctx: *const Context, d: Dim, what: []const u8) status.Error!void {
    if (ctx.pool.value(d)) |v| if (v < 0) return ctx.fail("{s} would be {d}, which is negative", .{ what, v });
}

/// Whether two dims may be equal (equal ids, or at least one symbolic).
pub fn compatible(ctx: *const Context, a: Dim, b: Dim) bool {
    if (a == b) return true;
    const va = ctx.pool.value(a) orelse return true;
    const vb = ctx.pool.value(b) orelse return true;
    return va == vb;
}

/// Of two dims that must be equal, the more precise: a known number beats a symbol.
pub fn unify(ctx: *const Context, a: Dim, b: Dim) Dim {
    return if (ctx.pool.value(a) == null and ctx.pool.value(b) != null) b else a;
}

/// The rank of input `i` or a ShapeError when it differs from `expected` (unknown passes).
pub fn expectRank(ctx: *const Context, i: usize, expected: usize) status.Error!void {
    const r = ctx.rank(i) orelse return;
    if (r != expected) return ctx.fail("input {d} must have rank {d}, not {d}", .{ i, expected, r });
}

/// The element type an integer attribute names (Cast `to`, ConstantOfShape, EyeLike `dtype`).
/// Cast-1 names the type as a string ("FLOAT", "INT64", ...), later versions by its code.
pub fn dtypeAttribute(ctx: *const Context, comptime name: []const u8) status.Error!?ir.DType {
    const a = ctx.attribute(name) orelse return null;
    if (a.type == .string) return try dtypeNamed(ctx, name, a.s);
    const code = std.math.cast(i32, a.i) orelse return ctx.fail("attribute {s}={d} is no element type", .{ name, a.i });
    const dtype = std.meta.intToEnum(ir.DType, code) catch
        return ctx.fail("attribute {s}={d} is no element type", .{ name, a.i });
    if (code >= 100) return ctx.fail("attribute {s}={d} is no ONNX element type", .{ name, a.i });
    return dtype;
}

const type_names = [_]struct { []const u8, ir.DType }{
    .{ "FLOAT", .float32 },   .{ "UINT8", .uint8 },     .{ "INT8", .int8 },         .{ "UINT16", .uint16 },
    .{ "INT16", .int16 },     .{ "INT32", .int32 },     .{ "INT64", .int64 },       .{ "STRING", .string },
    .{ "BOOL", .bool },       .{ "FLOAT16", .float16 }, .{ "DOUBLE", .float64 },    .{ "UINT32", .uint32 },
    .{ "UINT64", .uint64 },   .{ "COMPLEX64", .complex64 }, .{ "COMPLEX128", .complex128 },
    .{ "BFLOAT16", .bfloat16 },
};

fn dtypeNamed(ctx: *const Context, name: []const u8, text: []const u8) status.Error!ir.DType {
    for (type_names) |entry| if (std.ascii.eqlIgnoreCase(entry[0], text)) return entry[1];
    return ctx.fail("attribute {s}='{s}' is no element type", .{ name, text });
}

/// Output 0 keeps input 0's known elements when it is a 0-D or 1-D tensor of as many elements
/// (Reshape, Squeeze and Unsqueeze of shape vectors and scalars).
pub fn keepElements(ctx: *const Context, shape: ?[]const Dim) status.Error!void {
    const s = shape orelse return;
    const e = try smallElements(ctx, 0) orelse return;
    const n: ?i64 = switch (s.len) {
        0 => 1,
        1 => ctx.pool.value(s[0]),
        else => null,
    };
    if (n != @as(i64, @intCast(e.len))) return;
    try ctx.setElements(0, e);
}

/// A copy in the arena of a shape built on the stack (`&.{ a, b }` would dangle once stored).
pub fn owned(ctx: *const Context, dims: []const Dim) status.Error![]const Dim {
    const out = try ctx.alloc(Dim, dims.len);
    @memcpy(out, dims);
    return out;
}
