//! The shared harness of the shape-rule unit tests (nn_test.zig, linalg_test.zig, ...): it builds
//! graphs by hand with dims in the symbolic text syntax ("B", "T+1"), runs one node's rule on its
//! own or the whole engine over subgraphs, and writes types as "dtype [d0,d1]" for comparison.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const onnx = @import("../proto/onnx.zig");
const symbolic = @import("../symbolic.zig");
const context = @import("context.zig");
const engine_module = @import("engine.zig");
const registry = @import("registry.zig");

pub const Attr = onnx.AttributeProto;
const Id = ir.ValueId;

/// How a type's text writes fresh dims: by name ("resized__0"), or as "*" where the name depends
/// on the order the engine visits nodes in.
const Fresh = enum { named, star };

/// Owns everything a test builds. `graph` is the root, so a Harness must stay where it is made.
pub const Harness = struct {
    arena_state: std.heap.ArenaAllocator,
    pool: symbolic.Pool,
    graph: ir.Graph = .{ .name = "test" },
    counter: u32 = 0,

    pub fn init() Harness {
        return .{
            .arena_state = std.heap.ArenaAllocator.init(std.testing.allocator),
            .pool = symbolic.Pool.init(std.testing.allocator),
        };
    }

    pub fn deinit(self: *Harness) void {
        self.pool.deinit();
        self.arena_state.deinit();
    }

    pub fn arena(self: *Harness) std.mem.Allocator {
        return self.arena_state.allocator();
    }

    // ---- building graphs -----------------------------------------------------------------------

    /// A tensor value of the root graph; null shape: unknown rank.
    pub fn tensor(self: *Harness, dtype: ?ir.DType, shape: ?[]const []const u8) !Id {
        return self.value(&self.graph, dtype, shape);
    }

    /// A tensor value of `g`, declared with its type when the dtype is known (as a model file
    /// declares a subgraph's inputs), so that subgraph inference keeps it.
    pub fn value(self: *Harness, g: *ir.Graph, dtype: ?ir.DType, shape: ?[]const []const u8) !Id {
        var dims: ?[]const ir.Dim = null;
        if (shape) |texts| {
            const out = try self.arena().alloc(ir.Dim, texts.len);
            for (texts, out) |t, *d| d.* = try self.pool.parse(t);
            dims = out;
        }
        const t: ir.ValueType = .{ .kind = .tensor, .dtype = dtype, .shape = dims };
        const declared: ?ir.ValueType = if (dtype == null) null else t;
        try g.values.append(self.arena(), .{ .name = "v", .type = t, .declared = declared });
        return @intCast(g.values.items.len - 1);
    }

    /// An int64 value whose elements are the given symbolic dims (as Shape → Gather makes).
    pub fn vector(self: *Harness, shape: []const []const u8, dims: []const []const u8) !Id {
        const id = try self.tensor(.int64, shape);
        const out = try self.arena().alloc(ir.Dim, dims.len);
        for (dims, out) |t, *d| d.* = try self.pool.parse(t);
        self.graph.value(id).symbolic_elements = out;
        return id;
    }

    /// A 1-D constant of the root graph holding `values` (f32 or i64).
    pub fn constant(self: *Harness, comptime T: type, values: []const T) !Id {
        const dtype: ir.DType = switch (T) {
            f32 => .float32,
            i64 => .int64,
            else => @compileError("no dtype for " ++ @typeName(T)),
        };
        const bytes = std.mem.sliceAsBytes(try self.arena().dupe(T, values));
        return self.constantIn(&self.graph, dtype, &.{@intCast(values.len)}, bytes);
    }

    /// A 1-D int64 constant of the root graph.
    pub fn ints(self: *Harness, values: []const i64) !Id {
        return self.constant(i64, values);
    }

    /// A scalar constant of `g` holding `v` in `dtype` (an integer type or bool).
    pub fn scalar(self: *Harness, g: *ir.Graph, dtype: ir.DType, v: i64) !Id {
        const bytes = try self.arena().alloc(u8, 8);
        std.mem.writeInt(i64, bytes[0..8], v, .little);
        return self.constantIn(g, dtype, &.{}, if (dtype == .bool) bytes[0..1] else bytes);
    }

    /// A constant of `g` of any shape holding `bytes` (little-endian elements of `dtype`).
    pub fn constantIn(
        self: *Harness,
        g: *ir.Graph,
        dtype: ir.DType,
        dims: []const i64,
        bytes: []const u8,
    ) !Id {
        const a = self.arena();
        const shape = try a.alloc(ir.Dim, dims.len);
        var count: u64 = 1;
        for (dims, shape) |n, *d| {
            std.debug.assert(n >= 0);
            d.* = try self.pool.constant(n);
            count *= @intCast(n);
        }
        const t: ir.ValueType = .{ .kind = .tensor, .dtype = dtype, .shape = shape };
        try g.values.append(a, .{ .name = "v", .type = t, .declared = t });
        const id: Id = @intCast(g.values.items.len - 1);
        const c = try a.create(ir.Constant);
        c.* = .{ .dtype = dtype, .dims = try a.dupe(i64, dims), .count = count, .bytes = bytes };
        g.value(id).constant = c;
        return id;
    }

    /// An empty subgraph nested in `parent`; give it inputs, outputs and nodes by hand.
    pub fn subgraph(self: *Harness, parent: *ir.Graph) !*ir.Graph {
        const g = try self.arena().create(ir.Graph);
        g.* = .{ .name = "g", .parent = parent };
        return g;
    }

    /// A value of subgraph `g` that reads `id` of its parent.
    pub fn outer(self: *Harness, g: *ir.Graph, id: Id) !Id {
        try g.values.append(self.arena(), .{ .name = "outer", .role = .outer, .outer = id });
        return @intCast(g.values.items.len - 1);
    }

    /// Adds a node to `g` for `infer` to type, with fresh outputs, which it returns. Attribute k
    /// carries subgraph `graphs[k]` when there is one.
    pub fn node(
        self: *Harness,
        g: *ir.Graph,
        op: []const u8,
        opset: i64,
        inputs: []const ?Id,
        outputs: usize,
        attrs: []const Attr,
        graphs: []const ?*ir.Graph,
    ) ![]const ?Id {
        const a = self.arena();
        const out = try a.alloc(?Id, outputs);
        for (out) |*o| {
            try g.values.append(a, .{ .name = "out", .producer = @intCast(g.nodes.items.len) });
            o.* = @intCast(g.values.items.len - 1);
        }
        const protos = try a.dupe(Attr, attrs);
        const list = try a.alloc(ir.Attribute, attrs.len);
        for (protos, list, 0..) |*proto, *attr, k| {
            const sub = if (k < graphs.len) graphs[k] else null;
            attr.* = try ir.Attribute.decode(a, proto);
            attr.graph = sub;
        }
        try g.nodes.append(a, .{
            .name = "",
            .op_type = op,
            .domain = "",
            .opset = opset,
            .inputs = try a.dupe(?Id, inputs),
            .outputs = out,
            .attributes = list,
        });
        return out;
    }

    // ---- running rules -------------------------------------------------------------------------

    /// Runs the rule of (domain, op) alone on a node of the root graph with `output_count` fresh
    /// outputs; returns their ids.
    pub fn apply(
        self: *Harness,
        domain: []const u8,
        op: []const u8,
        opset: i64,
        inputs: []const ?Id,
        output_count: usize,
        attributes: []const Attr,
    ) ![]const ?Id {
        const a = self.arena();
        const outputs = try a.alloc(?Id, output_count);
        for (outputs) |*o| o.* = try self.tensor(null, null);
        const protos = try a.dupe(Attr, attributes);
        const attrs = try a.alloc(ir.Attribute, protos.len);
        for (protos, attrs) |*proto, *attr| attr.* = try ir.Attribute.decode(a, proto);
        const n = ir.Node{
            .name = "n",
            .op_type = op,
            .domain = domain,
            .opset = opset,
            .inputs = try a.dupe(?Id, inputs),
            .outputs = outputs,
            .attributes = attrs,
        };
        var ctx = context.Context{
            .arena = a,
            .pool = &self.pool,
            .graph = &self.graph,
            .node = &n,
            .node_id = 0,
            .subgraphs = .{ .context = undefined, .infer = noSubgraphs },
            .fresh_counter = &self.counter,
        };
        try registry.lookup(domain, op).?(&ctx);
        return outputs;
    }

    /// Output 0 of `op`'s rule.
    pub fn one(
        self: *Harness,
        op: []const u8,
        opset: i64,
        inputs: []const ?Id,
        attrs: []const Attr,
    ) !Id {
        return (try self.apply("", op, opset, inputs, 1, attrs))[0].?;
    }

    /// Runs `op`'s rule and returns the texts of its outputs' types.
    pub fn run(
        self: *Harness,
        op: []const u8,
        opset: i64,
        inputs: []const ?Id,
        output_count: usize,
        attributes: []const Attr,
    ) ![]const []const u8 {
        const outputs = try self.apply("", op, opset, inputs, output_count, attributes);
        const texts = try self.arena().alloc([]const u8, output_count);
        for (outputs, texts) |id, *t| t.* = try self.text(id.?);
        return texts;
    }

    /// The text of output 0's type.
    pub fn first(
        self: *Harness,
        op: []const u8,
        opset: i64,
        inputs: []const ?Id,
        attrs: []const Attr,
    ) ![]const u8 {
        return self.text(try self.one(op, opset, inputs, attrs));
    }

    /// Types the root graph and its subgraphs with the engine, as loading a model does.
    pub fn infer(self: *Harness) !void {
        var engine = engine_module.Engine{ .arena = self.arena(), .pool = &self.pool };
        try engine.inferModel(&self.graph);
    }

    fn noSubgraphs(_: *anyopaque, _: *ir.Graph, _: []const ir.ValueType) status.Error!void {
        return error.NotImplemented;
    }

    // ---- writing types -------------------------------------------------------------------------

    /// Value `id` of the root graph as "dtype [d0,d1]", "dtype ?" for an unknown rank.
    pub fn text(self: *Harness, id: Id) ![]const u8 {
        return self.format(self.graph.value(id).type, .named);
    }

    /// Value `id` of `g` after `infer`, with every fresh dim written as "*".
    pub fn textIn(self: *Harness, g: *ir.Graph, id: Id) ![]const u8 {
        return self.format(g.value(id).type, .star);
    }

    /// The symbolic elements of value `id` of the root graph as "[e0,e1]", or "none".
    pub fn elements(self: *Harness, id: Id) ![]const u8 {
        const e = self.graph.value(id).symbolic_elements orelse return "none";
        var out: std.Io.Writer.Allocating = .init(self.arena());
        try self.writeDims(&out.writer, e, .named);
        return out.written();
    }

    /// "dtype [d0,d1]" or "dtype ?"; kinds other than tensor come first ("sequence float32 [B]").
    fn format(self: *Harness, t: ir.ValueType, fresh: Fresh) ![]const u8 {
        var out: std.Io.Writer.Allocating = .init(self.arena());
        if (t.kind != .tensor) try out.writer.print("{s} ", .{@tagName(t.kind)});
        try out.writer.print("{s} ", .{if (t.dtype) |d| @tagName(d) else "?"});
        try self.writeDims(&out.writer, t.shape, fresh);
        return out.written();
    }

    fn writeDims(self: *Harness, w: *std.Io.Writer, dims: ?[]const ir.Dim, fresh: Fresh) !void {
        const s = dims orelse return w.writeAll("?");
        try w.writeAll("[");
        for (s, 0..) |d, k| {
            if (k > 0) try w.writeAll(",");
            var one_dim: std.Io.Writer.Allocating = .init(self.arena());
            try self.pool.format(d, &one_dim.writer);
            const name = one_dim.written();
            const hidden = fresh == .star and std.mem.indexOf(u8, name, "__") != null;
            try w.writeAll(if (hidden) "*" else name);
        }
        try w.writeAll("]");
    }
};

/// Compares the texts `Harness.run` returns with the expected ones, in order.
pub fn expectTypes(expected: []const []const u8, actual: []const []const u8) !void {
    try std.testing.expectEqual(expected.len, actual.len);
    for (expected, actual) |e, a| try std.testing.expectEqualStrings(e, a);
}

pub fn int(name: []const u8, v: i64) Attr {
    return .{ .name = name, .type = .int, .i = v };
}

pub fn intList(name: []const u8, values: []const i64) Attr {
    return .{ .name = name, .type = .ints, .ints = values };
}

/// A graph attribute; its subgraph is passed to `Harness.node` beside it.
pub fn graphAttr(name: []const u8) Attr {
    return .{ .name = name, .type = .graph };
}
