//! Shared pieces of the control-flow kernels (If, Loop, Scan): reading one-element conditions and
//! counts, checked sizes, zero-copy views of a tensor's leading-axis slices, and block copies that
//! stack per-iteration results. Element types are moved as bytes (or string slices), so every
//! dtype but the packed sub-byte ones works without a per-type kernel.
const std = @import("std");
const status = @import("../../../core/status.zig");
const ir = @import("../../../model/ir.zig");
const tensor_module = @import("../../../tensor/tensor.zig");
const kernel = @import("../kernel.zig");

const Context = kernel.Context;
const Tensor = kernel.Tensor;
const DType = kernel.DType;

pub fn graphAttribute(ctx: *const Context, comptime name: []const u8) status.Error!*ir.Graph {
    const attribute = ctx.node.attr(name) orelse return ctx.fail("needs the graph attribute {s}", .{name});
    return attribute.graph orelse ctx.fail("attribute {s} must be a graph", .{name});
}

/// The number of elements of `shape`, or a failure for a negative dim or an overflow.
pub fn checkedCount(ctx: *const Context, shape: []const i64) status.Error!usize {
    var n: usize = 1;
    for (shape) |d| {
        if (d < 0) return ctx.fail("has a negative dim {d} in a shape", .{d});
        n = std.math.mul(usize, n, @intCast(d)) catch return ctx.fail("has a shape too large to address", .{});
    }
    return n;
}

/// Bytes per element; packed sub-byte types cannot be sliced at byte boundaries.
fn elementBytes(ctx: *const Context, dtype: DType) status.Error!usize {
    if (dtype.isPacked()) return ctx.unsupported(dtype);
    return dtype.bits() / 8;
}

/// The element count of `t`, after checking its storage holds that many (a tensor may come from
/// a caller or a model file, so its bytes are not trusted to match its shape).
pub fn checkStorage(ctx: *const Context, t: *const Tensor, what: []const u8) status.Error!usize {
    const n = try checkedCount(ctx, t.shape);
    const enough = if (t.dtype == .string)
        t.strings.len >= n
    else if (t.dtype.byteSize(n)) |bytes| t.data.len >= bytes else false;
    if (!enough) return ctx.fail("{s} holds fewer elements than its shape says", .{what});
    return n;
}

/// The value of a one-element bool tensor (a condition).
pub fn readBool(ctx: *const Context, t: *const Tensor, what: []const u8) status.Error!bool {
    if (t.dtype != .bool) return ctx.fail("{s} must be bool, not {s}", .{ what, @tagName(t.dtype) });
    if (try checkStorage(ctx, t, what) != 1) return ctx.fail("{s} must hold one element", .{what});
    return t.data[0] != 0;
}

/// The value of a one-element int64 (or int32) tensor.
pub fn readInt(ctx: *const Context, t: *const Tensor, what: []const u8) status.Error!i64 {
    if (try checkStorage(ctx, t, what) != 1) return ctx.fail("{s} must hold one element", .{what});
    return switch (t.dtype) {
        .int64 => std.mem.readInt(i64, t.data[0..8], .little),
        .int32 => std.mem.readInt(i32, t.data[0..4], .little),
        else => ctx.fail("{s} must be int64, not {s}", .{ what, @tagName(t.dtype) }),
    };
}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory", .{});
}

/// A new tensor from the run's arena that is not (yet) one of the node's outputs: loop counters,
/// conditions fed to a body, stacked results. Zero-filled, so padding is defined.
pub fn newTensor(ctx: *const Context, dtype: DType, shape: []const i64) status.Error!*Tensor {
    const layout = tensor_module.Layout.init(dtype, shape) catch
        return ctx.fail("would make an invalid shape: {s}", .{std.mem.span(status.lastMessage())});
    const tensor = ctx.arena.create(Tensor) catch return oom();
    tensor.* = .{ .dtype = dtype, .shape = ctx.arena.dupe(i64, shape) catch return oom() };
    if (dtype == .string) {
        tensor.strings = ctx.arena.alloc([]const u8, @intCast(layout.count)) catch return oom();
        @memset(tensor.strings, "");
    } else {
        const alignment = comptime std.mem.Alignment.fromByteUnits(tensor_module.data_alignment);
        tensor.data = ctx.arena.alignedAlloc(u8, alignment, @intCast(layout.byte_size)) catch return oom();
        @memset(tensor.data, 0);
    }
    return tensor;
}

pub fn scalarInt(ctx: *const Context, v: i64, shape: []const i64) status.Error!*Tensor {
    const t = try newTensor(ctx, .int64, shape);
    std.mem.writeInt(i64, t.data[0..8], v, .little);
    return t;
}

