//! Shape rules for control flow: If, Loop, Scan (opset 8 with a batch axis, 9+ with scan axes) and
//! SequenceMap infer their subgraphs and read the node's outputs from the subgraphs' outputs.
//! Loop and Scan bodies run with carried values whose shapes may change from one iteration to the
//! next, so a body is inferred again with widened input types until they cover its outputs.
//! Sequences and optionals are in control_sequence.zig.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");
const sequence = @import("control_sequence.zig");
const types = @import("control_types.zig");

const Context = context.Context;
const Dim = ir.Dim;
const ValueType = ir.ValueType;

/// How often a body is inferred at most to reach types that cover all iterations.
const max_passes = 3;
/// Below this many enclosing graphs, bodies get several passes; deeper ones get one pass without
/// carried shapes, so nested loops cannot multiply the work beyond max_passes^max_precise_depth.
const max_precise_depth = 3;

fn graphAttribute(ctx: *Context, comptime name: []const u8) status.Error!*ir.Graph {
    return ctx.attrGraph(name) orelse ctx.fail("needs the graph attribute {s}", .{name});
}

fn checkDType(ctx: *Context, i: usize, want: ir.DType, what: []const u8) status.Error!void {
    const d = ctx.dtype(i) orelse return;
    if (d != want) return ctx.fail("{s} must be {s}, not {s}", .{ what, @tagName(want), @tagName(d) });
}

/// A body must take and give as many values as its node's signature implies.
fn checkBody(ctx: *Context, body: *const ir.Graph, inputs: usize, outputs: usize) status.Error!void {
    if (body.inputs.len != inputs) return ctx.fail("body takes {d} inputs, not {d}", .{ body.inputs.len, inputs });
    if (body.outputs.len != outputs) return ctx.fail("body gives {d} outputs, not {d}", .{ body.outputs.len, outputs });
}

fn outputType(graph: *ir.Graph, i: usize) ValueType {
    return graph.value(graph.outputs[i]).type;
}

// ---- If ------------------------------------------------------------------------------------

fn ifRule(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    try checkDType(ctx, 0, .bool, "cond");
    const then_graph = try graphAttribute(ctx, "then_branch");
    const else_graph = try graphAttribute(ctx, "else_branch");
    const then_ok = try inferBranch(ctx, then_graph);
    const else_ok = try inferBranch(ctx, else_graph);
    const n = ctx.outputCount();
    // A known condition picks its branch exactly; a branch that cannot run is never taken.
    const taken: ?*ir.Graph = if (knownBool(ctx, ctx.input(0).?, 0)) |c|
        (if (c) then_graph else else_graph)
    else if (!then_ok) else_graph else if (!else_ok) then_graph else null;
    if (taken) |g| if (!(if (g == then_graph) then_ok else else_ok)) {
        try ctx.inferSubgraph(g, &.{}); // fails again, with the message of its own error
    };
    if (then_graph.outputs.len != n or else_graph.outputs.len != n) {
        const counts = .{ n, then_graph.outputs.len, else_graph.outputs.len };
        return ctx.fail("has {d} outputs, but then_branch gives {d} and else_branch {d}", counts);
    }
    var u = types.Union{ .ctx = ctx, .hint = "if_output" };
    for (0..n) |i| {
        const a = then_graph.value(then_graph.outputs[i]);
        const b = else_graph.value(else_graph.outputs[i]);
        // The branches must agree in kind and element type even when only one can be taken.
        const merged = if (then_ok and else_ok) try u.types(a.type, b.type) else a.type;
        const chosen = if (taken) |g| g.value(g.outputs[i]) else {
            try ctx.setOutputType(i, merged);
            const ea = a.symbolic_elements orelse continue;
            const eb = b.symbolic_elements orelse continue;
            if (std.mem.eql(Dim, ea, eb)) try ctx.setElements(i, ea);
            continue;
        };
        try ctx.setOutputType(i, chosen.type);
        if (chosen.symbolic_elements) |e| try ctx.setElements(i, e);
        if (ctx.output(i)) |out| out.constant = chosen.constant;
    }
}

/// Infers one branch; false when it cannot run with what is known (a ShapeError or TypeError):
/// models switch on a condition computed at run time between branches valid only for their own
/// case (AffineGrid's expansion splits a 4-D or a 5-D size), and only the other branch can be taken.
fn inferBranch(ctx: *Context, graph: *ir.Graph) status.Error!bool {
    ctx.inferSubgraph(graph, &.{}) catch |e| switch (e) {
        error.ShapeError, error.TypeError => return false,
        else => return e,
    };
    return true;
}

