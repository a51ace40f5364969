//! Shape rules for linear quantization: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear.
//! The quantized type comes from the zero point or the `output_dtype` attribute (uint8 by
//! default); the scale's shape decides the granularity (per tensor, per axis, or blocked).
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");
const dims = @import("linalg_dims.zig");

const Context = context.Context;
const Dim = ir.Dim;
const DType = ir.DType;

const quantized_types = [_]DType{
    .int8,       .uint8,          .int16, .uint16, .float8e4m3fn, .float8e4m3fnuz,
    .float8e5m2, .float8e5m2fnuz, .uint4, .int4,   .float4e2m1,   .uint2,
    .int2,
};

const dequantized_types = [_]DType{ .float32, .float16, .bfloat16 };

fn quantizeLinear(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    const attr = if (ctx.node.opset >= 21) try dims.dtypeAttr(ctx, "output_dtype") else null;
    var dtype: ?DType = attr;
    if (ctx.hasInput(2)) {
        if (ctx.dtype(2)) |zero_point| {
            if (attr != null and attr.? != zero_point) {
                const names = .{ @tagName(attr.?), @tagName(zero_point) };
                return ctx.fail("output_dtype {s} differs from the zero point's {s}", names);
            }
            dtype = zero_point;
        }
    } else if (dtype == null) dtype = .uint8;
    if (dtype) |d| if (std.mem.indexOfScalar(DType, &quantized_types, d) == null) {
        return ctx.fail("cannot quantize to {s}", .{@tagName(d)});
    };
    try checkParameters(ctx);
    try ctx.setOutput(0, dtype, ctx.shape(0));
}

/// The result is `output_dtype` (opset 23+), else the scale's type (opset 19+), else float32.
fn dequantizeLinear(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    _ = try dims.sameDType(ctx, &.{ 0, 2 });
    const attr = if (ctx.node.opset >= 23) try dims.dtypeAttr(ctx, "output_dtype") else null;
    const dtype: ?DType = attr orelse if (ctx.node.opset >= 19) ctx.dtype(1) else .float32;
    if (dtype) |d| if (std.mem.indexOfScalar(DType, &dequantized_types, d) == null) {
        return ctx.fail("cannot dequantize to {s} (set output_dtype)", .{@tagName(d)});
    };
    try checkParameters(ctx);
    try ctx.setOutput(0, dtype, ctx.shape(0));
}

/// Checks the scale (input 1) and zero point (input 2) against x (input 0). Opset 10 only has
/// per-tensor scales, and no axis to check them against.
fn checkParameters(ctx: *Context) status.Error!void {
    const scale = ctx.shape(1) orelse return;
    // One-element parameters all quantize per tensor, whatever their rank ([] and [1] mix).
    const zero_point = if (ctx.hasInput(2)) ctx.shape(2) else null;
    if (zero_point) |z| if (!isScalarLike(ctx, scale) or !isScalarLike(ctx, z)) {
        if (z.len != scale.len) return ctx.fail("the zero point's shape differs from the scale's", .{});
        for (scale, z) |s, zd| _ = try dims.unify(ctx, s, zd, "zero point and scale dims");
    };
    if (ctx.node.opset < 13 or isScalarLike(ctx, scale)) return;
    const x = ctx.shape(0) orelse return;
    const block = if (ctx.node.opset >= 21) ctx.attrInt("block_size", 0) else 0;
    if (block < 0) return ctx.fail("block_size must not be negative, not {d}", .{block});
    const axis = try ctx.axis(ctx.attrInt("axis", 1), x.len);
    if (block == 0) {
        if (scale.len != 1) return ctx.fail("a scale of rank {d} needs block_size (blocked)", .{scale.len});
        _ = try dims.unify(ctx, scale[0], x[axis], "per-axis scale length and the axis dim");
        return;
    }
    if (scale.len != x.len) return ctx.fail("a blocked scale must have rank {d}, not {d}", .{ x.len, scale.len });
    const block_dim = try ctx.dim(block);
    for (scale, x, 0..) |s, d, k| {
        const expected = if (k == axis) try ctx.pool.ceilDiv(d, block_dim) else d;
        _ = try dims.unify(ctx, s, expected, "blocked scale dim");
    }
}

/// A scale with one element (rank 0, or all dims 1) quantizes per tensor.
fn isScalarLike(ctx: *const Context, shape: []const Dim) bool {
    for (shape) |d| if (ctx.pool.value(d) != @as(i64, 1)) return false;
    return true;
}

/// DynamicQuantizeLinear(x) -> (y uint8 like x, y_scale float32 scalar, y_zero_point uint8 scalar).
fn dynamicQuantizeLinear(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    try dims.expectDType(ctx, 0, &.{.float32}, "x");
    const scalar: []const Dim = &.{};
    try ctx.setOutput(0, .uint8, ctx.shape(0));
    try ctx.setOutput(1, .float32, scalar);
    try ctx.setOutput(2, .uint8, scalar);
}

pub const rules = [_]registry.Entry{
    .{ .op = "QuantizeLinear", .rule = quantizeLinear },
    .{ .op = "DequantizeLinear", .rule = dequantizeLinear },
    .{ .op = "DynamicQuantizeLinear", .rule = dynamicQuantizeLinear },
};
