//! Convolutions (part of the nn family, see nn.zig): Conv, ConvInteger and QLinearConv. Each
//! group of each image is one GEMM, W (M/g x C/g*k) times the im2col matrix of the input (or the
//! input itself for 1x1 windows); depthwise convolutions (one input channel per group) skip the
//! GEMM and run a direct loop, since their K is only the kernel size. f32 goes to the threaded
//! engines of nn_conv_gemm.zig (weights packed at load) and nn_depthwise.zig, f64 to the plain
//! loops here; the integer convolutions (ConvInteger, QLinearConv) are nn_conv_int8.zig's.
const std = @import("std");
const builtin = @import("builtin");
const common = @import("nn_common.zig");
const im2col_module = @import("nn_im2col.zig");
const conv_gemm = @import("nn_conv_gemm.zig");
const depthwise_f32 = @import("nn_depthwise.zig");
const winograd = @import("nn_conv_winograd.zig");
const fused = @import("fused.zig");
const prepare = @import("../prepare.zig");

const Context = common.Context;
const Tensor = common.Tensor;
const Error = common.Error;
const Geometry = common.Geometry;

/// Sizes of a grouped convolution: N images, C input and M output channels, `group` groups.
pub const ConvShape = struct {
    n: usize,
    c: usize,
    m: usize,
    group: usize,
    geo: Geometry,

    pub fn cg(self: ConvShape) usize {
        return self.c / self.group;
    }
    pub fn mg(self: ConvShape) usize {
        return self.m / self.group;
    }
    /// The GEMM's K: input channels per group times kernel taps.
    pub fn depth(self: ConvShape) usize {
        return self.cg() * self.geo.kernelCount();
    }
};

/// Checks X (N x C x spatial) against W (M x C/group x kernel) and reads the window attributes.
pub fn convShape(ctx: *const Context, x: *const Tensor, w: *const Tensor) Error!ConvShape {
    if (x.rank() < 3) return ctx.fail("X has rank {d}; it needs N, C and a spatial axis", .{x.rank()});
    if (w.rank() != x.rank()) return ctx.fail("W has rank {d} but X has rank {d}", .{ w.rank(), x.rank() });
    const group_attribute = ctx.node.attrInt("group", 1);
    if (group_attribute < 1) return ctx.fail("group is {d}; it must be >= 1", .{group_attribute});
    const c = common.dim(x, 1);
    const m = common.dim(w, 0);
    const group: usize = @intCast(group_attribute);
    if (std.math.mul(usize, common.dim(w, 1), group) catch 0 != c) {
        return ctx.fail("X has {d} channels but W.shape[1] x group is {d} x {d}", .{ c, common.dim(w, 1), group });
    }
    if (m % group != 0) return ctx.fail("{d} feature maps do not split into {d} groups", .{ m, group });
    const geo = try common.window(ctx, x.shape[2..], .{ .kernel = try common.kernelFromWeight(ctx, w) });
    // K x out-positions is the im2col buffer; refuse what cannot be addressed.
    _ = try common.mulChecked(ctx, try common.mulChecked(ctx, c, geo.kernelCount()), geo.outCount());
    _ = try common.mulChecked(ctx, try common.mulChecked(ctx, common.dim(x, 0), m), geo.outCount());
    return .{ .n = common.dim(x, 0), .c = c, .m = m, .group = group, .geo = geo };
}

/// The optional bias: 1-D with one value per output channel.
pub fn checkBias(ctx: *const Context, b: ?*const Tensor, m: usize) Error!void {
    const bias = b orelse return;
    if (bias.rank() != 1 or common.dim(bias, 0) != m) return ctx.fail("the bias must be 1-D with {d} values", .{m});
}

