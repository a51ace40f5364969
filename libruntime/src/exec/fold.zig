//! Compile-stage passes over the top-level graph, before partition:
//!   - constant folding: a node whose inputs are all constants (initializers, Constant outputs,
//!     or outputs folded before it) gives the same outputs on every run, so it runs once, here,
//!     on the CPU, and its outputs become constants of the model. Runs skip it, and the nodes
//!     after it see constant inputs: a weight behind a Transpose or a Cast is packed at load like
//!     any other weight.
//!   - known outputs: a node whose every output load already holds as a constant (a Constant
//!     node) never needs to run. And shape folding: a node whose outputs shape inference
//!     computed as whole numbers (Shape of a
//!     value of static shape, and the Gather, Concat, Unsqueeze... over it, tracked as
//!     symbolic elements) gives those numbers on every run whatever its inputs' values, so its
//!     outputs become constants without running it. A model that reshapes by its own shape then
//!     never reads a tensor's shape at run time, and a device computing that tensor need not
//!     copy it to the host for a Shape node.
//!   - dead-node removal: a node that no graph output needs (after folding) is marked unused and
//!     never runs or compiles.
//! Nodes stay in the graph, marked (ir.Node.pruned), so the model's operations and value names are
//! what the file says.
//!
//! Not folded: nodes with random outputs, nodes with subgraphs or fusion marks (model/fuse.zig
//! decides for the whole chain), outputs that are not plain tensors, outputs much larger than the
//! inputs (ConstantOfShape or Expand turning a few bytes into megabytes is cheaper to compute than
//! to keep), and nodes whose kernel fails on their constants: those fail on the run, as before.
const std = @import("std");
const status = @import("../core/status.zig");
const ir = @import("../model/ir.zig");
const symbolic = @import("../model/symbolic.zig");
const Uses = @import("../model/graph_uses.zig").Uses;
const fuse = @import("../model/fuse.zig");
const backend = @import("backend.zig");
const node_run = @import("node_run.zig");
const value = @import("value.zig");
const constant_tensors = @import("constant_tensors.zig");
const Progress = @import("../core/progress.zig").Progress;

/// Outputs up to this size are always worth folding; beyond it only when they are at most twice
/// the size of the inputs.
const small_output_bytes = 64 << 10;

/// Operators whose outputs differ from run to run.
const random_ops = [_][]const u8{ "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Bernoulli", "Multinomial" };

/// Folds what can be folded in `graph` with the CPU device `cpu`; outputs live in `arena` (the
/// model's). `dims` is the pool of the graph's inferred dims. Returns the number of nodes folded.
pub fn foldConstants(arena: std.mem.Allocator, graph: *ir.Graph, dims: *const symbolic.Pool, cpu: backend.Instance, progress: ?*Progress) status.Error!usize {
    const saved = cpu.enterRun();
    defer cpu.leaveRun(saved);
    var folded: usize = 0;
    for (graph.nodes.items, 0..) |*node, index| {
        try Progress.update(progress, index, graph.nodes.items.len);
        if (foldKnownOutputs(arena, graph, dims, node)) {
            folded += 1;
            continue;
        }
        if (!foldable(graph, node)) continue;
        if (foldNode(arena, graph, node, @intCast(index), cpu)) folded += 1;
    }
    return folded;
}

/// Known outputs and shape folding (see the file comment): every output of `node` is a constant
/// already, or an int64 or int32 vector whose elements inference knows as numbers. Returns
/// whether it folded the node.
fn foldKnownOutputs(arena: std.mem.Allocator, graph: *ir.Graph, dims: *const symbolic.Pool, node: *ir.Node) bool {
    if (node.pruned != .none or node.outputs.len == 0) return false;
    if (node.has(fuse.producer_attribute) or node.has(fuse.absorbed_attribute)) return false;
    for (node.attributes) |a| if (a.graph != null or a.graphs.len > 0) return false;
    for (node.outputs) |maybe| {
        if (graph.values.items[maybe orelse break].constant == null) break;
    } else {
        node.pruned = .folded;
        return true;
    }
    for (node.outputs) |maybe| {
        const v = &graph.values.items[maybe orelse return false];
        if (v.constant != null or v.type.kind != .tensor) return false;
        if (v.type.dtype != .int64 and v.type.dtype != .int32) return false;
        const elements = v.symbolic_elements orelse return false;
        const shape = v.type.shape orelse return false;
        if (shape.len != 1 or dims.value(shape[0]) != @as(i64, @intCast(elements.len))) return false;
        for (elements) |d| if (dims.value(d) == null) return false;
    }
    for (node.outputs) |maybe| {
        const v = &graph.values.items[maybe.?];
        const elements = v.symbolic_elements.?;
        const width: usize = if (v.type.dtype == .int64) 8 else 4;
        const bytes = arena.alignedAlloc(u8, .@"8", elements.len * width) catch return false;
        for (elements, 0..) |d, i| {
            const n = dims.value(d).?;
            if (width == 8) std.mem.writeInt(i64, bytes[i * 8 ..][0..8], n, .little) else std.mem.writeInt(i32, bytes[i * 4 ..][0..4], std.math.cast(i32, n) orelse return false, .little);
        }
        const shape = arena.dupe(i64, &.{@intCast(elements.len)}) catch return false;
        const constant = arena.create(ir.Constant) catch return false;
        constant.* = .{ .dtype = v.type.dtype.?, .dims = shape, .count = elements.len, .bytes = bytes };
        v.constant = constant;
    }
    node.pruned = .folded;
    return true;
}

