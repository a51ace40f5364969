//! Integer convolutions (part of the nn family): ConvInteger (int32 result) and QLinearConv
//! (requantized), on the int8 GEMM (../qgemm.zig). Per image and group, as for f32 (nn_conv.zig):
//!   Y (M/g x P) = W (M/g x K) * im2col(X) (K x P)
//! W is A, packed once at load when it is a constant (on the GEMM's signed side), X's im2col is B,
//! packed per call by the model's threads (on the unsigned side; int8 X is flipped as it is
//! packed). Taps in the padding read X's zero point, which stands for 0, so the zero-point
//! compensation of the GEMM makes them add nothing. 1x1 stride-1 windows pack X in place.
const std = @import("std");
const common = @import("nn_common.zig");
const conv = @import("nn_conv.zig");
const im2col_module = @import("nn_im2col.zig");
const qgemm = @import("../qgemm.zig");
const memory = @import("../../../core/memory.zig");
const status = @import("../../../core/status.zig");
const prepare = @import("../prepare.zig");

const Context = common.Context;
const Tensor = common.Tensor;
const Error = common.Error;
const ConvShape = conv.ConvShape;

/// W packed per group for one kernel variant.
const PackedWeights = struct {
    groups: []qgemm.Packed,

    fn release(self: *PackedWeights) void {
        for (self.groups) |*g| g.deinit(memory.allocator);
        memory.allocator.free(self.groups);
        memory.allocator.destroy(self);
    }
};

/// `w` holds `group` matrices of `mg` x `k`.
fn packWeights(allocator: std.mem.Allocator, variant: qgemm.Variant, w: []const u8, signed: bool, group: usize, mg: usize, k: usize) Error![]qgemm.Packed {
    const groups = allocator.alloc(qgemm.Packed, group) catch return outOfMemory();
    var made: usize = 0;
    errdefer {
        for (groups[0..made]) |*g| g.deinit(allocator);
        allocator.free(groups);
    }
    for (groups, 0..) |*g, i| {
        const source: qgemm.Source = .{ .data = w[i * mg * k ..][0 .. mg * k], .signed = signed, .lines = mg, .k = k, .line_stride = k, .k_stride = 1 };
        g.* = try qgemm.packA(allocator, variant, .signed, source);
        made += 1;
    }
    return groups;
}

fn outOfMemory() Error {
    return status.fail(error.OutOfResource, "out of memory", .{});
}

fn prepareWeights(comptime w_index: usize) prepare.Prepare {
    return struct {
        fn build(ctx: *const prepare.Preparation) Error!?prepare.Prepared {
            const w = ctx.constantQuantized(w_index) orelse return null;
            if (w.shape.len < 3) return null;
            const group = std.math.cast(usize, ctx.node.attrInt("group", 1)) orelse return null;
            const m: usize = @intCast(w.shape[0]);
            if (group == 0 or m % group != 0) return null;
            const k = w.values.len / @max(1, m);
            const self = memory.allocator.create(PackedWeights) catch return outOfMemory();
            errdefer memory.allocator.destroy(self);
            self.groups = try packWeights(memory.allocator, qgemm.hostVariant(), w.values, w.signed, group, m / group, k);
            return .of(PackedWeights, self, PackedWeights.release);
        }
    }.build;
}

fn signedness(ctx: *const Context, t: *const Tensor) Error!bool {
    return switch (t.dtype) {
        .uint8 => false,
        .int8 => true,
        else => ctx.fail("the quantized operands must be int8 or uint8, not {s}", .{@tagName(t.dtype)}),
    };
}

