//! Shape rules (family: nn). Convolutions live here; pooling and RoI ops in nn_pool.zig,
//! normalizations, LRN and Dropout in nn_norm.zig, resampling and vision ops in nn_vision.zig. The
//! window arithmetic they share (pads, strides, dilations, ceil_mode) is nn_window.zig; unit tests
//! on symbolic dims are in nn_test.zig.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");
const window = @import("nn_window.zig");

const Context = context.Context;
const Dim = ir.Dim;
const Error = status.Error;

/// Where a convolution's operands sit among its inputs (QLinearConv interleaves quantization).
const Operands = struct { x: usize, w: usize, bias: ?usize };

/// N x M x spatial extents for the Conv-like ops; null when X's rank is unknown.
fn convShape(ctx: *Context, ops: Operands) Error!?[]const Dim {
    _ = try ctx.require(ops.x);
    _ = try ctx.require(ops.w);
    const xs = ctx.shape(ops.x) orelse return null;
    if (xs.len < 2) return ctx.fail("X has rank {d}; it needs at least N and C", .{xs.len});
    const n = xs.len - 2;
    const ws = ctx.shape(ops.w);
    if (ws) |s| if (s.len != xs.len) return ctx.fail("W has rank {d} but X has rank {d}", .{ s.len, xs.len });
    const group = try groupAttribute(ctx);
    const out = try ctx.alloc(Dim, xs.len);
    out[0] = xs[0];
    out[1] = if (ws) |s| s[0] else try ctx.freshDim("channels");
    if (ws) |s| {
        const expected = try ctx.pool.mul(s[1], try ctx.dim(group));
        try window.checkSame(ctx, xs[1], expected, "X channels and W.shape[1] * group");
        try checkDivisible(ctx, s[0], group);
    }
    if (ops.bias) |b| try checkBias(ctx, b, out[1]);
    const w = try window.Window.read(ctx, n, try kernelOf(ctx, n, ws));
    for (0..n) |i| out[2 + i] = try window.extent(ctx, w, i, xs[2 + i]);
    return out;
}

fn groupAttribute(ctx: *const Context) Error!i64 {
    const group = ctx.attrInt("group", 1);
    if (group < 1) return ctx.fail("group is {d}; it must be >= 1", .{group});
    return group;
}

fn checkDivisible(ctx: *const Context, channels: Dim, group: i64) Error!void {
    const c = ctx.pool.value(channels) orelse return;
    if (@mod(c, group) != 0) return ctx.fail("{d} feature maps do not split into {d} groups", .{ c, group });
}

/// The bias, when given, is 1-D with one value per output channel.
fn checkBias(ctx: *const Context, i: usize, channels: Dim) Error!void {
    const s = ctx.shape(i) orelse return;
    if (s.len != 1) return ctx.fail("the bias has rank {d}; it must be 1-D", .{s.len});
    try window.checkSame(ctx, s[0], channels, "bias length and output channels");
}

/// kernel_shape when given (checked against W's spatial dims), else W's spatial dims, else unknown.
fn kernelOf(ctx: *const Context, n: usize, ws: ?[]const Dim) Error!?[]const Dim {
    const from_attribute = try window.kernelAttribute(ctx, n) orelse return if (ws) |s| s[2..] else null;
    const s = ws orelse return from_attribute;
    for (from_attribute, s[2..]) |a, b| try window.checkSame(ctx, a, b, "kernel_shape and W's spatial dims");
    return from_attribute;
}

fn conv(ctx: *Context) Error!void {
    try ctx.setOutput(0, ctx.dtype(0) orelse ctx.dtype(1), try convShape(ctx, .{ .x = 0, .w = 1, .bias = 2 }));
}

fn isByte(dtype: ?ir.DType) bool {
    const d = dtype orelse return true;
    return d == .int8 or d == .uint8;
}

/// ConvInteger: 8-bit operands, int32 accumulators.
fn convInteger(ctx: *Context) Error!void {
    for ([_]usize{ 0, 1, 2, 3 }) |i| {
        if (!isByte(ctx.dtype(i))) return ctx.fail("input {d} must be int8 or uint8", .{i});
    }
    try ctx.setOutput(0, .int32, try convShape(ctx, .{ .x = 0, .w = 1, .bias = null }));
}

/// QLinearConv: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B; the
/// output has y_zero_point's type.
fn qlinearConv(ctx: *Context) Error!void {
    for (0..8) |i| _ = try ctx.require(i);
    for ([_]usize{ 0, 2, 3, 5, 7 }) |i| {
        if (!isByte(ctx.dtype(i))) return ctx.fail("input {d} must be int8 or uint8", .{i});
    }
    if (ctx.dtype(8)) |d| if (d != .int32) return ctx.fail("the bias must be int32, not {s}", .{@tagName(d)});
    try ctx.setOutput(0, ctx.dtype(7), try convShape(ctx, .{ .x = 0, .w = 3, .bias = 8 }));
}

/// DeformConv: X, W, offset, B, mask; the output is Conv's (explicit pads only).
fn deformConv(ctx: *Context) Error!void {
    _ = try ctx.require(2);
    const offset_group = ctx.attrInt("offset_group", 1);
    if (offset_group < 1) return ctx.fail("offset_group is {d}; it must be >= 1", .{offset_group});
    const shape = try convShape(ctx, .{ .x = 0, .w = 1, .bias = 3 });
    if (shape) |out| { // X has rank >= 2 here
        try window.checkRank(ctx, 2, out.len);
        if (ctx.shape(2)) |offset| try window.checkSame(ctx, offset[0], out[0], "offset and X batch sizes");
    }
    try ctx.setOutput(0, ctx.dtype(0) orelse ctx.dtype(1), shape);
}