fn conv(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const w = try ctx.require(1);
    if (x.dtype != w.dtype) return ctx.fail("X is {s} but W is {s}", .{ @tagName(x.dtype), @tagName(w.dtype) });
    const shape = try convShape(ctx, x, w);
    try checkBias(ctx, ctx.input(2), shape.m);
    switch (try common.precision(ctx, x.dtype, false)) {
        inline else => |p| {
            const F = if (p == .f32) f32 else f64;
            const bias = if (ctx.input(2)) |b| try common.floats(F, ctx, b) else null;
            const out_shape = try shape.geo.outShape(ctx, shape.n, shape.m);
            // A residual Add and an activation after this node, done in its store (fused.zig).
            const fusion = try fused.forConv(ctx, x, out_shape);
            const out = try common.floatOutput(F, ctx, 0, x.dtype, out_shape);
            const values = try common.floats(F, ctx, x);
            if (F == f32 and shape.cg() == 1 and depthwise_f32.fits(shape.geo)) {
                const weights = try common.floats(F, ctx, w);
                try depthwise_f32.run(ctx, shape.geo, shape.n, shape.c, shape.m, values, weights, bias, fusion, out.values);
            } else if (F == f32) {
                if (conv_gemm.winogradWeights(ctx)) |weights| if (winograd.fits(shape.geo)) {
                    try winograd.run(ctx, shape.geo, shape.n, weights, values, bias, fusion, out.values);
                    out.finish();
                    return;
                };
                try conv_gemm.run(ctx, shape, values, bias, fusion, out.values);
            } else {
                try convolve(F, ctx, shape, values, try common.floats(F, ctx, w), bias, out.values);
            }
            out.finish();
        },
    }
}

/// Y = conv(X, W) + bias over float values laid out as the tensors are.
pub fn convolve(
    comptime T: type,
    ctx: *const Context,
    s: ConvShape,
    x: []const T,
    w: []const T,
    bias: ?[]const T,
    y: []T,
) Error!void {
    const g = s.geo;
    const in_plane = g.inCount();
    const out_plane = g.outCount();
    if (s.cg() == 1 and s.geo.kernel[2] <= 64 and s.depth() <= 64) return depthwise(T, s, x, w, bias, y);
    const k = s.depth();
    const pointwise = g.isPointwise();
    const col: []T = if (pointwise) &.{} else try ctx.alloc(T, k * out_plane);
    defer if (!pointwise) ctx.arena.free(col);
    for (0..s.n) |image| {
        for (0..s.group) |group| {
            const xg = x[(image * s.c + group * s.cg()) * in_plane ..][0 .. s.cg() * in_plane];
            const b_matrix: []const T = if (pointwise) xg else blk: {
                im2col_module.im2col(T, g, xg, s.cg(), col);
                break :blk col;
            };
            const first = image * s.m + group * s.mg();
            const yg = y[first * out_plane ..][0 .. s.mg() * out_plane];
            if (bias) |b| for (0..s.mg()) |i| @memset(yg[i * out_plane ..][0..out_plane], b[group * s.mg() + i]);
            const wg = w[group * s.mg() * k ..][0 .. s.mg() * k];
            const dims = im2col_module.Dims{ .m = s.mg(), .n = out_plane, .k = k, .accumulate = bias != null };
            try im2col_module.matmul(T, ctx, dims, wg, b_matrix, yg);
        }
    }
}

