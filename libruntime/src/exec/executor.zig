//! Runs a graph: binds inputs and constants, then has the model's device run each node in
//! topological order. Subgraphs (If/Loop/Scan bodies) run through the same path and see their
//! enclosing graph's values. Between nodes it honours cancellation and the deadline. The top-level
//! graph also skips nodes no wanted output needs, places outputs by the memory plan (recording
//! one on a shape's first run), and can write every intermediate to a folder. In a graph with a
//! node on a device with memory of its own, the copies planned at load are made as nodes need
//! them (transfers.zig) and the devices are waited for at the graph's end; other graphs never
//! look at copies.
const std = @import("std");
const status = @import("../core/status.zig");
const ir = @import("../model/ir.zig");
const node_run = @import("node_run.zig");
const partition = @import("partition.zig");
const copy_plan = @import("copy_plan.zig");
const Transfers = @import("transfers.zig").Transfers;
const value_module = @import("value.zig");
const constant_tensors = @import("constant_tensors.zig");

const Tensor = value_module.Tensor;
const graph_uses = @import("../model/graph_uses.zig");
const memory_plan = @import("memory_plan.zig");
const snapshot = @import("snapshot.zig");
const profile = @import("../core/profile.zig");
const Observer = @import("observer.zig").Observer;

pub const Stop = node_run.Stop;

/// What only the outermost graph of a run has: output selection, memory planning, snapshots.
pub const TopLevel = struct {
    uses: *const graph_uses.Uses,
    /// One flag per graph output; null: all. Nodes no wanted output needs are skipped.
    wanted: ?[]const bool = null,
    planning: memory_plan.Planning = .none,
    /// Every node output is written here as a tensor file when not empty.
    save_path: []const u8 = "",
};

