//! Which nodes the Vulkan backend runs, and what its compile decides for each: the kernel and
//! the op's attributes, decoded once. `supports` claims exactly what the kernels do: float32
//! tensors of known rank, in the shapes kernels.zig handles; everything else is refused with the
//! reason, and the partition stage gives the node to the next device (the CPU).
const std = @import("std");
const ir = @import("../../model/ir.zig");
const backend = @import("../../exec/backend.zig");
const fuse = @import("../../model/fuse.zig");
const ops_nn = @import("ops_nn.zig");
const ops_movement = @import("ops_movement.zig");

/// The most dims an elementwise input or output may have (the push constants' arrays).
pub const max_rank = 6;
/// The most batch dims of a MatMul output.
pub const max_batch_rank = 4;

/// Codes of the binary shader's `op` push constant (shaders/binary.comp).
pub const BinaryOp = enum(u32) { add, sub, mul, div, max, min, pow };

/// Codes of the unary shader's `op` push constant (shaders/unary.comp).
pub const UnaryOp = enum(u32) { relu, sigmoid, tanh, exp, log, abs, neg, sqrt, erf, gelu, gelu_tanh, leaky_relu, clip };

pub const Kernel = union(enum) {
    binary: BinaryOp,
    unary: struct { op: UnaryOp, alpha: f32 = 0, beta: f32 = 0 },
    /// MatMul (gemm false), or Gemm with its attributes.
    matmul: struct { gemm: bool, trans_a: bool = false, trans_b: bool = false, alpha: f32 = 1, beta: f32 = 1 },
    /// Softmax or LogSoftmax along `axis`; before opset 13 the input is coerced to 2-D at `axis`.
    softmax: struct { axis: i64, log: bool, coerced: bool },
    conv: ops_nn.Conv,
    pool: ops_nn.Pool,
    reduce: ops_nn.Reduce,
    layer_norm: ops_nn.LayerNorm,
    /// BatchNormalization for inference, with its epsilon.
    batch_norm: f32,
    movement: ops_movement.Movement,
};

/// A kernel for the node, or why there is none.
pub const Decision = union(enum) { kernel: Kernel, refused: []const u8 };

/// What compile decides for a node: its kernel, and for a node model/fuse.zig marked as absorbed
/// into its Conv, the input its output is in the runs that fuse.
pub const Compiled = struct { kernel: Kernel, passes: ?u32 };

const binary_ops = std.StaticStringMap(BinaryOp).initComptime(.{
    .{ "Add", .add }, .{ "Sub", .sub }, .{ "Mul", .mul }, .{ "Div", .div }, .{ "Max", .max }, .{ "Min", .min }, .{ "Pow", .pow },
});

const unary_ops = std.StaticStringMap(UnaryOp).initComptime(.{
    .{ "Relu", .relu },       .{ "Sigmoid", .sigmoid }, .{ "Tanh", .tanh }, .{ "Exp", .exp },   .{ "Log", .log },
    .{ "Abs", .abs },         .{ "Neg", .neg },         .{ "Sqrt", .sqrt }, .{ "Erf", .erf },   .{ "Gelu", .gelu },
    .{ "LeakyRelu", .leaky_relu }, .{ "Clip", .clip },
});

