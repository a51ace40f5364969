//! What the Vulkan backend claims of the data-movement ops, decoded once at compile. Every one
//! is a strided copy (shaders/copy.comp), or a view of its input's buffer that copies nothing
//! (Reshape, Flatten, Squeeze, Unsqueeze, Identity). The inputs that shape the result (Reshape's
//! shape, Slice's starts, Gather's indices...) must be constants: after the compile stage folds
//! shape computations, they are in the models these ops come from.
const std = @import("std");
const ir = @import("../../model/ir.zig");
const ops = @import("ops.zig");

const Decision = ops.Decision;
const max_rank = ops.max_rank;

/// The most indices a Gather may take: it is one copy per index.
pub const max_gather_indices = 64;

pub const Dims = struct {
    values: [max_rank]i64 = undefined,
    len: usize = 0,

    pub fn slice(self: *const Dims) []const i64 {
        return self.values[0..self.len];
    }
};

pub const Slice = struct { starts: Dims = .{}, ends: Dims = .{}, axes: ?Dims = null, steps: ?Dims = null };

pub const Pad = struct { pads: [2 * max_rank]i64 = undefined, count: usize = 0, value: f32 = 0 };

pub const Gather = struct { axis: i64, indices: [max_gather_indices]i64 = undefined, count: usize = 0, indices_shape: Dims = .{} };

/// Ops whose output is their input's buffer under another shape.
pub const View = union(enum) {
    reshape: struct { shape: Dims, allow_zero: bool },
    flatten: i64,
    /// Axes to drop; none given: every dim of 1.
    squeeze: ?Dims,
    unsqueeze: Dims,
    identity,
};

pub const Movement = union(enum) {
    /// The permutation, or null for the reversed dims.
    transpose: ?Dims,
    concat: i64,
    slice: Slice,
    expand: Dims,
    pad: Pad,
    gather: Gather,
    view: View,
};

/// The decision for a data-movement op, or null when `node` is none of them.
pub fn decide(node: *const ir.Node, graph: *const ir.Graph) ?Decision {
    const op = node.op_type;
    if (ops.rankIn(graph, node.outputs[0]) orelse ops.rankIn(graph, node.inputs[0])) |rank| {
        if (rank > max_rank) return refuse("the Vulkan copy kernel takes at most 6 dims");
    } else return refuse("the Vulkan backend needs values of known rank");
    if (std.mem.eql(u8, op, "Identity")) return view(.identity);
    if (std.mem.eql(u8, op, "Flatten")) return view(.{ .flatten = node.attrInt("axis", 1) });
    if (std.mem.eql(u8, op, "Reshape")) {
        var shape: Dims = .{};
        if (node.opset < 5) {
            const given = node.attrInts("shape") orelse return refuse("Reshape needs its shape");
            if (!fill(&shape, given)) return refuse("the Vulkan copy kernel takes at most 6 dims");
        } else if (!constantDims(graph, input(node, 1), &shape)) return refuse("the Vulkan backend needs Reshape's shape as a constant");
        return view(.{ .reshape = .{ .shape = shape, .allow_zero = node.attrInt("allowzero", 0) != 0 } });
    }
    if (std.mem.eql(u8, op, "Squeeze") or std.mem.eql(u8, op, "Unsqueeze")) {
        var axes: Dims = .{};
        const given = if (node.opset < 13) fill(&axes, node.attrInts("axes") orelse &.{}) else input(node, 1) == null or constantDims(graph, input(node, 1), &axes);
        if (!given) return refuse("the Vulkan backend needs the axes as a constant");
        if (std.mem.eql(u8, op, "Unsqueeze")) return view(.{ .unsqueeze = axes });
        return view(.{ .squeeze = if (axes.len == 0) null else axes });
    }
    if (std.mem.eql(u8, op, "Transpose")) {
        const perm = node.attrInts("perm") orelse return move(.{ .transpose = null });
        var dims: Dims = .{};
        if (!fill(&dims, perm)) return refuse("the Vulkan copy kernel takes at most 6 dims");
        return move(.{ .transpose = dims });
    }
    if (std.mem.eql(u8, op, "Concat")) {
        for (node.inputs) |maybe| if (!ops.isFloat32In(graph, maybe)) return refuse("the Vulkan backend runs float32 tensors only");
        return move(.{ .concat = node.attrInt("axis", 0) });
    }
    if (std.mem.eql(u8, op, "Expand")) {
        var shape: Dims = .{};
        if (!constantDims(graph, input(node, 1), &shape)) return refuse("the Vulkan backend needs Expand's shape as a constant");
        return move(.{ .expand = shape });
    }
    if (std.mem.eql(u8, op, "Slice")) return slice(node, graph);
    if (std.mem.eql(u8, op, "Pad")) return pad(node, graph);
    if (std.mem.eql(u8, op, "Gather")) {
        var g: Gather = .{ .axis = node.attrInt("axis", 0) };
        const id = input(node, 1) orelse return refuse("Gather takes data and indices");
        const v = graph.values.items[id];
        const constant = v.constant orelse return refuse("the Vulkan backend needs Gather's indices as a constant");
        if (v.role == .input) return refuse("the Vulkan backend needs Gather's indices as a constant");
        if (constant.count > max_gather_indices) return refuse("the Vulkan Gather takes at most 64 indices");
        if (!fill(&g.indices_shape, constant.dims)) return refuse("the Vulkan copy kernel takes at most 6 dims");
        for (0..@intCast(constant.count)) |i| g.indices[i] = constant.int(i) orelse return refuse("Gather's indices must be integers");
        g.count = @intCast(constant.count);
        return move(.{ .gather = g });
    }
    return null;
}