/// One input channel per group: each output row sums kernel-weighted shifted input rows while
/// it stays in L1 (contiguous reads when the stride is 1); no im2col, no GEMM.
fn depthwise(comptime T: type, s: ConvShape, x: []const T, w: []const T, bias: ?[]const T, y: []T) void {
    const g = s.geo;
    const in_plane = g.inCount();
    const out_plane = g.outCount();
    const taps = g.kernelCount();
    // Per kw: the output columns whose tap lands inside the row, and the first input column.
    var columns: [64][2]usize = undefined;
    var first_in: [64]usize = undefined;
    for (0..g.kernel[2]) |kw| {
        const offset = @as(i64, @intCast(kw * g.dilation[2])) - g.pad[2];
        columns[kw] = common.validRange(g.out[2], g.in[2], g.stride[2], offset);
        first_in[kw] = @intCast(@max(0, @as(i64, @intCast(columns[kw][0] * g.stride[2])) + offset));
    }
    for (0..s.n) |image| for (0..s.m) |oc| {
        const src = x[(image * s.c + oc / s.mg()) * in_plane ..][0..in_plane];
        const dst = y[(image * s.m + oc) * out_plane ..][0..out_plane];
        const weights = w[oc * taps ..][0..taps];
        for (0..g.out[0]) |od| for (0..g.out[1]) |oh| {
            const line = dst[(od * g.out[1] + oh) * g.out[2] ..][0..g.out[2]];
            @memset(line, if (bias) |b| b[oc] else 0);
            for (0..g.kernel[0]) |kd| {
                const id = @as(i64, @intCast(od * g.stride[0] + kd * g.dilation[0])) - g.pad[0];
                if (id < 0 or id >= g.in[0]) continue;
                for (0..g.kernel[1]) |kh| {
                    const ih = @as(i64, @intCast(oh * g.stride[1] + kh * g.dilation[1])) - g.pad[1];
                    if (ih < 0 or ih >= g.in[1]) continue;
                    const at = (@as(usize, @intCast(id)) * g.in[1] + @as(usize, @intCast(ih))) * g.in[2];
                    const row = src[at..][0..g.in[2]];
                    const tap_row = weights[(kd * g.kernel[1] + kh) * g.kernel[2] ..][0..g.kernel[2]];
                    for (tap_row, 0..) |weight, kw| {
                        const part = line[columns[kw][0]..columns[kw][1]];
                        if (g.stride[2] == 1) {
                            for (part, row[first_in[kw]..][0..part.len]) |*o, v| o.* = fma(T, weight, v, o.*);
                        } else {
                            var iw = first_in[kw];
                            for (part) |*o| {
                                o.* = fma(T, weight, row[iw], o.*);
                                iw += g.stride[2];
                            }
                        }
                    }
                }
            }
        };
    };
}

/// weight * v + acc, fused where the target has FMA (LLVM does not contract a * b + c itself,
/// and @mulAdd without hardware FMA is a slow library call).
inline fn fma(comptime T: type, weight: T, v: T, acc: T) T {
    if (@typeInfo(T) != .float) return acc +% weight *% v;
    return if (has_fma) @mulAdd(T, weight, v, acc) else acc + weight * v;
}

const has_fma = switch (builtin.cpu.arch) {
    .x86_64 => std.Target.x86.featureSetHas(builtin.cpu.features, .fma),
    .aarch64 => true,
    else => false,
};

/// CausalConvWithState (opset 27): a depthwise causal 1-D conv over (B, C, L) whose left context
/// is past_state (zeros when absent); also returns the last k - 1 padded positions.
fn causalConvWithState(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const w = try ctx.require(1);
    if (x.rank() != 3 or w.rank() != 3) return ctx.fail("input and weight must be rank 3", .{});
    const b = common.dim(x, 0);
    const c = common.dim(x, 1);
    const len = common.dim(x, 2);
    const k = common.dim(w, 2);
    if (common.dim(w, 0) != c or common.dim(w, 1) != 1 or k < 1) {
        return ctx.fail("weight must be (C, 1, k) with k >= 1", .{});
    }
    const activation = ctx.node.attrString("activation", "none");
    const silu = std.mem.eql(u8, activation, "silu") or std.mem.eql(u8, activation, "swish");
    if (!silu and !std.mem.eql(u8, activation, "none")) return ctx.fail("activation must be none, silu or swish", .{});
    try checkBias(ctx, ctx.input(2), c);
    const past = ctx.input(3);
    if (past) |p| if (p.rank() != 3 or common.dim(p, 0) != b or common.dim(p, 1) != c or common.dim(p, 2) != k - 1) {
        return ctx.fail("past_state must be (B, C, k - 1)", .{});
    };
    const padded_len = len + k - 1;
    switch (try common.precision(ctx, x.dtype, false)) {
        inline else => |prec| {
            const F = if (prec == .f32) f32 else f64;
            const values = try common.floats(F, ctx, x);
            const weights = try common.floats(F, ctx, w);
            const bias = if (ctx.input(2)) |t| try common.floats(F, ctx, t) else null;
            const state = if (past) |p| try common.floats(F, ctx, p) else null;
            const out = try common.floatOutput(F, ctx, 0, x.dtype, x.shape);
            const present = try common.floatOutput(F, ctx, 1, x.dtype, &.{ x.shape[0], x.shape[1], @intCast(k - 1) });
            const padded = try ctx.alloc(F, padded_len);
            for (0..b * c) |row| {
                const history = padded[0 .. k - 1];
                if (state) |s| @memcpy(history, s[row * (k - 1) ..][0 .. k - 1]) else @memset(history, 0);
                @memcpy(padded[k - 1 ..], values[row * len ..][0..len]);
                const taps = weights[(row % c) * k ..][0..k];
                for (out.values[row * len ..][0..len], 0..) |*o, t| {
                    var acc: F = if (bias) |bv| bv[row % c] else 0;
                    for (taps, padded[t..][0..k]) |wv, v| acc += wv * v;
                    if (x.dtype == .float16) acc = @as(f16, @floatCast(acc)); // the reference rounds here
                    o.* = if (silu) acc / (1 + @exp(-acc)) else acc;
                }
                @memcpy(present.values[row * (k - 1) ..][0 .. k - 1], padded[padded_len - (k - 1) ..]);
            }
            out.finish();
            present.finish();
        },
    }
}

