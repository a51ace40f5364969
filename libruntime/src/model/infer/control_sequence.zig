//! Shape rules for tensor sequences and optionals (opsets 11 to 28). A sequence's ValueType is
//! kind .sequence with the dtype and shape of its elements; the shape is null, or has fresh dims,
//! where elements may differ. An optional is kind .optional whose inner_kind says what it wraps.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");
const types = @import("control_types.zig");

const Context = context.Context;
const Dim = ir.Dim;
const ValueType = ir.ValueType;

/// Input `i` as a sequence: fails when it is known to be something else.
fn sequenceInput(ctx: *Context, i: usize) status.Error!ValueType {
    const t = (try ctx.require(i)).type;
    if (t.kind != .sequence and t.kind != .unknown) {
        return ctx.fail("input {d} must be a sequence, not a {s}", .{ i, @tagName(t.kind) });
    }
    return t;
}

/// Input `i` as a tensor: fails when it is known to be something else.
fn tensorInput(ctx: *Context, i: usize) status.Error!ValueType {
    const t = (try ctx.require(i)).type;
    if (t.kind != .tensor and t.kind != .unknown) {
        return ctx.fail("input {d} must be a tensor, not a {s}", .{ i, @tagName(t.kind) });
    }
    return t;
}

/// A position input (SequenceAt/Insert/Erase): an int32 or int64 scalar when present.
fn checkPosition(ctx: *Context, i: usize) status.Error!void {
    if (!ctx.hasInput(i)) return;
    _ = try tensorInput(ctx, i);
    if (ctx.dtype(i)) |d| if (d != .int32 and d != .int64) {
        return ctx.fail("position must be int32 or int64, not {s}", .{@tagName(d)});
    };
    // The spec asks for a scalar; ONNX's own tests also pass a one-element 1-D tensor.
    const shape = ctx.shape(i) orelse return;
    const single = shape.len == 0 or (shape.len == 1 and (ctx.pool.value(shape[0]) orelse 1) == 1);
    if (!single) return ctx.fail("position must be a scalar, not of rank {d}", .{shape.len});
}

fn checkSameDType(ctx: *Context, a: ?ir.DType, b: ?ir.DType) status.Error!?ir.DType {
    const x = a orelse return b;
    const y = b orelse return a;
    if (x != y) return ctx.fail("element types {s} and {s} differ", .{ @tagName(x), @tagName(y) });
    return x;
}

/// The node in this graph that produced input `i`, if any.
fn producer(ctx: *Context, i: usize) ?*const ir.Node {
    const value = ctx.input(i) orelse return null;
    const p = value.producer orelse return null;
    if (p >= ctx.graph.nodes.items.len) return null;
    const node = &ctx.graph.nodes.items[p];
    if (node.domain.len != 0) return null;
    return node;
}

fn producedBy(ctx: *Context, i: usize, op: []const u8) ?*const ir.Node {
    const node = producer(ctx, i) orelse return null;
    return if (std.mem.eql(u8, node.op_type, op)) node else null;
}

fn sequenceEmpty(ctx: *Context) status.Error!void {
    const code = ctx.attrInt("dtype", @intFromEnum(ir.DType.float32));
    const small = std.math.cast(i32, code) orelse return ctx.fail("dtype {d} is not an element type", .{code});
    const dtype = ir.DType.fromInt(small) catch return ctx.fail("dtype {d} is not an element type", .{code});
    try ctx.setOutputType(0, types.sequenceOf(dtype, null));
}

fn sequenceConstruct(ctx: *Context) status.Error!void {
    if (ctx.inputCount() == 0) return ctx.fail("needs at least one tensor", .{});
    var u = types.Union{ .ctx = ctx, .hint = "seq" };
    var dtype: ?ir.DType = null;
    var shape: ?[]const Dim = null;
    for (0..ctx.inputCount()) |i| {
        const t = try tensorInput(ctx, i);
        dtype = try checkSameDType(ctx, dtype, t.dtype);
        shape = if (i == 0) t.shape else try u.shape(shape, t.shape);
    }
    try ctx.setOutputType(0, types.sequenceOf(dtype, shape));
}

fn sequenceAt(ctx: *Context) status.Error!void {
    const seq = try sequenceInput(ctx, 0);
    _ = try ctx.require(1);
    try checkPosition(ctx, 1);
    // From a sequence just built by SequenceConstruct, a constant position names the very tensor.
    if (producedBy(ctx, 0, "SequenceConstruct")) |node| if (try constantPosition(ctx, 1)) |p| {
        const n: i64 = @intCast(node.inputs.len);
        if (p < -n or p >= n) return ctx.fail("position {d} is out of range for {d} tensors", .{ p, n });
        const id = node.inputs[@intCast(if (p < 0) p + n else p)] orelse return ctx.fail("empty input", .{});
        const t = ctx.graph.value(id).type;
        return ctx.setOutput(0, t.dtype orelse seq.dtype, t.shape);
    };
    try ctx.setOutput(0, seq.dtype, seq.shape);
}

