//! Running the neural-network kernels: Conv (implicit GEMM or direct, with its fused store),
//! the pools, the reductions (global pools included), LayerNormalization and
//! BatchNormalization. Output shapes come from the run's input shapes; the push constants are
//! each shader's, in its std430 layout.
const std = @import("std");
const status = @import("../../core/status.zig");
const node_run = @import("../../exec/node_run.zig");
const value = @import("../../exec/value.zig");
const fuse = @import("../../model/fuse.zig");
const ops = @import("ops.zig");
const ops_nn = @import("ops_nn.zig");
const window = @import("window.zig");
const kernels = @import("kernels.zig");
const stream_module = @import("stream.zig");
const functions = @import("functions.zig");

const vk = functions.vk;
const Tensor = value.Tensor;
const Target = kernels.Target;
const NodeRun = node_run.NodeRun;

const ConvPush = extern struct {
    channels: u32,
    height: u32,
    width: u32,
    filters: u32,
    out_height: u32,
    out_width: u32,
    kernel_height: u32,
    kernel_width: u32,
    stride_y: u32,
    stride_x: u32,
    dilation_y: u32,
    dilation_x: u32,
    pad_y: i32,
    pad_x: i32,
    groups: u32,
    flags: u32,
    activation: u32,
    lo: f32,
    hi: f32,
    /// Output elements (conv_direct.comp only).
    count: u32,
};
const conv_has_bias = 1;
const conv_has_residual = 2;

const PoolPush = extern struct {
    count: u32,
    height: u32,
    width: u32,
    out_height: u32,
    out_width: u32,
    kernel_height: u32,
    kernel_width: u32,
    stride_y: u32,
    stride_x: u32,
    dilation_y: u32,
    dilation_x: u32,
    pad_y: i32,
    pad_x: i32,
    pad_end_y: i32,
    pad_end_x: i32,
    mode: u32,
};
const PoolMode = enum(u32) { max, average, average_including_pad };

const ReducePush = extern struct {
    outputs: u32,
    reduced: u32,
    kept_rank: u32,
    reduced_rank: u32,
    op: u32,
    outputs_per_dispatch_row: u32,
    kept_dims: [6]u32,
    kept_strides: [6]u32,
    reduced_dims: [6]u32,
    reduced_strides: [6]u32,
};

const LayerNormPush = extern struct { rows: u32, row_length: u32, epsilon: f32, has_bias: u32, scale_length: u32, bias_length: u32, rows_per_dispatch_row: u32 };
const BatchNormPush = extern struct { count: u32, channels: u32, inner: u32, epsilon: f32 };

comptime {
    for (.{ ConvPush, PoolPush, ReducePush, LayerNormPush, BatchNormPush }) |T| std.debug.assert(@sizeOf(T) <= 128);
}

fn optionalInput(r: *const NodeRun, i: usize) status.Error!?*const Tensor {
    if (i >= r.inputs.len or r.inputs[i] == null) return null;
    return try kernels.input(r, i);
}

