//! SplitToSequence and ConcatFromSequence: the two sequence kernels that move element bytes. Both
//! reduce to runs of elements copied per index of the axes before the split or joined axis. Every
//! element type works: whole-byte types and strings are copied as slices, and packed sub-byte
//! types bit by bit where a run does not start and end on a byte boundary.
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");
const Entry = @import("entry.zig").Entry;
const util = @import("tensor_ops_util.zig");
const sequence = @import("sequence.zig");

const Context = kernel.Context;
const Tensor = kernel.Tensor;
const Error = status.Error;

/// Copies `n` elements from src[src_start..] to dst[dst_start..]; both hold dst's element type and
/// storage already checked to cover the runs.
pub fn copyRun(dst: *Tensor, dst_start: usize, src: *const Tensor, src_start: usize, n: usize) void {
    std.debug.assert(dst.dtype == src.dtype);
    if (n == 0) return;
    if (src.dtype == .string) {
        @memcpy(dst.strings[dst_start..][0..n], src.strings[src_start..][0..n]);
        return;
    }
    const bits: usize = src.dtype.bits();
    if (bits % 8 == 0) {
        const size = bits / 8;
        @memcpy(dst.data[dst_start * size ..][0 .. n * size], src.data[src_start * size ..][0 .. n * size]);
        return;
    }
    const per_byte = 8 / bits;
    if (dst_start % per_byte == 0 and src_start % per_byte == 0 and n % per_byte == 0) {
        @memcpy(dst.data[dst_start / per_byte ..][0 .. n / per_byte], src.data[src_start / per_byte ..][0 .. n / per_byte]);
        return;
    }
    const mask: u8 = @intCast((@as(u16, 1) << @intCast(bits)) - 1);
    for (0..n) |k| {
        const from = (src_start + k) * bits;
        const to = (dst_start + k) * bits;
        const v = (src.data[from / 8] >> @intCast(from % 8)) & mask;
        const byte = &dst.data[to / 8];
        byte.* = (byte.* & ~(mask << @intCast(to % 8))) | (v << @intCast(to % 8));
    }
}

/// A tensor for one element of a new sequence: run memory that is not one of the node's outputs.
/// Packed types start zeroed, so the padding bits of a last partial byte are defined.
fn newElement(ctx: *const Context, dtype: kernel.DType, shape: []const i64) Error!*Tensor {
    const t = try util.scratch(ctx, dtype, shape);
    if (dtype.isPacked()) @memset(t.data, 0);
    return t;
}

// ---- SplitToSequence ----------------------------------------------------------------------------

/// The chunk sizes along an axis of `d`: ones without `split`; for a scalar split, chunks of that
/// size with a smaller last one when it does not divide d; for a 1-D split, its sizes, which must
/// add up to d.
fn chunkSizes(ctx: *const Context, d: usize) Error![]const usize {
    if (ctx.input(1) == null) {
        const ones = try ctx.alloc(usize, d);
        @memset(ones, 1);
        return ones;
    }
    const s = try sequence.tensorInput(ctx, 1);
    if (s.dtype != .int32 and s.dtype != .int64) return ctx.fail("split must be int32 or int64, not {s}", .{@tagName(s.dtype)});
    if (s.rank() > 1) return ctx.fail("split must be a scalar or 1-D, not of rank {d}", .{s.rank()});
    const values = try util.ints(ctx, s, "split");
    if (s.rank() == 0) {
        if (values[0] <= 0) return ctx.fail("the split size must be positive, not {d}", .{values[0]});
        const size: usize = @intCast(values[0]);
        const sizes = try ctx.alloc(usize, std.math.divCeil(usize, d, size) catch unreachable);
        @memset(sizes, size);
        if (sizes.len > 0) sizes[sizes.len - 1] = d - size * (sizes.len - 1);
        return sizes;
    }
    const sizes = try ctx.alloc(usize, values.len);
    var total: usize = 0;
    for (values, sizes) |v, *slot| {
        if (v < 0 or v > d) return ctx.fail("split size {d} is out of range for a dim of {d}", .{ v, d });
        slot.* = @intCast(v);
        total += slot.*;
    }
    if (total != d) return ctx.fail("split sizes add up to {d}, but the dim is {d}", .{ total, d });
    return sizes;
}

