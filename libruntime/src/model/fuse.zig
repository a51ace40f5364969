//! Load stage 4 (after inference): marks the chains that the CPU kernels run as one node, so that
//! a convolution's output is not written, read back and written again by what follows it:
//!   Conv -> [Add(residual)] -> [Relu | Clip | Sigmoid | Sigmoid+Mul (SiLU)]
//! (MobileNet's Conv+Clip and Conv+Add, ResNet's Conv+Relu and Conv+Add+Relu, EfficientNet's
//! SiLU). Nothing is removed: the graph keeps every node and value, so the model's operations
//! and tensor names are what the file says. Instead:
//! - the Conv gets the attribute `producer_attribute` (ints: activation kind and whether a
//!   residual is added; floats: Clip's bounds) and, as input 3, the residual value, so that the
//!   executor hands the kernel that tensor like any other input;
//! - each absorbed node gets `absorbed_attribute` (i: the input it passes through), and its
//!   kernel returns that input as its output (a view, no work).
//! Whether a run really fuses is the kernels' decision (backends/cpu/kernels/fused.zig): only
//! when the run's intermediates are not observable, and then the Conv and every absorbed node
//! decide alike. Only the top-level graph is marked; subgraph nodes run as they are.
const std = @import("std");
const status = @import("../core/status.zig");
const ir = @import("ir.zig");
const onnx = @import("proto/onnx.zig");
const Uses = @import("graph_uses.zig").Uses;

/// On a fused Conv. ints = { activation kind, residual (0/1) }, floats = { lo, hi }.
pub const producer_attribute = "tessera.fused";
/// On a node whose work the producer did. i = the input index its output is a view of.
pub const absorbed_attribute = "tessera.absorbed";
/// The Conv input that carries the residual (after X, W and B, which may be absent).
pub const residual_input = 3;

/// Activation codes in `producer_attribute`; the CPU's fused stores (kernels/activation.zig) take
/// them as they are.
pub const ActivationCode = enum(i64) { none = 0, relu = 1, clip = 2, sigmoid = 3, silu = 4 };

/// Marks every fusible chain in `graph`; returns how many Convs absorb something. Reads the
/// inferred types, so it runs after inference.
pub fn run(arena: std.mem.Allocator, graph: *ir.Graph) status.Error!usize {
    const uses = Uses.init(arena, graph) catch return oom();
    // The arena frees it with everything else the load made.
    var fused: usize = 0;
    for (graph.nodes.items, 0..) |*node, index| {
        if (!isOp(node, "Conv")) continue;
        if (try markChain(arena, graph, &uses, @intCast(index))) fused += 1;
    }
    return fused;
}

const Absorbed = struct { node: ir.NodeId, passes: usize };

fn markChain(arena: std.mem.Allocator, graph: *ir.Graph, uses: *const Uses, conv_index: ir.NodeId) status.Error!bool {
    const conv = &graph.nodes.items[conv_index];
    if (conv.inputs.len < 2 or conv.inputs.len > 3 or conv.outputs.len != 1) return false;
    if (conv.has(producer_attribute)) return false;
    const out = conv.outputs[0] orelse return false;
    if (!isFloat32(graph, out)) return false;
    var absorbed: [2]Absorbed = undefined;
    var absorbed_count: usize = 0;
    var tip = out;
    var residual: ?ir.ValueId = null;

    // Conv -> Add(tip, other): the other operand must exist before the Conv runs and have the
    // same static shape (no broadcasting), so the GEMM can add it element by element.
    if (uses.only(tip)) |reader| {
        const add = &graph.nodes.items[reader];
        if (isOp(add, "Add") and add.inputs.len == 2 and add.outputs.len == 1) {
            const side: usize = if (add.inputs[0] == tip) 0 else 1;
            const other = add.inputs[1 - side];
            const sum = add.outputs[0];
            if (other != null and sum != null and other.? != tip and isFloat32(graph, other.?) and isFloat32(graph, sum.?) and
                sameStaticShape(graph, tip, other.?) and availableBefore(graph, other.?, conv_index))
            {
                residual = other.?;
                absorbed[absorbed_count] = .{ .node = reader, .passes = side };
                absorbed_count += 1;
                tip = sum.?;
            }
        }
    }

    var code: ActivationCode = .none;
    var bounds = [2]f32{ -std.math.inf(f32), std.math.inf(f32) };
    if (activationAfter(graph, uses, tip, &bounds)) |found| {
        code = found.code;
        for (found.nodes[0..found.count]) |a| {
            absorbed[absorbed_count] = a;
            absorbed_count += 1;
        }
    }
    if (residual == null and code == .none) return false;

    // Write the marks: the Conv's new attribute and input list, then each absorbed node's.
    const attrs = arena.alloc(ir.Attribute, conv.attributes.len + 1) catch return oom();
    @memcpy(attrs[0..conv.attributes.len], conv.attributes);
    const ints = arena.dupe(i64, &.{ @intFromEnum(code), @intFromBool(residual != null) }) catch return oom();
    const floats = arena.dupe(f32, &bounds) catch return oom();
    attrs[conv.attributes.len] = try ir.Attribute.make(arena, producer_attribute, onnx.AttributeProto{ .type = .ints, .ints = ints, .floats = floats });
    conv.attributes = attrs;
    if (residual) |r| {
        const inputs = arena.alloc(?ir.ValueId, residual_input + 1) catch return oom();
        @memset(inputs, null);
        @memcpy(inputs[0..conv.inputs.len], conv.inputs);
        inputs[residual_input] = r;
        conv.inputs = inputs;
    }
    for (absorbed[0..absorbed_count]) |a| {
        const node = &graph.nodes.items[a.node];
        const marked = arena.alloc(ir.Attribute, node.attributes.len + 1) catch return oom();
        @memcpy(marked[0..node.attributes.len], node.attributes);
        marked[node.attributes.len] = try ir.Attribute.make(arena, absorbed_attribute, onnx.AttributeProto{ .type = .int, .i = @intCast(a.passes) });
        node.attributes = marked;
    }
    return true;
}