/// The value of a one-element bool constant input.
fn constantBool(ctx: *Context, i: usize) ?bool {
    const c = ctx.constant(i) orelse return null;
    return oneBool(c);
}

fn oneBool(c: *const ir.Constant) ?bool {
    if (c.dtype != .bool or c.count != 1) return null;
    return (c.int(0) orelse return null) != 0;
}

/// A condition known before running: a constant, or Equal / Not over sizes known from shapes
/// (expanded functions switch on a rank, as in `If(Equal(Size(shape), 4))`).
fn knownBool(ctx: *Context, value: *const ir.Value, depth: u32) ?bool {
    if (value.constant) |c| return oneBool(c);
    if (depth > 8) return null;
    const graph = ctx.graph;
    const p = value.producer orelse return null;
    const node = &graph.nodes.items[p];
    if (node.domain.len != 0) return null;
    if (std.mem.eql(u8, node.op_type, "Not") and node.inputs.len == 1) {
        const input = graph.value(node.inputs[0] orelse return null);
        return !(knownBool(ctx, input, depth + 1) orelse return null);
    }
    if (!std.mem.eql(u8, node.op_type, "Equal") or node.inputs.len != 2) return null;
    const a = oneElement(ctx, graph.value(node.inputs[0] orelse return null)) orelse return null;
    const b = oneElement(ctx, graph.value(node.inputs[1] orelse return null)) orelse return null;
    if (a.dim != null and a.dim == b.dim) return true;
    const x = a.int orelse return null;
    const y = b.int orelse return null;
    return x == y;
}

/// The single element of an integer value: its symbolic dim and, when known, its number.
const Element = struct { dim: ?Dim = null, int: ?i64 = null };

fn oneElement(ctx: *Context, value: *const ir.Value) ?Element {
    if (value.symbolic_elements) |e| {
        if (e.len != 1) return null;
        return .{ .dim = e[0], .int = ctx.pool.value(e[0]) };
    }
    const c = value.constant orelse return null;
    if (c.count != 1) return null;
    return .{ .int = c.int(0) orelse return null };
}

// ---- carried values ---------------------------------------------------------------------------

fn nesting(graph: *const ir.Graph) usize {
    var depth: usize = 0;
    var g = graph;
    while (g.parent) |p| : (g = p) depth += 1;
    return depth;
}

/// Gives each subgraph input its type, less shapes its declaration contradicts.
fn inferBody(ctx: *Context, body: *ir.Graph, inputs: []ValueType) status.Error!void {
    std.debug.assert(inputs.len == body.inputs.len);
    for (inputs, body.inputs) |*t, id| t.* = types.fitDeclared(ctx, t.*, body.value(id));
    try ctx.inferSubgraph(body, inputs);
}

/// Infers a loop body whose inputs `first..first+n` come back as its outputs `out_first..+n` on the
/// next iteration. Returns the carried types, which cover the initial values and every iteration.
fn inferCarried(
    ctx: *Context,
    body: *ir.Graph,
    inputs: []ValueType,
    first: usize,
    out_first: usize,
    n: usize,
) status.Error![]const ValueType {
    var u = types.Union{ .ctx = ctx, .hint = "loop_carried", .strict = false };
    const carried = inputs[first..][0..n];
    const deep = nesting(ctx.graph) >= max_precise_depth;
    if (deep) for (carried) |*t| {
        t.shape = null;
    };
    var pass: usize = 1;
    while (true) : (pass += 1) {
        if (pass > 1) forgetInferred(body);
        try inferBody(ctx, body, inputs);
        var changed = false;
        for (carried, 0..) |*t, i| {
            const seen = body.value(body.inputs[first + i]).type;
            const out = outputType(body, out_first + i);
            if (u.coversType(seen, out)) {
                t.* = seen;
                continue;
            }
            changed = true;
            t.* = try u.types(seen, out);
            if (deep) t.shape = null;
        }
        if (!changed or deep or pass >= max_passes) return carried;
    }
}

/// Clears what an earlier pass inferred inside a body, so that no symbolic contents or folded
/// constants from narrower input types survive into the next pass (rules only ever set them).
fn forgetInferred(graph: *ir.Graph) void {
    for (graph.values.items) |*value| {
        if (value.producer == null) continue;
        value.type = .{ .kind = .unknown };
        value.symbolic_elements = null;
        value.constant = null;
    }
    for (graph.nodes.items) |node| for (node.attributes) |attribute| {
        if (attribute.graph) |sub| forgetInferred(sub);
        for (attribute.graphs) |sub| forgetInferred(sub);
    };
}

