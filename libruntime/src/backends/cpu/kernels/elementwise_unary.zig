//! Unary elementwise kernels: math, activations (with their attributes), Clip, Not/BitwiseNot,
//! IsNaN/IsInf, and the numeric conversion other kernels share.
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");
const Entry = @import("entry.zig").Entry;
const simd = @import("simd_math.zig");
const fused = @import("fused.zig");
const Activation = @import("activation.zig").Activation;

const Context = kernel.Context;
const Tensor = kernel.Tensor;
const DType = kernel.DType;

/// The Zig type that stores a numeric dtype, for conversions; null for the rest.
fn NumericType(comptime dtype: DType) ?type {
    return switch (dtype) {
        .float32 => f32,
        .float64 => f64,
        .float16 => f16,
        .int8 => i8,
        .int16 => i16,
        .int32 => i32,
        .int64 => i64,
        .uint8, .bool => u8,
        .uint16 => u16,
        .uint32 => u32,
        .uint64 => u64,
        else => null,
    };
}

fn isNumeric(dtype: DType) bool {
    return std.mem.indexOfScalar(DType, &numeric, dtype) != null;
}

const numeric = [_]DType{ .float32, .float64, .float16, .int8, .int16, .int32, .int64, .uint8, .bool, .uint16, .uint32, .uint64 };

fn castValue(comptime To: type, from: anytype) To {
    const From = @TypeOf(from);
    const from_float = @typeInfo(From) == .float;
    if (@typeInfo(To) == .float) return if (from_float) @floatCast(from) else @floatFromInt(from);
    const Signed = std.meta.Int(.signed, @bitSizeOf(To));
    if (!from_float) return @bitCast(@as(Signed, @truncate(@as(i128, from)))); // wraps, like C casts
    if (std.math.isNan(from)) return 0;
    const wide: f64 = @floatCast(from);
    const clamped = std.math.clamp(@trunc(wide), -9.2e18, 1.8e19);
    return @bitCast(@as(Signed, @truncate(@as(i128, @intFromFloat(clamped)))));
}

/// A copy of `source` converted to `dtype` (numeric types; bool results are 0 or 1).
pub fn convert(ctx: *Context, source: *const Tensor, dtype: DType) status.Error!*Tensor {
    const out = ctx.arena.create(Tensor) catch return status.fail(error.OutOfResource, "out of memory", .{});
    const bytes = ctx.arena.alignedAlloc(u8, .@"64", source.count() * (dtype.bits() / 8)) catch return status.fail(error.OutOfResource, "out of memory", .{});
    out.* = .{ .dtype = dtype, .shape = source.shape, .data = bytes };
    inline for (numeric) |from| if (source.dtype == from) {
        inline for (numeric) |to| if (dtype == to) {
            const From = comptime NumericType(from).?;
            const To = comptime NumericType(to).?;
            const src = source.items(From);
            const dst = out.items(To);
            for (dst, src) |*d, s| d.* = if (to == .bool) @intFromBool(s != 0) else castValue(To, s);
            return out;
        };
    };
    return ctx.unsupported(if (isNumeric(source.dtype)) dtype else source.dtype);
}

/// Multiplies a float tensor by `factor`, or divides an integer one (Mean's final step).
pub fn scaleInPlace(ctx: *Context, tensor: *Tensor, factor: f64) status.Error!void {
    switch (tensor.dtype) {
        .float32 => for (tensor.items(f32)) |*v| {
            v.* *= @floatCast(factor);
        },
        .float64 => for (tensor.items(f64)) |*v| {
            v.* *= factor;
        },
        .float16 => for (tensor.items(f16)) |*v| {
            v.* = @floatCast(@as(f32, v.*) * @as(f32, @floatCast(factor)));
        },
        else => return ctx.unsupported(tensor.dtype),
    }
}

const FloatOp = enum {
    abs,
    neg,
    exp,
    log,
    sqrt,
    reciprocal,
    sigmoid,
    tanh,
    relu,
    leaky_relu,
    elu,
    selu,
    celu,
    hard_sigmoid,
    hard_swish,
    softplus,
    softsign,
    sin,
    cos,
    tan,
    asin,
    acos,
    atan,
    sinh,
    cosh,
    asinh,
    acosh,
    atanh,
    erf,
    floor,
    ceil,
    round,
    sign,
    thresholded_relu,
    mish,
    gelu,
    shrink,
};

const Params = struct { alpha: f64, beta: f64, gamma: f64, tanh_gelu: bool };

