//! model.inferShape(output, inputShapes): binds the symbols of the inputs' declared shapes to the
//! given dims and substitutes them into the output's inferred shape. Dims the inputs do not decide
//! (data-dependent sizes) stay symbolic. Input shapes arrive as text, "name=1,3,224,224;#1=N,4"
//! (by name, or by position among the inputs to feed), so no arrays of strings cross the C ABI.
const std = @import("std");
const status = @import("../core/status.zig");
const memory = @import("../core/memory.zig");
const ir = @import("ir.zig");
const symbolic = @import("symbolic.zig");
const model_module = @import("model.zig");

pub fn run(model: *model_module.Model, output: []const u8, spec: []const u8, out: *std.Io.Writer) status.Error!void {
    const graph = model.graph();
    const pool = &model.pipeline.pool;
    var bindings = symbolic.Bindings.init(memory.allocator);
    defer bindings.deinit();
    try eachEntry(pool, graph, spec, &bindings, bind);
    const id = graph.find(output) orelse return status.fail(error.InvalidArgument, "the model has no tensor named '{s}'", .{output});
    const shape = graph.value(id).type.shape orelse return status.fail(error.ShapeError, "the rank of '{s}' is unknown", .{output});
    for (shape, 0..) |d, i| {
        if (i > 0) out.writeByte(',') catch return oom();
        pool.format(try pool.substitute(d, &bindings), out) catch return oom();
    }
}

/// Calls `visit` with each entry of `spec` ("name=dims;#k=dims"): the graph input it names and
/// the given dims, parsed into `pool`. Positions count the inputs to feed, as the model lists them.
pub fn eachEntry(
    pool: *symbolic.Pool,
    graph: *ir.Graph,
    spec: []const u8,
    context: anytype,
    comptime visit: fn (@TypeOf(context), *symbolic.Pool, *ir.Value, []const ir.Dim) status.Error!void,
) status.Error!void {
    var entries = std.mem.tokenizeScalar(u8, spec, ';');
    while (entries.next()) |entry| {
        const eq = std.mem.indexOfScalar(u8, entry, '=') orelse
            return status.fail(error.InvalidArgument, "input shape '{s}' is not name=dims", .{entry});
        const value = graph.value(try inputOf(graph, std.mem.trim(u8, entry[0..eq], " ")));
        var given: [64]ir.Dim = undefined;
        var count: usize = 0;
        var parts = std.mem.tokenizeScalar(u8, std.mem.trim(u8, entry[eq + 1 ..], " "), ',');
        while (parts.next()) |part| : (count += 1) {
            if (count == given.len) return status.fail(error.ShapeError, "input '{s}': too many dims", .{value.name});
            given[count] = try pool.parse(std.mem.trim(u8, part, " "));
        }
        try visit(context, pool, value, given[0..count]);
    }
}

fn inputOf(graph: *ir.Graph, key: []const u8) status.Error!ir.ValueId {
    if (std.mem.startsWith(u8, key, "#")) {
        const index = std.fmt.parseInt(usize, key[1..], 10) catch return status.fail(error.InvalidArgument, "'{s}' is not an input position", .{key});
        // Inputs with a default (an initializer of the same name) are not fed: they have no position.
        var position: usize = 0;
        for (graph.inputs) |id| {
            if (graph.value(id).has_default) continue;
            if (position == index) return id;
            position += 1;
        }
        return status.fail(error.InvalidArgument, "input #{d} does not exist: the model has {d} inputs", .{ index, position });
    }
    for (graph.inputs) |id| if (std.mem.eql(u8, graph.value(id).name, key)) return id;
    return status.fail(error.InvalidArgument, "the model has no input named '{s}'", .{key});
}

/// Checks the given dims against the declared ones and binds each declared symbol; a symbol two
/// inputs give different dims for is a ShapeError.
pub fn bind(bindings: *symbolic.Bindings, pool: *symbolic.Pool, value: *ir.Value, given: []const ir.Dim) status.Error!void {
    const declared = value.type.shape orelse return; // unknown rank: nothing to bind
    if (declared.len != given.len) {
        return status.fail(error.ShapeError, "input '{s}' has rank {d}; the given shape has {d} dims", .{ value.name, declared.len, given.len });
    }
    for (declared, given, 0..) |d, g, axis| {
        switch (pool.node(d)) {
            .symbol => |name| {
                if (pool.value(g)) |v| if (v < 0) return status.fail(error.ShapeError, "input '{s}' dim {d} is negative ({d})", .{ value.name, axis, v });
                if (bindings.get(name)) |earlier| if (earlier == .dim and earlier.dim != g) {
                    return status.fail(error.ShapeError, "input '{s}' dim {d} ({s}) is given as {f}, but another input gives {s} as {f}", .{ value.name, axis, name, pool.fmt(g), name, pool.fmt(earlier.dim) });
                };
                try bindings.putDim(name, g);
            },
            .constant => |fixed| if (pool.value(g)) |v| if (v != fixed) {
                return status.fail(error.ShapeError, "input '{s}' dim {d} is fixed at {d}; the given shape has {d}", .{ value.name, axis, fixed, v });
            },
            else => {},
        }
    }
}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory", .{});
}