/// The type to give a body's iteration_num or cond input: a scalar, unless the body declares a
/// shape of its own ([1] in some exporters), which then decides.
fn scalarInput(body: *ir.Graph, i: usize, dtype: ir.DType) ValueType {
    const declared = body.value(body.inputs[i]).declared;
    const shaped = declared != null and declared.?.shape != null;
    return .{ .kind = .tensor, .dtype = dtype, .shape = if (shaped) null else types.scalar };
}

// ---- Loop ----------------------------------------------------------------------------------

fn loop(ctx: *Context) status.Error!void {
    if (ctx.inputCount() < 2) return ctx.fail("needs the inputs M and cond (either may be empty)", .{});
    const body = try graphAttribute(ctx, "body");
    const n = ctx.inputCount() - 2;
    if (ctx.outputCount() < n) return ctx.fail("has {d} loop-carried values but {d} outputs", .{ n, ctx.outputCount() });
    const k = ctx.outputCount() - n;
    try checkBody(ctx, body, n + 2, n + k + 1);
    try checkDType(ctx, 0, .int64, "M");
    try checkDType(ctx, 1, .bool, "cond");
    const inputs = try ctx.alloc(ValueType, n + 2);
    inputs[0] = scalarInput(body, 0, .int64);
    inputs[1] = scalarInput(body, 1, .bool);
    for (0..n) |i| inputs[2 + i] = ctx.inputType(2 + i);
    const carried = try inferCarried(ctx, body, inputs, 2, 1, n);
    if (outputType(body, 0).dtype) |d| if (d != .bool) {
        return ctx.fail("body's cond output must be bool, not {s}", .{@tagName(d)});
    };
    for (carried, 0..) |t, i| {
        // An optional carried into a body that hands back the plain value ends as that value.
        const out = outputType(body, 1 + i);
        try ctx.setOutputType(i, if (types.wrapsKind(t, out)) types.element(t) else t);
    }
    const trips = try tripCount(ctx, body);
    for (0..k) |j| {
        const t = outputType(body, 1 + n + j);
        if (t.kind != .tensor and t.kind != .unknown) {
            return ctx.fail("scan output {d} of the body must be a tensor, not a {s}", .{ j, @tagName(t.kind) });
        }
        const shape = t.shape orelse {
            try ctx.setOutput(n + j, t.dtype, null);
            continue;
        };
        const out = try ctx.alloc(Dim, shape.len + 1);
        out[0] = trips;
        @memcpy(out[1..], shape);
        try ctx.setOutput(n + j, t.dtype, out);
    }
}

/// How often the body runs: M when nothing can stop it earlier, else a fresh dim.
fn tripCount(ctx: *Context, body: *ir.Graph) status.Error!Dim {
    if (ctx.hasInput(1) and !(constantBool(ctx, 1) == true and condStaysTrue(body))) return ctx.freshDim("loop_trips");
    if (!ctx.hasInput(0)) return ctx.freshDim("loop_trips");
    if (ctx.rank(0)) |r| if (r > 1) return ctx.freshDim("loop_trips");
    const m = try ctx.elements(0) orelse return ctx.freshDim("loop_trips");
    if (m.len != 1) return ctx.freshDim("loop_trips");
    // A negative M runs no iteration.
    if (ctx.pool.value(m[0])) |v| return ctx.dim(@max(v, 0));
    return m[0];
}

/// Whether the body hands its cond input back unchanged (directly, by Identity, or a true constant).
fn condStaysTrue(body: *ir.Graph) bool {
    const cond_in = body.inputs[1];
    const id = body.outputs[0];
    if (id == cond_in) return true;
    const value = body.value(id);
    if (value.constant) |c| return c.dtype == .bool and c.count == 1 and c.int(0) == @as(i64, 1);
    const p = value.producer orelse return false;
    const node = &body.nodes.items[p];
    if (!std.mem.eql(u8, node.op_type, "Identity") or node.domain.len != 0) return false;
    return node.inputs.len == 1 and node.inputs[0] == cond_in;
}

// ---- Scan ----------------------------------------------------------------------------------