fn refuse(why: []const u8) Decision {
    return .{ .refused = why };
}

fn view(v: View) Decision {
    return .{ .kernel = .{ .movement = .{ .view = v } } };
}

fn move(m: Movement) Decision {
    return .{ .kernel = .{ .movement = m } };
}

fn input(node: *const ir.Node, i: usize) ?ir.ValueId {
    return if (i < node.inputs.len) node.inputs[i] else null;
}

fn fill(dims: *Dims, values: []const i64) bool {
    if (values.len > max_rank) return false;
    @memcpy(dims.values[0..values.len], values);
    dims.len = values.len;
    return true;
}

fn constantDims(graph: *const ir.Graph, maybe: ?ir.ValueId, dims: *Dims) bool {
    const got = ops.constantInts(graph, maybe orelse return false, &dims.values) orelse return false;
    dims.len = got.len;
    return true;
}

fn slice(node: *const ir.Node, graph: *const ir.Graph) Decision {
    var s: Slice = .{};
    if (node.opset < 10) {
        if (!fill(&s.starts, node.attrInts("starts") orelse &.{}) or !fill(&s.ends, node.attrInts("ends") orelse &.{})) return refuse("Slice's starts and ends must hold at most 6 values");
        if (node.attrInts("axes")) |axes| {
            s.axes = .{};
            if (!fill(&s.axes.?, axes)) return refuse("Slice's axes must hold at most 6 values");
        }
        return move(.{ .slice = s });
    }
    if (!constantDims(graph, input(node, 1), &s.starts) or !constantDims(graph, input(node, 2), &s.ends)) return refuse("the Vulkan backend needs Slice's starts and ends as constants");
    for ([2]usize{ 3, 4 }) |i| if (input(node, i)) |id| {
        var dims: Dims = .{};
        if (!constantDims(graph, id, &dims)) return refuse("the Vulkan backend needs Slice's axes and steps as constants");
        if (i == 3) s.axes = dims else s.steps = dims;
    };
    return move(.{ .slice = s });
}

fn pad(node: *const ir.Node, graph: *const ir.Graph) Decision {
    if (!std.mem.eql(u8, node.attrString("mode", "constant"), "constant")) return refuse("the Vulkan backend pads in constant mode only");
    var p: Pad = .{};
    if (node.opset < 11) {
        const given = node.attrInts("pads") orelse node.attrInts("paddings") orelse return refuse("Pad needs its pads");
        if (given.len > p.pads.len) return refuse("the Vulkan copy kernel takes at most 6 dims");
        @memcpy(p.pads[0..given.len], given);
        p.count = given.len;
        p.value = node.attrFloat("value", 0);
        return move(.{ .pad = p });
    }
    if (input(node, 3) != null) return refuse("the Vulkan backend pads every axis (no axes input)");
    const pads = ops.constantInts(graph, input(node, 1) orelse return refuse("Pad needs its pads"), &p.pads) orelse return refuse("the Vulkan backend needs Pad's pads as a constant");
    p.count = pads.len;
    if (input(node, 2)) |id| {
        const v = graph.values.items[id];
        const constant = v.constant orelse return refuse("the Vulkan backend needs Pad's value as a constant");
        if (v.role == .input or constant.count != 1) return refuse("the Vulkan backend needs Pad's value as a constant");
        p.value = @floatCast(constant.float(0) orelse return refuse("Pad's value must be a number"));
    }
    return move(.{ .pad = p });
}
