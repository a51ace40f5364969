//! Integer matrix products: MatMulInteger (int32 result) and QLinearMatMul (requantized), on
//! the int8 GEMM (../qgemm.zig), with a constant 2-D B packed once at load. Batch dimensions
//! broadcast as in MatMul (linalg.plan); int32 sums wrap, as in ORT.
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");
const Entry = @import("entry.zig").Entry;
const common = @import("linalg_common.zig");
const linalg = @import("linalg.zig");
const memory = @import("../../../core/memory.zig");
const prepare = @import("../prepare.zig");
const qgemm = @import("../qgemm.zig");

const Context = kernel.Context;
const Tensor = kernel.Tensor;
const DType = kernel.DType;

/// The zero points of input `index` as int32 (an absent one is 0), checked against the operand:
/// 1, or one per line (`lines` rows of A or columns of B), or one per line of every matrix.
fn zeroPoints(ctx: *Context, index: usize, x: *const Tensor, lines: usize, matrices: usize) status.Error![]const i32 {
    const zp = ctx.input(index) orelse return &[_]i32{0};
    if (zp.dtype != x.dtype) {
        return ctx.fail("zero point {d} is {s}, its operand {s}", .{ index, @tagName(zp.dtype), @tagName(x.dtype) });
    }
    const n = try common.checkData(ctx, zp);
    if (n != 1 and n != lines and n != lines * matrices) {
        return ctx.fail("zero point {d} has {d} values; expected 1 or one per {s}", .{ index, n, if (index == 2) "row" else "column" });
    }
    const values = try ctx.alloc(i32, n);
    for (values, 0..) |*v, i| v.* = if (zp.dtype == .int8) @as(i8, @bitCast(zp.data[i])) else zp.data[i];
    return values;
}

/// The zero points that serve matrix `matrix` of their operand.
fn zeroPointsOf(values: []const i32, lines: usize, matrix: usize) []const i32 {
    if (values.len == 1 or values.len == lines) return values;
    return values[matrix * lines ..][0..lines];
}

fn isSigned(ctx: *Context, x: *const Tensor) status.Error!bool {
    return switch (x.dtype) {
        .uint8 => false,
        .int8 => true,
        else => ctx.unsupported(x.dtype),
    };
}

/// B packed at load: a constant 2-D uint8 or int8 weight, on the signed side (so A, the
/// activation, is the unsigned one and an int8 A is flipped as it is packed per call).
const PackedWeight = struct {
    b: qgemm.Packed,

    fn release(self: *PackedWeight) void {
        self.b.deinit(memory.allocator);
        memory.allocator.destroy(self);
    }
};

fn prepareWeight(comptime b_index: usize) prepare.Prepare {
    return struct {
        fn build(ctx: *const prepare.Preparation) status.Error!?prepare.Prepared {
            const b = ctx.constantQuantized(b_index) orelse return null;
            if (b.shape.len != 2) return null;
            const k: usize = @intCast(b.shape[0]);
            const n: usize = @intCast(b.shape[1]);
            const self = memory.allocator.create(PackedWeight) catch return status.fail(error.OutOfResource, "out of memory", .{});
            errdefer memory.allocator.destroy(self);
            const source: qgemm.Source = .{ .data = b.values, .signed = b.signed, .lines = n, .k = k, .line_stride = 1, .k_stride = n };
            self.b = try qgemm.packB(memory.allocator, qgemm.hostVariant(), .signed, source);
            return .of(PackedWeight, self, PackedWeight.release);
        }
    }.build;
}