const Found = struct { code: ActivationCode, nodes: [2]Absorbed, count: usize };

/// The activation that alone consumes `tip`: Relu, Clip with constant bounds, Sigmoid, or
/// Sigmoid(tip) read only by Mul(tip, sigmoid) (SiLU, which reads `tip` twice).
fn activationAfter(graph: *ir.Graph, uses: *const Uses, tip: ir.ValueId, bounds: *[2]f32) ?Found {
    const first_reader = if (uses.reads[tip] == 1 or uses.reads[tip] == 2) uses.reader[tip] else return null;
    if (uses.reads[tip] == 2) {
        // SiLU: the last reader of tip is the Mul; the Sigmoid is its other operand's producer.
        const mul = &graph.nodes.items[first_reader];
        if (!isOp(mul, "Mul") or mul.inputs.len != 2 or mul.outputs.len != 1) return null;
        const side: usize = if (mul.inputs[0] == tip) 0 else 1;
        if (mul.inputs[side] != tip) return null;
        const gate = mul.inputs[1 - side] orelse return null;
        if (gate == tip or (uses.only(gate) orelse return null) != first_reader) return null;
        const sigmoid_index = graph.value(gate).producer orelse return null;
        const sigmoid = &graph.nodes.items[sigmoid_index];
        if (!isOp(sigmoid, "Sigmoid") or sigmoid.inputs.len != 1 or sigmoid.inputs[0] != tip) return null;
        if (!isFloat32(graph, gate) or !isFloat32(graph, mul.outputs[0] orelse return null)) return null;
        return .{ .code = .silu, .nodes = .{ .{ .node = sigmoid_index, .passes = 0 }, .{ .node = first_reader, .passes = side } }, .count = 2 };
    }
    const node = &graph.nodes.items[first_reader];
    if (node.inputs.len < 1 or node.inputs[0] != tip or node.outputs.len != 1) return null;
    if (!isFloat32(graph, node.outputs[0] orelse return null)) return null;
    const one: [2]Absorbed = .{ .{ .node = first_reader, .passes = 0 }, undefined };
    if (isOp(node, "Relu") and node.inputs.len == 1) return .{ .code = .relu, .nodes = one, .count = 1 };
    if (isOp(node, "Sigmoid") and node.inputs.len == 1) return .{ .code = .sigmoid, .nodes = one, .count = 1 };
    if (isOp(node, "Clip")) {
        if (!clipBounds(graph, node, bounds)) return null;
        return .{ .code = .clip, .nodes = one, .count = 1 };
    }
    return null;
}

/// Clip's bounds as its kernel reads them: attributes before opset 11 (default ±float max),
/// constant scalar inputs from 11 on (absent: ±inf). A bound fed at run time is not fused.
fn clipBounds(graph: *ir.Graph, node: *const ir.Node, bounds: *[2]f32) bool {
    if (node.opset < 11) {
        if (node.inputs.len != 1) return false;
        bounds.* = .{ node.attrFloat("min", -std.math.floatMax(f32)), node.attrFloat("max", std.math.floatMax(f32)) };
        return true;
    }
    if (node.inputs.len > 3) return false;
    for (1..3) |i| {
        const id = (if (i < node.inputs.len) node.inputs[i] else null) orelse continue;
        const v = graph.value(id);
        const constant = v.constant orelse return false;
        if (v.role == .input or constant.dtype != .float32 or constant.count != 1 or constant.bytes.len < 4) return false;
        bounds[i - 1] = @bitCast(std.mem.readInt(u32, constant.bytes[0..4], .little));
    }
    return true;
}

fn isOp(node: *const ir.Node, op: []const u8) bool {
    const default_domain = node.domain.len == 0 or std.mem.eql(u8, node.domain, "ai.onnx");
    return default_domain and std.mem.eql(u8, node.op_type, op);
}

fn isFloat32(graph: *ir.Graph, id: ir.ValueId) bool {
    const t = graph.value(id).type;
    return t.kind == .tensor and t.dtype == .float32;
}

/// Both shapes known, of the same rank, dim for dim the same (interned symbolic dims compare
/// by identity, so a shared batch symbol matches too).
fn sameStaticShape(graph: *ir.Graph, a: ir.ValueId, b: ir.ValueId) bool {
    const sa = graph.value(a).type.shape orelse return false;
    const sb = graph.value(b).type.shape orelse return false;
    return std.mem.eql(ir.Dim, sa, sb);
}

/// The value is an input, a constant, or made by a node that runs before `index`.
fn availableBefore(graph: *ir.Graph, id: ir.ValueId, index: ir.NodeId) bool {
    const v = graph.value(id);
    if (v.role == .outer) return false;
    const producer = v.producer orelse return true;
    return producer < index;
}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory", .{});
}
