//! The constants of every graph of a model (initializers, Constant outputs, folded values) as
//! the tensors a run binds, made once at load: a run, and each iteration of a Loop body, starts
//! its value table as a copy of its graph's table instead of making a tensor per constant.
//! The tensors are shared by concurrent runs, which only read them.
const std = @import("std");
const ir = @import("../model/ir.zig");
const value = @import("value.zig");

const Tensor = value.Tensor;

pub const ConstantTensors = struct {
    arena_state: std.heap.ArenaAllocator,
    /// One table per graph, in forEachGraph order (the model's graph first): by value id, the
    /// constant's tensor or null.
    graphs: []const Table = &.{},

    const Table = struct { graph: *const ir.Graph, values: []const ?*const Tensor };

    pub fn build(allocator: std.mem.Allocator, graph: *ir.Graph) error{OutOfMemory}!ConstantTensors {
        var self: ConstantTensors = .{ .arena_state = std.heap.ArenaAllocator.init(allocator) };
        errdefer self.arena_state.deinit();
        var tables: std.ArrayList(Table) = .empty;
        const Builder = struct {
            arena: std.mem.Allocator,
            tables: *std.ArrayList(Table),

            fn visit(b: *const @This(), g: *ir.Graph) anyerror!void {
                try b.tables.append(b.arena, .{ .graph = g, .values = try tableOf(b.arena, g) });
            }
        };
        const builder: Builder = .{ .arena = self.arena_state.allocator(), .tables = &tables };
        ir.forEachGraph(graph, &builder, Builder.visit) catch return error.OutOfMemory;
        self.graphs = tables.items;
        return self;
    }

    pub fn deinit(self: *ConstantTensors) void {
        self.arena_state.deinit();
    }

    /// `graph`'s table; null for a graph built after load.
    pub fn of(self: *const ConstantTensors, graph: *const ir.Graph) ?[]const ?*const Tensor {
        for (self.graphs) |t| if (t.graph == graph) return t.values;
        return null;
    }
};

/// Binds `graph`'s constants into `values` (one slot per value), leaving a fed graph input in
/// place of its default.
pub fn bind(arena: std.mem.Allocator, graph: *const ir.Graph, values: []?*const Tensor) error{OutOfMemory}!void {
    for (graph.values.items, 0..) |*v, id| {
        const constant = v.constant orelse continue;
        if (v.role == .input and values[id] != null) continue;
        values[id] = try tensorOf(arena, constant);
    }
}

fn tableOf(arena: std.mem.Allocator, graph: *const ir.Graph) error{OutOfMemory}![]const ?*const Tensor {
    const values = try arena.alloc(?*const Tensor, graph.values.items.len);
    @memset(values, null);
    try bind(arena, graph, values);
    return values;
}

/// A tensor over `constant`'s elements, in place.
pub fn tensorOf(arena: std.mem.Allocator, constant: *const ir.Constant) error{OutOfMemory}!*const Tensor {
    const tensor = try arena.create(Tensor);
    tensor.* = .{ .dtype = constant.dtype, .shape = constant.dims, .data = @constCast(constant.bytes), .strings = @constCast(constant.strings) };
    return tensor;
}

test "each graph's constants are made into tensors once; a fed input replaces its default" {
    const Harness = @import("../model/infer/testing.zig").Harness;
    var h = Harness.init();
    defer h.deinit();
    const w = try h.constant(f32, &.{ 1, 2 });
    const x = try h.constant(f32, &.{ 3, 4 });
    h.graph.value(x).role = .input; // an input with a default
    const y = try h.tensor(.float32, &.{"2"});
    var tables = try ConstantTensors.build(std.testing.allocator, &h.graph);
    defer tables.deinit();
    const table = tables.of(&h.graph).?;
    try std.testing.expectEqualSlices(f32, &.{ 1, 2 }, table[w].?.items(f32));
    try std.testing.expectEqualSlices(f32, &.{ 3, 4 }, table[x].?.items(f32));
    try std.testing.expect(table[y] == null);

    var fed_values = [_]f32{ 5, 6 };
    const fed: Tensor = .{ .dtype = .float32, .shape = &.{2}, .data = std.mem.sliceAsBytes(&fed_values) };
    var values = [_]?*const Tensor{ null, &fed, null };
    try bind(h.arena(), &h.graph, &values);
    try std.testing.expectEqual(&fed, values[x].?);
    try std.testing.expectEqualSlices(f32, &.{ 1, 2 }, values[w].?.items(f32));
}
