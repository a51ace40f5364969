//! Which kernel runs each node. The compile stage resolves every node of the model's graph and
//! of its subgraphs once, at load, and stores the choice on the node; runs then call it directly,
//! with no op name formatted or hashed per node. An operator without a kernel fails the load.
const std = @import("std");
const status = @import("../core/status.zig");
const ir = @import("../model/ir.zig");
const kernel = @import("kernel.zig");
const registry = @import("../backends/cpu/kernels/registry.zig");

/// Chooses a kernel for every node of `graph` and its subgraphs.
pub fn resolveAll(graph: *ir.Graph) status.Error!void {
    ir.forEachGraph(graph, {}, resolveGraph) catch |e| return @as(status.Error, @errorCast(e));
}

fn resolveGraph(_: void, graph: *ir.Graph) anyerror!void {
    for (graph.nodes.items) |*node| node.kernel = @ptrCast(try lookup(node));
}

/// The node's kernel: the compile stage's choice, or a lookup for a node built after load.
pub fn of(node: *const ir.Node) status.Error!kernel.Kernel {
    if (node.kernel) |chosen| return @ptrCast(@alignCast(chosen));
    return lookup(node);
}

fn lookup(node: *const ir.Node) status.Error!kernel.Kernel {
    return registry.lookup(node.domain, node.op_type) orelse {
        const domain = if (node.domain.len == 0) "ai.onnx" else node.domain;
        return status.fail(error.NotImplemented, "no CPU kernel for {s} (domain {s}, opset {d}), used by node '{s}'", .{ node.op_type, domain, node.opset, node.name });
    };
}
