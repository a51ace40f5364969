//! The input_shapes load option (model.reshape in TypeScript, OpenVINO's Model.reshape): shapes
//! given for graph inputs before shape inference, so that the whole graph is inferred, and its
//! memory planned, once for them. The text is the one shape queries take,
//! "name=8,3,224,224;#1=N,4", checked the same way (unknown inputs, rank, fixed dims). Declared
//! symbols are bound to the given dims and substituted in every value of every graph: inputs,
//! declared outputs and intermediates that share a symbol stay consistent.
const std = @import("std");
const status = @import("../core/status.zig");
const memory = @import("../core/memory.zig");
const ir = @import("ir.zig");
const symbolic = @import("symbolic.zig");
const shape_query = @import("shape_query.zig");

const Fixing = struct {
    arena: std.mem.Allocator,
    bindings: symbolic.Bindings,
};

/// Fixes the inputs of `graph` (a model's main graph, imported but not yet inferred) to `spec`.
pub fn apply(arena: std.mem.Allocator, pool: *symbolic.Pool, graph: *ir.Graph, spec: []const u8) status.Error!void {
    if (spec.len == 0) return;
    var fixing: Fixing = .{ .arena = arena, .bindings = symbolic.Bindings.init(memory.allocator) };
    defer fixing.bindings.deinit();
    try shape_query.eachEntry(pool, graph, spec, &fixing, fix);
    try substituteIn(arena, pool, graph, &fixing.bindings, 0);
}

/// An input of unknown rank takes the given shape as it is; any other binds its symbols.
fn fix(fixing: *Fixing, pool: *symbolic.Pool, value: *ir.Value, given: []const ir.Dim) status.Error!void {
    if (value.type.shape != null) return shape_query.bind(&fixing.bindings, pool, value, given);
    const shape = fixing.arena.dupe(ir.Dim, given) catch return oom();
    value.type.shape = shape;
    if (value.declared) |*declared| declared.shape = shape;
}

fn substituteIn(arena: std.mem.Allocator, pool: *symbolic.Pool, graph: *ir.Graph, bindings: *const symbolic.Bindings, depth: u32) status.Error!void {
    if (depth > 64) return status.fail(error.ModelError, "subgraphs nest deeper than 64", .{});
    for (graph.values.items) |*value| {
        value.type.shape = try substituted(arena, pool, value.type.shape, bindings);
        if (value.declared) |*declared| declared.shape = try substituted(arena, pool, declared.shape, bindings);
    }
    for (graph.nodes.items) |node| for (node.attributes) |attribute| {
        if (attribute.graph) |sub| try substituteIn(arena, pool, sub, bindings, depth + 1);
        for (attribute.graphs) |sub| try substituteIn(arena, pool, sub, bindings, depth + 1);
    };
}

fn substituted(arena: std.mem.Allocator, pool: *symbolic.Pool, shape: ?[]const ir.Dim, bindings: *const symbolic.Bindings) status.Error!?[]const ir.Dim {
    const dims = shape orelse return null;
    const out = arena.alloc(ir.Dim, dims.len) catch return oom();
    for (dims, out) |d, *o| o.* = try pool.substitute(d, bindings);
    return out;
}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory", .{});
}

const testing = std.testing;

/// A graph with inputs x [N, 4] and y [N], and an intermediate declared [N, 4].
fn testGraph(arena: std.mem.Allocator, pool: *symbolic.Pool) !*ir.Graph {
    const graph = try arena.create(ir.Graph);
    graph.* = .{ .name = "g" };
    const n = try pool.symbol("N");
    const four = try pool.constant(4);
    const matrix = ir.ValueType{ .dtype = .float32, .shape = try arena.dupe(ir.Dim, &.{ n, four }) };
    const vector = ir.ValueType{ .dtype = .float32, .shape = try arena.dupe(ir.Dim, &.{n}) };
    try graph.values.append(arena, .{ .name = "x", .role = .input, .type = matrix, .declared = matrix });
    try graph.values.append(arena, .{ .name = "y", .role = .input, .type = vector, .declared = vector });
    try graph.values.append(arena, .{ .name = "z", .declared = matrix });
    for (graph.values.items, 0..) |v, i| try graph.scope.put(arena, v.name, @intCast(i));
    graph.inputs = try arena.dupe(ir.ValueId, &.{ 0, 1 });
    return graph;
}

fn expectShape(pool: *symbolic.Pool, shape: ?[]const ir.Dim, expected: []const i64) !void {
    const dims = shape.?;
    try testing.expectEqual(expected.len, dims.len);
    for (dims, expected) |d, e| try testing.expectEqual(@as(?i64, e), pool.value(d));
}

test "input_shapes fixes symbols in every value and refuses what the model contradicts" {
    var arena_state = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena_state.deinit();
    const arena = arena_state.allocator();
    var pool = symbolic.Pool.init(testing.allocator);
    defer pool.deinit();

    const graph = try testGraph(arena, &pool);
    try apply(arena, &pool, graph, "x=8,4");
    try expectShape(&pool, graph.value(0).type.shape, &.{ 8, 4 });
    try expectShape(&pool, graph.value(1).type.shape, &.{8}); // y shares N
    try expectShape(&pool, graph.value(1).declared.?.shape, &.{8});
    try expectShape(&pool, graph.value(2).declared.?.shape, &.{ 8, 4 });

    try apply(arena, &pool, try testGraph(arena, &pool), "#1=3");
    try testing.expectError(error.InvalidArgument, apply(arena, &pool, try testGraph(arena, &pool), "w=1,4"));
    try testing.expectError(error.InvalidArgument, apply(arena, &pool, try testGraph(arena, &pool), "#2=1"));
    try testing.expectError(error.ShapeError, apply(arena, &pool, try testGraph(arena, &pool), "x=8,4,1"));
    try testing.expectError(error.ShapeError, apply(arena, &pool, try testGraph(arena, &pool), "x=8,5"));
    try testing.expectError(error.ShapeError, apply(arena, &pool, try testGraph(arena, &pool), "x=8,4;y=2"));
    try testing.expectError(error.InvalidArgument, apply(arena, &pool, try testGraph(arena, &pool), "x"));
}