pub fn conv(target: Target, c: ops_nn.Conv, pipeline: vk.VkPipeline, r: *const NodeRun) status.Error!void {
    const x = try kernels.input(r, 0);
    const w = try kernels.input(r, 1);
    const bias = try optionalInput(r, 2);
    const rank = x.shape.len;
    if (rank < 3 or w.shape.len != rank) return status.fail(error.ShapeError, "Conv of X {any} and W {any}: they need N, C and the same spatial axes", .{ x.shape, w.shape });
    const group: i64 = c.group;
    const filters = w.shape[0];
    if (x.shape[1] != w.shape[1] * group or @rem(filters, group) != 0) return status.fail(error.ShapeError, "Conv of X {any} and W {any} in {d} groups: the channels do not match", .{ x.shape, w.shape, group });
    if (bias) |b| if (b.count() != filters) return status.fail(error.ShapeError, "Conv's B has {d} values for {d} output channels", .{ b.count(), filters });
    const g = try window.geometry(c.window, x.shape[2..], w.shape[2..]);
    const shape = r.arena.alloc(i64, rank) catch return kernels.oom();
    shape[0] = x.shape[0];
    shape[1] = filters;
    for (shape[2..], window.max_spatial - (rank - 2)..) |*d, j| d.* = g.out[j];
    // The fusion applies only in runs that fuse; otherwise the absorbed nodes do their own work.
    const fusion: ?ops_nn.Fusion = if (r.fuse) c.fusion else null;
    const residual = if (fusion != null and fusion.?.residual) try kernels.input(r, fuse.residual_input) else null;
    if (residual) |t| if (!std.mem.eql(i64, t.shape, shape)) return status.fail(error.ShapeError, "the fused residual {any} does not match the Conv's output {any}", .{ t.shape, shape });
    const y = try kernels.output(target, r, shape);
    const count = try kernels.count32(y);
    if (count == 0) return;
    var push: ConvPush = .{
        .channels = try kernels.dim32(w.shape[1]),
        .height = g.in[0],
        .width = g.in[1],
        .filters = try kernels.dim32(@divExact(filters, group)),
        .out_height = g.out[0],
        .out_width = g.out[1],
        .kernel_height = g.kernel[0],
        .kernel_width = g.kernel[1],
        .stride_y = g.stride[0],
        .stride_x = g.stride[1],
        .dilation_y = g.dilation[0],
        .dilation_x = g.dilation[1],
        .pad_y = g.pad_begin[0],
        .pad_x = g.pad_begin[1],
        .groups = c.group,
        .flags = (if (bias != null) @as(u32, conv_has_bias) else 0) | (if (residual != null) @as(u32, conv_has_residual) else 0),
        .activation = if (fusion) |f| f.activation else 0,
        .lo = if (fusion) |f| f.lo else 0,
        .hi = if (fusion) |f| f.hi else 0,
        .count = count,
    };
    _ = try kernels.count32(x);
    _ = try kernels.count32(w);
    const bindings = [_]stream_module.Binding{ kernels.bindingOf(x), kernels.bindingOf(w), kernels.bindingOf(bias orelse x), kernels.bindingOf(residual orelse x), kernels.bindingOf(y) };
    const tile = kernels.matmul_tile;
    const positions: u32 = @intCast(g.outCount());
    const groups: [3]u32 = if (c.direct)
        .{ kernels.groupsFor(count, kernels.elementwise_workgroup), 1, 1 }
    else
        .{ (positions + tile[2] - 1) / tile[2], (push.filters + tile[1] - 1) / tile[1], try kernels.dim32(x.shape[0] * group) };
    try target.stream.record(.{ .pipeline = pipeline, .bindings = &bindings, .push = std.mem.asBytes(&push), .groups = groups });
}

pub fn pool(target: Target, p: ops_nn.Pool, pipeline: vk.VkPipeline, r: *const NodeRun) status.Error!void {
    const x = try kernels.input(r, 0);
    const rank = x.shape.len;
    if (rank < 3) return status.fail(error.ShapeError, "a pool's X {any} needs N, C and a spatial axis", .{x.shape});
    const spatial = rank - 2;
    const g = try window.geometry(p.window, x.shape[2..], p.kernel[window.max_spatial - spatial ..]);
    const shape = r.arena.alloc(i64, rank) catch return kernels.oom();
    @memcpy(shape[0..2], x.shape[0..2]);
    for (shape[2..], window.max_spatial - spatial..) |*d, j| d.* = g.out[j];
    _ = try kernels.count32(x);
    const y = try kernels.output(target, r, shape);
    const count = try kernels.count32(y);
    if (count == 0) return;
    const mode: PoolMode = if (!p.average) .max else if (p.include_pad) .average_including_pad else .average;
    const push: PoolPush = .{
        .count = count,
        .height = g.in[0],
        .width = g.in[1],
        .out_height = g.out[0],
        .out_width = g.out[1],
        .kernel_height = g.kernel[0],
        .kernel_width = g.kernel[1],
        .stride_y = g.stride[0],
        .stride_x = g.stride[1],
        .dilation_y = g.dilation[0],
        .dilation_x = g.dilation[1],
        .pad_y = g.pad_begin[0],
        .pad_x = g.pad_begin[1],
        .pad_end_y = g.pad_end[0],
        .pad_end_x = g.pad_end[1],
        .mode = @intFromEnum(mode),
    };
    try target.stream.record(.{
        .pipeline = pipeline,
        .bindings = &.{ kernels.bindingOf(x), kernels.bindingOf(y) },
        .push = std.mem.asBytes(&push),
        .groups = .{ kernels.groupsFor(count, kernels.elementwise_workgroup), 1, 1 },
    });
}