/// A scalar zero point, or (for W) one per output channel; absent means 0. Its type must be
/// its operand's.
fn zeroPoints(ctx: *const Context, zero_point: ?*const Tensor, operand: *const Tensor, rows: usize) Error![]const i32 {
    const zp = zero_point orelse return &[_]i32{0};
    const count = zp.count();
    if (count != 1 and count != rows) {
        return ctx.fail("a zero point has {d} values; it needs 1 or {d}", .{ count, rows });
    }
    if (zp.dtype != operand.dtype) {
        return ctx.fail("a zero point is {s}, its operand {s}", .{ @tagName(zp.dtype), @tagName(operand.dtype) });
    }
    if (zp.data.len < count) return ctx.fail("a zero point has too few bytes", .{});
    const values = try ctx.alloc(i32, count);
    for (values, zp.data[0..count]) |*o, v| o.* = if (zp.dtype == .int8) @as(i8, @bitCast(v)) else v;
    return values;
}

/// What one convolution needs besides its shape: operands, zero points, the requantization.
const Problem = struct {
    x: *const Tensor,
    w: *const Tensor,
    x_zero: []const i32,
    w_zero: []const i32,
    dtype: qgemm.OutputType,
    /// Per output channel (or 1) for the multiplier's W side; x's scale on the other.
    w_scale: []const f32 = &.{},
    x_scale: f32 = 1,
    y_scale: f32 = 1,
    y_zero: i32 = 0,
    bias: ?[]const i32 = null,
};

fn run(ctx: *Context, s: ConvShape, problem: Problem, y: []u8) Error!void {
    if (s.geo.outCount() == 0 or s.mg() == 0 or s.n == 0) return;
    const variant = qgemm.hostVariant();
    const k = s.depth();
    const x_signed = try signedness(ctx, problem.x);
    const w_signed = try signedness(ctx, problem.w);
    if (problem.x.data.len < problem.x.count() or problem.w.data.len < problem.w.count()) {
        return ctx.fail("an operand has too few bytes", .{});
    }
    const weights: []const qgemm.Packed = if (ctx.prepared(PackedWeights)) |p|
        (if (p.groups.len == s.group and p.groups[0].variant == variant and p.groups[0].k == k) p.groups else null) orelse
            try packWeights(ctx.arena, variant, problem.w.data, w_signed, s.group, s.mg(), k)
    else
        try packWeights(ctx.arena, variant, problem.w.data, w_signed, s.group, s.mg(), k);
    const in_plane = s.geo.inCount();
    const positions = s.geo.outCount();
    const pointwise = s.geo.isPointwise();
    const col: []u8 = if (pointwise) &.{} else try ctx.alloc(u8, k * positions);
    const element: usize = if (problem.dtype == .int32) 4 else 1;
    // The raw byte that stands for 0 in X: what the padding reads.
    const fill: u8 = @truncate(@as(u32, @bitCast(problem.x_zero[0])));
    for (0..s.n) |image| for (0..s.group) |group| {
        try ctx.checkStop();
        const xg = problem.x.data[(image * s.c + group * s.cg()) * in_plane ..][0 .. s.cg() * in_plane];
        const b_matrix = if (pointwise) xg else blk: {
            im2col_module.im2colFill(u8, s.geo, xg, s.cg(), col, fill);
            break :blk col;
        };
        const source: qgemm.Source = .{ .data = b_matrix, .signed = x_signed, .lines = positions, .k = k, .line_stride = 1, .k_stride = positions };
        const packed_x = try packInParallel(ctx, variant, source);
        const first = image * s.m + group * s.mg();
        const rows = group * s.mg();
        const out: qgemm.Output = .{
            .dtype = problem.dtype,
            .c = y.ptr + first * positions * element,
            .ldc = positions,
            .a_zero = if (problem.w_zero.len == 1) problem.w_zero else problem.w_zero[rows..][0..s.mg()],
            .b_zero = problem.x_zero,
            .requant = if (problem.dtype == .int32) null else .{
                .a_scale = if (problem.w_scale.len == 1) problem.w_scale else problem.w_scale[rows..][0..s.mg()],
                .b_scale = (&problem.x_scale)[0..1],
                .y_scale = problem.y_scale,
                .y_zero = problem.y_zero,
                .row_bias = if (problem.bias) |b| b[rows..][0..s.mg()] else null,
            },
        };
        try qgemm.multiply(ctx.arena, &weights[group], &packed_x, out, ctx.pool);
    };
}

