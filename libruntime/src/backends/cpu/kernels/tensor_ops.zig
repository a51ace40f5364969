//! CPU kernels for tensor manipulation (family: tensor_ops). This file holds the ops that make
//! tensors from shapes and attributes (Shape, Size, Constant, ConstantOfShape, Range) and gathers
//! the rest of the family: reshapes and transposes, joins and slices, indexing, selection,
//! sorting and casts, each in its tensor_ops_*.zig. See backends/cpu/kernel.zig for what a kernel sees.
const std = @import("std");
const kernel = @import("../kernel.zig");
const constant_module = @import("../../../model/constant.zig");
const tensor_module = @import("../../../tensor/tensor.zig");
const Entry = @import("entry.zig").Entry;
const util = @import("tensor_ops_util.zig");

const Context = util.Context;
const Tensor = util.Tensor;
const DType = util.DType;
const Error = util.Error;

fn shapeOp(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const r: i64 = @intCast(x.shape.len);
    const start = clampIndex(ctx.node.attrInt("start", 0), r);
    const end = @max(start, clampIndex(ctx.node.attrInt("end", r), r));
    const out = try ctx.output(0, .int64, &.{end - start});
    @memcpy(out.items(i64), x.shape[@intCast(start)..@intCast(end)]);
}

/// A Shape start/end: negative counts from the end, then clamped into [0, r].
fn clampIndex(value: i64, r: i64) i64 {
    const v = if (value < 0) value +| r else value;
    return std.math.clamp(v, 0, r);
}

fn size(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const out = try ctx.output(0, .int64, &.{});
    out.items(i64)[0] = @intCast(x.count());
}

// ---- Constant, ConstantOfShape ----------------------------------------------------------------------

fn constantOp(ctx: *Context) Error!void {
    const c = try @import("../../../model/constant_node.zig").value(ctx);
    if (c.dtype.isPacked()) {
        // Packed bytes are copied whole: there is no element to place one by one.
        const out = try ctx.output(0, c.dtype, c.dims);
        @memcpy(out.data, c.bytes[0..out.data.len]);
        return;
    }
    // Constant bytes are used in place when aligned; otherwise copied into aligned memory.
    if (c.dtype != .string and @intFromPtr(c.bytes.ptr) % tensor_module.data_alignment == 0) {
        const t = ctx.arena.create(Tensor) catch return util.oom();
        t.* = .{ .dtype = c.dtype, .shape = c.dims, .data = @constCast(c.bytes) };
        ctx.outputs[0] = t;
        return;
    }
    const out = try ctx.output(0, c.dtype, c.dims);
    if (c.dtype == .string) {
        @memcpy(out.strings, c.strings[0..out.strings.len]);
    } else {
        @memcpy(out.data, c.bytes[0..out.data.len]);
    }
}

fn constantOfShape(ctx: *Context) Error!void {
    const shape = try util.ints(ctx, try ctx.require(0), "shape");
    var value: ?constant_module.Constant = null;
    if (ctx.node.attr("value")) |attr| {
        const c = (attr.tensor orelse return ctx.fail("attribute 'value' holds no tensor", .{})).*;
        if (c.count != 1) return ctx.fail("attribute 'value' must hold one element, not {d}", .{c.count});
        value = c;
    }
    const dtype: DType = if (value) |v| v.dtype else .float32;
    const out = try ctx.output(0, dtype, shape);
    const v = value orelse return @memset(out.data, 0);
    if (dtype == .string) return @memset(out.strings, v.strings[0]);
    switch (try util.width(ctx, dtype)) {
        inline else => |w| {
            const T = util.Elem(w);
            if (T != []const u8) {
                const element = std.mem.readInt(T, v.bytes[0..@sizeOf(T)], .little);
                @memset(util.viewMut(T, out), element);
            }
        },
    }
}

// ---- Range ---------------------------------------------------------------------------------------------

fn range(ctx: *Context) Error!void {
    const start = try ctx.require(0);
    const limit = try ctx.require(1);
    const delta = try ctx.require(2);
    const dtype = start.dtype;
    if (limit.dtype != dtype or delta.dtype != dtype) return ctx.fail("inputs mix element types", .{});
    for ([_]*const Tensor{ start, limit, delta }) |t| {
        if (t.count() != 1) return ctx.fail("start, limit and delta must be scalars", .{});
        try util.checkStorage(ctx, t, "an input");
    }
    inline for (util.numeric_types) |pair| if (dtype == pair[0] and pair[0] != .bool) {
        const S = pair[1];
        const C = util.Compute(pair[0], S);
        const s = util.load(pair[0], S, util.view(S, start)[0]);
        const l = util.load(pair[0], S, util.view(S, limit)[0]);
        const d = util.load(pair[0], S, util.view(S, delta)[0]);
        const n = try rangeLength(C, ctx, s, l, d);
        const out = try ctx.output(0, dtype, &.{@intCast(n)});
        const dst = util.viewMut(S, out);
        for (dst, 0..) |*o, i| {
            // start + i * delta, in f64 for floats (as numpy's arange computes them).
            const v: C = if (@typeInfo(C) == .float)
                @floatCast(@as(f64, s) + @as(f64, @floatFromInt(i)) * @as(f64, d))
            else
                @intCast(@as(i128, s) + @as(i128, i) * @as(i128, d));
            o.* = util.store(pair[0], S, v);
        }
        return;
    };
    return ctx.unsupported(dtype);
}

/// max(ceil((limit - start) / delta), 0), computed in the element type for floats.
fn rangeLength(comptime C: type, ctx: *Context, s: C, l: C, d: C) Error!usize {
    if (@typeInfo(C) == .float) {
        // float16 and bfloat16 count in float32, as onnx's shape inference does.
        const W = if (C == f64) f64 else f32;
        const n = @ceil((@as(W, @floatCast(l)) - @as(W, @floatCast(s))) / @as(W, @floatCast(d)));
        if (std.math.isNan(n) or n > 1e15) return ctx.fail("Range would have {d} elements", .{@as(f64, n)});
        return if (n <= 0) 0 else @intFromFloat(n);
    }
    if (d == 0) return ctx.fail("delta must not be 0", .{});
    const n = std.math.divCeil(i128, @as(i128, l) - s, d) catch unreachable;
    if (n > 1 << 48) return ctx.fail("Range would have {d} elements", .{n});
    return if (n <= 0) 0 else @intCast(n);
}

fn entry(comptime op: []const u8, run: kernel.Kernel) Entry {
    return .{ .op = op, .run = run };
}

const own_kernels = [_]Entry{
    entry("Shape", shapeOp),
    entry("Size", size),
    entry("Constant", constantOp),
    entry("ConstantOfShape", constantOfShape),
    entry("Range", range),
};

pub const kernels = own_kernels ++
    @import("tensor_ops_reshape.zig").kernels ++
    @import("tensor_ops_join.zig").kernels ++
    @import("tensor_ops_gather.zig").kernels ++
    @import("tensor_ops_select.zig").kernels ++
    @import("tensor_ops_sort.zig").kernels ++
    @import("tensor_ops_cast.zig").kernels;

test {
    _ = @import("tensor_ops_util.zig");
    _ = @import("tensor_ops_join.zig");
    _ = @import("tensor_ops_cast_small.zig");
}