fn constantPosition(ctx: *Context, i: usize) status.Error!?i64 {
    const values = try ctx.ints(i) orelse return null;
    return if (values.len == 1) values[0] else null;
}

fn sequenceInsert(ctx: *Context) status.Error!void {
    const seq = try sequenceInput(ctx, 0);
    const tensor = try tensorInput(ctx, 1);
    try checkPosition(ctx, 2);
    const dtype = try checkSameDType(ctx, seq.dtype, tensor.dtype);
    // Into a sequence known to be empty, the new tensor alone decides the element shape.
    var u = types.Union{ .ctx = ctx, .hint = "seq" };
    const empty = producedBy(ctx, 0, "SequenceEmpty") != null;
    const shape = if (empty) tensor.shape else try u.shape(seq.shape, tensor.shape);
    try ctx.setOutputType(0, types.sequenceOf(dtype, shape));
}

fn sequenceErase(ctx: *Context) status.Error!void {
    const seq = try sequenceInput(ctx, 0);
    try checkPosition(ctx, 1);
    try ctx.setOutputType(0, types.sequenceOf(seq.dtype, seq.shape));
}

fn sequenceLength(ctx: *Context) status.Error!void {
    _ = try sequenceInput(ctx, 0);
    try ctx.setOutput(0, .int64, types.scalar);
}

fn splitToSequence(ctx: *Context) status.Error!void {
    const input = try tensorInput(ctx, 0);
    const shape = input.shape orelse return ctx.setOutputType(0, types.sequenceOf(input.dtype, null));
    const axis = try ctx.axis(ctx.attrInt("axis", 0), shape.len);
    if (!ctx.hasInput(1)) {
        if (ctx.attrInt("keepdims", 1) == 0) {
            const out = try ctx.alloc(Dim, shape.len - 1);
            @memcpy(out[0..axis], shape[0..axis]);
            @memcpy(out[axis..], shape[axis + 1 ..]);
            return ctx.setOutputType(0, types.sequenceOf(input.dtype, out));
        }
        return setChunk(ctx, input.dtype, shape, axis, try ctx.dim(1));
    }
    if (ctx.dtype(1)) |d| if (d != .int32 and d != .int64) {
        return ctx.fail("split must be int32 or int64, not {s}", .{@tagName(d)});
    };
    const chunk = try splitChunk(ctx, shape[axis]) orelse try ctx.freshDim("split");
    try setChunk(ctx, input.dtype, shape, axis, chunk);
}

fn setChunk(ctx: *Context, dtype: ?ir.DType, shape: []const Dim, axis: usize, chunk: Dim) status.Error!void {
    const out = try ctx.alloc(Dim, shape.len);
    @memcpy(out, shape);
    out[axis] = chunk;
    try ctx.setOutputType(0, types.sequenceOf(dtype, out));
}

/// The size every chunk has along the axis, when they all have the same; null when not known.
fn splitChunk(ctx: *Context, total: Dim) status.Error!?Dim {
    const split_rank = ctx.rank(1) orelse return null;
    if (split_rank > 1) return ctx.fail("split must be a scalar or 1-D, not of rank {d}", .{split_rank});
    const parts = try ctx.elements(1) orelse return null;
    if (parts.len == 0) return ctx.fail("split must not be empty", .{});
    for (parts) |p| if (ctx.pool.value(p)) |v| if (v <= 0) {
        return ctx.fail("split sizes must be positive, not {d}", .{v});
    };
    const pool = ctx.pool;
    const total_value = pool.value(total);
    if (split_rank == 0) {
        const size = parts[0];
        if (size == total) return size;
        const t = total_value orelse return null;
        const s = pool.value(size) orelse return null;
        if (t <= s) return total; // one chunk
        return if (@mod(t, s) == 0) size else null;
    }
    if (total_value) |t| {
        var sum: i64 = 0;
        for (parts) |p| {
            const v = pool.value(p) orelse break;
            sum = std.math.add(i64, sum, v) catch return ctx.fail("split sizes overflow", .{});
        } else if (sum != t) return ctx.fail("split sizes sum to {d}, but the axis has {d}", .{ sum, t });
    }
    for (parts[1..]) |p| if (p != parts[0]) return null;
    return parts[0];
}

