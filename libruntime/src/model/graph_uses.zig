//! Who reads what in the top-level graph, found once per model: the values each node reads
//! implicitly through its subgraphs (an If branch naming an outer value), how many reads each
//! value has and by whom, the last node that reads it, and which nodes a chosen set of outputs
//! needs. The fusion pass (fuse.zig) and the executor's memory lifetimes both read it.
const std = @import("std");
const ir = @import("ir.zig");

pub const Uses = struct {
    /// Per node: top-level values its subgraphs read by name (empty for most nodes).
    implicit: []const []const ir.ValueId,
    /// Per value: the index of the last node reading it; graph outputs: the node count.
    last_use: []const u32,
    /// Per value: its reads (node inputs and graph outputs; a read through a subgraph counts
    /// twice, so that such a value never looks singly read).
    reads: []const u32,
    /// Per value: the last node input reading it (meaningful when `reads` is 1).
    reader: []const ir.NodeId,

    pub fn init(allocator: std.mem.Allocator, graph: *ir.Graph) error{OutOfMemory}!Uses {
        const nodes = graph.nodes.items;
        const implicit = try allocator.alloc([]const ir.ValueId, nodes.len);
        for (nodes, implicit) |*node, *slot| slot.* = try implicitReads(allocator, graph, node);
        const n = graph.values.items.len;
        const last_use = try allocator.alloc(u32, n);
        const reads = try allocator.alloc(u32, n);
        const reader = try allocator.alloc(ir.NodeId, n);
        @memset(last_use, 0);
        @memset(reads, 0);
        @memset(reader, 0);
        for (nodes, 0..) |*node, index| {
            for (node.inputs) |maybe| if (maybe) |id| {
                last_use[id] = @intCast(index);
                reads[id] += 1;
                reader[id] = @intCast(index);
            };
            for (implicit[index]) |id| {
                last_use[id] = @intCast(index);
                reads[id] += 2;
            }
        }
        for (graph.outputs) |id| {
            last_use[id] = @intCast(nodes.len);
            reads[id] += 1;
        }
        return .{ .implicit = implicit, .last_use = last_use, .reads = reads, .reader = reader };
    }

    /// The one node that reads `id`, when it is read exactly once (by a node input).
    pub fn only(self: *const Uses, id: ir.ValueId) ?ir.NodeId {
        return if (self.reads[id] == 1) self.reader[id] else null;
    }

    pub fn deinit(self: *Uses, allocator: std.mem.Allocator) void {
        for (self.implicit) |list| allocator.free(list);
        allocator.free(self.implicit);
        allocator.free(self.last_use);
        allocator.free(self.reads);
        allocator.free(self.reader);
    }

    /// Marks in `needed` (one flag per node) the nodes that the outputs flagged in `wanted`
    /// (one flag per graph output; null: all) depend on. A folded node is never needed: its
    /// outputs are constants.
    pub fn neededNodes(self: *const Uses, graph: *ir.Graph, wanted: ?[]const bool, needed: []bool, scratch: []bool) void {
        const value_needed = scratch; // one flag per value
        @memset(value_needed, false);
        @memset(needed, false);
        for (graph.outputs, 0..) |id, i| if (wanted == null or wanted.?[i]) {
            value_needed[id] = true;
        };
        var index = graph.nodes.items.len;
        while (index > 0) {
            index -= 1;
            const node = &graph.nodes.items[index];
            if (node.pruned == .folded) continue;
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
/// intermediate subgraph shadows is over-counted, which only keeps a buffer alive longer (or, in
/// the copy plan, copies a value to host memory that nothing reads there).
pub fn implicitReads(allocator: std.mem.Allocator, graph: *ir.Graph, node: *const ir.Node) error{OutOfMemory}![]const ir.ValueId {
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
