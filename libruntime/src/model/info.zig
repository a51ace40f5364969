//! Model information for users: TensorInfo for any value (inputs and outputs first), operations,
//! dynamism and the parameter count. Strings are NUL-terminated copies, so the C ABI can hand
//! them out; everything lives in the model's arena until the model is destroyed.
const std = @import("std");
const status = @import("../core/status.zig");
const ir = @import("ir.zig");
const symbolic = @import("symbolic.zig");
const tensor_module = @import("../tensor/tensor.zig");

pub const QuantizationKind = enum(i64) { none = 0, per_tensor = 1, per_channel = 2 };

pub const Quantization = struct {
    kind: QuantizationKind = .none,
    axis: i64 = 0,
    scales: []const f64 = &.{},
    zero_points: []const i64 = &.{},
};

pub const TensorInfo = struct {
    name: [:0]const u8,
    kind: ir.TypeKind,
    /// For a map (or a sequence or optional of maps), the key type.
    dtype: ?ir.DType,
    /// For a map (or a sequence or optional of maps), the values' type; null otherwise.
    value_dtype: ?ir.DType = null,
    /// null: unknown rank.
    dims: ?[]const i64,
    /// Each dim as text: "224", "batch", "2*seq+1".
    dim_texts: []const [:0]const u8,
    /// "[1,3,224,224]", "[N,3]", or "?" for unknown rank.
    shape_text: [:0]const u8,
    /// -1 when any dim is symbolic.
    byte_size: i64,
    /// Buffers the runtime allocates for this tensor are aligned to this many bytes.
    alignment: u32 = tensor_module.data_alignment,
    /// Bytes of padding after the last element in those buffers (none in this layout).
    padding: u32 = 0,
    is_constant: bool,
    /// An input the caller may leave out: its initializer is the default.
    opt_out: bool,
    quantization: Quantization,
};

pub fn describeValue(arena: std.mem.Allocator, pool: *const symbolic.Pool, graph: *ir.Graph, id: ir.ValueId) status.Error!TensorInfo {
    const value = graph.value(id);
    const value_type = value.type;
    var info = TensorInfo{
        .name = try z(arena, value.name),
        .kind = value_type.kind,
        .dtype = value_type.dtype,
        .value_dtype = value_type.value_dtype,
        .dims = null,
        .dim_texts = &.{},
        .shape_text = "?",
        .byte_size = -1,
        .is_constant = value.role == .initializer or value.constant != null and value.role != .input,
        .opt_out = value.has_default,
        .quantization = try quantizationOf(arena, graph, id),
    };
    const shape = value_type.shape orelse return info;
    const dims = arena.alloc(i64, shape.len) catch return oom();
    const texts = arena.alloc([:0]const u8, shape.len) catch return oom();
    var text: std.Io.Writer.Allocating = .init(arena);
    text.writer.writeByte('[') catch return oom();
    var static = true;
    for (shape, dims, texts, 0..) |d, *number, *dim_text, i| {
        number.* = pool.value(d) orelse -1;
        if (number.* < 0) static = false;
        var one: std.Io.Writer.Allocating = .init(arena);
        pool.format(d, &one.writer) catch return oom();
        dim_text.* = try z(arena, one.written());
        if (i > 0) text.writer.writeByte(',') catch return oom();
        text.writer.writeAll(dim_text.*) catch return oom();
    }
    text.writer.writeByte(']') catch return oom();
    info.dims = dims;
    info.dim_texts = texts;
    info.shape_text = try z(arena, text.written());
    if (static and value_type.dtype != null and value_type.kind == .tensor) {
        if (tensor_module.Layout.init(value_type.dtype.?, dims)) |layout| {
            info.byte_size = std.math.cast(i64, layout.byte_size) orelse -1;
        } else |_| {}
    }
    return info;
}

/// A QuantizeLinear producing the value, or a DequantizeLinear reading it, with constant scale
/// (and zero point) defines its scheme: one scale per tensor, or one per channel along `axis`.
fn quantizationOf(arena: std.mem.Allocator, graph: *ir.Graph, id: ir.ValueId) status.Error!Quantization {
    for (graph.nodes.items) |*node| {
        const produces = std.mem.eql(u8, node.op_type, "QuantizeLinear") and node.outputs.len > 0 and node.outputs[0] == id;
        const consumes = std.mem.eql(u8, node.op_type, "DequantizeLinear") and node.inputs.len > 0 and node.inputs[0] == id;
        if (!produces and !consumes) continue;
        const scale = constantInput(graph, node, 1) orelse continue;
        const zero_point = constantInput(graph, node, 2);
        const scales = arena.alloc(f64, @intCast(scale.count)) catch return oom();
        for (scales, 0..) |*s, i| s.* = scale.float(i) orelse 0;
        const zero_points = arena.alloc(i64, scales.len) catch return oom();
        for (zero_points, 0..) |*zp, i| zp.* = if (zero_point) |c| (if (i < c.count) c.int(i) orelse 0 else 0) else 0;
        const per_channel = scale.dims.len == 1 and scale.count > 1;

        return .{
            .kind = if (per_channel) .per_channel else .per_tensor,
            .axis = node.attrInt("axis", 1),
            .scales = scales,
            .zero_points = zero_points,
        };
    }
    return .{};
}

fn constantInput(graph: *ir.Graph, node: *const ir.Node, i: usize) ?*const ir.Constant {
    if (i >= node.inputs.len) return null;
    const id = node.inputs[i] orelse return null;
    return graph.value(id).constant;
}

/// Whether any input's shape has a symbolic dim or an unknown rank.
pub fn isDynamic(pool: *const symbolic.Pool, graph: *ir.Graph) bool {
    for (graph.inputs) |id| {
        const value = graph.value(id);
        if (value.has_default) continue;
        const shape = value.type.shape orelse return true;
        for (shape) |d| if (pool.value(d) == null) return true;
    }
    return false;
}

/// What the initializers of a model hold, subgraphs included.
pub const Parameters = struct {
    /// Elements.
    count: u64 = 0,
    /// Bytes as stored (packed types packed; a string tensor's text).
    bytes: u64 = 0,
};

pub fn parameters(graph: *ir.Graph) Parameters {
    var total: Parameters = .{};
    for (graph.values.items) |value| {
        if (value.constant) |c| {
            if (value.role != .initializer and !value.has_default) continue;
            total.count += c.count;
            total.bytes += c.bytes.len;
            for (c.strings) |text| total.bytes += text.len;
        }
    }
    for (graph.nodes.items) |node| for (node.attributes) |attribute| {
        if (attribute.graph) |sub| total = add(total, parameters(sub));
        for (attribute.graphs) |sub| total = add(total, parameters(sub));
    };
    return total;
}

fn add(a: Parameters, b: Parameters) Parameters {
    return .{ .count = a.count + b.count, .bytes = a.bytes + b.bytes };
}

pub fn z(arena: std.mem.Allocator, text: []const u8) status.Error![:0]const u8 {
    return arena.dupeZ(u8, text) catch oom();
}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory describing the model", .{});
}