fn convTranspose(ctx: *Context) Error!void {
    try ctx.setOutput(0, ctx.dtype(0) orelse ctx.dtype(1), try convTransposeShape(ctx));
}

/// N x (W.shape[1] * group) x spatial extents, from output_shape when given.
fn convTransposeShape(ctx: *Context) Error!?[]const Dim {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    const xs = ctx.shape(0) orelse return null;
    if (xs.len < 2) return ctx.fail("X has rank {d}; it needs at least N and C", .{xs.len});
    const n = xs.len - 2;
    const ws = ctx.shape(1);
    if (ws) |s| if (s.len != xs.len) return ctx.fail("W has rank {d} but X has rank {d}", .{ s.len, xs.len });
    const group = try groupAttribute(ctx);
    const out = try ctx.alloc(Dim, xs.len);
    out[0] = xs[0];
    out[1] = if (ws) |s| try ctx.pool.mul(s[1], try ctx.dim(group)) else try ctx.freshDim("channels");
    if (ws) |s| {
        try window.checkSame(ctx, xs[1], s[0], "X channels and W.shape[0]");
        try checkDivisible(ctx, s[0], group);
    }
    try checkBias(ctx, 2, out[1]);
    const w = try window.Window.read(ctx, n, try kernelOf(ctx, n, ws));
    const output_padding = try window.perAxis(ctx, "output_padding", n, 0, 0);
    for (output_padding, w.strides, w.dilations) |p, s, d| {
        if (p >= s and p >= d) return ctx.fail("output_padding {d} is not below the stride or dilation", .{p});
    }
    if (ctx.attrInts("output_shape")) |given| {
        // Either the spatial extents alone or, as some exporters write it, the full shape.
        if (given.len != n and given.len != n + 2) {
            return ctx.fail("output_shape has {d} values for {d} spatial axes", .{ given.len, n });
        }
        for (given[given.len - n ..], out[2..]) |v, *slot| {
            if (v < 0) return ctx.fail("output_shape holds {d}", .{v});
            slot.* = try ctx.dim(v);
        }
        return out;
    }
    for (0..n) |i| out[2 + i] = try window.transposedExtent(ctx, w, i, xs[2 + i], output_padding[i]);
    return out;
}

/// CausalConvWithState (opset 27): a depthwise causal 1-D conv over (B, C, L) that also returns the
/// last k - 1 positions as the next step's state.
fn causalConvWithState(ctx: *Context) Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    for ([_]usize{ 0, 1, 3 }) |i| try window.checkRank(ctx, i, 3);
    try window.checkRank(ctx, 2, 1);
    const activation = ctx.attrString("activation", "none");
    const known = [_][]const u8{ "none", "silu", "swish" };
    for (known) |a| {
        if (std.mem.eql(u8, a, activation)) break;
    } else return ctx.fail("activation '{s}' is not none, silu or swish", .{window.clip(activation)});
    const dtype = ctx.dtype(0) orelse ctx.dtype(1);
    try ctx.setOutput(0, dtype, ctx.shape(0));
    const xs = ctx.shape(0) orelse return ctx.setOutput(1, dtype, null);
    const state = try ctx.alloc(Dim, 3);
    state[0] = xs[0];
    state[1] = xs[1];
    state[2] = try stateLength(ctx, xs[1]);
    if (ctx.shape(3)) |past| {
        try window.checkSame(ctx, past[0], xs[0], "past_state and input batch sizes");
        try window.checkSame(ctx, past[1], xs[1], "past_state and input channels");
        try window.checkSame(ctx, past[2], state[2], "past_state length and k - 1");
    }
    try checkBias(ctx, 2, xs[1]);
    try ctx.setOutput(1, dtype, state);
}

/// k - 1 from the weight (C, 1, k), else from past_state.
fn stateLength(ctx: *const Context, channels: Dim) Error!Dim {
    if (ctx.shape(1)) |ws| {
        try window.checkSame(ctx, ws[0], channels, "weight rows and input channels");
        try window.checkSame(ctx, ws[1], try ctx.dim(1), "weight.shape[1] and 1");
        if (ctx.pool.value(ws[2])) |k| if (k < 1) return ctx.fail("the kernel size is {d}", .{k});
        return ctx.pool.sub(ws[2], try ctx.dim(1));
    }
    if (ctx.shape(3)) |past| return past[2];
    return ctx.freshDim("state");
}

fn entry(comptime op: []const u8, rule: context.Rule) registry.Entry {
    return .{ .op = op, .rule = rule };
}

const conv_rules = [_]registry.Entry{
    entry("Conv", conv),
    entry("ConvInteger", convInteger),
    entry("QLinearConv", qlinearConv),
    entry("DeformConv", deformConv),
    entry("ConvTranspose", convTranspose),
    entry("CausalConvWithState", causalConvWithState),
};

pub const rules = conv_rules ++ @import("nn_pool.zig").rules ++ @import("nn_norm.zig").rules ++
    @import("nn_vision.zig").rules;

test "the nn family registers its operators" {
    try std.testing.expect(registry.lookup("", "Conv") != null);
    try std.testing.expect(registry.lookup("ai.onnx", "Resize") != null);
}

test {
    _ = @import("nn_test.zig");
}