/// B packed by the model's threads, a range of panels each.
fn packInParallel(ctx: *const Context, variant: qgemm.Variant, source: qgemm.Source) Error!qgemm.Packed {
    const nr = qgemm.shapeOf(variant).nr;
    const result = try qgemm.Packed.allocate(ctx.arena, variant, .unsigned, nr, source.lines, source.k, source.signed);
    const Task = struct {
        packed_b: *const qgemm.Packed,
        source: qgemm.Source,
        fn call(self: *const @This(), begin: usize, end: usize) void {
            self.packed_b.packGroups(self.source, begin, end);
        }
    };
    const task: Task = .{ .packed_b = &result, .source = source };
    ctx.parallelFor(result.groups(), &task, Task.call);
    return result;
}

fn convInteger(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const w = try ctx.require(1);
    const shape = try conv.convShape(ctx, x, w);
    const x_zero = try zeroPoints(ctx, try scalarOrNull(ctx, ctx.input(2)), x, 1);
    const w_zero = try zeroPoints(ctx, ctx.input(3), w, shape.m);
    const out = try ctx.output(0, .int32, try shape.geo.outShape(ctx, shape.n, shape.m));
    try run(ctx, shape, .{ .x = x, .w = w, .x_zero = x_zero, .w_zero = w_zero, .dtype = .int32 }, out.data);
}

fn scalarOrNull(ctx: *const Context, t: ?*const Tensor) Error!?*const Tensor {
    const zp = t orelse return null;
    if (zp.count() != 1) return ctx.fail("x_zero_point must be a scalar", .{});
    return zp;
}

/// Inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, optional B.
fn qlinearConv(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const w = try ctx.require(3);
    const shape = try conv.convShape(ctx, x, w);
    var problem: Problem = .{
        .x = x,
        .w = w,
        .x_zero = try zeroPoints(ctx, try scalarOrNull(ctx, try ctx.require(2)), x, 1),
        .w_zero = try zeroPoints(ctx, try ctx.require(5), w, shape.m),
        .dtype = undefined,
        .x_scale = try scalar(ctx, try ctx.require(1)),
        .y_scale = try scalar(ctx, try ctx.require(6)),
        .w_scale = try common.floats(f32, ctx, try ctx.require(4)),
    };
    if (problem.w_scale.len != 1 and problem.w_scale.len != shape.m) return ctx.fail("w_scale needs 1 or {d} values", .{shape.m});
    if (ctx.input(8)) |b| {
        try conv.checkBias(ctx, b, shape.m);
        if (b.dtype != .int32) return ctx.fail("the bias must be int32, not {s}", .{@tagName(b.dtype)});
        problem.bias = try common.alignedItems(i32, ctx, b);
    }
    const y_zero = try ctx.require(7);
    if (y_zero.count() != 1) return ctx.fail("y_zero_point must be a scalar", .{});
    problem.y_zero = (try zeroPoints(ctx, y_zero, y_zero, 1))[0];
    problem.dtype = switch (y_zero.dtype) {
        .uint8 => .uint8,
        .int8 => .int8,
        else => return ctx.fail("y_zero_point must be int8 or uint8, not {s}", .{@tagName(y_zero.dtype)}),
    };
    const out = try ctx.output(0, y_zero.dtype, try shape.geo.outShape(ctx, shape.n, shape.m));
    try run(ctx, shape, problem, out.data);
}

fn scalar(ctx: *const Context, t: *const Tensor) Error!f32 {
    if (t.count() != 1) return ctx.fail("a scale must be a scalar", .{});
    return (try common.floats(f32, ctx, t))[0];
}

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .op = "ConvInteger", .run = convInteger, .prepare = prepareWeights(1) },
    .{ .op = "QLinearConv", .run = qlinearConv, .prepare = prepareWeights(3) },
};