/// The product of A and B (inputs a_index and b_index), zero points subtracted, stored by
/// qgemm as `dtype` (int32, or requantized with `requant`) into `out`.
fn integerProduct(
    ctx: *Context,
    indices: [4]usize,
    dtype: qgemm.OutputType,
    requant: ?qgemm.Requant,
) status.Error!void {
    const a = try ctx.require(indices[0]);
    const b = try ctx.require(indices[2]);
    const a_signed = try isSigned(ctx, a);
    const b_signed = try isSigned(ctx, b);
    const p = try linalg.plan(ctx, a.shape, b.shape);
    const a_matrices = (try common.checkData(ctx, a)) / @max(1, p.m * p.k);
    const b_matrices = (try common.checkData(ctx, b)) / @max(1, p.k * p.n);
    const a_zero = try zeroPoints(ctx, indices[1], a, p.m, a_matrices);
    const b_zero = try zeroPoints(ctx, indices[3], b, p.n, b_matrices);
    const out_dtype: DType = switch (dtype) {
        .int32 => .int32,
        .uint8 => .uint8,
        .int8 => .int8,
    };
    const y = try ctx.output(0, out_dtype, p.out_shape);
    const variant = qgemm.hostVariant();
    const prepared: ?*const qgemm.Packed = if (ctx.prepared(PackedWeight)) |w|
        (if (w.b.variant == variant and w.b.k == p.k and w.b.lines == p.n and b_matrices == 1) &w.b else null)
    else
        null;
    const element: usize = if (dtype == .int32) 4 else 1;
    for (p.a_index, p.b_index, 0..) |ai, bi, i| {
        const a_source: qgemm.Source = .{ .data = a.data[ai * p.m * p.k ..][0 .. p.m * p.k], .signed = a_signed, .lines = p.m, .k = p.k, .line_stride = p.k, .k_stride = 1 };
        const packed_a = try qgemm.packA(ctx.arena, variant, .unsigned, a_source);
        var packed_b_here: qgemm.Packed = undefined;
        const packed_b = prepared orelse blk: {
            const b_source: qgemm.Source = .{ .data = b.data[bi * p.k * p.n ..][0 .. p.k * p.n], .signed = b_signed, .lines = p.n, .k = p.k, .line_stride = 1, .k_stride = p.n };
            packed_b_here = try qgemm.packB(ctx.arena, variant, .signed, b_source);
            break :blk &packed_b_here;
        };
        const output: qgemm.Output = .{
            .dtype = dtype,
            .c = y.data.ptr + i * p.m * p.n * element,
            .ldc = p.n,
            .a_zero = zeroPointsOf(a_zero, p.m, ai),
            .b_zero = zeroPointsOf(b_zero, p.n, bi),
            .requant = requant,
        };
        try qgemm.multiply(ctx.arena, &packed_a, packed_b, output, ctx.pool);
    }
}

fn matmulInteger(ctx: *Context) status.Error!void {
    try integerProduct(ctx, .{ 0, 2, 1, 3 }, .int32, null);
}

/// A scale as f32 values, one or `along` of them; `half` says it was float16.
fn scales(ctx: *Context, index: usize, along: usize) status.Error!struct { []const f32, bool } {
    const t = try ctx.require(index);
    const n = try common.checkData(ctx, t);
    if (n != 1 and n != along) return ctx.fail("scale {d} has {d} values; expected 1 or {d}", .{ index, n, along });
    const out = try ctx.alloc(f32, n);
    inline for (common.float_kinds) |k| if (t.dtype == k.dtype) {
        for (out, t.items(k.T)[0..n]) |*o, v| o.* = @floatCast(common.load(k.T, v));
        return .{ out, k.dtype == .float16 };
    };
    return ctx.unsupported(t.dtype);
}

fn qlinearMatmul(ctx: *Context) status.Error!void {
    const a = try ctx.require(0);
    const b = try ctx.require(3);
    const shape = try linalg.plan(ctx, a.shape, b.shape);
    const a_scale = try scales(ctx, 1, shape.m);
    const b_scale = try scales(ctx, 4, shape.n);
    const y_scale = try scales(ctx, 6, 1);
    var dtype = a.dtype;
    var y_zero: i32 = 0;
    if (ctx.input(7)) |zp| {
        if (try common.checkData(ctx, zp) != 1) return ctx.fail("y_zero_point must be a scalar", .{});
        dtype = zp.dtype;
        y_zero = switch (zp.dtype) {
            .uint8 => zp.data[0],
            .int8 => @as(i8, @bitCast(zp.data[0])),
            else => return ctx.unsupported(zp.dtype),
        };
    }
    const out_type: qgemm.OutputType = switch (dtype) {
        .uint8 => .uint8,
        .int8 => .int8,
        else => return ctx.unsupported(dtype),
    };
    const requant: qgemm.Requant = .{
        .a_scale = a_scale[0],
        .b_scale = b_scale[0],
        .y_scale = y_scale[0][0],
        .y_zero = y_zero,
        // The reference multiplies the scales in their own type (float16 rounds each step).
        .half = a_scale[1] or b_scale[1] or y_scale[1],
    };
    try integerProduct(ctx, .{ 0, 2, 3, 5 }, out_type, requant);
}

pub const kernels = [_]Entry{
    .{ .op = "MatMulInteger", .run = matmulInteger, .prepare = prepareWeight(1) },
    .{ .op = "QLinearMatMul", .run = qlinearMatmul, .prepare = prepareWeight(3) },
};
