//! Load stage 2: a decoded ModelProto becomes the IR. Names are resolved (through enclosing graphs
//! for subgraphs), model-local functions are inlined, initializers become constants, nodes are put
//! in topological order, and every structural fault is a ModelError naming the node and value.
const std = @import("std");
const profile = @import("../core/profile.zig");
const status = @import("../core/status.zig");
const constant_module = @import("constant.zig");
const ir = @import("ir.zig");
const onnx = @import("proto/onnx.zig");
const sparse = @import("sparse.zig");
const symbolic = @import("symbolic.zig");
const functions_module = @import("functions.zig");
const types = @import("types.zig");

const Graph = ir.Graph;
const ValueId = ir.ValueId;
const Expanded = functions_module.Expanded;

/// The newest ai.onnx opset this runtime reads (onnx 1.23's).
pub const max_default_opset = 28;

pub const Importer = struct {
    arena: std.mem.Allocator,
    pool: *symbolic.Pool,
    model: *const onnx.ModelProto,
    external: ?constant_module.ExternalResolver,
    functions: functions_module.Library,
    types: types.Builder,
    /// Receives a subgraph-init span per subgraph imported (its nodes' order is not final yet,
    /// so the span names no node).
    init_log: ?*profile.Log = null,

    pub fn init(arena: std.mem.Allocator, pool: *symbolic.Pool, model: *const onnx.ModelProto, external: ?constant_module.ExternalResolver) status.Error!Importer {
        return .{
            .arena = arena,
            .pool = pool,
            .model = model,
            .external = external,
            .functions = try functions_module.Library.init(arena, model.functions),
            .types = .{ .pool = pool, .arena = arena },
        };
    }

    pub fn importModel(self: *Importer) status.Error!*Graph {
        try checkOpsets(self.model.opset_import);
        const graph_proto = if (self.model.graph) |*g| g else return status.fail(error.ModelError, "the model has no graph", .{});
        return self.importGraph(graph_proto, null, self.model.opset_import);
    }

    fn importGraph(self: *Importer, proto: *const onnx.GraphProto, parent: ?*Graph, opsets: []const onnx.OperatorSetIdProto) status.Error!*Graph {
        const began_ns = profile.now();
        defer if (parent != null) if (self.init_log) |log| log.span(.subgraph_init, began_ns, profile.now(), .{ .depth = depthOf(parent) });
        const graph = self.arena.create(Graph) catch return outOfMemory();
        graph.* = .{ .name = proto.name, .parent = parent };
        const inputs = try self.addInputs(graph, proto);
        try self.addInitializers(graph, proto);
        var expanded: std.ArrayList(Expanded) = .empty;
        try self.functions.expand(self.arena, proto.node, opsets, &expanded);
        try self.addNodeOutputs(graph, expanded.items);
        for (expanded.items, 0..) |*node, index| try self.addNode(graph, node, @intCast(index));
        try topologicalSort(self.arena, graph);
        graph.inputs = inputs;
        graph.outputs = try self.resolveOutputs(graph, proto);
        return graph;
    }

    fn addValue(self: *Importer, graph: *Graph, value: ir.Value) status.Error!ValueId {
        const id: ValueId = @intCast(graph.values.items.len);
        graph.values.append(self.arena, value) catch return outOfMemory();
        graph.scope.put(self.arena, value.name, id) catch return outOfMemory();
        return id;
    }

    fn addInputs(self: *Importer, graph: *Graph, proto: *const onnx.GraphProto) status.Error![]const ValueId {
        const ids = self.arena.alloc(ValueId, proto.input.len) catch return outOfMemory();
        for (proto.input, ids) |*input, *id| {
            if (graph.scope.contains(input.name)) {
                return status.fail(error.ModelError, "graph '{s}' declares input '{s}' twice", .{ graph.name, input.name });
            }
            const declared = try types.fromProto(&self.types, input.type, input.name);
            id.* = try self.addValue(graph, .{ .name = input.name, .role = .input, .declared = declared, .type = declared });
        }
        return ids;
    }

    fn addInitializers(self: *Importer, graph: *Graph, proto: *const onnx.GraphProto) status.Error!void {
        for (proto.initializer) |*tensor| try self.addConstant(graph, try constant_module.fromProto(self.arena, tensor, self.external), tensor.name);
        for (proto.sparse_initializer) |*tensor| {
            const dense = try sparse.densify(self.arena, tensor, self.external);
            try self.addConstant(graph, dense, if (tensor.values) |v| v.name else "");
        }
    }

    fn addConstant(self: *Importer, graph: *Graph, dense: constant_module.Constant, name: []const u8) status.Error!void {
        const stored = self.arena.create(constant_module.Constant) catch return outOfMemory();
        stored.* = dense;
        try constant_module.ensureAligned(self.arena, stored);
        const value_type = try types.ofConstant(self.pool, self.arena, stored);
        if (graph.find(name)) |existing| {
            // ONNX before IR 4 lists initializers among the inputs: the initializer is the default.
            const value = graph.value(existing);
            if (value.role != .input) return status.fail(error.ModelError, "initializer '{s}' is defined twice", .{name});
            value.has_default = true;
            value.constant = stored;
            return;
        }
        _ = try self.addValue(graph, .{ .name = name, .role = .initializer, .constant = stored, .type = value_type, .declared = value_type });
    }

    fn addNodeOutputs(self: *Importer, graph: *Graph, nodes: []const Expanded) status.Error!void {
        for (nodes, 0..) |*node, index| {
            for (node.proto.output) |name| {
                if (name.len == 0) continue;
                if (graph.find(name)) |existing| {
                    const other = graph.value(existing);
                    const by = if (other.producer) |p| nodes[p].proto.name else @tagName(other.role);
                    return status.fail(error.ModelError, "value '{s}' is produced twice: by node '{s}' ({s}) and by {s}", .{ name, node.proto.name, node.proto.op_type, by });
                }
                _ = try self.addValue(graph, .{ .name = name, .producer = @intCast(index) });
            }
        }
    }

    /// A name not in `graph` may come from an enclosing graph: it becomes a local `outer` value.
    fn resolve(self: *Importer, graph: *Graph, name: []const u8) status.Error!?ValueId {
        if (graph.find(name)) |id| return id;
        const parent = graph.parent orelse return null;
        const outer = try self.resolve(parent, name) orelse return null;
        return try self.addValue(graph, .{ .name = name, .role = .outer, .outer = outer, .type = parent.value(outer).type });
    }

    fn addNode(self: *Importer, graph: *Graph, expanded: *const Expanded, index: ir.NodeId) status.Error!void {
        const proto = &expanded.proto;
        const opset = functions_module.opsetOf(expanded.opsets, proto.domain) orelse
            return status.fail(error.ModelError, "node '{s}' ({s}) uses domain '{s}', which the model imports no opset for", .{ proto.name, proto.op_type, proto.domain });
        const inputs = self.arena.alloc(?ValueId, proto.input.len) catch return outOfMemory();
        for (proto.input, inputs) |name, *slot| {
            if (name.len == 0) {
                slot.* = null;
                continue;
            }
            slot.* = try self.resolve(graph, name) orelse
                return status.fail(error.ModelError, "node '{s}' ({s}) reads '{s}', which no node, input or initializer provides", .{ proto.name, proto.op_type, name });
        }
        const outputs = self.arena.alloc(?ValueId, proto.output.len) catch return outOfMemory();
        for (proto.output, outputs) |name, *slot| slot.* = if (name.len == 0) null else graph.find(name).?;
        const attributes = self.arena.alloc(ir.Attribute, proto.attribute.len) catch return outOfMemory();
        for (proto.attribute, attributes) |*attribute, *out| {
            out.* = ir.Attribute.decode(self.arena, attribute) catch |e|
                return status.fail(e, "node '{s}' ({s}), attribute '{s}': {s}", .{ proto.name, proto.op_type, attribute.name, std.mem.span(status.lastMessage()) });
            if (attribute.g) |sub| out.graph = try self.importGraph(sub, graph, expanded.opsets);
            if (attribute.graphs.len > 0) {
                const graphs = self.arena.alloc(*Graph, attribute.graphs.len) catch return outOfMemory();
                for (attribute.graphs, graphs) |*sub, *slot| slot.* = try self.importGraph(sub, graph, expanded.opsets);
                out.graphs = graphs;
            }
        }
        std.debug.assert(graph.nodes.items.len == index);
        graph.nodes.append(self.arena, .{
            .name = proto.name,
            .op_type = proto.op_type,
            .domain = canonicalDomain(proto.domain),
            .opset = opset,
            .inputs = inputs,
            .outputs = outputs,
            .attributes = attributes,
        }) catch return outOfMemory();
    }

    fn resolveOutputs(self: *Importer, graph: *Graph, proto: *const onnx.GraphProto) status.Error![]const ValueId {
        const ids = self.arena.alloc(ValueId, proto.output.len) catch return outOfMemory();
        for (proto.output, ids) |*output, *id| {
            id.* = try self.resolve(graph, output.name) orelse
                return status.fail(error.ModelError, "graph '{s}' has output '{s}', which nothing produces", .{ graph.name, output.name });
            const declared = try types.fromProto(&self.types, output.type, output.name);
            if (declared.kind != .unknown) graph.value(id.*).declared = declared;
        }
        for (proto.value_info) |*info| {
            const id = graph.find(info.name) orelse continue; // value_info for a name never used
            const value = graph.value(id);
            if (value.declared == null) value.declared = try types.fromProto(&self.types, info.type, info.name);
        }
        return ids;
    }
};

