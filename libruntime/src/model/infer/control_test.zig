//! Unit tests of the control-flow rules on hand-built graphs with subgraphs and symbolic dims:
//! loop-carried values that grow, trip counts from shape arithmetic, If branches that differ or
//! are decided by a known condition, Scan axes, and sequences. The ONNX backend suite
//! (suite_check.zig) covers the static cases.
const std = @import("std");
const ir = @import("../ir.zig");
const onnx = @import("../proto/onnx.zig");
const symbolic = @import("../symbolic.zig");
const engine_module = @import("engine.zig");

const Attr = onnx.AttributeProto;
const Id = ir.ValueId;

const Harness = struct {
    arena_state: std.heap.ArenaAllocator,
    pool: symbolic.Pool,
    root: *ir.Graph = undefined,

    fn init() !*Harness {
        const self = try std.testing.allocator.create(Harness);
        self.* = .{
            .arena_state = std.heap.ArenaAllocator.init(std.testing.allocator),
            .pool = symbolic.Pool.init(std.testing.allocator),
        };
        self.root = try self.graph(null);
        return self;
    }

    fn deinit(self: *Harness) void {
        self.pool.deinit();
        self.arena_state.deinit();
        std.testing.allocator.destroy(self);
    }

    fn arena(self: *Harness) std.mem.Allocator {
        return self.arena_state.allocator();
    }

    fn graph(self: *Harness, parent: ?*ir.Graph) !*ir.Graph {
        const g = try self.arena().create(ir.Graph);
        g.* = .{ .name = "g", .parent = parent };
        return g;
    }

    /// A value of `g`; dims in the symbolic text syntax ("B", "T+1"); null shape: unknown rank.
    fn value(self: *Harness, g: *ir.Graph, dtype: ?ir.DType, shape: ?[]const []const u8) !Id {
        var dims: ?[]const ir.Dim = null;
        if (shape) |texts| {
            const out = try self.arena().alloc(ir.Dim, texts.len);
            for (texts, out) |t, *d| d.* = try self.pool.parse(t);
            dims = out;
        }
        const t: ir.ValueType = .{ .kind = .tensor, .dtype = dtype, .shape = dims };
        try g.values.append(self.arena(), .{ .name = "v", .type = t, .declared = if (dtype == null) null else t });
        return @intCast(g.values.items.len - 1);
    }

    /// A value of subgraph `g` that reads `id` of its parent.
    fn outer(self: *Harness, g: *ir.Graph, id: Id) !Id {
        try g.values.append(self.arena(), .{ .name = "outer", .role = .outer, .outer = id });
        return @intCast(g.values.items.len - 1);
    }

    fn constant(self: *Harness, g: *ir.Graph, dtype: ir.DType, v: i64) !Id {
        const id = try self.value(g, dtype, &.{});
        const c = try self.arena().create(ir.Constant);
        const bytes = try self.arena().alloc(u8, 8);
        std.mem.writeInt(i64, bytes[0..8], v, .little);
        c.* = .{ .dtype = dtype, .dims = &.{}, .count = 1, .bytes = if (dtype == .bool) bytes[0..1] else bytes };
        g.value(id).constant = c;
        return id;
    }

    /// Adds a node to `g` with fresh outputs, which it returns.
    fn node(
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
            attr.* = .{ .name = proto.name, .proto = proto, .graph = if (k < graphs.len) graphs[k] else null };
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

    fn infer(self: *Harness) !void {
        var engine = engine_module.Engine{ .arena = self.arena(), .pool = &self.pool };
        try engine.inferModel(self.root);
    }

    /// "dtype [d0,d1]" with every fresh dim written as "*", or "dtype ?" for an unknown rank.
    fn text(self: *Harness, g: *ir.Graph, id: Id) ![]const u8 {
        const t = g.value(id).type;
        var out: std.Io.Writer.Allocating = .init(self.arena());
        const kind = if (t.kind == .tensor) "" else @tagName(t.kind);
        const dtype = if (t.dtype) |d| @tagName(d) else "?";
        try out.writer.print("{s}{s}{s} ", .{ kind, if (kind.len > 0) " " else "", dtype });
        const s = t.shape orelse {
            try out.writer.writeAll("?");
            return out.written();
        };
        try out.writer.writeAll("[");
        for (s, 0..) |d, k| {
            if (k > 0) try out.writer.writeAll(",");
            var one: std.Io.Writer.Allocating = .init(self.arena());
            try self.pool.format(d, &one.writer);
            const name = one.written();
            try out.writer.writeAll(if (std.mem.indexOf(u8, name, "__") != null) "*" else name);
        }
        try out.writer.writeAll("]");
        return out.written();
    }
};

fn graphAttr(name: []const u8) Attr {
    return .{ .name = name, .type = .graph };
}

test "Loop: a carried value that changes shape widens; scan outputs stack along the trip count" {
    const h = try Harness.init();
    defer h.deinit();
    const root = h.root;
    const x = try h.value(root, .float32, &.{ "N", "3" });
    const y0 = try h.value(root, .float32, &.{ "1", "3" });
    const m = try h.value(root, .int64, &.{});
    root.value(m).symbolic_elements = try h.arena().dupe(ir.Dim, &.{try h.pool.parse("N")});
    const body = try h.graph(root);
    const i = try h.value(body, .int64, &.{});
    const c = try h.value(body, .bool, &.{});
    const y_in = try h.value(body, null, null);
    const x_outer = try h.outer(body, x);
    const y_out = (try h.node(body, "Add", 14, &.{ y_in, x_outer }, 1, &.{}, &.{}))[0].?;
    const doubled = (try h.node(body, "Add", 14, &.{ y_out, y_out }, 1, &.{}, &.{}))[0].?;
    body.inputs = try h.arena().dupe(Id, &.{ i, c, y_in });
    body.outputs = try h.arena().dupe(Id, &.{ c, y_out, doubled });
    const outs = try h.node(root, "Loop", 13, &.{ m, null, y0 }, 2, &.{graphAttr("body")}, &.{body});
    try h.infer();
    try std.testing.expectEqualStrings("float32 [*,3]", try h.text(root, outs[0].?));
    try std.testing.expectEqualStrings("float32 [N,*,3]", try h.text(root, outs[1].?));
    // The body saw a carried shape general enough for every iteration.
    try std.testing.expectEqualStrings("float32 [*,3]", try h.text(body, y_in));
}

test "Loop: a stable carried value keeps its shape; a cond that may stop early gives a fresh count" {
    const h = try Harness.init();
    defer h.deinit();
    const root = h.root;
    const y0 = try h.value(root, .float32, &.{ "B", "3" });
    const m = try h.constant(root, .int64, 5);
    const cond = try h.value(root, .bool, &.{});
    const body = try h.graph(root);
    const i = try h.value(body, .int64, &.{});
    const c = try h.value(body, .bool, &.{});
    const y_in = try h.value(body, .float32, null);
    const y_out = (try h.node(body, "Add", 14, &.{ y_in, y_in }, 1, &.{}, &.{}))[0].?;
    body.inputs = try h.arena().dupe(Id, &.{ i, c, y_in });
    body.outputs = try h.arena().dupe(Id, &.{ c, y_out, y_out });
    const counted = try h.node(root, "Loop", 13, &.{ m, null, y0 }, 2, &.{graphAttr("body")}, &.{body});
    const stopped = try h.node(root, "Loop", 13, &.{ m, cond, y0 }, 2, &.{graphAttr("body")}, &.{body});
    try h.infer();
    try std.testing.expectEqualStrings("float32 [B,3]", try h.text(root, counted[0].?));
    try std.testing.expectEqualStrings("float32 [5,B,3]", try h.text(root, counted[1].?));
    try std.testing.expectEqualStrings("float32 [*,B,3]", try h.text(root, stopped[1].?));
}

test "If: differing branch dims become fresh; a known condition picks its branch; kinds must agree" {
    const h = try Harness.init();
    defer h.deinit();
    const root = h.root;
    const a = try h.value(root, .float32, &.{ "2", "S" });
    const b = try h.value(root, .float32, &.{ "4", "S" });
    const cond = try h.value(root, .bool, &.{});
    const yes = try h.constant(root, .bool, 1);
    const then_graph = try h.graph(root);
    const a_inner = try h.outer(then_graph, a);
    const then_out = (try h.node(then_graph, "Add", 14, &.{ a_inner, a_inner }, 1, &.{}, &.{}))[0].?;
    then_graph.outputs = try h.arena().dupe(Id, &.{then_out});
    const else_graph = try h.graph(root);
    const else_out = try h.outer(else_graph, b);
    else_graph.outputs = try h.arena().dupe(Id, &.{else_out});
    const attrs = [_]Attr{ graphAttr("then_branch"), graphAttr("else_branch") };
    const merged = try h.node(root, "If", 13, &.{cond}, 1, &attrs, &.{ then_graph, else_graph });
    const picked = try h.node(root, "If", 13, &.{yes}, 1, &attrs, &.{ then_graph, else_graph });
    try h.infer();
    try std.testing.expectEqualStrings("float32 [*,S]", try h.text(root, merged[0].?));
    try std.testing.expectEqualStrings("float32 [2,S]", try h.text(root, picked[0].?));

    const h2 = try Harness.init();
    defer h2.deinit();
    const t = try h2.value(h2.root, .float32, &.{"2"});
    const c2 = try h2.value(h2.root, .bool, &.{});
    const seq_graph = try h2.graph(h2.root);
    const seq = (try h2.node(seq_graph, "SequenceConstruct", 11, &.{try h2.outer(seq_graph, t)}, 1, &.{}, &.{}))[0].?;
    seq_graph.outputs = try h2.arena().dupe(Id, &.{seq});
    const plain_graph = try h2.graph(h2.root);
    plain_graph.outputs = try h2.arena().dupe(Id, &.{try h2.outer(plain_graph, t)});
    _ = try h2.node(h2.root, "If", 13, &.{c2}, 1, &attrs, &.{ seq_graph, plain_graph });
    try std.testing.expectError(error.ShapeError, h2.infer());
}

test "Scan 9: scan axes come out of the slices and go back in at the output axes" {
    const h = try Harness.init();
    defer h.deinit();
    const root = h.root;
    const s0 = try h.value(root, .float32, &.{ "B", "4" });
    const x = try h.value(root, .float32, &.{ "B", "T", "4" });
    const body = try h.graph(root);
    const s_in = try h.value(body, null, null);
    const x_t = try h.value(body, null, null);
    const s_out = (try h.node(body, "Add", 14, &.{ s_in, x_t }, 1, &.{}, &.{}))[0].?;
    body.inputs = try h.arena().dupe(Id, &.{ s_in, x_t });
    body.outputs = try h.arena().dupe(Id, &.{ s_out, s_out, x_t });
    const attrs = [_]Attr{
        graphAttr("body"),
        .{ .name = "num_scan_inputs", .type = .int, .i = 1 },
        .{ .name = "scan_input_axes", .type = .ints, .ints = &.{1} },
        .{ .name = "scan_output_axes", .type = .ints, .ints = &.{ 0, -1 } },
    };
    const outs = try h.node(root, "Scan", 16, &.{ s0, x }, 3, &attrs, &.{body});
    try h.infer();
    try std.testing.expectEqualStrings("float32 [B,4]", try h.text(body, x_t));
    try std.testing.expectEqualStrings("float32 [B,4]", try h.text(root, outs[0].?));
    try std.testing.expectEqualStrings("float32 [T,B,4]", try h.text(root, outs[1].?));
    try std.testing.expectEqualStrings("float32 [B,4,T]", try h.text(root, outs[2].?));
}

test "sequences: SplitToSequence chunks, a built sequence's elements, unions and concatenation" {
    const h = try Harness.init();
    defer h.deinit();
    const root = h.root;
    const x = try h.value(root, .float32, &.{ "B", "6" });
    const y = try h.value(root, .float32, &.{ "B", "2" });
    const two = try h.constant(root, .int64, 2);
    const zero = try h.constant(root, .int64, 0);
    const axis_1 = [_]Attr{.{ .name = "axis", .type = .int, .i = 1 }};
    const split = (try h.node(root, "SplitToSequence", 11, &.{ x, two }, 1, &axis_1, &.{}))[0];
    const first = (try h.node(root, "SequenceAt", 11, &.{ split, zero }, 1, &.{}, &.{}))[0].?;
    const built = (try h.node(root, "SequenceConstruct", 11, &.{ x, y, x }, 1, &.{}, &.{}))[0];
    const last_axis = [_]Attr{.{ .name = "axis", .type = .int, .i = -1 }};
    const cat = (try h.node(root, "ConcatFromSequence", 11, &.{built}, 1, &last_axis, &.{}))[0].?;
    const stack_attrs = [_]Attr{
        .{ .name = "axis", .type = .int, .i = 0 },
        .{ .name = "new_axis", .type = .int, .i = 1 },
    };
    const stacked = (try h.node(root, "ConcatFromSequence", 11, &.{built}, 1, &stack_attrs, &.{}))[0].?;
    const length = (try h.node(root, "SequenceLength", 11, &.{split}, 1, &.{}, &.{}))[0].?;
    const minus_two = try h.constant(root, .int64, -2);
    const picked = (try h.node(root, "SequenceAt", 11, &.{ built, minus_two }, 1, &.{}, &.{}))[0].?;
    try h.infer();
    try std.testing.expectEqualStrings("float32 [B,2]", try h.text(root, first));
    try std.testing.expectEqualStrings("sequence float32 [B,*]", try h.text(root, built.?));
    try std.testing.expectEqualStrings("float32 [B,14]", try h.text(root, cat));
    try std.testing.expectEqualStrings("float32 [3,B,*]", try h.text(root, stacked));
    try std.testing.expectEqualStrings("int64 []", try h.text(root, length));
    try std.testing.expectEqualStrings("float32 [B,2]", try h.text(root, picked));
}