fn params(ctx: *const Context, op: FloatOp) Params {
    const node = ctx.node;
    return switch (op) {
        .leaky_relu => .{ .alpha = node.attrFloat("alpha", 0.01), .beta = 0, .gamma = 0, .tanh_gelu = false },
        .elu, .celu, .thresholded_relu => .{ .alpha = node.attrFloat("alpha", 1.0), .beta = 0, .gamma = 0, .tanh_gelu = false },
        .selu => .{ .alpha = node.attrFloat("alpha", 1.67326319217681884765625), .beta = 0, .gamma = node.attrFloat("gamma", 1.05070102214813232421875), .tanh_gelu = false },
        .hard_sigmoid => .{ .alpha = node.attrFloat("alpha", 0.2), .beta = node.attrFloat("beta", 0.5), .gamma = 0, .tanh_gelu = false },
        .shrink => .{ .alpha = node.attrFloat("lambd", 0.5), .beta = node.attrFloat("bias", 0.0), .gamma = 0, .tanh_gelu = false },
        .gelu => .{ .alpha = 0, .beta = 0, .gamma = 0, .tanh_gelu = std.mem.eql(u8, node.attrString("approximate", "none"), "tanh") },
        else => .{ .alpha = 0, .beta = 0, .gamma = 0, .tanh_gelu = false },
    };
}

fn floatOp(comptime op: FloatOp, x: f64, p: Params) f64 {
    return switch (op) {
        .abs => @abs(x),
        .neg => -x,
        .exp => @exp(x),
        .log => @log(x),
        .sqrt => @sqrt(x),
        .reciprocal => 1.0 / x,
        .sigmoid => if (x >= 0) 1.0 / (1.0 + @exp(-x)) else @exp(x) / (1.0 + @exp(x)),
        .tanh => std.math.tanh(x),
        .relu => if (x > 0) x else 0,
        .leaky_relu => if (x >= 0) x else p.alpha * x,
        .elu => if (x >= 0) x else p.alpha * (@exp(x) - 1),
        .selu => p.gamma * (if (x > 0) x else p.alpha * (@exp(x) - 1)),
        .celu => @max(0, x) + @min(0, p.alpha * (@exp(x / p.alpha) - 1)),
        .hard_sigmoid => @max(0, @min(1, p.alpha * x + p.beta)),
        .hard_swish => x * @max(0, @min(1, x / 6.0 + 0.5)),
        .softplus => if (x > 30) x else std.math.log1p(@exp(x)),
        .softsign => x / (1 + @abs(x)),
        .sin => @sin(x),
        .cos => @cos(x),
        .tan => @tan(x),
        .asin => std.math.asin(x),
        .acos => std.math.acos(x),
        .atan => std.math.atan(x),
        .sinh => std.math.sinh(x),
        .cosh => std.math.cosh(x),
        .asinh => std.math.asinh(x),
        .acosh => std.math.acosh(x),
        .atanh => std.math.atanh(x),
        .erf => erf(x),
        .floor => @floor(x),
        .ceil => @ceil(x),
        .round => roundHalfEven(x),
        .sign => if (x > 0) 1 else if (x < 0) -1 else if (std.math.isNan(x)) x else 0,
        .thresholded_relu => if (x > p.alpha) x else 0,
        .mish => x * std.math.tanh(if (x > 30) x else std.math.log1p(@exp(x))),
        .gelu => if (p.tanh_gelu)
            0.5 * x * (1 + std.math.tanh(std.math.sqrt(2.0 / std.math.pi) * (x + 0.044715 * x * x * x)))
        else
            0.5 * x * (1 + erf(x / std.math.sqrt2)),
        .shrink => if (x < -p.alpha) x + p.beta else if (x > p.alpha) x - p.beta else 0,
    };
}

fn roundHalfEven(x: f64) f64 {
    const r = @round(x);
    if (@abs(x - @trunc(x)) == 0.5) return 2.0 * @round(x / 2.0);
    return r;
}

/// libc's erf: Zig's std has none, and libc's is correctly rounded enough for f64 tolerances.
extern fn erf(x: f64) f64;

fn unaryFloat(comptime op: FloatOp) kernel.Kernel {
    return struct {
        fn run(ctx: *Context) status.Error!void {
            const x = try ctx.require(0);
            const p = params(ctx, op);
            const out = try ctx.output(0, x.dtype, x.shape);
            if (comptime vectorOp(op)) |f| if (x.dtype == .float32 and !(op == .gelu and p.tanh_gelu)) {
                return mapFloat32(f, ctx, x.items(f32), out.items(f32));
            };
            switch (x.dtype) {
                .float32 => for (out.items(f32), x.items(f32)) |*o, v| {
                    o.* = @floatCast(floatOp(op, v, p));
                },
                .float64 => for (out.items(f64), x.items(f64)) |*o, v| {
                    o.* = floatOp(op, v, p);
                },
                .float16 => for (out.items(f16), x.items(f16)) |*o, v| {
                    o.* = @floatCast(floatOp(op, v, p));
                },
                else => try integerUnary(op, ctx, x, out),
            }
        }
    }.run;
}