fn splitToSequence(ctx: *Context) Error!void {
    const x = try sequence.tensorInput(ctx, 0);
    if (x.rank() == 0) return ctx.fail("cannot split a scalar", .{});
    try util.checkStorage(ctx, x, "input");
    const a = try util.axis(ctx, ctx.node.attrInt("axis", 0), x.rank());
    const d: usize = @intCast(x.shape[a]);
    const sizes = try chunkSizes(ctx, d);
    // keepdims only applies to the ones made without `split`.
    const squeeze = ctx.input(1) == null and ctx.node.attrInt("keepdims", 1) == 0;
    const outer = util.product(x.shape[0..a]);
    const inner = util.product(x.shape[a + 1 ..]);
    const shape = try ctx.alloc(i64, x.rank());
    @memcpy(shape, x.shape);
    const pieces = try ctx.alloc(*const Tensor, sizes.len);
    var start: usize = 0;
    for (sizes, pieces) |size, *slot| {
        shape[a] = @intCast(size);
        const piece_shape = if (squeeze) try without(ctx, shape, a) else shape;
        const piece = try newElement(ctx, x.dtype, piece_shape);
        const run = size * inner;
        for (0..outer) |o| copyRun(piece, o * run, x, (o * d + start) * inner, run);
        slot.* = piece;
        start += size;
    }
    _ = try ctx.outputElements(0, .sequence, x.dtype, pieces);
}

fn without(ctx: *const Context, shape: []const i64, axis: usize) Error![]i64 {
    const out = try ctx.alloc(i64, shape.len - 1);
    @memcpy(out[0..axis], shape[0..axis]);
    @memcpy(out[axis..], shape[axis + 1 ..]);
    return out;
}

// ---- ConcatFromSequence -------------------------------------------------------------------------

/// The output shape: the elements' shape with, at `a`, the sum of their dims there, or (stacking)
/// with a new dim of the element count inserted at `a`. Checks every element against the first.
fn joinedShape(ctx: *const Context, elements: []const *const Tensor, a: usize, stack: bool) Error![]i64 {
    const first = elements[0];
    const shape = try ctx.alloc(i64, first.rank() + @intFromBool(stack));
    if (stack) {
        @memcpy(shape[0..a], first.shape[0..a]);
        @memcpy(shape[a + 1 ..], first.shape[a..]);
        shape[a] = @intCast(elements.len);
    } else {
        @memcpy(shape, first.shape);
        shape[a] = 0;
    }
    for (elements, 0..) |t, k| {
        if (!t.isTensor()) return ctx.fail("element {d} is a {s}, not a tensor", .{ k, @tagName(t.kind) });
        if (t.dtype != first.dtype) {
            return ctx.fail("element {d} is {s}, element 0 {s}", .{ k, @tagName(t.dtype), @tagName(first.dtype) });
        }
        try util.checkStorage(ctx, t, "a sequence element");
        const same = t.rank() == first.rank() and for (t.shape, first.shape, 0..) |dt, df, i| {
            if (dt != df and (stack or i != a)) break false;
        } else true;
        if (!same) return ctx.fail("element {d} has a shape that does not fit element 0's", .{k});
        if (!stack) shape[a] = std.math.add(i64, shape[a], t.shape[a]) catch return ctx.fail("the joined dim overflows", .{});
    }
    return shape;
}

fn concatFromSequence(ctx: *Context) Error!void {
    const seq = try sequence.sequenceInput(ctx, 0);
    if (!ctx.node.has("axis")) return ctx.fail("needs the attribute axis", .{});
    const new_axis = ctx.node.attrInt("new_axis", 0);
    if (new_axis != 0 and new_axis != 1) return ctx.fail("new_axis must be 0 or 1, not {d}", .{new_axis});
    const stack = new_axis == 1;
    const elements = seq.elements;
    if (elements.len == 0) return ctx.fail("cannot concatenate an empty sequence", .{});
    const rank = elements[0].rank() + @intFromBool(stack);
    if (rank == 0) return ctx.fail("cannot concatenate scalars (new_axis is 0)", .{});
    const a = try util.axis(ctx, ctx.node.attrInt("axis", 0), rank);
    const shape = try joinedShape(ctx, elements, a, stack);
    if (elements[0].dtype != seq.dtype) {
        return ctx.fail("holds {s} tensors but says its elements are {s}", .{ @tagName(elements[0].dtype), @tagName(seq.dtype) });
    }
    const out = try ctx.output(0, seq.dtype, shape);
    if (seq.dtype.isPacked()) @memset(out.data, 0);
    const outer = util.product(shape[0..a]);
    const inner = util.product(shape[a + 1 ..]);
    var pos: usize = 0;
    for (0..outer) |o| {
        for (elements) |t| {
            const run = (if (stack) 1 else @as(usize, @intCast(t.shape[a]))) * inner;
            copyRun(out, pos, t, o * run, run);
            pos += run;
        }
    }
}

pub const kernels = [_]Entry{
    .{ .op = "SplitToSequence", .run = splitToSequence },
    .{ .op = "ConcatFromSequence", .run = concatFromSequence },
};
