//! Elementwise kernels: broadcasting binary arithmetic and comparisons (Equal on strings too),
//! PRelu, variadic Sum/Mean/Max/Min, Where, and unary math and activations. Each is generic over the element type; the dtype is
//! dispatched once per node. Binary operations walk the output as rows in which each operand is
//! contiguous or repeated (broadcast.Rows), so inner loops vectorize; large outputs are split
//! across the model's thread pool.
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");
const broadcast = @import("broadcast.zig");
const Entry = @import("entry.zig").Entry;
const unary = @import("elementwise_unary.zig");
const fused = @import("fused.zig");

const Context = kernel.Context;
const Tensor = kernel.Tensor;

const BinaryOp = enum { add, sub, mul, div, pow, mod, fmod, max, min, equal, less, greater, less_equal, greater_equal, logical_and, logical_or, logical_xor, bit_and, bit_or, bit_xor, shift_left, shift_right, prelu };

fn isComparison(op: BinaryOp) bool {
    return switch (op) {
        .equal, .less, .greater, .less_equal, .greater_equal, .logical_and, .logical_or, .logical_xor => true,
        else => false,
    };
}

fn apply(comptime T: type, comptime op: BinaryOp, a: T, b: T) error{DivisionByZero}!ResultType(T, op) {
    const is_float = @typeInfo(T) == .float;
    return switch (op) {
        .add => if (is_float) a + b else a +% b,
        .sub => if (is_float) a - b else a -% b,
        .mul => if (is_float) a * b else a *% b,
        .div => if (is_float) a / b else blk: {
            if (b == 0) return error.DivisionByZero;
            if (@typeInfo(T).int.signedness == .signed and b == -1) break :blk 0 -% a;
            break :blk @divTrunc(a, b);
        },
        .pow => if (is_float) std.math.pow(T, a, b) else intPow(T, a, b),
        // Mod with fmod=0 follows the divisor's sign (Python); fmod=1 the dividend's (C).
        // Python's float modulo: the remainder takes the divisor's sign (and x mod inf is inf).
        .mod => if (is_float) blk: {
            const r = @rem(a, b);
            break :blk if (r != 0 and ((r < 0) != (b < 0))) r + b else r;
        } else blk: {
            if (b == 0) return error.DivisionByZero;
            if (@typeInfo(T).int.signedness == .signed and b == -1) break :blk 0;
            break :blk @mod(a, b);
        },
        .fmod => if (is_float) @rem(a, b) else blk: {
            if (b == 0) return error.DivisionByZero;
            if (@typeInfo(T).int.signedness == .signed and b == -1) break :blk 0;
            break :blk @rem(a, b);
        },
        .max => if (is_float) (if (std.math.isNan(a) or std.math.isNan(b)) std.math.nan(T) else @max(a, b)) else @max(a, b),
        .min => if (is_float) (if (std.math.isNan(a) or std.math.isNan(b)) std.math.nan(T) else @min(a, b)) else @min(a, b),
        .equal => a == b,
        .less => a < b,
        .greater => a > b,
        .less_equal => a <= b,
        .greater_equal => a >= b,
        .logical_and => a != 0 and b != 0,
        .logical_or => a != 0 or b != 0,
        .logical_xor => (a != 0) != (b != 0),
        .bit_and => a & b,
        .bit_or => a | b,
        .bit_xor => a ^ b,
        // A shift by the width or more (or by a negative count) leaves nothing but the sign.
        .shift_left => if (b < 0 or b >= @bitSizeOf(T)) 0 else a << @intCast(b),
        .shift_right => if (b < 0 or b >= @bitSizeOf(T)) (if (a < 0) -1 else 0) else a >> @intCast(b),
        // As numpy's where(x > 0, x, x * slope): a NaN x stays NaN, unsigned x is never negative.
        .prelu => if (a > 0) a else if (is_float) a * b else a *% b,
    };
}

fn ResultType(comptime T: type, comptime op: BinaryOp) type {
    return if (isComparison(op)) bool else T;
}

fn intPow(comptime T: type, base: T, exponent: T) T {
    if (exponent < 0) return if (base == 1) 1 else 0;
    var result: T = 1;
    var b = base;
    var e = exponent;
    while (e > 0) : (e >>= 1) {
        if (e & 1 == 1) result *%= b;
        b *%= b;
    }
    return result;
}

