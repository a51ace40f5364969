//! Unit tests of the linalg rules: one node at a time on a hand-built graph, with shapes written
//! in the symbolic text syntax, so symbolic arithmetic and error paths are checked without files.
//! The ONNX backend suite (suite_check.zig) covers the static cases more widely.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const onnx = @import("../proto/onnx.zig");
const symbolic = @import("../symbolic.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");

const Harness = struct {
    arena_state: std.heap.ArenaAllocator,
    pool: symbolic.Pool,
    graph: ir.Graph = .{ .name = "test" },
    counter: u32 = 0,

    fn init() Harness {
        return .{
            .arena_state = std.heap.ArenaAllocator.init(std.testing.allocator),
            .pool = symbolic.Pool.init(std.testing.allocator),
        };
    }

    fn deinit(self: *Harness) void {
        self.pool.deinit();
        self.arena_state.deinit();
    }

    fn value(self: *Harness, dtype: ?ir.DType, shape: ?[]const []const u8) !ir.ValueId {
        const a = self.arena_state.allocator();
        var dims: ?[]const ir.Dim = null;
        if (shape) |texts| {
            const out = try a.alloc(ir.Dim, texts.len);
            for (texts, out) |t, *d| d.* = try self.pool.parse(t);
            dims = out;
        }
        try self.graph.values.append(a, .{ .name = "v", .type = .{ .dtype = dtype, .shape = dims } });
        return @intCast(self.graph.values.items.len - 1);
    }

    /// Runs the rule of `op` and returns its outputs formatted as "dtype [d0,d1]" (or "?").
    fn run(
        self: *Harness,
        op: []const u8,
        opset: i64,
        inputs: []const ?ir.ValueId,
        output_count: usize,
        attributes: []const onnx.AttributeProto,
    ) ![]const []const u8 {
        const a = self.arena_state.allocator();
        const outputs = try a.alloc(?ir.ValueId, output_count);
        for (outputs) |*o| o.* = try self.value(null, null);
        const attrs = try a.alloc(ir.Attribute, attributes.len);
        for (attributes, attrs) |*proto, *attr| attr.* = .{ .name = proto.name, .proto = proto };
        const node = ir.Node{
            .name = "n",
            .op_type = op,
            .domain = "",
            .opset = opset,
            .inputs = inputs,
            .outputs = outputs,
            .attributes = attrs,
        };
        var ctx = context.Context{
            .arena = a,
            .pool = &self.pool,
            .graph = &self.graph,
            .node = &node,
            .node_id = 0,
            .subgraphs = .{ .context = undefined, .infer = noSubgraphs },
            .fresh_counter = &self.counter,
        };
        try registry.lookup("", op).?(&ctx);
        const texts = try a.alloc([]const u8, output_count);
        for (outputs, texts) |id, *t| t.* = try self.format(self.graph.value(id.?).type);
        return texts;
    }

    fn format(self: *Harness, t: ir.ValueType) ![]const u8 {
        var text: std.Io.Writer.Allocating = .init(self.arena_state.allocator());
        const w = &text.writer;
        try w.writeAll(if (t.dtype) |d| @tagName(d) else "?");
        const shape = t.shape orelse {
            try w.writeAll(" ?");
            return text.written();
        };
        try w.writeAll(" [");
        for (shape, 0..) |d, k| {
            if (k > 0) try w.writeAll(",");
            try self.pool.format(d, w);
        }
        try w.writeAll("]");
        return text.written();
    }

    fn noSubgraphs(_: *anyopaque, _: *ir.Graph, _: []const ir.ValueType) status.Error!void {
        return error.NotImplemented;
    }
};

fn expectTypes(expected: []const []const u8, actual: []const []const u8) !void {
    try std.testing.expectEqual(expected.len, actual.len);
    for (expected, actual) |e, a| try std.testing.expectEqualStrings(e, a);
}

test "MatMul promotes 1-D operands and broadcasts batch dims symbolically" {
    var h = Harness.init();
    defer h.deinit();
    const a = try h.value(.float32, &.{"K"});
    const b = try h.value(.float32, &.{ "B", "1", "K", "M" });
    const c = try h.value(.float32, &.{ "S", "M", "3" });
    try expectTypes(&.{"float32 [B,1,M]"}, try h.run("MatMul", 13, &.{ a, b }, 1, &.{}));
    try expectTypes(&.{"float32 [B,S,K,3]"}, try h.run("MatMul", 13, &.{ b, c }, 1, &.{}));
    const bad = try h.value(.float32, &.{ "2", "5" });
    const d = try h.value(.float32, &.{ "3", "4" });
    try std.testing.expectError(error.ShapeError, h.run("MatMul", 13, &.{ bad, d }, 1, &.{}));
}