fn canonicalDomain(domain: []const u8) []const u8 {
    return if (std.mem.eql(u8, domain, "ai.onnx")) "" else domain;
}

fn checkOpsets(opsets: []const onnx.OperatorSetIdProto) status.Error!void {
    for (opsets) |opset| {
        const domain = canonicalDomain(opset.domain);
        if (domain.len != 0) continue;
        if (opset.version < 1) return status.fail(error.ModelError, "the model imports ai.onnx opset {d}", .{opset.version});
        if (opset.version > max_default_opset) {
            return status.fail(error.NotImplemented, "the model needs ai.onnx opset {d}; this runtime reads up to {d}", .{ opset.version, max_default_opset });
        }
    }
}

/// Kahn's algorithm, keeping file order among ready nodes. A node depends on the producers of its
/// inputs and of the enclosing-graph values its subgraphs read.
fn topologicalSort(arena: std.mem.Allocator, graph: *Graph) status.Error!void {
    const count = graph.nodes.items.len;
    const pending = arena.alloc(u32, count) catch return outOfMemory();
    var dependents = arena.alloc(std.ArrayList(ir.NodeId), count) catch return outOfMemory();
    for (dependents) |*list| list.* = .empty;
    for (graph.nodes.items, 0..) |*node, index| {
        pending[index] = 0;
        var deps: std.ArrayList(ValueId) = .empty;
        try collectReads(arena, graph, node, &deps);
        for (deps.items) |value_id| {
            const producer = graph.value(value_id).producer orelse continue;
            dependents[producer].append(arena, @intCast(index)) catch return outOfMemory();
            pending[index] += 1;
        }
    }
    var order: std.ArrayList(ir.NodeId) = .empty;
    order.ensureTotalCapacity(arena, count) catch return outOfMemory();
    for (pending, 0..) |p, index| if (p == 0) order.appendAssumeCapacity(@intCast(index));
    var next: usize = 0;
    while (next < order.items.len) : (next += 1) {
        for (dependents[order.items[next]].items) |dependent| {
            pending[dependent] -= 1;
            if (pending[dependent] == 0) order.appendAssumeCapacity(dependent);
        }
    }
    if (order.items.len != count) {
        for (pending, 0..) |p, index| if (p != 0) {
            const node = &graph.nodes.items[index];
            return status.fail(error.ModelError, "graph '{s}' has a cycle through node '{s}' ({s})", .{ graph.name, node.name, node.op_type });
        };
    }
    try reorder(arena, graph, order.items);
}