/// Null when a kernel runs `node`; otherwise why not.
pub fn supports(node: *const ir.Node, origin: backend.Origin) ?[]const u8 {
    if (node.domain.len != 0 and !std.mem.eql(u8, node.domain, "ai.onnx")) return "the Vulkan backend runs ONNX's default domain only";
    if (node.outputs.len != 1) return "the Vulkan backend runs single-output nodes only";
    if (!isFloat32(origin, node.outputs[0])) return "the Vulkan backend runs float32 only";
    const op = node.op_type;
    if (binary_ops.get(op) != null) {
        if (node.opset < 7) return "the Vulkan backend broadcasts as opset 7 and later do";
        if (node.inputs.len != 2) return "the Vulkan backend runs two-input elementwise ops only";
        return operands(origin, node.inputs, max_rank);
    }
    if (unary_ops.get(op)) |u| {
        if (operands(origin, node.inputs[0..1], null)) |why| return why;
        if (u == .clip) _ = clipBounds(node, origin.graph) catch return "Clip's min and max must be constant scalars for the Vulkan backend";
        return null;
    }
    if (std.mem.eql(u8, op, "MatMul")) {
        if (node.inputs.len != 2) return "MatMul takes two inputs";
        if (operands(origin, node.inputs, null)) |why| return why;
        const ra = rankOf(origin, node.inputs[0]).?;
        const rb = rankOf(origin, node.inputs[1]).?;
        if (ra == 0 or rb == 0) return "MatMul of a scalar";
        if (@max(ra, rb) > max_batch_rank + 2) return "the Vulkan MatMul takes at most 4 batch dims";
        return null;
    }
    if (std.mem.eql(u8, op, "Gemm")) {
        if (node.opset < 7) return "the Vulkan backend runs Gemm from opset 7";
        if (node.inputs.len < 2) return "Gemm takes two or three inputs";
        if (operands(origin, node.inputs, null)) |why| return why;
        if (rankOf(origin, node.inputs[0]).? != 2 or rankOf(origin, node.inputs[1]).? != 2) return "Gemm's A and B must be 2-D";
        if (node.inputs.len > 2) if (rankOf(origin, node.inputs[2])) |r| if (r > 2) return "Gemm's C has more than 2 dims";
        return null;
    }
    if (std.mem.eql(u8, op, "Softmax") or std.mem.eql(u8, op, "LogSoftmax")) {
        if (node.inputs.len != 1) return "Softmax takes one input";
        return operands(origin, node.inputs, null);
    }
    if (node.inputs.len == 0 or node.inputs[0] == null) return "the Vulkan backend has no kernel for this op";
    const decision = decide(node, origin) orelse return "the Vulkan backend has no kernel for this op";
    return switch (decision) {
        .refused => |why| why,
        // The tensors a kernel reads on the device; shape-giving constants (axes, pads, indices)
        // were read at compile, and Reshape's shape travels as int64.
        .kernel => operands(origin, node.inputs[0..deviceInputs(node)], null),
    };
}

/// The inputs a kernel of the new families reads on the device: the rest are constants read at
/// compile.
fn deviceInputs(node: *const ir.Node) usize {
    const op = node.op_type;
    const all = std.mem.eql(u8, op, "Conv") or std.mem.eql(u8, op, "Concat") or std.mem.eql(u8, op, "LayerNormalization") or std.mem.eql(u8, op, "BatchNormalization");
    return if (all) node.inputs.len else 1;
}

fn decide(node: *const ir.Node, origin: backend.Origin) ?Decision {
    return ops_nn.decide(node, origin) orelse ops_movement.decide(node, origin.graph);
}

/// Each present input must be a float32 tensor of known rank, at most `rank_limit` if given.
fn operands(origin: backend.Origin, inputs: []const ?ir.ValueId, rank_limit: ?usize) ?[]const u8 {
    for (inputs) |maybe| {
        const id = maybe orelse continue;
        if (!isFloat32(origin, id)) return "the Vulkan backend runs float32 tensors only";
        const rank = rankOf(origin, id) orelse return "the Vulkan backend needs inputs of known rank";
        if (rank_limit) |limit| if (rank > limit) return "the Vulkan backend's elementwise kernels take at most 6 dims";
    }
    return null;
}

fn isFloat32(origin: backend.Origin, maybe: ?ir.ValueId) bool {
    return isFloat32In(origin.graph, maybe);
}

pub fn isFloat32In(graph: *const ir.Graph, maybe: ?ir.ValueId) bool {
    const id = maybe orelse return false;
    const t = graph.values.items[id].type;
    return t.kind == .tensor and t.dtype == .float32;
}

fn rankOf(origin: backend.Origin, maybe: ?ir.ValueId) ?usize {
    return rankIn(origin.graph, maybe);
}

