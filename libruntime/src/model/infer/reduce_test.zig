//! Unit tests of the reduce family's rules on hand-built nodes with symbolic dims: what the ONNX
//! backend suite cannot show (its shapes are static and its outputs declared), such as symbolic
//! spectra and frame counts, shape vectors folded by ReduceProd, and the error paths.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const onnx = @import("../proto/onnx.zig");
const symbolic = @import("../symbolic.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");

const Attr = onnx.AttributeProto;

const Harness = struct {
    arena_state: std.heap.ArenaAllocator,
    pool: symbolic.Pool,
    graph: ir.Graph = .{ .name = "reduce-test" },
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

    /// A tensor value; dims in the symbolic text syntax ("B", "N+1").
    fn tensor(self: *Harness, dtype: ?ir.DType, shape: ?[]const []const u8) !ir.ValueId {
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

    /// An int64 value whose elements are the given symbolic dims (as Shape → Gather makes).
    fn vector(self: *Harness, shape: []const []const u8, elements: []const []const u8) !ir.ValueId {
        const id = try self.tensor(.int64, shape);
        const out = try self.arena_state.allocator().alloc(ir.Dim, elements.len);
        for (elements, out) |t, *d| d.* = try self.pool.parse(t);
        self.graph.value(id).symbolic_elements = out;
        return id;
    }

    /// Runs the rule of (domain, op) on a node with `outputs` outputs; returns their ids.
    fn run(
        self: *Harness,
        domain: []const u8,
        op: []const u8,
        opset: i64,
        inputs: []const ?ir.ValueId,
        outputs: usize,
        attributes: []const Attr,
    ) ![]const ?ir.ValueId {
        const a = self.arena_state.allocator();
        const out = try a.alloc(?ir.ValueId, outputs);
        for (out) |*o| o.* = try self.tensor(null, null);
        const protos = try a.dupe(Attr, attributes);
        const attrs = try a.alloc(ir.Attribute, protos.len);
        for (protos, attrs) |*proto, *attr| attr.* = .{ .name = proto.name, .proto = proto };
        const node = ir.Node{
            .name = "n",
            .op_type = op,
            .domain = domain,
            .opset = opset,
            .inputs = try a.dupe(?ir.ValueId, inputs),
            .outputs = out,
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
        try registry.lookup(domain, op).?(&ctx);
        return out;
    }

    /// Output 0's type as "dtype [d0,d1]", "dtype ?" for an unknown rank.
    fn first(self: *Harness, op: []const u8, opset: i64, inputs: []const ?ir.ValueId, attrs: []const Attr) ![]const u8 {
        const out = try self.run("", op, opset, inputs, 1, attrs);
        return self.text(self.graph.value(out[0].?).type.dtype, self.graph.value(out[0].?).type.shape);
    }

    fn text(self: *Harness, dtype: ?ir.DType, dims: ?[]const ir.Dim) ![]const u8 {
        var out: std.Io.Writer.Allocating = .init(self.arena_state.allocator());
        try out.writer.print("{s} ", .{if (dtype) |d| @tagName(d) else "?"});
        const s = dims orelse {
            try out.writer.writeAll("?");
            return out.written();
        };
        try out.writer.writeAll("[");
        for (s, 0..) |d, k| {
            if (k > 0) try out.writer.writeAll(",");
            try self.pool.format(d, &out.writer);
        }
        try out.writer.writeAll("]");
        return out.written();
    }
};

fn noSubgraphs(_: *anyopaque, _: *ir.Graph, _: []const ir.ValueType) status.Error!void {
    unreachable;
}

fn int(name: []const u8, value: i64) Attr {
    return .{ .name = name, .type = .int, .i = value };
}

fn intList(name: []const u8, values: []const i64) Attr {
    return .{ .name = name, .type = .ints, .ints = values };
}

test "Reduce: attribute axes, input axes, unknown axes and noop" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.tensor(.float32, &.{ "B", "N", "4" });
    const mean = try h.first("ReduceMean", 13, &.{x}, &.{ intList("axes", &.{1}), int("keepdims", 0) });
    try std.testing.expectEqualStrings("float32 [B,4]", mean);
    const axes = try h.vector(&.{"1"}, &.{"-1"});
    try std.testing.expectEqualStrings("float32 [B,N,1]", try h.first("ReduceMax", 18, &.{ x, axes }, &.{}));
    const unknown = try h.tensor(.int64, &.{"2"});
    const rank_only = try h.first("ReduceSum", 13, &.{ x, unknown }, &.{int("keepdims", 0)});
    try std.testing.expectEqualStrings("float32 [reduced__0]", rank_only);
    const empty = try h.tensor(.int64, &.{"0"});
    const noop = try h.first("ReduceSum", 13, &.{ x, empty }, &.{int("noop_with_empty_axes", 1)});
    try std.testing.expectEqualStrings("float32 [B,N,4]", noop);
    try std.testing.expectEqualStrings("float32 [1,1,1]", try h.first("ReduceL2", 18, &.{ x, empty }, &.{}));
    try std.testing.expectError(error.ShapeError, h.first("ReduceMin", 11, &.{x}, &.{intList("axes", &.{ 0, -3 })}));
}

test "ReduceProd of a shape vector stays symbolic" {
    var h = Harness.init();
    defer h.deinit();
    const shape = try h.vector(&.{"3"}, &.{ "B", "N", "4" });
    const out = try h.run("", "ReduceProd", 18, &.{shape}, 1, &.{int("keepdims", 0)});
    const v = h.graph.value(out[0].?);
    try std.testing.expectEqualStrings("int64 []", try h.text(v.type.dtype, v.type.shape));
    try std.testing.expectEqualStrings("? [4*B*N]", try h.text(null, v.symbolic_elements));
}

test "TopK takes a symbolic K; ArgMax is int64" {
    var h = Harness.init();
    defer h.deinit();
    const x = try h.tensor(.float16, &.{ "B", "N" });
    const k = try h.vector(&.{"1"}, &.{"N/2"});
    const out = try h.run("", "TopK", 11, &.{ x, k }, 2, &.{});
    const indices = h.graph.value(out[1].?).type;
    try std.testing.expectEqualStrings("int64 [B,N/2]", try h.text(indices.dtype, indices.shape));
    try std.testing.expectEqualStrings("int64 [1,N]", try h.first("ArgMax", 13, &.{x}, &.{}));
}

test "DFT and STFT sizes are symbolic" {
    var h = Harness.init();
    defer h.deinit();
    const real = try h.tensor(.float32, &.{ "B", "N", "1" });
    try std.testing.expectEqualStrings("float32 [B,N/2+1,2]", try h.first("DFT", 17, &.{real}, &.{int("onesided", 1)}));
    const complex = try h.tensor(.float32, &.{ "B", "N", "2" });
    const irfft = &.{ int("onesided", 1), int("inverse", 1) };
    try std.testing.expectEqualStrings("float32 [B,2*N-2,1]", try h.first("DFT", 20, &.{complex}, irfft));
    try std.testing.expectError(error.ShapeError, h.first("DFT", 20, &.{real}, irfft));
    const step = try h.vector(&.{}, &.{"160"});
    const window = try h.tensor(.float32, &.{"400"});
    const signal = try h.tensor(.float32, &.{ "B", "L", "1" });
    // floor((L - 400) / 160) + 1 frames, in the pool's canonical form.
    const frames = try h.first("STFT", 17, &.{ signal, step, window }, &.{});
    try std.testing.expectEqualStrings("float32 [B,(L+80)/160-2,201,2]", frames);
}

test "ai.onnx.ml: ZipMap makes a sequence of maps; LabelEncoder's values decide its type" {
    var h = Harness.init();
    defer h.deinit();
    const scores = try h.tensor(.float32, &.{ "N", "3" });
    const labels = [_][]const u8{ "a", "b", "c" };
    const keys = Attr{ .name = "classlabels_strings", .type = .strings, .strings = &labels };
    const zip = try h.run("ai.onnx.ml", "ZipMap", 1, &.{scores}, 1, &.{keys});
    const t = h.graph.value(zip[0].?).type;
    try std.testing.expect(t.kind == .sequence and t.inner_kind == .map and t.dtype == .string);
    const words = try h.tensor(.string, &.{"N"});
    const encoder = try h.run("ai.onnx.ml", "LabelEncoder", 2, &.{words}, 1, &.{
        .{ .name = "keys_strings", .type = .strings, .strings = labels[0..2] },
        .{ .name = "values_floats", .type = .floats, .floats = &.{ 0.5, 1.5 } },
    });
    const e = h.graph.value(encoder[0].?).type;
    try std.testing.expectEqualStrings("float32 [N]", try h.text(e.dtype, e.shape));
}