/// What a Scan node's attributes and inputs say, for either signature.
const ScanPlan = struct {
    /// Index of the first state input (1 in opset 8, after sequence_lens).
    first: usize,
    /// States N, scan inputs M, scan outputs K.
    n: usize,
    m: usize,
    k: usize,
    input_axes: []const i64,
    output_axes: []const i64,
    /// Opset 8: every input and output has a leading batch axis.
    batched: bool,
};

fn scanPlan(ctx: *Context, body: *ir.Graph) status.Error!ScanPlan {
    const batched = ctx.node.opset < 9;
    const first: usize = @intFromBool(batched);
    if (ctx.attribute("num_scan_inputs") == null) return ctx.fail("needs the attribute num_scan_inputs", .{});
    const m_attr = ctx.attrInt("num_scan_inputs", 0);
    const available = ctx.inputCount() -| first;
    if (m_attr < 1 or m_attr > available) {
        return ctx.fail("num_scan_inputs is {d}, but there are {d} state and scan inputs", .{ m_attr, available });
    }
    const m: usize = @intCast(m_attr);
    const n = available - m;
    if (ctx.outputCount() < n) return ctx.fail("has {d} state values but {d} outputs", .{ n, ctx.outputCount() });
    const k = ctx.outputCount() - n;
    try checkBody(ctx, body, n + m, n + k);
    if (batched) {
        if (ctx.hasInput(0)) try checkDType(ctx, 0, .int64, "sequence_lens");
        try checkFlags(ctx, "directions", m);
        return .{ .first = 1, .n = n, .m = m, .k = k, .input_axes = &.{}, .output_axes = &.{}, .batched = true };
    }
    try checkFlags(ctx, "scan_input_directions", m);
    try checkFlags(ctx, "scan_output_directions", k);
    return .{
        .first = 0,
        .n = n,
        .m = m,
        .k = k,
        .input_axes = try axesAttribute(ctx, "scan_input_axes", m),
        .output_axes = try axesAttribute(ctx, "scan_output_axes", k),
        .batched = false,
    };
}

/// A list attribute of 0/1 flags with one entry per scan input or output, when present.
fn checkFlags(ctx: *Context, comptime name: []const u8, count: usize) status.Error!void {
    const flags = ctx.attrInts(name) orelse return;
    if (flags.len != count) return ctx.fail("{s} has {d} entries, not {d}", .{ name, flags.len, count });
    for (flags) |f| if (f != 0 and f != 1) return ctx.fail("{s} holds {d}; only 0 and 1 are allowed", .{ name, f });
}

fn axesAttribute(ctx: *Context, comptime name: []const u8, count: usize) status.Error![]const i64 {
    if (ctx.attrInts(name)) |axes| {
        if (axes.len != count) return ctx.fail("{s} has {d} entries, not {d}", .{ name, axes.len, count });
        return axes;
    }
    const zeros = try ctx.alloc(i64, count);
    @memset(zeros, 0);
    return zeros;
}

/// One dim that several inputs must share (batch size, sequence length): a known size wins, and
/// two different known sizes are an error.
fn agree(ctx: *Context, current: ?Dim, d: Dim, what: []const u8) status.Error!Dim {
    const c = current orelse return d;
    if (c == d) return c;
    const cv = ctx.pool.value(c);
    const dv = ctx.pool.value(d);
    if (cv != null and dv != null) {
        return ctx.fail("scan inputs disagree on the {s}: {d} and {d}", .{ what, cv.?, dv.? });
    }
    return if (cv != null) c else d;
}

fn without(ctx: *Context, shape: []const Dim, axis: usize) status.Error![]const Dim {
    const out = try ctx.alloc(Dim, shape.len - 1);
    @memcpy(out[0..axis], shape[0..axis]);
    @memcpy(out[axis..], shape[axis + 1 ..]);
    return out;
}

/// The shared dims of a Scan: the batch size (opset 8) and the number of iterations.
const ScanDims = struct { batch: ?Dim = null, length: ?Dim = null };

