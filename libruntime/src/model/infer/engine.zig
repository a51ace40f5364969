//! Load stage 3: shape and type inference over the whole model, subgraphs included. Runs each
//! node's rule in topological order, then reconciles the result with what the file declared.
//! An operator without a rule is a NotImplementedError naming the op, its domain and opset.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const symbolic = @import("../symbolic.zig");
const common = @import("common.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");
const signature = @import("signature.zig");
const Progress = @import("../../core/progress.zig").Progress;

/// Subgraphs nest at most this deep during inference (the decoder already limits the file).
const max_depth = 64;

pub const Engine = struct {
    arena: std.mem.Allocator,
    pool: *symbolic.Pool,
    fresh_counter: u32 = 0,
    depth: u32 = 0,
    /// Told of each node of the model's graph as it is inferred; null: nobody listens.
    progress: ?*Progress = null,

    pub fn inferModel(self: *Engine, graph: *ir.Graph) status.Error!void {
        try self.inferGraph(graph, null);
    }

    fn inferGraph(self: *Engine, graph: *ir.Graph, input_types: ?[]const ir.ValueType) status.Error!void {
        if (self.depth >= max_depth) return status.fail(error.ModelError, "subgraphs nest deeper than {d}", .{max_depth});
        self.depth += 1;
        defer self.depth -= 1;
        try self.prepareInputs(graph, input_types);
        const top = self.depth == 1;
        for (graph.nodes.items, 0..) |*node, index| {
            try self.inferNode(graph, node, @intCast(index));
            if (top) try Progress.update(self.progress, index + 1, graph.nodes.items.len);
        }
        for (graph.outputs) |id| {
            const value = graph.value(id);
            if (value.type.kind == .unknown) if (value.declared) |d| {
                value.type = d;
            };
        }
    }

    fn prepareInputs(self: *Engine, graph: *ir.Graph, input_types: ?[]const ir.ValueType) status.Error!void {
        for (graph.values.items) |*value| {
            if (value.role == .outer) {
                // The enclosing graph has been inferred up to this node by now: copy what it knows.
                const outer = graph.parent.?.value(value.outer.?);
                value.type = outer.type;
                value.constant = outer.constant;
                value.symbolic_elements = outer.symbolic_elements;
            }
        }
        const given = input_types orelse return;
        for (graph.inputs, 0..) |id, i| {
            const value = graph.value(id);
            const declared = value.declared orelse ir.ValueType{ .kind = .unknown };
            // A formal input the caller gave no type for keeps what the subgraph declares.
            value.type = if (i < given.len) try common.reconcile(self.pool, self.arena, declared, given[i], value.name, graph.name) else declared;
        }
    }

    fn inferNode(self: *Engine, graph: *ir.Graph, node: *ir.Node, index: ir.NodeId) status.Error!void {
        const rule = registry.lookup(node.domain, node.op_type) orelse {
            const domain = if (node.domain.len == 0) "ai.onnx" else node.domain;
            return status.fail(error.NotImplemented, "operator {s} (domain {s}, opset {d}) is not supported; used by node '{s}'", .{ node.op_type, domain, node.opset, node.name });
        };
        try signature.check(graph, node, index);
        var ctx = context.Context{
            .arena = self.arena,
            .pool = self.pool,
            .graph = graph,
            .node = node,
            .node_id = index,
            .subgraphs = .{ .context = self, .infer = inferSubgraph },
            .fresh_counter = &self.fresh_counter,
        };
        try rule(&ctx);
        var name_buffer: [160]u8 = undefined;
        const who = node.describe(&name_buffer, index);
        for (node.outputs) |maybe| {
            const value = graph.value(maybe orelse continue);
            const declared = value.declared orelse continue;
            value.type = try common.reconcile(self.pool, self.arena, declared, value.type, value.name, who);
        }
    }

    fn inferSubgraph(opaque_self: *anyopaque, graph: *ir.Graph, inputs: []const ir.ValueType) status.Error!void {
        const self: *Engine = @ptrCast(@alignCast(opaque_self));
        try self.inferGraph(graph, inputs);
    }
};
