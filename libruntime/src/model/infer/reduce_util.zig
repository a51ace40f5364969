//! Helpers shared by the reduce_*.zig rule files: element types named by attributes, sizes read
//! from scalar inputs, and the literal dtype sets their type constraints allow.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const context = @import("context.zig");

const Context = context.Context;
const Dim = ir.Dim;
const DType = ir.DType;

pub const float_types = [_]DType{ .float32, .float64, .float16, .bfloat16 };
pub const numeric_types = float_types ++ [_]DType{
    .uint8, .uint16, .uint32, .uint64, .int8, .int16, .int32, .int64,
};

/// The element type an int attribute names (RandomNormal `dtype`, HannWindow
/// `output_datatype`, ...); null when the attribute is absent, a ShapeError when it names no
/// type or one outside `allowed`.
pub fn dtypeAttr(ctx: *const Context, comptime name: []const u8, allowed: []const DType) status.Error!?DType {
    const a = ctx.attribute(name) orelse return null;
    const not_a_type = "attribute {s} = {d} is not an element type";
    const code = std.math.cast(i32, a.i) orelse return ctx.fail(not_a_type, .{ name, a.i });
    const dtype = DType.fromInt(code) catch return ctx.fail(not_a_type, .{ name, a.i });
    if (std.mem.indexOfScalar(DType, allowed, dtype) == null) {
        return ctx.fail("attribute {s} cannot be {s}", .{ name, @tagName(dtype) });
    }
    return dtype;
}

/// The size held by scalar input `i` (a window length, a frame step, ...), symbolic when it was
/// computed from shapes; a fresh dim when unknown. A known negative size is a ShapeError.
pub fn scalarDim(ctx: *const Context, i: usize, hint: []const u8) status.Error!Dim {
    return try knownScalar(ctx, i) orelse ctx.freshDim(hint);
}

/// Fails unless input `i` (axes, sizes, counts) has an integer element type, when known.
pub fn requireInts(ctx: *const Context, i: usize) status.Error!void {
    _ = try ctx.require(i);
    const dtype = ctx.dtype(i) orelse return;
    if (dtype == .int64 or dtype == .int32) return;
    return ctx.fail("input {d} must be int32 or int64, not {s}", .{ i, @tagName(dtype) });
}

/// Like scalarDim, but null when the value is unknown.
pub fn knownScalar(ctx: *const Context, i: usize) status.Error!?Dim {
    try requireInts(ctx, i);
    if (ctx.shape(i)) |s| {
        const single = s.len == 0 or (s.len == 1 and (ctx.pool.value(s[0]) orelse 1) == 1);
        if (!single) return ctx.fail("input {d} must be a scalar", .{i});
    }
    const elements = try ctx.elements(i) orelse return null;
    if (elements.len != 1) return ctx.fail("input {d} must hold one value, not {d}", .{ i, elements.len });
    if (ctx.pool.value(elements[0])) |v| if (v < 0) return ctx.fail("input {d} is {d}", .{ i, v });
    return elements[0];
}

/// floor(n / 2) + 1: the bins of a one-sided spectrum of length n.
pub fn halfPlusOne(ctx: *const Context, n: Dim) status.Error!Dim {
    return ctx.pool.add(try ctx.pool.div(n, try ctx.dim(2)), try ctx.dim(1));
}

/// Output `i` gets input `j`'s shape with `dtype` (null: unknown).
pub fn shapeOf(ctx: *const Context, i: usize, j: usize, dtype: ?DType) status.Error!void {
    try ctx.setOutput(i, dtype, ctx.shape(j));
}
