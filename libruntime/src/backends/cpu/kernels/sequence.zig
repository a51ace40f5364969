//! CPU kernels for ONNX sequences and optionals: building, reading and editing sequences,
//! SequenceMap, and wrapping and unwrapping optionals. A sequence value only points at its element
//! tensors, and kernels never write their inputs, so inserting, erasing or picking an element moves
//! pointers, not bytes. SplitToSequence and ConcatFromSequence, which do move bytes, live in
//! sequence_split.zig.
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");
const value = @import("../../../exec/value.zig");
const Entry = @import("entry.zig").Entry;
const util = @import("tensor_ops_util.zig");
const control_util = @import("control_util.zig");
const split = @import("sequence_split.zig");

const Context = kernel.Context;
const Tensor = kernel.Tensor;
const DType = kernel.DType;
const Error = status.Error;

/// Input `i`, which must be a sequence.
pub fn sequenceInput(ctx: *const Context, i: usize) Error!*const Tensor {
    const t = try ctx.require(i);
    if (t.kind != .sequence) return ctx.fail("input {d} must be a sequence, not a {s}", .{ i, @tagName(t.kind) });
    return t;
}

/// Input `i`, which must be a tensor.
pub fn tensorInput(ctx: *const Context, i: usize) Error!*const Tensor {
    const t = try ctx.require(i);
    if (t.kind != .tensor) return ctx.fail("input {d} must be a tensor, not a {s}", .{ i, @tagName(t.kind) });
    return t;
}

/// The position in input `i` (an int32 or int64 scalar; ONNX's own tests also pass one-element
/// 1-D tensors) for a sequence of `n` tensors, made non-negative; null when the input is absent.
/// Positions lie in [-n, n), or [-n, n] when `end_ok` (inserting after the last tensor).
fn position(ctx: *const Context, i: usize, n: usize, end_ok: bool) Error!?usize {
    if (ctx.input(i) == null) return null;
    const t = try tensorInput(ctx, i);
    if (t.dtype != .int32 and t.dtype != .int64) {
        return ctx.fail("position must be int32 or int64, not {s}", .{@tagName(t.dtype)});
    }
    const p = try util.scalarInt(ctx, t, "position");
    const len: i64 = @intCast(n);
    const last = if (end_ok) len else len - 1;
    if (p < -len or p > last) {
        return ctx.fail("position {d} is out of range for a sequence of {d} tensors", .{ p, n });
    }
    return @intCast(if (p < 0) p + len else p);
}

/// Output `i` is `source` itself (a sequence's element, an optional's value): a new header over
/// the same memory, so the output slot never shares a header with another value.
fn passOn(ctx: *const Context, i: usize, source: *const Tensor) Error!void {
    if (i >= ctx.outputs.len) return ctx.fail("has no output {d}", .{i});
    const t = ctx.arena.create(Tensor) catch return util.oom();
    t.* = source.*;
    ctx.outputs[i] = t;
}

/// The element type shape inference settled on for output `i`, for values built with no element
/// to take it from (an empty optional, an empty SequenceMap result).
fn inferredDType(ctx: *const Context, i: usize) ?DType {
    if (i >= ctx.node.outputs.len) return null;
    const id = ctx.node.outputs[i] orelse return null;
    if (id >= ctx.graph.values.items.len) return null;
    return ctx.graph.values.items[id].type.dtype;
}

// ---- Building and editing sequences -------------------------------------------------------------

fn sequenceEmpty(ctx: *Context) Error!void {
    const code = ctx.node.attrInt("dtype", @intFromEnum(DType.float32));
    const small = std.math.cast(i32, code) orelse return ctx.fail("dtype {d} is not an element type", .{code});
    const dtype = DType.fromInt(small) catch return ctx.fail("dtype {d} is not an element type", .{code});
    _ = try ctx.outputElements(0, .sequence, dtype, &.{});
}

fn sequenceConstruct(ctx: *Context) Error!void {
    const n = ctx.inputCount();
    if (n == 0) return ctx.fail("needs at least one tensor", .{});
    const elements = try ctx.alloc(*const Tensor, n);
    for (elements, 0..) |*slot, i| {
        slot.* = try tensorInput(ctx, i);
        if (slot.*.dtype != elements[0].dtype) {
            return ctx.fail("input {d} is {s}, input 0 {s}", .{ i, @tagName(slot.*.dtype), @tagName(elements[0].dtype) });
        }
    }
    _ = try ctx.outputElements(0, .sequence, elements[0].dtype, elements);
}

fn sequenceInsert(ctx: *Context) Error!void {
    const seq = try sequenceInput(ctx, 0);
    const t = try tensorInput(ctx, 1);
    if (t.dtype != seq.dtype) {
        return ctx.fail("cannot insert a {s} tensor into a sequence of {s}", .{ @tagName(t.dtype), @tagName(seq.dtype) });
    }
    const n = seq.elements.len;
    const at = try position(ctx, 2, n, true) orelse n;
    const elements = try ctx.alloc(*const Tensor, n + 1);
    @memcpy(elements[0..at], seq.elements[0..at]);
    elements[at] = t;
    @memcpy(elements[at + 1 ..], seq.elements[at..]);
    _ = try ctx.outputElements(0, .sequence, seq.dtype, elements);
}