test "Einsum: implicit output sorts single labels after the ellipsis" {
    var h = Harness.init();
    defer h.deinit();
    const a = try h.value(.float32, &.{ "X", "N", "K" });
    const b = try h.value(.float32, &.{ "K", "M" });
    const implicit = [_]onnx.AttributeProto{.{ .name = "equation", .s = "...ij, jk" }};
    try expectTypes(&.{"float32 [X,N,M]"}, try h.run("Einsum", 12, &.{ a, b }, 1, &implicit));
    const trace = [_]onnx.AttributeProto{.{ .name = "equation", .s = "ii" }};
    const square = try h.value(.int32, &.{ "3", "3" });
    try expectTypes(&.{"int32 []"}, try h.run("Einsum", 12, &.{square}, 1, &trace));
    const unknown_label = [_]onnx.AttributeProto{.{ .name = "equation", .s = "ij->iz" }};
    try std.testing.expectError(error.ShapeError, h.run("Einsum", 12, &.{square}, 1, &unknown_label));
}

test "Attention with 3-D inputs and a KV cache" {
    var h = Harness.init();
    defer h.deinit();
    const q = try h.value(.float16, &.{ "B", "S", "32" });
    const k = try h.value(.float16, &.{ "B", "T", "16" });
    const v = try h.value(.float16, &.{ "B", "T", "24" });
    const past_key = try h.value(.float16, &.{ "B", "2", "P", "8" });
    const past_value = try h.value(.float16, &.{ "B", "2", "P", "12" });
    const heads = [_]onnx.AttributeProto{ .{ .name = "q_num_heads", .i = 4 }, .{ .name = "kv_num_heads", .i = 2 } };
    const inputs = [_]?ir.ValueId{ q, k, v, null, past_key, past_value };
    try expectTypes(&.{
        "float16 [B,S,48]", "float16 [B,2,P+T,8]", "float16 [B,2,P+T,12]", "float16 [B,4,S,P+T]",
    }, try h.run("Attention", 23, &inputs, 4, &heads));
    const odd = [_]onnx.AttributeProto{ .{ .name = "q_num_heads", .i = 3 }, .{ .name = "kv_num_heads", .i = 2 } };
    try std.testing.expectError(error.ShapeError, h.run("Attention", 23, &inputs, 4, &odd));
}

test "LSTM: batch-first layout and hidden size from R" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.value(.float32, &.{ "N", "L", "5" });
    const w = try h.value(.float32, &.{ "2", "28", "5" });
    const r = try h.value(.float32, &.{ "2", "28", "7" });
    const attrs = [_]onnx.AttributeProto{
        .{ .name = "layout", .i = 1 },
        .{ .name = "direction", .s = "bidirectional" },
    };
    try expectTypes(
        &.{ "float32 [N,L,2,7]", "float32 [N,2,7]", "float32 [N,2,7]" },
        try h.run("LSTM", 14, &.{ x, w, r }, 3, &attrs),
    );
    const forward = [_]onnx.AttributeProto{.{ .name = "layout", .i = 1 }};
    try std.testing.expectError(error.ShapeError, h.run("LSTM", 14, &.{ x, w, r }, 3, &forward));
}

test "QuantizeLinear: uint8 by default, the zero point's type, blocked scales" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.value(.float32, &.{ "M", "64" });
    const scalar = try h.value(.float32, &.{});
    try expectTypes(&.{"uint8 [M,64]"}, try h.run("QuantizeLinear", 13, &.{ x, scalar }, 1, &.{}));
    const zero_point = try h.value(.int4, &.{});
    try expectTypes(&.{"int4 [M,64]"}, try h.run("QuantizeLinear", 21, &.{ x, scalar, zero_point }, 1, &.{}));
    const blocked = try h.value(.float32, &.{ "M", "3" });
    const block = [_]onnx.AttributeProto{.{ .name = "block_size", .i = 32 }};
    try std.testing.expectError(error.ShapeError, h.run("QuantizeLinear", 21, &.{ x, blocked }, 1, &block));
    const negative = [_]onnx.AttributeProto{.{ .name = "block_size", .i = -1 }};
    try std.testing.expectError(error.ShapeError, h.run("QuantizeLinear", 21, &.{ x, blocked }, 1, &negative));
}