/// The float32 functions simd_math computes a vector at a time (the rest go through f64 scalar
/// math, exact enough and rarely hot). Gelu's tanh form stays scalar.
fn vectorOp(comptime op: FloatOp) ?fn (simd.V) simd.V {
    return switch (op) {
        .exp => simd.exp,
        .log => simd.log,
        .tanh => simd.tanh,
        .erf => simd.erf,
        .sigmoid => simd.sigmoid,
        .gelu => simd.gelu,
        .relu => simd.relu,
        else => null,
    };
}

/// Inputs at least this large are split across the pool (a thread wake costs µs).
const parallel_min_elements = 1 << 14;
const block_elements = 1 << 12;

fn MapJob(comptime f: fn (simd.V) simd.V) type {
    return struct {
        x: []const f32,
        y: []f32,

        fn run(self: *const @This(), begin: usize, end: usize) void {
            const start = begin * block_elements;
            const stop = @min(end * block_elements, self.x.len);
            simd.map(f, self.x[start..stop], self.y[start..stop]);
        }
    };
}

fn mapFloat32(comptime f: fn (simd.V) simd.V, ctx: *Context, input: []const f32, y: []f32) void {
    const x = input[0..y.len];
    if (x.len < parallel_min_elements or ctx.threadCount() == 1) return simd.map(f, x, y);
    const job: MapJob(f) = .{ .x = x, .y = y };
    ctx.parallelFor(blocksOf(x.len), &job, MapJob(f).run);
}

/// Abs, Neg, Sign and Relu are defined on integers too.
fn integerUnary(comptime op: FloatOp, ctx: *Context, x: *const Tensor, out: *Tensor) status.Error!void {
    if (op != .abs and op != .neg and op != .sign and op != .relu) return ctx.unsupported(x.dtype);
    const integers = [_]DType{ .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64 };
    inline for (integers) |dt| if (x.dtype == dt) {
        const T = comptime NumericType(dt).?;
        const signed = @typeInfo(T).int.signedness == .signed;
        const minus_one: T = if (signed) -1 else 0;
        for (out.items(T), x.items(T)) |*o, v| o.* = switch (op) {
            .abs => if (signed and v < 0) 0 -% v else v,
            .neg => 0 -% v,
            .sign => if (v > 0) 1 else if (signed and v < 0) minus_one else 0,
            .relu => if (signed and v < 0) 0 else v,
            else => unreachable,
        };
        return;
    };
    return ctx.unsupported(x.dtype);
}

fn notKernel(ctx: *Context) status.Error!void {
    const x = try ctx.require(0);
    if (x.dtype != .bool) return ctx.unsupported(x.dtype);
    const out = try ctx.output(0, .bool, x.shape);
    for (out.data, x.data) |*o, v| o.* = @intFromBool(v == 0);
}

fn bitwiseNot(ctx: *Context) status.Error!void {
    const x = try ctx.require(0);
    switch (x.dtype) {
        .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64 => {},
        else => return ctx.unsupported(x.dtype),
    }
    const out = try ctx.output(0, x.dtype, x.shape);
    for (out.data, x.data) |*o, v| o.* = ~v;
}

fn isNan(ctx: *Context) status.Error!void {
    try floatPredicate(ctx, false);
}

fn isInf(ctx: *Context) status.Error!void {
    try floatPredicate(ctx, true);
}

fn floatPredicate(ctx: *Context, infinity: bool) status.Error!void {
    const x = try ctx.require(0);
    const out = try ctx.output(0, .bool, x.shape);
    const negative = ctx.node.attrInt("detect_negative", 1) != 0;
    const positive = ctx.node.attrInt("detect_positive", 1) != 0;
    inline for (.{ f32, f64, f16 }, .{ DType.float32, DType.float64, DType.float16 }) |T, dt| if (x.dtype == dt) {
        for (out.data, x.items(T)) |*o, v| {
            const hit = if (infinity) std.math.isInf(v) and ((v > 0 and positive) or (v < 0 and negative)) else std.math.isNan(v);
            o.* = @intFromBool(hit);
        }
        return;
    };
    return ctx.unsupported(x.dtype);
}

