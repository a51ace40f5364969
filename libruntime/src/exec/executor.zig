//! Runs a graph on the CPU: binds inputs and constants, then calls each node's kernel in
//! topological order. Subgraphs (If/Loop/Scan bodies) run through the same path and see their
//! enclosing graph's values. Between nodes it honours cancellation and the deadline.
const std = @import("std");
const status = @import("../core/status.zig");
const ir = @import("../model/ir.zig");
const kernel = @import("kernel.zig");
const registry = @import("../backends/cpu/kernels/registry.zig");
const value_module = @import("value.zig");

const Tensor = value_module.Tensor;
const ThreadPool = @import("../backends/cpu/thread_pool.zig").ThreadPool;

/// Signals a run may be stopped by: a cancel flag and a deadline in ns (monotonic clock).
pub const Stop = struct {
    cancelled: *const std.atomic.Value(bool),
    deadline_ns: ?i128 = null,
};

pub const Executor = struct {
    arena: std.mem.Allocator,
    stop: ?Stop = null,
    /// The model's kernel pool; null runs every kernel on the calling thread.
    pool: ?*ThreadPool = null,
    /// Kept state per node of the top-level graph (the one `run` is first called with).
    node_states: []kernel.NodeState = &.{},
    /// The value tables of the graphs being run, innermost last, for outer-scope reads.
    scopes: std.ArrayList(Scope) = .empty,

    const Scope = struct { graph: *ir.Graph, values: []?*const Tensor };

    /// Runs `graph` with `inputs` in graph-input order; returns its outputs in order.
    pub fn run(self: *Executor, graph: *ir.Graph, inputs: []const ?*const Tensor) status.Error![]*Tensor {
        const values = self.arena.alloc(?*const Tensor, graph.values.items.len) catch return oom();
        @memset(values, null);
        for (graph.inputs, 0..) |id, i| values[id] = if (i < inputs.len) inputs[i] else null;
        try self.bindConstants(graph, values);
        self.scopes.append(self.arena, .{ .graph = graph, .values = values }) catch return oom();
        defer _ = self.scopes.pop();
        for (graph.values.items, 0..) |*v, id| if (v.role == .outer) {
            values[id] = try self.outerValue(v.name);
        };
        for (graph.nodes.items, 0..) |*node, index| {
            try self.checkStop(node, @intCast(index));
            try self.runNode(graph, values, node, @intCast(index));
        }
        const outputs = self.arena.alloc(*Tensor, graph.outputs.len) catch return oom();
        for (graph.outputs, outputs) |id, *slot| {
            const produced = values[id] orelse return status.fail(error.InferError, "graph '{s}': output '{s}' was not computed", .{ graph.name, graph.value(id).name });
            slot.* = @constCast(produced);
        }
        return outputs;
    }

    fn bindConstants(self: *Executor, graph: *ir.Graph, values: []?*const Tensor) status.Error!void {
        for (graph.values.items, 0..) |*v, id| {
            const constant = v.constant orelse continue;
            if (v.role == .input and values[id] != null) continue; // fed input overrides its default
            const tensor = self.arena.create(Tensor) catch return oom();
            tensor.* = .{ .dtype = constant.dtype, .shape = constant.dims, .data = @constCast(constant.bytes), .strings = @constCast(constant.strings) };
            values[id] = tensor;
        }
    }

    fn outerValue(self: *Executor, name: []const u8) status.Error!?*const Tensor {
        var i = self.scopes.items.len - 1; // the current graph is last; search its ancestors
        while (i > 0) {
            i -= 1;
            const scope = self.scopes.items[i];
            if (scope.graph.find(name)) |id| return scope.values[id];
        }
        return null;
    }

    fn checkStop(self: *Executor, node: *const ir.Node, index: ir.NodeId) status.Error!void {
        const stop = self.stop orelse return;
        var name_buffer: [160]u8 = undefined;
        if (stop.cancelled.load(.acquire)) {
            return status.fail(error.RequestError, "cancelled before node {s}", .{node.describe(&name_buffer, index)});
        }
        if (stop.deadline_ns) |deadline| if (std.time.nanoTimestamp() > deadline) {
            return status.fail(error.RequestError, "deadline passed before node {s}", .{node.describe(&name_buffer, index)});
        };
    }

    fn runNode(self: *Executor, graph: *ir.Graph, values: []?*const Tensor, node: *const ir.Node, index: ir.NodeId) status.Error!void {
        const run_kernel = registry.lookup(node.domain, node.op_type) orelse {
            const domain = if (node.domain.len == 0) "ai.onnx" else node.domain;
            return status.fail(error.NotImplemented, "no CPU kernel for {s} (domain {s}, opset {d}), used by node '{s}'", .{ node.op_type, domain, node.opset, node.name });
        };
        const inputs = self.arena.alloc(?*const Tensor, node.inputs.len) catch return oom();
        for (node.inputs, inputs) |maybe, *slot| slot.* = if (maybe) |id| values[id] else null;
        const outputs = self.arena.alloc(?*Tensor, node.outputs.len) catch return oom();
        @memset(outputs, null);
        var ctx = kernel.Context{
            .arena = self.arena,
            .node = node,
            .node_id = index,
            .inputs = inputs,
            .outputs = outputs,
            .subgraphs = .{ .context = self, .run = runSubgraph },
            .graph = graph,
            .pool = self.pool,
            // Only the outermost graph keeps state: subgraph nodes share ids with no stable slot.
            .state = if (self.scopes.items.len == 1 and index < self.node_states.len) &self.node_states[index] else null,
        };
        try run_kernel(&ctx);
        for (node.outputs, outputs, 0..) |maybe_id, produced, k| {
            const id = maybe_id orelse continue;
            values[id] = produced orelse return ctx.fail("output {d} ('{s}') was not produced", .{ k, graph.value(id).name });
        }
    }

    fn runSubgraph(context: *anyopaque, graph: *ir.Graph, inputs: []const *const Tensor) status.Error![]*Tensor {
        const self: *Executor = @ptrCast(@alignCast(context));
        const optional = self.arena.alloc(?*const Tensor, inputs.len) catch return oom();
        for (inputs, optional) |t, *slot| slot.* = t;
        return self.run(graph, optional);
    }
};

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory while running", .{});
}