/// Fills the body's input types: states as they are (opset 8: less the batch axis) and one slice of
/// each scan input (without its scan axis).
fn scanInputs(ctx: *Context, plan: ScanPlan, inputs: []ValueType, dims: *ScanDims) status.Error!void {
    for (inputs, 0..) |*slot, i| {
        const t = ctx.inputType(plan.first + i);
        if (t.kind != .tensor and t.kind != .unknown) {
            return ctx.fail("input {d} must be a tensor, not a {s}", .{ plan.first + i, @tagName(t.kind) });
        }
        slot.* = .{ .kind = .tensor, .dtype = t.dtype };
        const shape = t.shape orelse continue;
        const is_state = i < plan.n;
        var trimmed = shape;
        if (plan.batched) {
            const need: usize = if (is_state) 1 else 2;
            if (shape.len < need) {
                return ctx.fail("input {d} has rank {d}, below {d}", .{ plan.first + i, shape.len, need });
            }
            dims.batch = try agree(ctx, dims.batch, shape[0], "batch size");
            trimmed = shape[1..];
        }
        if (!is_state) {
            const axis = if (plan.batched) 0 else try ctx.axis(plan.input_axes[i - plan.n], trimmed.len);
            dims.length = try agree(ctx, dims.length, trimmed[axis], "sequence length");
            trimmed = try without(ctx, trimmed, axis);
        }
        slot.shape = trimmed;
    }
}

fn scan(ctx: *Context) status.Error!void {
    const body = try graphAttribute(ctx, "body");
    const plan = try scanPlan(ctx, body);
    const inputs = try ctx.alloc(ValueType, plan.n + plan.m);
    var dims = ScanDims{};
    try scanInputs(ctx, plan, inputs, &dims);
    const batch = dims.batch orelse try ctx.freshDim("scan_batch");
    const length = dims.length orelse try ctx.freshDim("scan_length");
    const states = try inferCarried(ctx, body, inputs, 0, 0, plan.n);
    for (states, 0..) |t, i| {
        const shape = if (plan.batched) try prepend(ctx, &.{batch}, t.shape) else t.shape;
        try ctx.setOutputType(i, .{ .kind = .tensor, .dtype = t.dtype, .shape = shape });
    }
    for (0..plan.k) |j| {
        const t = outputType(body, plan.n + j);
        if (t.kind != .tensor and t.kind != .unknown) {
            return ctx.fail("scan output {d} of the body must be a tensor, not a {s}", .{ j, @tagName(t.kind) });
        }
        const shape = t.shape orelse {
            try ctx.setOutput(plan.n + j, t.dtype, null);
            continue;
        };
        const out = if (plan.batched)
            try prepend(ctx, &.{ batch, length }, shape)
        else
            try insertAt(ctx, shape, try ctx.axis(plan.output_axes[j], shape.len + 1), length);
        try ctx.setOutput(plan.n + j, t.dtype, out);
    }
}

fn prepend(ctx: *Context, head: []const Dim, shape: ?[]const Dim) status.Error!?[]const Dim {
    const tail = shape orelse return null;
    const out = try ctx.alloc(Dim, head.len + tail.len);
    @memcpy(out[0..head.len], head);
    @memcpy(out[head.len..], tail);
    return out;
}

fn insertAt(ctx: *Context, shape: []const Dim, axis: usize, d: Dim) status.Error![]const Dim {
    const out = try ctx.alloc(Dim, shape.len + 1);
    @memcpy(out[0..axis], shape[0..axis]);
    out[axis] = d;
    @memcpy(out[axis + 1 ..], shape[axis..]);
    return out;
}

// ---- SequenceMap -------------------------------------------------------------------------------

fn sequenceMap(ctx: *Context) status.Error!void {
    const body = try graphAttribute(ctx, "body");
    const first = try ctx.require(0);
    if (first.type.kind != .sequence and first.type.kind != .unknown) {
        return ctx.fail("input 0 must be a sequence, not a {s}", .{@tagName(first.type.kind)});
    }
    try checkBody(ctx, body, ctx.inputCount(), ctx.outputCount());
    const inputs = try ctx.alloc(ValueType, ctx.inputCount());
    for (inputs, 0..) |*slot, i| {
        const t = ctx.inputType(i);
        slot.* = if (t.kind == .sequence) types.element(t) else t;
    }
    try inferBody(ctx, body, inputs);
    for (0..ctx.outputCount()) |i| {
        const t = outputType(body, i);
        if (t.kind != .tensor and t.kind != .unknown) {
            return ctx.fail("body output {d} must be a tensor, not a {s}", .{ i, @tagName(t.kind) });
        }
        try ctx.setOutputType(i, types.sequenceOf(t.dtype, t.shape));
    }
}

pub const rules = [_]registry.Entry{
    .{ .op = "If", .rule = ifRule },
    .{ .op = "Loop", .rule = loop },
    .{ .op = "Scan", .rule = scan },
    .{ .op = "SequenceMap", .rule = sequenceMap },
} ++ sequence.rules;

test {
    _ = @import("control_test.zig");
}