pub fn reduce(target: Target, d: ops_nn.Reduce, pipeline: vk.VkPipeline, r: *const NodeRun) status.Error!void {
    const x = try kernels.input(r, 0);
    const rank = x.shape.len;
    if (d.noop) return kernels.view(r, x, x.shape);
    if (rank > ops.max_rank) return status.fail(error.NotImplemented, "the Vulkan reductions take at most {d} dims", .{ops.max_rank});
    var reduced = [_]bool{false} ** ops.max_rank;
    if (d.axis_count == 0) {
        for (reduced[@min(d.from_axis, rank)..rank]) |*flag| flag.* = true;
    } else for (d.axes[0..d.axis_count]) |axis| {
        const a = if (axis < 0) axis + @as(i64, @intCast(rank)) else axis;
        if (a < 0 or a >= rank) return status.fail(error.InvalidArgument, "axis {d} is out of range for rank {d}", .{ axis, rank });
        reduced[@intCast(a)] = true;
    }
    var push = std.mem.zeroes(ReducePush);
    push.op = @intFromEnum(d.op);
    const shape = r.arena.alloc(i64, rank) catch return kernels.oom();
    var out_rank: usize = 0;
    var stride: u64 = 1;
    var i = rank;
    // Strides first, from the last axis; the lists are then in order from the first.
    var strides: [ops.max_rank]u32 = undefined;
    while (i > 0) {
        i -= 1;
        strides[i] = std.math.cast(u32, stride) orelse return kernels.tooLarge();
        stride *= @intCast(x.shape[i]);
    }
    _ = try kernels.count32(x);
    for (0..rank) |axis| {
        const dim = try kernels.dim32(x.shape[axis]);
        if (reduced[axis]) {
            push.reduced_dims[push.reduced_rank] = dim;
            push.reduced_strides[push.reduced_rank] = strides[axis];
            push.reduced_rank += 1;
            if (d.keepdims) {
                shape[out_rank] = 1;
                out_rank += 1;
            }
        } else {
            push.kept_dims[push.kept_rank] = dim;
            push.kept_strides[push.kept_rank] = strides[axis];
            push.kept_rank += 1;
            shape[out_rank] = x.shape[axis];
            out_rank += 1;
        }
    }
    const y = try kernels.output(target, r, shape[0..out_rank]);
    push.outputs = try kernels.count32(y);
    push.reduced = @intCast(kernels.product(x.shape) / @max(push.outputs, 1));
    if (push.reduced_rank == 0) push.reduced = 1;
    if (push.outputs == 0) return;
    const across = @min(push.outputs, kernels.max_groups);
    push.outputs_per_dispatch_row = across;
    try target.stream.record(.{
        .pipeline = pipeline,
        .bindings = &.{ kernels.bindingOf(x), kernels.bindingOf(y) },
        .push = std.mem.asBytes(&push),
        .groups = .{ across, (push.outputs + across - 1) / across, 1 },
    });
}

