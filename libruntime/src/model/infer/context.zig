//! What a shape rule sees of one node: its inputs' types, constant and symbolic contents, its
//! attributes, and setters for its outputs. Rules live in the family files beside this one
//! (elementwise.zig, tensor_ops.zig, nn.zig, ...) and are listed in registry.zig.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const onnx = @import("../proto/onnx.zig");
const symbolic = @import("../symbolic.zig");

pub const Dim = ir.Dim;
pub const DType = ir.DType;
pub const ValueType = ir.ValueType;

/// Infers the subgraphs of control-flow nodes; implemented by engine.zig.
pub const SubgraphInferrer = struct {
    context: *anyopaque,
    infer: *const fn (context: *anyopaque, graph: *ir.Graph, inputs: []const ValueType) status.Error!void,
};

pub const Context = struct {
    arena: std.mem.Allocator,
    pool: *symbolic.Pool,
    graph: *ir.Graph,
    node: *const ir.Node,
    node_id: ir.NodeId,
    subgraphs: SubgraphInferrer,
    /// Numbers fresh symbols uniquely across the model's graphs.
    fresh_counter: *u32,

    // ---- inputs ------------------------------------------------------------------------------

    pub fn inputCount(self: *const Context) usize {
        return self.node.inputs.len;
    }

    pub fn outputCount(self: *const Context) usize {
        return self.node.outputs.len;
    }

    /// The value of input `i`, or null when it is absent (beyond the list, or an empty name).
    pub fn input(self: *const Context, i: usize) ?*ir.Value {
        if (i >= self.node.inputs.len) return null;
        const id = self.node.inputs[i] orelse return null;
        return self.graph.value(id);
    }

    pub fn hasInput(self: *const Context, i: usize) bool {
        return self.input(i) != null;
    }

    /// The inferred type of input `i`; `.unknown` kind when absent.
    pub fn inputType(self: *const Context, i: usize) ValueType {
        const value = self.input(i) orelse return .{ .kind = .unknown };
        return value.type;
    }

    pub fn dtype(self: *const Context, i: usize) ?DType {
        return self.inputType(i).dtype;
    }

    pub fn shape(self: *const Context, i: usize) ?[]const Dim {
        return self.inputType(i).shape;
    }

    pub fn rank(self: *const Context, i: usize) ?usize {
        return self.inputType(i).rank();
    }

    /// Fails unless input `i` is present.
    pub fn require(self: *const Context, i: usize) status.Error!*ir.Value {
        return self.input(i) orelse self.fail("input {d} is required", .{i});
    }

    pub fn constant(self: *const Context, i: usize) ?*const ir.Constant {
        const value = self.input(i) orelse return null;
        return value.constant;
    }

    /// The elements of an integer constant input, widened to i64; null when not constant.
    pub fn ints(self: *const Context, i: usize) status.Error!?[]const i64 {
        const c = self.constant(i) orelse return null;
        const out = try self.alloc(i64, @intCast(c.count));
        for (out, 0..) |*slot, k| slot.* = c.int(k) orelse return self.fail("input {d} must hold integers, not {s}", .{ i, @tagName(c.dtype) });
        return out;
    }

    /// The elements of a 1-D integer input as dims: from a constant, or from shape arithmetic
    /// (Shape → Gather → Concat ...) tracked in symbolic_elements. Null when unknown.
    pub fn elements(self: *const Context, i: usize) status.Error!?[]const Dim {
        const value = self.input(i) orelse return null;
        if (value.symbolic_elements) |e| return e;
        const c = value.constant orelse return null;
        if (c.count > 0 and c.int(0) == null) return null; // floats: not shape arithmetic
        const values = try self.ints(i) orelse return null;
        const out = try self.alloc(Dim, values.len);
        for (values, out) |v, *slot| slot.* = try self.pool.constant(v);
        return out;
    }

    // ---- attributes ----------------------------------------------------------------------------

    /// The attribute `name` as the model gave it (decoded protobuf), or null.
    pub fn attribute(self: *const Context, comptime name: []const u8) ?*const onnx.AttributeProto {
        return if (self.node.attr(name)) |a| a.proto else null;
    }

    pub fn attrInt(self: *const Context, comptime name: []const u8, default: i64) i64 {
        return self.node.attrInt(name, default);
    }

    pub fn attrFloat(self: *const Context, comptime name: []const u8, default: f32) f32 {
        return self.node.attrFloat(name, default);
    }

    pub fn attrString(self: *const Context, comptime name: []const u8, default: []const u8) []const u8 {
        return self.node.attrString(name, default);
    }

    /// null when the attribute is absent (an empty list is returned as empty).
    pub fn attrInts(self: *const Context, comptime name: []const u8) ?[]const i64 {
        return self.node.attrInts(name);
    }

    pub fn attrFloats(self: *const Context, comptime name: []const u8) ?[]const f32 {
        return self.node.attrFloats(name);
    }

    /// A tensor attribute, decoded at load.
    pub fn attrTensor(self: *const Context, comptime name: []const u8) ?*const ir.Constant {
        return self.node.attrTensor(name);
    }

    pub fn attrGraph(self: *const Context, comptime name: []const u8) ?*ir.Graph {
        return self.node.attrGraph(name);
    }

    // ---- outputs -------------------------------------------------------------------------------

    pub fn output(self: *const Context, i: usize) ?*ir.Value {
        if (i >= self.node.outputs.len) return null;
        const id = self.node.outputs[i] orelse return null;
        return self.graph.value(id);
    }

    /// Sets output `i` to a tensor of `dtype` and `shape` (null: unknown). Absent outputs are skipped.
    pub fn setOutput(self: *const Context, i: usize, dtype_value: ?DType, shape_value: ?[]const Dim) status.Error!void {
        try self.setOutputType(i, .{ .kind = .tensor, .dtype = dtype_value, .shape = shape_value });
    }

    pub fn setOutputType(self: *const Context, i: usize, value_type: ValueType) status.Error!void {
        const value = self.output(i) orelse return;
        value.type = value_type;
    }

    /// Records the symbolic elements of a 1-D integer output (see Value.symbolic_elements).
    pub fn setElements(self: *const Context, i: usize, elements_value: []const Dim) status.Error!void {
        const value = self.output(i) orelse return;
        value.symbolic_elements = elements_value;
    }

    /// Output `i` gets the type of input `j` (Identity, Dropout, activations, ...).
    pub fn passThrough(self: *const Context, i: usize, j: usize) status.Error!void {
        try self.setOutputType(i, self.inputType(j));
    }

    // ---- helpers -------------------------------------------------------------------------------

    pub fn alloc(self: *const Context, comptime T: type, n: usize) status.Error![]T {
        return self.arena.alloc(T, n) catch status.fail(error.OutOfResource, "out of memory in shape inference", .{});
    }

    pub fn dim(self: *const Context, value: i64) status.Error!Dim {
        return self.pool.constant(value);
    }

    /// A shape of known integers.
    pub fn dims(self: *const Context, values: []const i64) status.Error![]const Dim {
        const out = try self.alloc(Dim, values.len);
        for (values, out) |v, *slot| slot.* = try self.pool.constant(v);
        return out;
    }

    /// A dim nothing relates to other dims (data-dependent sizes such as NonZero's count).
    pub fn freshDim(self: *const Context, hint: []const u8) status.Error!Dim {
        var buffer: [96]u8 = undefined;
        defer self.fresh_counter.* += 1;
        const name = std.fmt.bufPrint(&buffer, "{s}__{d}", .{ hint, self.fresh_counter.* }) catch hint;
        return self.pool.symbol(name);
    }

    /// A negative axis counts from the end; out of range is a ShapeError naming the node.
    pub fn axis(self: *const Context, value: i64, rank_value: usize) status.Error!usize {
        const r: i64 = @intCast(rank_value);
        const a = if (value < 0) value + r else value;
        if (a < 0 or a >= r) return self.fail("axis {d} is out of range for rank {d}", .{ value, rank_value });
        return @intCast(a);
    }

    /// A ShapeError whose message starts with the node, e.g. "node 'conv1' (Conv): ...".
    pub fn fail(self: *const Context, comptime fmt: []const u8, args: anytype) status.Error {
        var name_buffer: [160]u8 = undefined;
        const who = self.node.describe(&name_buffer, self.node_id);
        var message: [768]u8 = undefined;
        const text = std.fmt.bufPrint(&message, fmt, args) catch fmt;
        return status.fail(error.ShapeError, "node {s}: {s}", .{ who, text });
    }

    /// Infers a subgraph whose inputs have the given types.
    pub fn inferSubgraph(self: *const Context, graph: *ir.Graph, inputs: []const ValueType) status.Error!void {
        try self.subgraphs.infer(self.subgraphs.context, graph, inputs);
    }
};

/// A shape rule: sets the node's output types from its inputs and attributes.
pub const Rule = *const fn (ctx: *Context) status.Error!void;