pub fn scalarBool(ctx: *const Context, v: bool, shape: []const i64) status.Error!*Tensor {
    const t = try newTensor(ctx, .bool, shape);
    t.data[0] = @intFromBool(v);
    return t;
}

/// Elements [start, start + n) of `t` (storage already checked) as a tensor of `shape`: no copy.
pub fn view(ctx: *const Context, t: *const Tensor, start: usize, n: usize, shape: []const i64) status.Error!*Tensor {
    const out = ctx.arena.create(Tensor) catch return oom();
    out.* = .{ .dtype = t.dtype, .shape = shape };
    if (t.dtype == .string) {
        out.strings = t.strings[start..][0..n];
    } else {
        const size = try elementBytes(ctx, t.dtype);
        out.data = t.data[start * size ..][0 .. n * size];
    }
    return out;
}

/// Copies `blocks` runs of `len` elements: run b goes from src[src_start + b*src_stride] to
/// dst[dst_start + b*dst_stride]. Stacking along an axis and moving an axis first are both this.
pub const Blocks = struct {
    blocks: usize,
    len: usize,
    src_start: usize = 0,
    src_stride: usize,
    dst_start: usize = 0,
    dst_stride: usize,
};

pub fn copyBlocks(ctx: *const Context, dst: *Tensor, src: *const Tensor, b: Blocks) status.Error!void {
    std.debug.assert(dst.dtype == src.dtype);
    if (b.len == 0) return;
    if (src.dtype == .string) {
        for (0..b.blocks) |i| {
            const s = src.strings[b.src_start + i * b.src_stride ..][0..b.len];
            @memcpy(dst.strings[b.dst_start + i * b.dst_stride ..][0..b.len], s);
        }
        return;
    }
    const size = try elementBytes(ctx, src.dtype);
    const bytes = b.len * size;
    for (0..b.blocks) |i| {
        const s = src.data[(b.src_start + i * b.src_stride) * size ..][0..bytes];
        @memcpy(dst.data[(b.dst_start + i * b.dst_stride) * size ..][0..bytes], s);
    }
}

/// Copies all of `src` (`len` elements) to dst[dst_start..].
pub fn copyAll(ctx: *const Context, dst: *Tensor, dst_start: usize, src: *const Tensor, len: usize) status.Error!void {
    const run = Blocks{ .blocks = 1, .len = len, .src_stride = 0, .dst_start = dst_start, .dst_stride = 0 };
    try copyBlocks(ctx, dst, src, run);
}

/// `shape` with `d` inserted before index `axis`.
pub fn insertDim(ctx: *const Context, shape: []const i64, axis: usize, d: i64) status.Error![]i64 {
    std.debug.assert(axis <= shape.len);
    const out = try ctx.alloc(i64, shape.len + 1);
    @memcpy(out[0..axis], shape[0..axis]);
    out[axis] = d;
    @memcpy(out[axis + 1 ..], shape[axis..]);
    return out;
}

/// An axis in [-rank, rank) made non-negative.
pub fn normalizeAxis(ctx: *const Context, axis: i64, rank: usize, what: []const u8) status.Error!usize {
    const r: i64 = @intCast(rank);
    if (axis < -r or axis >= r) return ctx.fail("{s} {d} is out of range for rank {d}", .{ what, axis, rank });
    return @intCast(if (axis < 0) axis + r else axis);
}

/// The shape a body's iteration counter or condition gets: a scalar, unless the body declares it
/// with one dim ([1], as some exporters do).
pub fn counterShape(body: *ir.Graph, input: usize) []const i64 {
    if (input >= body.inputs.len) return &.{};
    const declared = body.value(body.inputs[input]).declared orelse return &.{};
    const shape = declared.shape orelse return &.{};
    return if (shape.len == 1) &.{1} else &.{};
}

/// A body output that no iteration produced (zero trips): its dtype and rank come from the types
/// inferred for the body; dims shape inference could not tell are 0, which holds no elements.
pub fn emptyResult(ctx: *const Context, body: *ir.Graph, output: usize, lead: []const i64) status.Error!*Tensor {
    const v = body.value(body.outputs[output]);
    const declared: ir.ValueType = v.declared orelse .{};
    const dtype = v.type.dtype orelse declared.dtype orelse
        return ctx.fail("ran no iteration, and the type of body output {d} is unknown", .{output});
    const rank = v.type.rank() orelse declared.rank() orelse 0;
    const shape = try ctx.alloc(i64, lead.len + rank);
    @memcpy(shape[0..lead.len], lead);
    @memset(shape[lead.len..], 0);
    return newTensor(ctx, dtype, shape);
}