fn sequenceAt(ctx: *Context) Error!void {
    const seq = try sequenceInput(ctx, 0);
    _ = try ctx.require(1);
    const at = (try position(ctx, 1, seq.elements.len, false)).?;
    try passOn(ctx, 0, seq.elements[at]);
}

fn sequenceErase(ctx: *Context) Error!void {
    const seq = try sequenceInput(ctx, 0);
    const n = seq.elements.len;
    if (n == 0) return ctx.fail("cannot erase from an empty sequence", .{});
    const at = try position(ctx, 1, n, false) orelse n - 1;
    const elements = try ctx.alloc(*const Tensor, n - 1);
    @memcpy(elements[0..at], seq.elements[0..at]);
    @memcpy(elements[at..], seq.elements[at + 1 ..]);
    _ = try ctx.outputElements(0, .sequence, seq.dtype, elements);
}

fn sequenceLength(ctx: *Context) Error!void {
    const seq = try sequenceInput(ctx, 0);
    const out = try ctx.output(0, .int64, &.{});
    std.mem.writeInt(i64, out.data[0..8], @intCast(seq.elements.len), .little);
}

// ---- SequenceMap --------------------------------------------------------------------------------

/// Runs the body once per element of input 0. Every sequence input gives the body its element at
/// the same position (so they must be as long as input 0); tensor inputs go in whole each time.
fn sequenceMap(ctx: *Context) Error!void {
    const body = try control_util.graphAttribute(ctx, "body");
    const n = (try sequenceInput(ctx, 0)).elements.len;
    const count = ctx.inputCount();
    if (body.inputs.len != count) return ctx.fail("body takes {d} inputs, not {d}", .{ body.inputs.len, count });
    if (body.outputs.len != ctx.outputs.len) {
        return ctx.fail("has {d} outputs, but the body gives {d}", .{ ctx.outputs.len, body.outputs.len });
    }
    for (1..count) |i| {
        const t = try ctx.require(i);
        if (t.kind == .optional) return ctx.fail("input {d} must be a tensor or a sequence, not an optional", .{i});
        if (t.kind == .sequence and t.elements.len != n) {
            return ctx.fail("input {d} holds {d} tensors, but input 0 holds {d}", .{ i, t.elements.len, n });
        }
    }
    const feed = try ctx.alloc(*const Tensor, count);
    const results = try ctx.alloc([]*const Tensor, ctx.outputs.len);
    for (results) |*list| list.* = try ctx.alloc(*const Tensor, n);
    for (0..n) |k| {
        for (feed, ctx.inputs) |*slot, t| slot.* = if (t.?.kind == .sequence) t.?.elements[k] else t.?;
        const out = try ctx.runSubgraph(body, feed);
        for (results, out, 0..) |list, t, j| {
            if (!t.isTensor()) return ctx.fail("body output {d} must be a tensor, not a {s}", .{ j, @tagName(t.kind) });
            list[k] = t;
        }
    }
    for (results, 0..) |list, j| {
        if (!ctx.wantsOutput(j)) continue;
        const dtype = if (n > 0) list[0].dtype else inferredDType(ctx, j) orelse
            return ctx.fail("ran the body on no element, and the type of output {d} is unknown", .{j});
        for (list, 0..) |t, k| if (t.dtype != dtype) {
            return ctx.fail("body output {d} is {s} for element {d}, {s} for element 0", .{ j, @tagName(t.dtype), k, @tagName(dtype) });
        };
        _ = try ctx.outputElements(j, .sequence, dtype, list);
    }
}

// ---- Optionals ----------------------------------------------------------------------------------

fn optional(ctx: *Context) Error!void {
    if (ctx.input(0)) |x| {
        if (x.kind == .optional) return ctx.fail("can only wrap a tensor or a sequence, not an optional", .{});
        _ = try ctx.outputElements(0, .optional, x.dtype, &.{x});
        return;
    }
    // An empty optional still has an element type (from the attribute `type`, via inference).
    const dtype = inferredDType(ctx, 0) orelse return ctx.fail("makes an empty optional of an unknown type", .{});
    _ = try ctx.outputElements(0, .optional, dtype, &.{});
}

fn optionalHasElement(ctx: *Context) Error!void {
    // From opset 18 a missing input is an empty optional, and a plain tensor or sequence is full.
    const has = if (ctx.input(0)) |x| x.kind != .optional or x.elements.len > 0 else false;
    const out = try ctx.output(0, .bool, &.{});
    out.data[0] = @intFromBool(has);
}

fn optionalGetElement(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    if (x.kind != .optional) return passOn(ctx, 0, x);
    if (x.elements.len == 0) return ctx.fail("the optional input is empty", .{});
    try passOn(ctx, 0, x.elements[0]);
}

fn entry(comptime op: []const u8, run: kernel.Kernel) Entry {
    return .{ .op = op, .run = run };
}

pub const kernels = [_]Entry{
    entry("SequenceEmpty", sequenceEmpty),
    entry("SequenceConstruct", sequenceConstruct),
    entry("SequenceInsert", sequenceInsert),
    entry("SequenceAt", sequenceAt),
    entry("SequenceErase", sequenceErase),
    entry("SequenceLength", sequenceLength),
    entry("SequenceMap", sequenceMap),
    entry("Optional", optional),
    entry("OptionalHasElement", optionalHasElement),
    entry("OptionalGetElement", optionalGetElement),
} ++ split.kernels;

test {
    _ = @import("sequence_test.zig");
}
