//! What the Vulkan backend claims of the neural-network ops, decoded once at compile: Conv (with
//! the fusion model/fuse.zig marks on it), the pools, BatchNormalization, LayerNormalization and
//! the reductions. Each decoder gives the kernel, or the reason the node is refused.
const std = @import("std");
const ir = @import("../../model/ir.zig");
const backend = @import("../../exec/backend.zig");
const fuse = @import("../../model/fuse.zig");
const window = @import("window.zig");
const ops = @import("ops.zig");

const Decision = ops.Decision;

/// A residual and an activation a marked Conv applies in its store, in the runs that fuse
/// (NodeRun.fuse), with the codes of fuse.ActivationCode.
pub const Fusion = struct { activation: u32, lo: f32, hi: f32, residual: bool };

pub const Conv = struct {
    window: window.Attributes,
    group: u32,
    /// One invocation per output element (conv_direct.comp) rather than the implicit GEMM: for
    /// few output channels per group, depthwise convolutions above all.
    direct: bool,
    fusion: ?Fusion,
};

/// Output channels per group below which the direct kernel beats the GEMM's 32-row tiles.
const direct_below_filters = 8;

pub const Pool = struct { window: window.Attributes, kernel: [window.max_spatial]i64, average: bool, include_pad: bool };

pub const ReduceOp = enum(u32) { sum, mean, max };

pub const Reduce = struct {
    op: ReduceOp,
    /// The axes reduced (normalized later, against the run's rank): `axes[0..axis_count]`, or
    /// every axis from `from_axis` on when `axis_count` is 0 and `noop` is false.
    axes: [ops.max_rank]i64 = undefined,
    axis_count: usize = 0,
    from_axis: usize = 0,
    keepdims: bool = true,
    /// No axes and noop_with_empty_axes: the input as it is.
    noop: bool = false,
};

pub const LayerNorm = struct { axis: i64, epsilon: f32 };

/// The decision for an nn op, or null when `node` is none of them.
pub fn decide(node: *const ir.Node, origin: backend.Origin) ?Decision {
    const graph = origin.graph;
    const op = node.op_type;
    if (std.mem.eql(u8, op, "Conv")) return conv(node, origin);
    if (std.mem.eql(u8, op, "MaxPool")) return pool(node, graph, false);
    if (std.mem.eql(u8, op, "AveragePool")) return pool(node, graph, true);
    if (std.mem.eql(u8, op, "GlobalAveragePool") or std.mem.eql(u8, op, "GlobalMaxPool")) {
        const rank = ops.rankIn(graph, node.inputs[0]) orelse return refuse("the Vulkan backend needs inputs of known rank");
        if (rank < 3) return refuse("a global pool needs N, C and a spatial axis");
        const op_code: ReduceOp = if (std.mem.eql(u8, op, "GlobalMaxPool")) .max else .mean;
        return .{ .kernel = .{ .reduce = .{ .op = op_code, .from_axis = 2 } } };
    }
    if (std.mem.eql(u8, op, "ReduceSum")) return reduce(node, graph, .sum, 13);
    if (std.mem.eql(u8, op, "ReduceMean")) return reduce(node, graph, .mean, 18);
    if (std.mem.eql(u8, op, "ReduceMax")) return reduce(node, graph, .max, 18);
    if (std.mem.eql(u8, op, "LayerNormalization")) {
        if (node.inputs.len < 2) return refuse("LayerNormalization takes X and Scale");
        return .{ .kernel = .{ .layer_norm = .{ .axis = node.attrInt("axis", -1), .epsilon = node.attrFloat("epsilon", 1e-5) } } };
    }
    if (std.mem.eql(u8, op, "BatchNormalization")) {
        if (node.inputs.len != 5) return refuse("BatchNormalization takes X, scale, B, mean and var");
        if (node.attrInt("training_mode", 0) != 0) return refuse("the Vulkan backend runs BatchNormalization for inference only");
        const rank = ops.rankIn(graph, node.inputs[0]) orelse return refuse("the Vulkan backend needs inputs of known rank");
        if (rank < 2) return refuse("BatchNormalization needs N and C");
        return .{ .kernel = .{ .batch_norm = node.attrFloat("epsilon", 1e-5) } };
    }
    return null;
}

fn refuse(why: []const u8) Decision {
    return .{ .refused = why };
}