pub fn layerNorm(target: Target, l: ops_nn.LayerNorm, pipeline: vk.VkPipeline, r: *const NodeRun) status.Error!void {
    const x = try kernels.input(r, 0);
    const scale = try kernels.input(r, 1);
    const bias = try optionalInput(r, 2);
    const rank: i64 = @intCast(x.shape.len);
    const axis = if (l.axis < 0) l.axis + rank else l.axis;
    if (axis < 0 or axis >= rank) return status.fail(error.InvalidArgument, "LayerNormalization's axis {d} is out of range for rank {d}", .{ l.axis, rank });
    const normalized = x.shape[@intCast(axis)..];
    for ([2]?*const Tensor{ scale, bias }) |maybe| if (maybe) |t| if (!repeatsAlong(t.shape, normalized))
        return status.fail(error.ShapeError, "LayerNormalization's scale or bias {any} does not broadcast to the normalized dims {any}", .{ t.shape, normalized });
    _ = try kernels.count32(x);
    const rows: u32 = @intCast(kernels.product(x.shape[0..@intCast(axis)]));
    const length: u32 = @intCast(kernels.product(normalized));
    const y = try kernels.output(target, r, x.shape);
    if (rows == 0 or length == 0) return;
    const across = @min(rows, kernels.max_groups);
    const push: LayerNormPush = .{
        .rows = rows,
        .row_length = length,
        .epsilon = l.epsilon,
        .has_bias = @intFromBool(bias != null),
        .scale_length = @intCast(scale.count()),
        .bias_length = if (bias) |b| @intCast(b.count()) else 1,
        .rows_per_dispatch_row = across,
    };
    try target.stream.record(.{
        .pipeline = pipeline,
        .bindings = &.{ kernels.bindingOf(x), kernels.bindingOf(scale), kernels.bindingOf(bias orelse scale), kernels.bindingOf(y) },
        .push = std.mem.asBytes(&push),
        .groups = .{ across, (rows + across - 1) / across, 1 },
    });
}

/// Whether `shape`, without its leading 1s, is a trailing part of `dims` and has elements: the
/// values then repeat every `product(shape)` elements of a row, as the shader reads them.
fn repeatsAlong(shape: []const i64, dims: []const i64) bool {
    var start: usize = 0;
    while (start < shape.len and shape[start] == 1) start += 1;
    const rest = shape[start..];
    if (rest.len > dims.len) return false;
    return std.mem.eql(i64, rest, dims[dims.len - rest.len ..]);
}

pub fn batchNorm(target: Target, epsilon: f32, pipeline: vk.VkPipeline, r: *const NodeRun) status.Error!void {
    const x = try kernels.input(r, 0);
    if (x.shape.len < 2) return status.fail(error.ShapeError, "BatchNormalization's X {any} needs N and C", .{x.shape});
    const channels = x.shape[1];
    var parameters: [4]*const Tensor = undefined;
    for (&parameters, 1..) |*slot, i| {
        slot.* = try kernels.input(r, i);
        if (slot.*.count() != channels) return status.fail(error.ShapeError, "BatchNormalization's input {d} has {d} values for {d} channels", .{ i, slot.*.count(), channels });
    }
    const y = try kernels.output(target, r, x.shape);
    const count = try kernels.count32(y);
    if (count == 0) return;
    const push: BatchNormPush = .{ .count = count, .channels = try kernels.dim32(channels), .inner = @intCast(kernels.product(x.shape[2..])), .epsilon = epsilon };
    try target.stream.record(.{
        .pipeline = pipeline,
        .bindings = &.{ kernels.bindingOf(x), kernels.bindingOf(parameters[0]), kernels.bindingOf(parameters[1]), kernels.bindingOf(parameters[2]), kernels.bindingOf(parameters[3]), kernels.bindingOf(y) },
        .push = std.mem.asBytes(&push),
        .groups = .{ kernels.groupsFor(count, kernels.elementwise_workgroup), 1, 1 },
    });
}