/// A constant float32 W packed at load for the GEMM engine, unless `conv` sends the node to the
/// depthwise engine, which packs nothing.
fn prepareConv(ctx: *const prepare.Preparation) Error!?prepare.Prepared {
    const w = ctx.constantFloats(1) orelse return null;
    const rank = w.shape.len;
    if (rank < 3 or rank > 2 + common.max_spatial) return null;
    const group = std.math.cast(usize, ctx.node.attrInt("group", 1)) orelse return null;
    const m: usize = @intCast(w.shape[0]);
    const cg: usize = @intCast(w.shape[1]);
    if (group == 0 or m % group != 0) return null;
    var window = Geometry{ .rank = rank - 2 };
    for (w.shape[2..], window.kernel[common.max_spatial - window.rank ..]) |extent, *k| k.* = @intCast(extent);
    // One input channel per group goes to the depthwise engine whenever the window fits it; with
    // one or two spatial axes the window alone decides (Conv's pads are never negative).
    if (cg == 1 and window.rank <= 2 and depthwise_f32.fits(window)) return null;
    if (winograd.worthwhile(group, cg, m, w.shape[2..], ctx.node.attrInts("strides"), ctx.node.attrInts("dilations"), outputPlane(ctx, rank))) {
        return try conv_gemm.prepareWinograd(ctx.store, w.values, cg, m);
    }
    return try conv_gemm.prepare(ctx.store, w.values, group, m / group, cg * window.kernelCount(), outputPositions(ctx, rank));
}

/// The output's height and width, where the convolution is 2-D and inference settled both.
fn outputPlane(ctx: *const prepare.Preparation, rank: usize) ?[2]usize {
    if (rank != 4) return null;
    var hw: [2]usize = undefined;
    for (&hw, 2..) |*extent, axis| extent.* = std.math.cast(usize, ctx.outputExtent(0, axis) orelse return null) orelse return null;
    return hw;
}

/// Output positions per image, where inference settled every spatial extent of the output.
fn outputPositions(ctx: *const prepare.Preparation, rank: usize) ?usize {
    var positions: usize = 1;
    for (2..rank) |axis| {
        const extent = std.math.cast(usize, ctx.outputExtent(0, axis) orelse return null) orelse return null;
        positions = std.math.mul(usize, positions, extent) catch return null;
    }
    return positions;
}

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .op = "CausalConvWithState", .run = causalConvWithState },
    .{ .op = "Conv", .run = conv, .prepare = prepareConv },
} ++ @import("nn_conv_int8.zig").kernels;