fn conv(node: *const ir.Node, origin: backend.Origin) Decision {
    const graph = origin.graph;
    if (node.inputs.len < 2 or node.inputs[1] == null) return refuse("Conv takes X and W");
    const rank = ops.rankIn(graph, node.inputs[0]) orelse return refuse("the Vulkan backend needs inputs of known rank");
    if (rank < 3) return refuse("Conv needs N, C and a spatial axis");
    if (ops.rankIn(graph, node.inputs[1]) != rank) return refuse("Conv's W must have X's rank");
    const attributes = switch (window.decode(node, rank - 2)) {
        .ok => |a| a,
        .refused => |why| return refuse(why),
    };
    if (node.attrInts("kernel_shape")) |k| if (k.len != rank - 2) return refuse("kernel_shape must hold one value per spatial axis");
    const group = node.attrInt("group", 1);
    if (group < 1 or group > std.math.maxInt(u16)) return refuse("Conv's group is out of range");
    const w_shape = graph.values.items[node.inputs[1].?].type.shape.?;
    const filters_per_group: ?i64 = if (origin.dims.value(w_shape[0])) |d| @divTrunc(d, group) else null;
    return .{ .kernel = .{ .conv = .{
        .window = attributes,
        .group = @intCast(group),
        .direct = if (filters_per_group) |f| f < direct_below_filters else false,
        .fusion = switch (fusionOf(node)) {
            .ok => |f| f,
            .refused => |why| return refuse(why),
        },
    } } };
}

const FusionDecision = union(enum) { ok: ?Fusion, refused: []const u8 };

fn fusionOf(node: *const ir.Node) FusionDecision {
    const mark = (node.attr(fuse.producer_attribute) orelse return .{ .ok = null }).proto;
    if (mark.ints.len != 2 or mark.floats.len != 2) return .{ .refused = "the Conv has a malformed fusion mark" };
    if (mark.ints[0] < 0 or mark.ints[0] > @intFromEnum(fuse.ActivationCode.silu)) return .{ .refused = "the Conv's fused activation is not one the Vulkan kernels apply" };
    const residual = mark.ints[1] != 0;
    if (residual and (node.inputs.len <= fuse.residual_input or node.inputs[fuse.residual_input] == null)) return .{ .refused = "the Conv has a malformed fusion mark" };
    return .{ .ok = .{ .activation = @intCast(mark.ints[0]), .lo = mark.floats[0], .hi = mark.floats[1], .residual = residual } };
}

fn pool(node: *const ir.Node, graph: *const ir.Graph, average: bool) Decision {
    const rank = ops.rankIn(graph, node.inputs[0]) orelse return refuse("the Vulkan backend needs inputs of known rank");
    if (rank < 3) return refuse("a pool needs N, C and a spatial axis");
    if (!average and node.attrInt("storage_order", 0) != 0) return refuse("MaxPool's storage_order is for its indices, which the Vulkan backend does not make");
    const kernel = node.attrInts("kernel_shape") orelse return refuse("kernel_shape is required");
    if (kernel.len != rank - 2) return refuse("kernel_shape must hold one value per spatial axis");
    const attributes = switch (window.decode(node, rank - 2)) {
        .ok => |a| a,
        .refused => |why| return refuse(why),
    };
    var p: Pool = .{ .window = attributes, .kernel = .{ 1, 1 }, .average = average, .include_pad = node.attrInt("count_include_pad", 0) != 0 };
    @memcpy(p.kernel[window.max_spatial - kernel.len ..], kernel);
    return .{ .kernel = .{ .pool = p } };
}

/// ReduceSum, ReduceMean, ReduceMax; `axes_input_from` is the opset from which the axes are an
/// input (which must be a constant) rather than an attribute.
fn reduce(node: *const ir.Node, graph: *const ir.Graph, op: ReduceOp, axes_input_from: i64) Decision {
    var r: Reduce = .{ .op = op, .keepdims = node.attrInt("keepdims", 1) != 0 };
    const rank = ops.rankIn(graph, node.inputs[0]) orelse return refuse("the Vulkan backend needs inputs of known rank");
    if (rank > ops.max_rank) return refuse("the Vulkan reductions take at most 6 dims");
    var axes: []const i64 = &.{};
    if (node.opset >= axes_input_from) {
        if (node.inputs.len > 1) if (node.inputs[1]) |id| {
            axes = ops.constantInts(graph, id, &r.axes) orelse return refuse("the Vulkan backend needs the reduction's axes as a constant");
        };
    } else if (node.attrInts("axes")) |given| {
        if (given.len > ops.max_rank) return refuse("too many axes");
        @memcpy(r.axes[0..given.len], given);
        axes = r.axes[0..given.len];
    }
    r.axis_count = axes.len;
    r.noop = axes.len == 0 and node.attrInt("noop_with_empty_axes", 0) != 0;
    return .{ .kernel = .{ .reduce = r } };
}