fn concatFromSequence(ctx: *Context) status.Error!void {
    const seq = try sequenceInput(ctx, 0);
    if (ctx.attribute("axis") == null) return ctx.fail("needs the attribute axis", .{});
    const new_axis = ctx.attrInt("new_axis", 0);
    if (new_axis != 0 and new_axis != 1) return ctx.fail("new_axis must be 0 or 1, not {d}", .{new_axis});
    const shape = seq.shape orelse return ctx.setOutput(0, seq.dtype, null);
    const stack = new_axis == 1;
    const rank = shape.len + @intFromBool(stack);
    const axis = try ctx.axis(ctx.attrInt("axis", 0), rank);
    const out = try ctx.alloc(Dim, rank);
    // Stacking inserts the new axis; concatenating replaces the dim at the axis.
    for (out, 0..) |*slot, k| {
        if (k == axis) continue;
        slot.* = if (stack and k > axis) shape[k - 1] else shape[k];
    }
    out[axis] = try concatLength(ctx, stack, axis) orelse try ctx.freshDim("concat");
    try ctx.setOutput(0, seq.dtype, out);
}

/// The concatenated length along the axis when the sequence was just built by SequenceConstruct:
/// the count of tensors when stacking, else the sum of their dims.
fn concatLength(ctx: *Context, stack: bool, axis: usize) status.Error!?Dim {
    const node = producedBy(ctx, 0, "SequenceConstruct") orelse return null;
    if (stack) return try ctx.dim(@intCast(node.inputs.len));
    var sum = try ctx.dim(0);
    for (node.inputs) |maybe| {
        const id = maybe orelse return null;
        const shape = ctx.graph.value(id).type.shape orelse return null;
        if (axis >= shape.len) return null;
        sum = try ctx.pool.add(sum, shape[axis]);
    }
    return sum;
}

fn optional(ctx: *Context) status.Error!void {
    if (ctx.input(0)) |value| {
        const t = value.type;
        if (t.kind != .tensor and t.kind != .sequence and t.kind != .unknown) {
            return ctx.fail("can only wrap a tensor or a sequence, not a {s}", .{@tagName(t.kind)});
        }
        return ctx.setOutputType(0, .{ .kind = .optional, .dtype = t.dtype, .shape = t.shape, .inner_kind = t.kind });
    }
    const attr = ctx.attribute("type") orelse return ctx.fail("needs an input or the attribute type", .{});
    const proto = attr.tp orelse return ctx.fail("the attribute type must hold a type", .{});
    const t = try types.fromTypeProto(ctx, proto);
    if (t.kind != .tensor and t.kind != .sequence) {
        return ctx.fail("the attribute type must be a tensor or sequence type, not {s}", .{@tagName(t.kind)});
    }
    try ctx.setOutputType(0, .{ .kind = .optional, .dtype = t.dtype, .shape = t.shape, .inner_kind = t.kind });
}

/// Opset 18 also accepts a plain tensor or sequence in place of an optional.
fn checkOptionalInput(ctx: *Context, t: ValueType) status.Error!void {
    const ok = switch (t.kind) {
        .optional, .unknown => true,
        .tensor, .sequence => ctx.node.opset >= 18,
        else => false,
    };
    if (!ok) return ctx.fail("input must be an optional, not a {s}", .{@tagName(t.kind)});
}

fn optionalGetElement(ctx: *Context) status.Error!void {
    const t = (try ctx.require(0)).type;
    try checkOptionalInput(ctx, t);
    try ctx.setOutputType(0, if (t.kind == .optional) types.element(t) else t);
}

fn optionalHasElement(ctx: *Context) status.Error!void {
    if (ctx.node.opset < 18) _ = try ctx.require(0);
    if (ctx.input(0)) |value| try checkOptionalInput(ctx, value.type);
    try ctx.setOutput(0, .bool, types.scalar);
}

pub const rules = [_]registry.Entry{
    .{ .op = "SequenceEmpty", .rule = sequenceEmpty },
    .{ .op = "SequenceConstruct", .rule = sequenceConstruct },
    .{ .op = "SequenceAt", .rule = sequenceAt },
    .{ .op = "SequenceInsert", .rule = sequenceInsert },
    .{ .op = "SequenceErase", .rule = sequenceErase },
    .{ .op = "SequenceLength", .rule = sequenceLength },
    .{ .op = "SplitToSequence", .rule = splitToSequence },
    .{ .op = "ConcatFromSequence", .rule = concatFromSequence },
    .{ .op = "Optional", .rule = optional },
    .{ .op = "OptionalGetElement", .rule = optionalGetElement },
    .{ .op = "OptionalHasElement", .rule = optionalHasElement },
};