/// Outputs at least this large are split across the pool: below it, waking a thread (µs) costs
/// more than the pass over memory it would save.
const parallel_min_elements = 1 << 15;
/// Elements per work item when a row is split for threads: long enough to amortize the claim.
const block_elements = 1 << 13;

fn canFail(comptime T: type, comptime op: BinaryOp) bool {
    return @typeInfo(T) != .float and (op == .div or op == .mod or op == .fmod);
}

/// The output as work items (a row, or a block of a long row), each a pair of strided inputs.
fn BinaryJob(comptime T: type, comptime op: BinaryOp) type {
    const R = ResultType(T, op);
    return struct {
        const Self = @This();
        rows: broadcast.Rows(2),
        block: usize,
        per_row: usize,
        x: []const T,
        y: []const T,
        z: []R,

        fn init(a: *const Tensor, b: *const Tensor, out: *Tensor, block: usize) Self {
            const rows = broadcast.Rows(2).init(out.shape, .{ a.shape, b.shape });
            const size = @min(block, @max(rows.inner, 1));
            return .{
                .rows = rows,
                .block = size,
                .per_row = std.math.divCeil(usize, rows.inner, size) catch 1,
                .x = a.items(T),
                .y = b.items(T),
                .z = if (R == bool) @ptrCast(out.data) else out.items(R),
            };
        }

        fn items(self: *const Self) usize {
            return self.rows.rows * self.per_row;
        }

        fn runItems(self: *const Self, begin: usize, end: usize) void {
            for (begin..end) |item| self.runItem(item) catch unreachable;
        }

        fn runItem(self: *const Self, item: usize) error{DivisionByZero}!void {
            const row = item / self.per_row;
            const start = (item % self.per_row) * self.block;
            const n = @min(self.block, self.rows.inner - start);
            const base = self.rows.offsets(row);
            const sx = self.rows.inner_stride[0];
            const sy = self.rows.inner_stride[1];
            const x = self.x[base[0] + start * sx ..];
            const y = self.y[base[1] + start * sy ..];
            const z = self.z[row * self.rows.inner + start ..][0..n];
            if (sx == 1 and sy == 1) {
                for (z, x[0..n], y[0..n]) |*o, p, q| o.* = try apply(T, op, p, q);
            } else if (sx == 1 and sy == 0) {
                const q = y[0];
                for (z, x[0..n]) |*o, p| o.* = try apply(T, op, p, q);
            } else if (sx == 0 and sy == 1) {
                const p = x[0];
                for (z, y[0..n]) |*o, q| o.* = try apply(T, op, p, q);
            } else {
                for (z, 0..) |*o, i| o.* = try apply(T, op, x[i * sx], y[i * sy]);
            }
        }
    };
}

fn binaryLoop(comptime T: type, comptime op: BinaryOp, ctx: *Context, a: *const Tensor, b: *const Tensor, out: *Tensor) status.Error!void {
    const count = out.count();
    if (count == 0) return;
    const threaded = !canFail(T, op) and ctx.threadCount() > 1 and count >= parallel_min_elements;
    const job = BinaryJob(T, op).init(a, b, out, if (threaded) block_elements else count);
    if (threaded) return ctx.parallelFor(job.items(), &job, BinaryJob(T, op).runItems);
    for (0..job.items()) |item| job.runItem(item) catch return ctx.fail("division by zero in integer {s}", .{@tagName(op)});
}

fn binaryTyped(comptime op: BinaryOp, ctx: *Context, a: *const Tensor, b: *const Tensor) status.Error!*Tensor {
    if (a.dtype != b.dtype) return ctx.fail("inputs mix {s} and {s}", .{ @tagName(a.dtype), @tagName(b.dtype) });
    if (a.dtype == .float16) return halfViaSingle(op, ctx, a, b);
    if (a.dtype == .string) return if (op == .equal) stringEqual(ctx, a, b) else ctx.unsupported(a.dtype);
    const shape = try broadcast.shape(ctx, &.{ a.shape, b.shape });
    const out_dtype: kernel.DType = if (isComparison(op)) .bool else a.dtype;
    const out = try ctx.output(0, out_dtype, shape);
    const allow_float = switch (op) {
        .bit_and, .bit_or, .bit_xor, .shift_left, .shift_right, .logical_and, .logical_or, .logical_xor => false,
        else => true,
    };
    switch (a.dtype) {
        .float32 => if (allow_float) try binaryLoop(f32, op, ctx, a, b, out) else return ctx.unsupported(a.dtype),
        .float64 => if (allow_float) try binaryLoop(f64, op, ctx, a, b, out) else return ctx.unsupported(a.dtype),
        .int8 => try binaryLoop(i8, op, ctx, a, b, out),
        .int16 => try binaryLoop(i16, op, ctx, a, b, out),
        .int32 => try binaryLoop(i32, op, ctx, a, b, out),
        .int64 => try binaryLoop(i64, op, ctx, a, b, out),
        .uint8, .bool => try binaryLoop(u8, op, ctx, a, b, out),
        .uint16 => try binaryLoop(u16, op, ctx, a, b, out),
        .uint32 => try binaryLoop(u32, op, ctx, a, b, out),
        .uint64 => try binaryLoop(u64, op, ctx, a, b, out),
        else => return ctx.unsupported(a.dtype),
    }
    return out;
}