fn foldable(graph: *const ir.Graph, node: *const ir.Node) bool {
    if (node.pruned != .none or node.inputs.len == 0) return false;
    for (random_ops) |op| if (std.mem.eql(u8, node.op_type, op)) return false;
    if (node.has(fuse.producer_attribute) or node.has(fuse.absorbed_attribute)) return false;
    for (node.attributes) |a| if (a.graph != null or a.graphs.len > 0) return false;
    for (node.inputs) |maybe| {
        const id = maybe orelse continue;
        const v = &graph.values.items[id];
        if (v.constant == null or v.role == .input) return false;
    }
    for (node.outputs) |maybe| {
        const id = maybe orelse continue;
        if (graph.values.items[id].type.kind != .tensor) return false;
    }
    return true;
}

/// Runs `node` once; on success its outputs become constants and the node is marked folded.
fn foldNode(arena: std.mem.Allocator, graph: *ir.Graph, node: *ir.Node, index: ir.NodeId, cpu: backend.Instance) bool {
    var input_bytes: usize = 0;
    const inputs = arena.alloc(?*const value.Tensor, node.inputs.len) catch return false;
    for (node.inputs, inputs) |maybe, *slot| {
        const id = maybe orelse {
            slot.* = null;
            continue;
        };
        const c = graph.values.items[id].constant.?;
        slot.* = constant_tensors.tensorOf(arena, c) catch return false;
        input_bytes += c.bytes.len + c.strings.len * @sizeOf([]const u8);
    }
    const outputs = arena.alloc(?*value.Tensor, node.outputs.len) catch return false;
    @memset(outputs, null);
    const this_run: node_run.NodeRun = .{
        .arena = arena,
        .node = node,
        .node_id = index,
        .inputs = inputs,
        .outputs = outputs,
        .subgraphs = .{ .context = undefined, .run = noSubgraphs },
        .graph = graph,
    };
    cpu.run(&this_run) catch return false;
    var output_bytes: usize = 0;
    for (node.outputs, outputs) |maybe, produced| {
        if (maybe == null) continue;
        const tensor = produced orelse return false;
        if (tensor.kind != .tensor) return false;
        output_bytes += tensor.data.len + tensor.strings.len * @sizeOf([]const u8);
    }
    if (output_bytes > small_output_bytes and output_bytes > 2 * input_bytes) return false;
    for (node.outputs, outputs) |maybe, produced| {
        const id = maybe orelse continue;
        const tensor = produced.?;
        const constant = arena.create(ir.Constant) catch return false;
        constant.* = .{ .dtype = tensor.dtype, .dims = tensor.shape, .count = tensor.count(), .bytes = tensor.data, .strings = tensor.strings };
        graph.values.items[id].constant = constant;
    }
    node.pruned = .folded;
    return true;
}

fn noSubgraphs(_: *anyopaque, _: *ir.Graph, _: []const *const value.Tensor) status.Error![]*value.Tensor {
    unreachable; // nodes with subgraphs are not folded
}

/// Marks the nodes that no graph output needs as unused, given what was folded. `uses` is the
/// graph's def-use analysis; `needed` holds one flag per node and `scratch` one per value.
pub fn markUnused(graph: *ir.Graph, uses: *const Uses, needed: []bool, scratch: []bool) usize {
    uses.neededNodes(graph, null, needed, scratch);
    var unused: usize = 0;
    for (graph.nodes.items, needed) |*node, is_needed| {
        if (is_needed or node.pruned != .none) continue;
        node.pruned = .unused;
        unused += 1;
    }
    return unused;
}
