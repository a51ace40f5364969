//! The graph IR: nodes over values, with initializers as constants and nested subgraphs for
//! If/Loop/Scan. Built from a ModelProto by import.zig, typed by infer/, read by info.zig and, later,
//! by the planner. Everything lives in the model's arena; ids index the graph's lists.
const std = @import("std");
const symbolic = @import("symbolic.zig");
const constant_module = @import("constant.zig");
const dtype_module = @import("../tensor/dtype.zig");
const attribute_module = @import("attribute.zig");

pub const Dim = symbolic.Dim;
pub const DType = dtype_module.DType;
pub const Constant = constant_module.Constant;

pub const ValueId = u32;
pub const NodeId = u32;

/// TSR_KIND_* in tessera.h.
pub const TypeKind = enum(i32) { tensor = 0, sequence = 1, optional = 2, map = 3, sparse_tensor = 4, unknown = 5 };

/// What is known of a value's type: its kind, element type and shape (null: unknown rank).
/// For sequences and optionals, dtype and shape describe the tensors inside. For a map (and a
/// sequence or optional of maps), dtype is the key type and value_dtype the values' type.
pub const ValueType = struct {
    kind: TypeKind = .tensor,
    dtype: ?DType = null,
    shape: ?[]const Dim = null,
    /// Optional(Sequence(Tensor)) and similar: the kind of the element inside an optional.
    inner_kind: TypeKind = .tensor,
    /// Maps only: the element type of the values (a tensor of them, in ONNX's map type).
    value_dtype: ?DType = null,

    pub fn rank(self: ValueType) ?usize {
        return if (self.shape) |s| s.len else null;
    }
};

pub const Role = enum { intermediate, input, initializer, outer };

pub const Value = struct {
    name: []const u8,
    role: Role = .intermediate,
    /// The type shape inference settled on.
    type: ValueType = .{ .kind = .unknown },
    /// The type the model file declared (graph input/output or value_info), if any.
    declared: ?ValueType = null,
    producer: ?NodeId = null,
    constant: ?*const Constant = null,
    /// A graph input with an initializer of the same name: the initializer is its default.
    has_default: bool = false,
    /// For small 1-D integer tensors computed from shapes (Shape, Gather, Concat, ...): their
    /// elements as symbolic dims, so Reshape/Expand/ConstantOfShape stay exact on dynamic models.
    symbolic_elements: ?[]const Dim = null,
    /// For `outer` values: the value in the enclosing graph this one reads.
    outer: ?ValueId = null,
};

pub const Attribute = attribute_module.Attribute;

pub const Pruned = enum {
    none,
    /// Its outputs are constants computed at load.
    folded,
    /// No graph output needs it.
    unused,
};

pub const Node = struct {
    name: []const u8,
    op_type: []const u8,
    domain: []const u8,
    /// The opset version of this node's domain that the model (or its function) imports.
    opset: i64,
    /// null for an omitted optional input or output (an empty name in ONNX).
    inputs: []const ?ValueId,
    outputs: []const ?ValueId,
    attributes: []const Attribute,
    /// Set at load from the operator's schema (infer/signature.zig): every input must be a
    /// tensor, so the executor refuses a sequence, optional or map before the kernel sees it.
    tensor_inputs_only: bool = false,
    /// Where the compile stage put the node (exec/partition.zig): an index into the model's
    /// devices, and what that device compiled for it, opaque to the model layer. Nodes built
    /// after load have no compiled form; the CPU compiles them when they run.
    device: u8 = 0,
    kernel: ?*const anyopaque = null,
    /// Set by the compile stage's passes (exec/fold.zig) on nodes that runs skip.
    pruned: Pruned = .none,

    /// The attribute `name` (checked against attribute.Key when the caller is compiled), or null.
    pub fn attr(self: *const Node, comptime name: []const u8) ?*const Attribute {
        const wanted = comptime attribute_module.key(name);
        for (self.attributes) |*a| {
            if (a.key == wanted) return a;
        }
        return null;
    }

    pub fn has(self: *const Node, comptime name: []const u8) bool {
        return self.attr(name) != null;
    }

    pub fn attrInt(self: *const Node, comptime name: []const u8, default: i64) i64 {
        return if (self.attr(name)) |a| a.proto.i else default;
    }

    pub fn attrFloat(self: *const Node, comptime name: []const u8, default: f32) f32 {
        return if (self.attr(name)) |a| a.proto.f else default;
    }

    pub fn attrString(self: *const Node, comptime name: []const u8, default: []const u8) []const u8 {
        return if (self.attr(name)) |a| a.proto.s else default;
    }

    /// null when absent (an empty list is returned as empty).
    pub fn attrInts(self: *const Node, comptime name: []const u8) ?[]const i64 {
        return if (self.attr(name)) |a| a.proto.ints else null;
    }

    pub fn attrFloats(self: *const Node, comptime name: []const u8) ?[]const f32 {
        return if (self.attr(name)) |a| a.proto.floats else null;
    }

    pub fn attrStrings(self: *const Node, comptime name: []const u8) ?[]const []const u8 {
        return if (self.attr(name)) |a| a.proto.strings else null;
    }

    /// A tensor attribute, decoded at load; null when absent or not a tensor.
    pub fn attrTensor(self: *const Node, comptime name: []const u8) ?*const Constant {
        return if (self.attr(name)) |a| a.tensor else null;
    }

    pub fn attrGraph(self: *const Node, comptime name: []const u8) ?*Graph {
        return if (self.attr(name)) |a| a.graph else null;
    }

    /// "name (OpType)", or "OpType #id" for unnamed nodes, for error messages.
    pub fn describe(self: *const Node, buffer: []u8, id: NodeId) []const u8 {
        if (self.name.len > 0) return std.fmt.bufPrint(buffer, "'{s}' ({s})", .{ self.name, self.op_type }) catch self.name;
        return std.fmt.bufPrint(buffer, "{s} #{d}", .{ self.op_type, id }) catch self.op_type;
    }
};

pub const Graph = struct {
    name: []const u8,
    values: std.ArrayList(Value) = .empty,
    /// In topological order once import has finished.
    nodes: std.ArrayList(Node) = .empty,
    inputs: []const ValueId = &.{},
    outputs: []const ValueId = &.{},
    /// Names visible in this graph (its own values, not the enclosing graph's).
    scope: std.StringHashMapUnmanaged(ValueId) = .empty,
    parent: ?*Graph = null,

    pub fn value(self: *Graph, id: ValueId) *Value {
        return &self.values.items[id];
    }

    pub fn find(self: *const Graph, name: []const u8) ?ValueId {
        return self.scope.get(name);
    }

    /// Every value that is an initializer, for parameter counts and info.
    pub fn isInitializer(self: *const Graph, id: ValueId) bool {
        return self.values.items[id].role == .initializer;
    }
};

/// Visits `graph` and every subgraph below it, depth first.
pub fn forEachGraph(graph: *Graph, context: anytype, comptime visit: fn (@TypeOf(context), *Graph) anyerror!void) anyerror!void {
    try visit(context, graph);
    for (graph.nodes.items) |node| {
        for (node.attributes) |attribute| {
            if (attribute.graph) |sub| try forEachGraph(sub, context, visit);
            for (attribute.graphs) |sub| try forEachGraph(sub, context, visit);
        }
    }
}