/// float16 is computed in float32 and rounded back, as hardware without f16 arithmetic does.
fn halfViaSingle(comptime op: BinaryOp, ctx: *Context, a: *const Tensor, b: *const Tensor) status.Error!*Tensor {
    const wide = try binaryTyped(op, ctx, try unary.convert(ctx, a, .float32), try unary.convert(ctx, b, .float32));
    if (isComparison(op)) return wide;
    const narrow = try unary.convert(ctx, wide, .float16);
    ctx.outputs[0] = narrow;
    return narrow;
}

/// Equal on strings (opset 19): byte-for-byte, so two spellings of one Unicode text differ.
fn stringEqual(ctx: *Context, a: *const Tensor, b: *const Tensor) status.Error!*Tensor {
    const shape = try broadcast.shape(ctx, &.{ a.shape, b.shape });
    const out = try ctx.output(0, .bool, shape);
    var walker = broadcast.Walker(2).init(shape, .{ a.shape, b.shape });
    for (out.data[0..out.count()]) |*o| {
        o.* = @intFromBool(std.mem.eql(u8, a.strings[walker.offsets[0]], b.strings[walker.offsets[1]]));
        walker.next();
    }
    return out;
}

fn binary(comptime op: BinaryOp) kernel.Kernel {
    return struct {
        fn run(ctx: *Context) status.Error!void {
            _ = try binaryTyped(op, ctx, try ctx.require(0), try ctx.require(1));
        }
    }.run;
}

fn modKernel(ctx: *Context) status.Error!void {
    const a = try ctx.require(0);
    const b = try ctx.require(1);
    if (ctx.node.attrInt("fmod", 0) != 0) {
        _ = try binaryTyped(.fmod, ctx, a, b);
    } else {
        _ = try binaryTyped(.mod, ctx, a, b);
    }
}

fn bitShift(ctx: *Context) status.Error!void {
    const left = std.mem.eql(u8, ctx.node.attrString("direction", ""), "LEFT");
    if (left) _ = try binaryTyped(.shift_left, ctx, try ctx.require(0), try ctx.require(1)) else _ = try binaryTyped(.shift_right, ctx, try ctx.require(0), try ctx.require(1));
}

/// Pow's exponent may have another type than its base: it is converted to the base's type.
fn powKernel(ctx: *Context) status.Error!void {
    const base = try ctx.require(0);
    const exponent = try ctx.require(1);
    const converted = if (exponent.dtype == base.dtype) exponent else try unary.convert(ctx, exponent, base.dtype);
    _ = try binaryTyped(.pow, ctx, base, converted);
}

/// Sum, Mean, Max, Min: fold the inputs pairwise with broadcasting.
fn variadic(comptime op: BinaryOp, comptime mean: bool) kernel.Kernel {
    return struct {
        fn run(ctx: *Context) status.Error!void {
            if (ctx.inputCount() == 0) return ctx.fail("needs at least one input", .{});
            var acc = try ctx.require(0);
            if (ctx.inputCount() == 1) {
                const out = try ctx.output(0, acc.dtype, acc.shape);
                @memcpy(out.data, acc.data);
                acc = out;
            }
            for (1..ctx.inputCount()) |i| acc = try binaryTyped(op, ctx, acc, try ctx.require(i));
            if (mean) try unary.scaleInPlace(ctx, @constCast(acc), 1.0 / @as(f64, @floatFromInt(ctx.inputCount())));
        }
    }.run;
}