pub fn rankIn(graph: *const ir.Graph, maybe: ?ir.ValueId) ?usize {
    return graph.values.items[maybe orelse return null].type.rank();
}

/// The elements of an integer constant (not a graph input, whose default a caller may replace)
/// in `out`, or null when it is not one or has more elements than `out` holds.
pub fn constantInts(graph: *const ir.Graph, id: ir.ValueId, out: []i64) ?[]const i64 {
    const v = graph.values.items[id];
    const constant = v.constant orelse return null;
    if (v.role == .input or constant.count > out.len) return null;
    const n: usize = @intCast(constant.count);
    for (out[0..n], 0..) |*slot, i| slot.* = constant.int(i) orelse return null;
    return out[0..n];
}

const Bounds = struct { low: f32, high: f32 };

/// Clip's bounds: attributes before opset 11, constant scalar inputs since (absent: unbounded).
fn clipBounds(node: *const ir.Node, graph: *const ir.Graph) error{NotConstant}!Bounds {
    if (node.opset < 11) return .{ .low = node.attrFloat("min", -std.math.floatMax(f32)), .high = node.attrFloat("max", std.math.floatMax(f32)) };
    return .{ .low = try constantScalar(node, graph, 1, -std.math.inf(f32)), .high = try constantScalar(node, graph, 2, std.math.inf(f32)) };
}

fn constantScalar(node: *const ir.Node, graph: *const ir.Graph, index: usize, absent: f32) error{NotConstant}!f32 {
    if (index >= node.inputs.len) return absent;
    const id = node.inputs[index] orelse return absent;
    const v = graph.values.items[id];
    const constant = v.constant orelse return error.NotConstant;
    if (v.role == .input or constant.count != 1) return error.NotConstant;
    return @floatCast(constant.float(0) orelse return error.NotConstant);
}

/// What compile makes of a node `supports` claimed. `origin` is null for a node built after load:
/// then nothing of the graph can be read, and the nodes that need it are refused.
pub fn compiledOf(node: *const ir.Node, origin: ?backend.Origin) ?Compiled {
    const kernel = kernelOf(node, origin) orelse return null;
    const passes: ?u32 = if (node.attr(fuse.absorbed_attribute)) |mark| std.math.cast(u32, mark.proto.i) orelse return null else null;
    return .{ .kernel = kernel, .passes = passes };
}

fn kernelOf(node: *const ir.Node, origin: ?backend.Origin) ?Kernel {
    const graph = if (origin) |o| o.graph else null;
    const op = node.op_type;
    if (binary_ops.get(op)) |b| return .{ .binary = b };
    if (unary_ops.get(op)) |u| return switch (u) {
        .leaky_relu => .{ .unary = .{ .op = u, .alpha = node.attrFloat("alpha", 0.01) } },
        .gelu => .{ .unary = .{ .op = if (std.mem.eql(u8, node.attrString("approximate", "none"), "tanh")) .gelu_tanh else .gelu } },
        .clip => {
            const bounds = clipBounds(node, graph orelse return null) catch return null;
            return .{ .unary = .{ .op = u, .alpha = bounds.low, .beta = bounds.high } };
        },
        else => .{ .unary = .{ .op = u } },
    };
    if (std.mem.eql(u8, op, "MatMul")) return .{ .matmul = .{ .gemm = false } };
    if (std.mem.eql(u8, op, "Gemm")) return .{ .matmul = .{
        .gemm = true,
        .trans_a = node.attrInt("transA", 0) != 0,
        .trans_b = node.attrInt("transB", 0) != 0,
        .alpha = node.attrFloat("alpha", 1),
        .beta = node.attrFloat("beta", 1),
    } };
    const log = std.mem.eql(u8, op, "LogSoftmax");
    if (log or std.mem.eql(u8, op, "Softmax")) {
        const coerced = node.opset < 13;
        return .{ .softmax = .{ .axis = node.attrInt("axis", if (coerced) 1 else -1), .log = log, .coerced = coerced } };
    }
    return switch (decide(node, origin orelse return null) orelse return null) {
        .kernel => |k| k,
        .refused => null,
    };
}