pub const Executor = struct {
    arena: std.mem.Allocator,
    stop: ?Stop = null,
    /// The model's devices; each node runs on the one the compile stage placed it on.
    devices: partition.Devices,
    top: ?TopLevel = null,
    /// The top-level graph's values after a run, by value id (for request.getTensor).
    top_values: []?*const Tensor = &.{},
    /// Set when a planned run found an output where the plan did not expect it.
    plan_mismatch: bool = false,
    /// The value tables of the graphs being run, innermost last, for outer-scope reads.
    scopes: std.ArrayList(Scope) = .empty,
    /// The constants of the model's graphs as tensors, made at load; null binds them per run.
    constants: ?*const constant_tensors.ConstantTensors = null,
    /// Where events go when the request profiles; null records nothing.
    ring: ?*profile.Ring = null,
    /// The node whose kernel runs now, in the innermost graph: a subgraph's events name it.
    active_node: i32 = -1,
    /// Told as each node of the top-level graph starts and ends; null tells no one.
    observer: ?Observer = null,

    const Scope = struct {
        graph: *ir.Graph,
        values: []?*const Tensor,
        /// null when every node of the graph computes in host memory.
        transfers: ?*Transfers,
    };

    /// Runs the model's graph: outputs in order, null for those not wanted.
    pub fn runTop(self: *Executor, graph: *ir.Graph, inputs: []const ?*const Tensor) status.Error![]?*Tensor {
        const top = self.top.?;
        var needed: ?[]bool = null;
        if (top.wanted) |wanted| {
            needed = self.arena.alloc(bool, graph.nodes.items.len) catch return oom();
            const scratch = self.arena.alloc(bool, graph.values.items.len) catch return oom();
            top.uses.neededNodes(graph, wanted, needed.?, scratch);
        }
        const span = profile.maybeBegin(self.ring, .model_execute, .{});
        const values = try self.runGraph(graph, inputs, needed, top.wanted);
        profile.maybeEnd(span);
        self.top_values = values;
        const outputs = self.arena.alloc(?*Tensor, graph.outputs.len) catch return oom();
        for (graph.outputs, outputs, 0..) |id, *slot, i| {
            if (top.wanted) |wanted| if (!wanted[i]) {
                slot.* = null;
                continue;
            };
            slot.* = try producedOutput(graph, values, id);
        }
        return outputs;
    }

    /// Runs a subgraph with `inputs` in graph-input order; returns its outputs in order.
    pub fn run(self: *Executor, graph: *ir.Graph, inputs: []const ?*const Tensor) status.Error![]*Tensor {
        // Named by the node that runs it (If, Loop, Scan), at that node's depth.
        const span = profile.maybeBegin(self.ring, .subgraph_execute, .{ .op_index = self.active_node, .depth = self.depth() });
        const values = try self.runGraph(graph, inputs, null, null);
        profile.maybeEnd(span);
        const outputs = self.arena.alloc(*Tensor, graph.outputs.len) catch return oom();
        for (graph.outputs, outputs) |id, *slot| slot.* = try producedOutput(graph, values, id);
        return outputs;
    }

    /// `wanted` flags the graph outputs to hand back (null: all).
    fn runGraph(self: *Executor, graph: *ir.Graph, inputs: []const ?*const Tensor, needed: ?[]const bool, wanted: ?[]const bool) status.Error![]?*const Tensor {
        const values = try self.bindValues(graph, inputs);
        const transfers = if (self.devices.copies.of(graph)) |plan| try Transfers.init(self.arena, plan, self.devices.list, self.devices.cpu, self.ring) else null;
        defer if (transfers) |t| t.release();
        self.scopes.append(self.arena, .{ .graph = graph, .values = values, .transfers = transfers }) catch return oom();
        defer _ = self.scopes.pop();
        for (graph.values.items, 0..) |*v, id| if (v.role == .outer) {
            values[id] = try self.outerValue(v.name);
        };
        // Only the model's own graph is observed: a subgraph runs inside its node's span.
        const observer = if (self.scopes.items.len == 1) self.observer else null;
        var observed: u32 = 0;
        for (graph.nodes.items, 0..) |*node, index| {
            if (needed) |flags| if (!flags[index]) continue;
            if (node.pruned != .none) continue;
            try self.checkStop(node, @intCast(index));
            const o = observer orelse {
                try self.runNode(graph, values, node, @intCast(index));
                continue;
            };
            const started_ns = try o.start(@intCast(index));
            try self.runNode(graph, values, node, @intCast(index));
            try o.end(@intCast(index), started_ns);
            observed += 1;
        }
        if (observer) |o| o.runEnd(observed);
        if (transfers) |t| try t.finish(values, graph.outputs, wanted);
        return values;
    }

    /// The graph's value table with its inputs and constants bound: a copy of the table made at
    /// load when there is one, with the fed inputs over their defaults.
    fn bindValues(self: *Executor, graph: *ir.Graph, inputs: []const ?*const Tensor) status.Error![]?*const Tensor {
        const values = self.arena.alloc(?*const Tensor, graph.values.items.len) catch return oom();
        const table = if (self.constants) |c| c.of(graph) else null;
        if (table) |bound| {
            @memcpy(values, bound);
            for (graph.inputs[0..@min(inputs.len, graph.inputs.len)], inputs[0..@min(inputs.len, graph.inputs.len)]) |id, fed| {
                if (fed) |t| values[id] = t;
            }
            return values;
        }
        @memset(values, null);
        for (graph.inputs, 0..) |id, i| values[id] = if (i < inputs.len) inputs[i] else null;
        constant_tensors.bind(self.arena, graph, values) catch return oom();
        return values;
    }

    fn outerValue(self: *Executor, name: []const u8) status.Error!?*const Tensor {
        var i = self.scopes.items.len - 1; // the current graph is last; search its ancestors
        while (i > 0) {
            i -= 1;
            const scope = self.scopes.items[i];
            const id = scope.graph.find(name) orelse continue;
            const transfers = scope.transfers orelse return scope.values[id];
            // Subgraphs bind outer values in host memory; the plan copied them there.
            return transfers.read(scope.values, id, self.devices.cpu);
        }
        return null;
    }

    fn checkStop(self: *Executor, node: *const ir.Node, index: ir.NodeId) status.Error!void {
        const stop = if (self.stop) |*s| s else return;
        try stop.check("before", node, index);
    }

    fn runNode(self: *Executor, graph: *ir.Graph, values: []?*const Tensor, node: *const ir.Node, index: ir.NodeId) status.Error!void {
        const inputs = self.arena.alloc(?*const Tensor, node.inputs.len) catch return oom();
        for (node.inputs, inputs) |maybe, *slot| slot.* = if (maybe) |id| values[id] else null;
        const device = self.devices.indexOf(node);
        const transfers = self.scopes.getLast().transfers;
        if (transfers) |t| {
            const reads_in = copy_plan.memoryOf(self.devices.list, self.devices.cpu, device);
            for (node.inputs, inputs) |maybe, *slot| if (maybe) |id| {
                slot.* = try t.read(values, id, reads_in);
            };
        }
        if (node.tensor_inputs_only) try checkTensorInputs(node, index, inputs);
        const outputs = self.arena.alloc(?*Tensor, node.outputs.len) catch return oom();
        @memset(outputs, null);
        const top_level = self.top != null and self.scopes.items.len == 1;
        const this_run: node_run.NodeRun = .{
            .arena = self.arena,
            .node = node,
            .node_id = index,
            .inputs = inputs,
            .outputs = outputs,
            .subgraphs = .{ .context = self, .run = runSubgraph },
            .graph = graph,
            .stop = if (self.stop) |*s| s else null,
            .planning = if (top_level) self.top.?.planning else .none,
            .fuse = top_level and self.top.?.planning != .none and self.top.?.save_path.len == 0,
        };
        try self.runOnDevice(&this_run, index);
        if (transfers) |t| try t.keepOutputs(device, inputs, outputs);
        for (node.outputs, outputs, 0..) |maybe_id, produced, k| {
            const id = maybe_id orelse continue;
            const tensor = produced orelse return nodeFailure(node, index, "output {d} ('{s}') was not produced", .{ k, graph.value(id).name });
            values[id] = tensor;
            if (!top_level) continue;
            const top = self.top.?;
            switch (top.planning) {
                .none, .guarded => {},
                .record => |recorder| recorder.produced(index, k, id, tensor),
                .replay => |session| if (!session.agrees(index, k, tensor)) {
                    self.plan_mismatch = true;
                    return nodeFailure(node, index, "output {d} is not where the memory plan put it", .{k});
                },
            }
            if (top.save_path.len > 0) {
                const in_host = if (transfers) |t| try t.toHost(device, tensor, id) else tensor;
                try snapshot.save(in_host, top.save_path, graph.value(id).name);
            }
        }
    }

    /// Has the device run the node; when profiling, inside a layer-execute span, with the node
    /// set as the profile scope so that the device's own events (thread pool dispatches) are
    /// attributed to it.
    fn runOnDevice(self: *Executor, this_run: *const node_run.NodeRun, index: ir.NodeId) status.Error!void {
        const saved_node = self.active_node;
        self.active_node = @intCast(index);
        defer self.active_node = saved_node;
        const device = self.devices.of(this_run.node);
        const ring = self.ring orelse return device.run(this_run);
        const scope: profile.Scope = .{ .ring = ring, .op_index = @intCast(index), .depth = self.depth() };
        const saved_scope = profile.current;
        profile.current = scope;
        defer profile.current = saved_scope;
        const span = ring.begin(.layer_execute, .{ .op_index = scope.op_index, .depth = scope.depth });
        defer span.end();
        return device.run(this_run);
    }

    /// 0 in the model's graph, 1 in a subgraph of it, and so on.
    fn depth(self: *const Executor) u32 {
        return @intCast(self.scopes.items.len -| 1);
    }

    fn runSubgraph(context: *anyopaque, graph: *ir.Graph, inputs: []const *const Tensor) status.Error![]*Tensor {
        const self: *Executor = @ptrCast(@alignCast(context));
        const optional = self.arena.alloc(?*const Tensor, inputs.len) catch return oom();
        for (inputs, optional) |t, *slot| slot.* = t;
        return self.run(graph, optional);
    }
};