/// The values in this graph that `node` reads, including those its subgraphs capture.
fn collectReads(arena: std.mem.Allocator, graph: *Graph, node: *const ir.Node, out: *std.ArrayList(ValueId)) status.Error!void {
    for (node.inputs) |input| if (input) |id| out.append(arena, id) catch return outOfMemory();
    for (node.attributes) |attribute| {
        if (attribute.graph) |sub| try collectCaptures(arena, graph, sub, out);
        for (attribute.graphs) |sub| try collectCaptures(arena, graph, sub, out);
    }
}

fn collectCaptures(arena: std.mem.Allocator, graph: *Graph, sub: *Graph, out: *std.ArrayList(ValueId)) status.Error!void {
    for (sub.values.items) |value| {
        if (value.role != .outer) continue;
        const outer = value.outer.?;
        std.debug.assert(outer < graph.values.items.len);
        out.append(arena, outer) catch return outOfMemory();
    }
}

fn reorder(arena: std.mem.Allocator, graph: *Graph, order: []const ir.NodeId) status.Error!void {
    const new_index = arena.alloc(ir.NodeId, order.len) catch return outOfMemory();
    const sorted = arena.alloc(ir.Node, order.len) catch return outOfMemory();
    for (order, 0..) |old, new| {
        new_index[old] = @intCast(new);
        sorted[new] = graph.nodes.items[old];
    }
    @memcpy(graph.nodes.items, sorted);
    for (graph.values.items) |*value| {
        if (value.producer) |p| value.producer = new_index[p];
    }
}

fn outOfMemory() status.Error {
    return status.fail(error.OutOfResource, "out of memory while importing the model", .{});
}

/// Nesting depth of a graph whose parent is `parent`: 1 under the model's graph.
fn depthOf(parent: ?*const Graph) u32 {
    var depth: u32 = 0;
    var at = parent;
    while (at) |graph| : (at = graph.parent) depth += 1;
    return depth;
}
