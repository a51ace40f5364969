//! Who reads what in the top-level graph, found once per model: the values each node reads
//! implicitly through its subgraphs (an If branch naming an outer value), the last node that reads
//! each value, and which nodes a chosen set of outputs needs.
const std = @import("std");
const ir = @import("../model/ir.zig");

pub const Uses = struct {
    /// Per node: top-level values its subgraphs read by name (empty for most nodes).
    implicit: []const []const ir.ValueId,
    /// Per value: the index of the last node reading it; graph outputs: the node count.
    last_use: []const u32,

    pub fn init(allocator: std.mem.Allocator, graph: *ir.Graph) error{OutOfMemory}!Uses {
        const nodes = graph.nodes.items;
        const implicit = try allocator.alloc([]const ir.ValueId, nodes.len);
        for (nodes, implicit) |*node, *slot| slot.* = try implicitReads(allocator, graph, node);
        const last_use = try allocator.alloc(u32, graph.values.items.len);
        @memset(last_use, 0);
        for (nodes, 0..) |*node, index| {
            for (node.inputs) |maybe| if (maybe) |id| {
                last_use[id] = @intCast(index);
            };
            for (implicit[index]) |id| last_use[id] = @intCast(index);
        }
        for (graph.outputs) |id| last_use[id] = @intCast(nodes.len);
        return .{ .implicit = implicit, .last_use = last_use };
    }

    pub fn deinit(self: *Uses, allocator: std.mem.Allocator) void {
        for (self.implicit) |list| allocator.free(list);
        allocator.free(self.implicit);
        allocator.free(self.last_use);
    }

    /// Marks in `needed` (one flag per node) the nodes that the outputs flagged in `wanted`
    /// (one flag per graph output) depend on.
    pub fn neededNodes(self: *const Uses, graph: *ir.Graph, wanted: []const bool, needed: []bool, scratch: []bool) void {
        const value_needed = scratch; // one flag per value
        @memset(value_needed, false);
        @memset(needed, false);
        for (graph.outputs, wanted) |id, w| if (w) {
            value_needed[id] = true;
        };
        var index = graph.nodes.items.len;
        while (index > 0) {
            index -= 1;
            const node = &graph.nodes.items[index];
            for (node.outputs) |maybe| if (maybe) |id| if (value_needed[id]) {
                needed[index] = true;
            };
            if (!needed[index]) continue;
            for (node.inputs) |maybe| if (maybe) |id| {
                value_needed[id] = true;
            };
            for (self.implicit[index]) |id| value_needed[id] = true;
        }
    }
};

/// The outer values a node's subgraphs read, resolved to the top graph by name. A name that an
/// intermediate subgraph shadows is over-counted, which only keeps a buffer alive longer.
fn implicitReads(allocator: std.mem.Allocator, graph: *ir.Graph, node: *const ir.Node) error{OutOfMemory}![]const ir.ValueId {
    var found: std.ArrayList(ir.ValueId) = .empty;
    errdefer found.deinit(allocator);
    const Collector = struct {
        allocator: std.mem.Allocator,
        top: *ir.Graph,
        found: *std.ArrayList(ir.ValueId),

        fn visit(self: *const @This(), sub: *ir.Graph) anyerror!void {
            for (sub.values.items) |v| {
                if (v.role != .outer) continue;
                const id = self.top.find(v.name) orelse continue;
                if (std.mem.indexOfScalar(ir.ValueId, self.found.items, id) == null) try self.found.append(self.allocator, id);
            }
        }
    };
    const collector = Collector{ .allocator = allocator, .top = graph, .found = &found };
    for (node.attributes) |attribute| {
        if (attribute.graph) |sub| ir.forEachGraph(sub, &collector, Collector.visit) catch return error.OutOfMemory;
        for (attribute.graphs) |sub| ir.forEachGraph(sub, &collector, Collector.visit) catch return error.OutOfMemory;
    }
    return found.toOwnedSlice(allocator);
}