/// PRelu: the slope broadcasts to X one way (opset 7 on), so Y has X's shape.
fn prelu(ctx: *Context) status.Error!void {
    const x = try ctx.require(0);
    if (x.dtype == .bool) return ctx.unsupported(x.dtype);
    const slope = try preluSlope(ctx, x, try ctx.require(1));
    _ = try binaryTyped(.prelu, ctx, x, slope);
}

/// The slope as it broadcasts to X. A 1-D slope that does not (opset 6 and before put a per-channel
/// [C] slope beside an [N, C, H, W] input) is laid along the one axis of X with its length, as
/// onnx's reference does; where none or several axes have it, the node fails.
fn preluSlope(ctx: *Context, x: *const Tensor, slope: *const Tensor) status.Error!*const Tensor {
    if (broadcastsTo(slope.shape, x.shape)) return slope;
    if (slope.shape.len == 1) {
        const axis = std.mem.indexOfScalar(i64, x.shape, slope.shape[0]);
        const last = std.mem.lastIndexOfScalar(i64, x.shape, slope.shape[0]);
        if (axis != null and axis == last) {
            const shape = try ctx.alloc(i64, x.shape.len);
            @memset(shape, 1);
            shape[axis.?] = slope.shape[0];
            const view = ctx.arena.create(Tensor) catch return status.fail(error.OutOfResource, "out of memory", .{});
            view.* = slope.*;
            view.shape = shape;
            return view;
        }
    }
    return ctx.fail("slope of shape {any} does not broadcast to X of shape {any}", .{ slope.shape, x.shape });
}

/// Whether `from` broadcasts to exactly `to` (numpy rules, one way).
fn broadcastsTo(from: []const i64, to: []const i64) bool {
    if (from.len > to.len) return false;
    for (from, to[to.len - from.len ..]) |f, t| if (f != t and f != 1) return false;
    return true;
}

fn where(ctx: *Context) status.Error!void {
    const cond = try ctx.require(0);
    const x = try ctx.require(1);
    const y = try ctx.require(2);
    if (cond.dtype != .bool) return ctx.fail("condition must be bool, not {s}", .{@tagName(cond.dtype)});
    if (x.dtype != y.dtype) return ctx.fail("X is {s} but Y is {s}", .{ @tagName(x.dtype), @tagName(y.dtype) });
    const shape = try broadcast.shape(ctx, &.{ cond.shape, x.shape, y.shape });
    const out = try ctx.output(0, x.dtype, shape);
    const size = x.dtype.bits() / 8;
    if (x.dtype == .string or x.dtype.isPacked()) return ctx.unsupported(x.dtype);
    var walker = broadcast.Walker(3).init(shape, .{ cond.shape, x.shape, y.shape });
    for (0..out.count()) |i| {
        const source = if (cond.data[walker.offsets[0]] != 0) x.data[walker.offsets[1] * size ..] else y.data[walker.offsets[2] * size ..];
        @memcpy(out.data[i * size ..][0..size], source[0..size]);
        walker.next();
    }
}

fn entry(comptime op: []const u8, run: kernel.Kernel) Entry {
    return .{ .op = op, .run = run };
}

pub const kernels = [_]Entry{
    // Add and Mul may be absorbed into a Conv (residual, SiLU): see fused.zig.
    entry("Add", fused.absorbable(binary(.add))),
    entry("Sub", binary(.sub)),
    entry("Mul", fused.absorbable(binary(.mul))),
    entry("Div", binary(.div)),
    entry("Pow", powKernel),
    entry("Mod", modKernel),
    entry("Equal", binary(.equal)),
    entry("Less", binary(.less)),
    entry("Greater", binary(.greater)),
    entry("LessOrEqual", binary(.less_equal)),
    entry("GreaterOrEqual", binary(.greater_equal)),
    entry("And", binary(.logical_and)),
    entry("Or", binary(.logical_or)),
    entry("Xor", binary(.logical_xor)),
    entry("BitwiseAnd", binary(.bit_and)),
    entry("BitwiseOr", binary(.bit_or)),
    entry("BitwiseXor", binary(.bit_xor)),
    entry("BitShift", bitShift),
    entry("Sum", variadic(.add, false)),
    entry("Mean", variadic(.add, true)),
    entry("Max", variadic(.max, false)),
    entry("Min", variadic(.min, false)),
    entry("Where", where),
    entry("PRelu", prelu),
} ++ unary.kernels ++ @import("elementwise_gated.zig").kernels;