/// Clip: bounds from inputs 1 and 2 (opset 11+) or the min/max attributes before.
fn clip(ctx: *Context) status.Error!void {
    const x = try ctx.require(0);
    const out = try ctx.output(0, x.dtype, x.shape);
    inline for (.{ f32, f64, f16, i8, i16, i32, i64, u8, u16, u32, u64 }, .{ DType.float32, DType.float64, DType.float16, DType.int8, DType.int16, DType.int32, DType.int64, DType.uint8, DType.uint16, DType.uint32, DType.uint64 }) |T, dt| if (x.dtype == dt) {
        const job: ClipJob(T) = .{
            .x = x.items(T),
            .y = out.items(T),
            .lo = try bound(T, ctx, 1, "min", true),
            .hi = try bound(T, ctx, 2, "max", false),
        };
        // Clip is ReLU6 in MobileNets, over whole feature maps: split like the mapped ops.
        if (job.x.len < parallel_min_elements or ctx.threadCount() == 1) return job.run(0, blocksOf(job.x.len));
        ctx.parallelFor(blocksOf(job.x.len), &job, ClipJob(T).run);
        return;
    };
    return ctx.unsupported(x.dtype);
}

fn ClipJob(comptime T: type) type {
    return struct {
        x: []const T,
        y: []T,
        lo: T,
        hi: T,

        fn run(self: *const @This(), begin: usize, end: usize) void {
            const start = begin * block_elements;
            const stop = @min(end * block_elements, self.x.len);
            if (T == f32) {
                // The code a Conv runs for a Clip fused into it: the same bits either way.
                const clip_f32: Activation = .{ .kind = .clip, .lo = self.lo, .hi = self.hi };
                return clip_f32.map(self.x[start..stop], self.y[start..stop]);
            }
            for (self.y[start..stop], self.x[start..stop]) |*o, v| o.* = @min(@max(v, self.lo), self.hi);
        }
    };
}

fn blocksOf(count: usize) usize {
    return std.math.divCeil(usize, count, block_elements) catch 1;
}

fn bound(comptime T: type, ctx: *Context, index: usize, comptime name: []const u8, low: bool) status.Error!T {
    if (ctx.node.opset < 11) {
        const default: f32 = if (low) -std.math.floatMax(f32) else std.math.floatMax(f32);
        const limit = ctx.node.attrFloat(name, default);
        if (@typeInfo(T) == .float) return @floatCast(limit);
        const clamped = std.math.clamp(limit, @as(f32, @floatFromInt(std.math.minInt(T))), @as(f32, @floatFromInt(std.math.maxInt(T))));
        return @intFromFloat(clamped);
    }
    const limit = ctx.input(index) orelse return if (@typeInfo(T) == .float) (if (low) -std.math.inf(T) else std.math.inf(T)) else (if (low) std.math.minInt(T) else std.math.maxInt(T));
    if (limit.dtype != ctx.inputs[0].?.dtype or limit.count() != 1) return ctx.fail("{s} must be a scalar of the input's type", .{name});
    return limit.items(T)[0];
}

fn entry(comptime op: []const u8, run: kernel.Kernel) Entry {
    return .{ .op = op, .run = run };
}

pub const kernels = blk: {
    const names = .{
        .{ "Abs", .abs },           .{ "Neg", .neg },                          .{ "Exp", .exp },              .{ "Log", .log },
        .{ "Sqrt", .sqrt },         .{ "Reciprocal", .reciprocal },            .{ "Sigmoid", .sigmoid },      .{ "Tanh", .tanh },
        .{ "Relu", .relu },         .{ "LeakyRelu", .leaky_relu },             .{ "Elu", .elu },              .{ "Selu", .selu },
        .{ "Celu", .celu },         .{ "HardSigmoid", .hard_sigmoid },         .{ "HardSwish", .hard_swish }, .{ "Softplus", .softplus },
        .{ "Softsign", .softsign }, .{ "Sin", .sin },                          .{ "Cos", .cos },              .{ "Tan", .tan },
        .{ "Asin", .asin },         .{ "Acos", .acos },                        .{ "Atan", .atan },            .{ "Sinh", .sinh },
        .{ "Cosh", .cosh },         .{ "Asinh", .asinh },                      .{ "Acosh", .acosh },          .{ "Atanh", .atanh },
        .{ "Erf", .erf },           .{ "Floor", .floor },                      .{ "Ceil", .ceil },            .{ "Round", .round },
        .{ "Sign", .sign },         .{ "ThresholdedRelu", .thresholded_relu }, .{ "Mish", .mish },            .{ "Gelu", .gelu },
        .{ "Shrink", .shrink },
    };
    var list: []const Entry = &.{};
    for (names) |pair| {
        // A Relu or Sigmoid may be absorbed into the Conv before it: see fused.zig.
        const run = switch (pair[1]) {
            .relu, .sigmoid => fused.absorbable(unaryFloat(pair[1])),
            else => unaryFloat(pair[1]),
        };
        list = list ++ [_]Entry{entry(pair[0], run)};
    }
    list = list ++ [_]Entry{
        entry("Not", notKernel),
        entry("BitwiseNot", bitwiseNot),
        entry("IsNaN", isNan),
        entry("IsInf", isInf),
        entry("Clip", fused.absorbable(clip)),
    };
    break :blk list;
};