/// A value whose kind was unknown at load (a Loop's carried value, an outer-scope value) may turn
/// out to be a sequence or optional at run time: refused here, before a kernel reads it as a tensor.
fn checkTensorInputs(node: *const ir.Node, index: ir.NodeId, inputs: []const ?*const Tensor) status.Error!void {
    for (inputs, 0..) |maybe, i| {
        const value = maybe orelse continue;
        if (value.isTensor()) continue;
        var name_buffer: [160]u8 = undefined;
        return status.fail(error.TypeError, "node {s}: input {d} is a {s}, but {s} takes tensors only", .{ node.describe(&name_buffer, index), i, @tagName(value.kind), node.op_type });
    }
}

fn producedOutput(graph: *ir.Graph, values: []?*const Tensor, id: ir.ValueId) status.Error!*Tensor {
    const produced = values[id] orelse return status.fail(error.InferError, "graph '{s}': output '{s}' was not computed", .{ graph.name, graph.value(id).name });
    return @constCast(produced);
}

/// An InferError whose message starts with the node, as a kernel's failures do.
fn nodeFailure(node: *const ir.Node, index: ir.NodeId, comptime fmt: []const u8, args: anytype) status.Error {
    var name_buffer: [160]u8 = undefined;
    var message: [512]u8 = undefined;
    const text = std.fmt.bufPrint(&message, fmt, args) catch fmt;
    return status.fail(error.InferError, "node {s}: {s}", .{ node.describe(&name_buffer, index), text });
}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory while running", .{});
}
