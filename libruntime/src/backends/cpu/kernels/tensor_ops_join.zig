//! Kernels that cut or join tensors along axes: Concat and Split (block copies per outer index),
//! Slice (a strided copy, negative steps included), Pad in its four modes and CenterCropPad
//! (a Pad with zeros whose begin pads may be negative).
const std = @import("std");
const kernel = @import("../kernel.zig");
const Entry = @import("entry.zig").Entry;
const util = @import("tensor_ops_util.zig");

const Context = util.Context;
const Tensor = util.Tensor;
const Error = util.Error;

// ---- Concat, Split -----------------------------------------------------------------------------

fn concat(ctx: *Context) Error!void {
    const n = ctx.inputCount();
    if (n == 0) return ctx.fail("needs at least one input", .{});
    const first = try ctx.require(0);
    const rank = first.shape.len;
    if (rank == 0) return ctx.fail("cannot concatenate scalars", .{});
    if (!ctx.node.has("axis") and ctx.node.opset >= 4) return ctx.fail("attribute 'axis' is required", .{});
    const a = try util.axis(ctx, ctx.node.attrInt("axis", 1), rank);
    const shape = try ctx.alloc(i64, rank);
    @memcpy(shape, first.shape);
    shape[a] = 0;
    for (0..n) |i| {
        const t = try ctx.require(i);
        if (t.dtype != first.dtype) {
            return ctx.fail("inputs mix {s} and {s}", .{ @tagName(first.dtype), @tagName(t.dtype) });
        }
        if (t.shape.len != rank) return ctx.fail("input {d} has rank {d}, input 0 rank {d}", .{ i, t.shape.len, rank });
        for (t.shape, first.shape, 0..) |d, f, k| {
            if (k != a and d != f) return ctx.fail("input {d} has dim {d} = {d}, input 0 {d}", .{ i, k, d, f });
        }
        try util.checkStorage(ctx, t, "an input");
        shape[a] = std.math.add(i64, shape[a], t.shape[a]) catch return ctx.fail("concatenated dim overflows", .{});
    }
    const out = try ctx.output(0, first.dtype, shape);
    const outer = util.product(shape[0..a]);
    const inner = util.product(shape[a + 1 ..]);
    const elem_bits = first.dtype.bits();
    if (elem_bits % 8 == 0 and out.data.len >= parallel_min_bytes and outer * n <= max_parallel_segments and ctx.threadCount() > 1) {
        // Channel concatenation of feature maps (SqueezeNet's fire modules): a few large
        // copies, split over the pool by output range.
        const job: CopyJob = .{ .inputs = ctx.inputs, .axis = a, .outer = outer, .inner_bytes = inner * (elem_bits / 8), .dst = out.data };
        ctx.parallelFor(std.math.divCeil(usize, out.data.len, copy_block_bytes) catch 1, &job, CopyJob.run);
        return;
    }
    switch (try util.width(ctx, first.dtype)) {
        inline else => |w| {
            const T = util.Elem(w);
            const dst = util.viewMut(T, out);
            var pos: usize = 0;
            for (0..outer) |o| {
                for (ctx.inputs) |maybe| {
                    const t = maybe.?;
                    const chunk = @as(usize, @intCast(t.shape[a])) * inner;
                    @memcpy(dst[pos..][0..chunk], util.view(T, t)[o * chunk ..][0..chunk]);
                    pos += chunk;
                }
            }
        },
    }
}

/// Concatenations at least this large are copied on the pool.
const parallel_min_bytes = 256 * 1024;
const copy_block_bytes = 64 * 1024;
/// Each block walks every (outer, input) segment: only for a few of them.
const max_parallel_segments = 64;

/// The output of a Concat as blocks of bytes, each filled from the segments that cover it.
const CopyJob = struct {
    inputs: []const ?*const Tensor,
    axis: usize,
    outer: usize,
    inner_bytes: usize,
    dst: []u8,

    fn run(self: *const CopyJob, begin: usize, end: usize) void {
        const lo = begin * copy_block_bytes;
        const hi = @min(end * copy_block_bytes, self.dst.len);
        var pos: usize = 0;
        for (0..self.outer) |o| for (self.inputs) |maybe| {
            const t = maybe.?;
            const len = @as(usize, @intCast(t.shape[self.axis])) * self.inner_bytes;
            const start = @max(pos, lo);
            const stop = @min(pos + len, hi);
            if (start < stop) @memcpy(self.dst[start..stop], t.data[o * len + (start - pos) ..][0 .. stop - start]);
            pos += len;
            if (pos >= hi) return;
        };
    }
};

fn split(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const n = ctx.outputs.len;
    if (n == 0) return ctx.fail("needs at least one output", .{});
    if (x.shape.len == 0) return ctx.fail("cannot split a scalar", .{});
    const a = try util.axis(ctx, ctx.node.attrInt("axis", 0), x.shape.len);
    const d: usize = @intCast(x.shape[a]);
    const sizes = try splitSizes(ctx, d, n);
    try util.checkStorage(ctx, x, "input");
    const outer = util.product(x.shape[0..a]);
    const inner = util.product(x.shape[a + 1 ..]);
    var start: usize = 0;
    for (sizes, 0..) |size, k| {
        defer start += size;
        if (!ctx.wantsOutput(k)) continue;
        const shape = try ctx.alloc(i64, x.shape.len);
        @memcpy(shape, x.shape);
        shape[a] = @intCast(size);
        const out = try ctx.output(k, x.dtype, shape);
        switch (try util.width(ctx, x.dtype)) {
            inline else => |w| {
                const T = util.Elem(w);
                const dst = util.viewMut(T, out);
                const src = util.view(T, x);
                const chunk = size * inner;
                for (0..outer) |o| @memcpy(dst[o * chunk ..][0..chunk], src[(o * d + start) * inner ..][0..chunk]);
            },
        }
    }
}

/// The part sizes along the split axis: given (attribute, or input 1 from opset 13), or equal
/// parts, where opset 18's num_outputs lets the last part be smaller.
fn splitSizes(ctx: *Context, d: usize, n: usize) Error![]const usize {
    const out = try ctx.alloc(usize, n);
    const given: ?[]const i64 = if (ctx.node.attrInts("split")) |v| v else if (ctx.input(1)) |t|
        try util.ints(ctx, t, "split")
    else
        null;
    if (given) |sizes| {
        if (sizes.len != n) return ctx.fail("split has {d} entries for {d} outputs", .{ sizes.len, n });
        var total: usize = 0;
        for (sizes, out) |s, *slot| {
            if (s < 0 or s > d) return ctx.fail("split size {d} is out of range", .{s});
            slot.* = @intCast(s);
            total += slot.*;
        }
        if (total != d) return ctx.fail("split sizes add up to {d}, the dim is {d}", .{ total, d });
        return out;
    }
    if (ctx.node.opset >= 18 and ctx.node.has("num_outputs")) {
        const chunk = std.math.divCeil(usize, d, n) catch unreachable;
        if (chunk * (n - 1) > d) return ctx.fail("cannot split {d} into {d} parts", .{ d, n });
        @memset(out, chunk);
        out[n - 1] = d - chunk * (n - 1);
        return out;
    }
    if (d % n != 0) return ctx.fail("cannot split {d} into {d} equal parts", .{ d, n });
    @memset(out, d / n);
    return out;
}

// ---- Slice -------------------------------------------------------------------------------------------

fn slice(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const rank = x.shape.len;
    var starts: []const i64 = undefined;
    var ends: []const i64 = undefined;
    var given_axes: ?[]const i64 = null;
    var steps: ?[]const i64 = null;
    if (ctx.node.opset < 10) {
        starts = ctx.node.attrInts("starts") orelse return ctx.fail("attribute 'starts' is required", .{});
        ends = ctx.node.attrInts("ends") orelse return ctx.fail("attribute 'ends' is required", .{});
        given_axes = ctx.node.attrInts("axes");
    } else {
        starts = try util.ints(ctx, try ctx.require(1), "starts");
        ends = try util.ints(ctx, try ctx.require(2), "ends");
        if (ctx.input(3)) |t| given_axes = try util.ints(ctx, t, "axes");
        if (ctx.input(4)) |t| steps = try util.ints(ctx, t, "steps");
    }
    const n = starts.len;
    if (ends.len != n) return ctx.fail("{d} starts but {d} ends", .{ n, ends.len });
    if (steps) |s| if (s.len != n) return ctx.fail("{d} steps for {d} starts", .{ s.len, n });
    const sliced: []const usize = if (given_axes) |g| blk: {
        if (g.len != n) return ctx.fail("{d} axes for {d} starts", .{ g.len, n });
        break :blk try util.axes(ctx, g, rank);
    } else blk: {
        if (n > rank) return ctx.fail("{d} starts for rank {d}", .{ n, rank });
        const list = try ctx.alloc(usize, n);
        for (list, 0..) |*slot, k| slot.* = k;
        break :blk list;
    };
    const shape = try ctx.alloc(i64, rank);
    @memcpy(shape, x.shape);
    var dims: [util.max_rank]usize = undefined;
    var strides: [util.max_rank]isize = undefined;
    util.stridesOf(x.shape, strides[0..rank]);
    var base: isize = 0;
    for (sliced, 0..) |a, j| {
        const step = if (steps) |s| s[j] else 1;
        if (step == 0) return ctx.fail("a step is 0", .{});
        const r = sliceRange(x.shape[a], starts[j], ends[j], step);
        shape[a] = r.len;
        base += @as(isize, @intCast(r.first)) * strides[a];
        // A step beyond the dim takes one element at most; its stride is then never used.
        strides[a] = if (r.len <= 1) 0 else strides[a] * @as(isize, @intCast(step));
    }
    util.toUsize(shape, dims[0..rank]);
    try util.checkStorage(ctx, x, "input");
    const out = try ctx.output(0, x.dtype, shape);
    try util.copyStrided(ctx, out, x, dims[0..rank], strides[0..rank], base);
}

const Range = struct { first: i64, len: i64 };

/// ONNX's clamping of start and end into the dim, then the element count; in i128 so that no
/// bound (INT64_MIN, INT64_MAX) can overflow.
fn sliceRange(n: i64, start: i64, end: i64, step: i64) Range {
    const size: i128 = n;
    var a: i128 = start;
    var b: i128 = end;
    if (a < 0) a += size;
    if (b < 0) b += size;
    if (step > 0) {
        a = std.math.clamp(a, 0, size);
        b = std.math.clamp(b, 0, size);
        const len: i128 = if (b > a) @divFloor(b - a + step - 1, step) else 0;
        return .{ .first = @intCast(a), .len = @intCast(len) };
    }
    a = std.math.clamp(a, -1, size - 1);
    b = std.math.clamp(b, -1, size - 1);
    const down: i128 = -@as(i128, step);
    const len: i128 = if (a > b) @divFloor(a - b + down - 1, down) else 0;
    return .{ .first = if (len > 0) @intCast(a) else 0, .len = @intCast(len) };
}

// ---- Pad, CenterCropPad -------------------------------------------------------------------------------

const Mode = enum { constant, reflect, edge, wrap };

fn pad(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const rank = x.shape.len;
    const mode = std.meta.stringToEnum(Mode, ctx.node.attrString("mode", "constant")) orelse
        return ctx.fail("unknown mode '{s}'", .{ctx.node.attrString("mode", "")});
    const pads: []const i64 = if (ctx.node.opset >= 11)
        try util.ints(ctx, try ctx.require(1), "pads")
    else
        (if (ctx.node.opset < 2) ctx.node.attrInts("paddings") else ctx.node.attrInts("pads")) orelse
            return ctx.fail("pads are required", .{});
    var padded: []const usize = undefined;
    if (ctx.node.opset >= 18 and ctx.input(3) != null) {
        padded = try util.axes(ctx, try util.ints(ctx, ctx.input(3).?, "axes"), rank);
    } else {
        const list = try ctx.alloc(usize, rank);
        for (list, 0..) |*slot, k| slot.* = k;
        padded = list;
    }
    if (pads.len != 2 * padded.len) return ctx.fail("{d} pads for {d} axes", .{ pads.len, padded.len });
    const begins = try ctx.alloc(i64, rank);
    const ends = try ctx.alloc(i64, rank);
    @memset(begins, 0);
    @memset(ends, 0);
    for (padded, 0..) |a, j| {
        begins[a] = pads[j];
        ends[a] = pads[j + padded.len];
    }
    const fill = if (mode == .constant) try constantValue(ctx, x) else null;
    try padCore(ctx, x, mode, begins, ends, fill);
}

/// The constant to pad with, as the element's bytes: input 2 (opset 11), else attribute 'value'.
fn constantValue(ctx: *Context, x: *const Tensor) Error!?*const Tensor {
    if (ctx.node.opset >= 11) {
        const v = ctx.input(2) orelse return null;
        if (v.dtype != x.dtype) {
            return ctx.fail("constant_value is {s}, data {s}", .{ @tagName(v.dtype), @tagName(x.dtype) });
        }
        try util.checkStorage(ctx, v, "constant_value");
        if (v.count() == 0) return null;
        return v;
    }
    const value = ctx.node.attrFloat("value", 0);
    if (value == 0) return null;
    const t = try util.scratch(ctx, x.dtype, &.{});
    inline for (util.numeric_types) |pair| if (x.dtype == pair[0]) {
        const S = pair[1];
        const C = util.Compute(pair[0], S);
        const c: C = if (@typeInfo(C) == .float) @floatCast(value) else @intFromFloat(std.math.clamp(
            @trunc(value),
            @as(f32, @floatFromInt(std.math.minInt(C))),
            @as(f32, @floatFromInt(std.math.maxInt(C))),
        ));
        util.viewMut(S, t)[0] = util.store(pair[0], S, c);
        return t;
    };
    return ctx.unsupported(x.dtype);
}

/// Pads (or, for negative pads, crops) each axis by begins/ends; `fill` null pads with zeros.
fn padCore(
    ctx: *Context,
    x: *const Tensor,
    mode: Mode,
    begins: []const i64,
    ends: []const i64,
    fill: ?*const Tensor,
) Error!void {
    const rank = x.shape.len;
    const shape = try ctx.alloc(i64, rank);
    var total: usize = 0;
    for (shape, x.shape, begins, ends, 0..) |*d, size, b, e, k| {
        const sum = std.math.add(i64, size, b) catch null;
        const padded = if (sum) |s| std.math.add(i64, s, e) catch null else null;
        d.* = padded orelse return ctx.fail("padded dim overflows", .{});
        if (d.* < 0) return ctx.fail("axis {d} would have {d} elements", .{ k, d.* });
        if (mode != .constant and size == 0 and d.* > 0) {
            return ctx.fail("cannot pad an empty axis in {s} mode", .{@tagName(mode)});
        }
        total = std.math.add(usize, total, @intCast(d.*)) catch return ctx.fail("padded dims overflow", .{});
    }
    try util.checkStorage(ctx, x, "input");
    const out = try ctx.output(0, x.dtype, shape);
    if (out.count() == 0) return;
    // Per axis, the source index each output index reads, or -1 for the constant.
    const maps = try ctx.alloc([]i64, rank);
    const all = try ctx.alloc(i64, total);
    var used: usize = 0;
    for (maps, shape, x.shape, begins) |*m, d, size, b| {
        m.* = all[used..][0..@intCast(d)];
        used += m.len;
        for (m.*, 0..) |*slot, o| slot.* = sourceIndex(mode, @as(i64, @intCast(o)) - b, size);
    }
    switch (try util.width(ctx, x.dtype)) {
        inline else => |w| {
            const T = util.Elem(w);
            const value: T = if (fill) |f| util.view(T, f)[0] else if (T == []const u8) "" else 0;
            const first_inside = if (rank > 0) begins[rank - 1] else 0;
            padRows(T, util.viewMut(T, out), util.view(T, x), shape, x.shape, maps, first_inside, value);
        },
    }
}

fn sourceIndex(mode: Mode, i: i64, n: i64) i64 {
    if (i >= 0 and i < n) return i;
    return switch (mode) {
        .constant => -1,
        .edge => std.math.clamp(i, 0, n - 1),
        .wrap => @mod(i, n),
        .reflect => blk: {
            if (n == 1) break :blk 0;
            const period = 2 * (n - 1);
            const r = @mod(i, period);
            break :blk if (r < n) r else period - r;
        },
    };
}

fn padRows(
    comptime T: type,
    out: []align(1) T,
    src: []align(1) const T,
    shape: []const i64,
    in_shape: []const i64,
    maps: []const []const i64,
    first_inside: i64,
    fill: T,
) void {
    if (shape.len == 0) {
        out[0] = src[0];
        return;
    }
    const last = shape.len - 1;
    const inner: usize = @intCast(shape[last]);
    var strides: [util.max_rank]isize = undefined;
    util.stridesOf(in_shape, strides[0..shape.len]);
    var index: [util.max_rank]usize = @splat(0);
    const rows = out.len / inner;
    const lo: usize = @intCast(std.math.clamp(first_inside, 0, @as(i64, @intCast(inner))));
    const end = first_inside + in_shape[last];
    const hi: usize = @intCast(std.math.clamp(end, @as(i64, @intCast(lo)), @as(i64, @intCast(inner))));
    for (0..rows) |r| {
        const row = out[r * inner ..][0..inner];
        var base: isize = 0;
        var inside = true;
        for (0..last) |k| {
            const m = maps[k][index[k]];
            if (m < 0) inside = false;
            base += m * strides[k];
        }
        if (inside) {
            // The middle of the row is a straight copy; only the pads go through the map.
            for (row[0..lo], maps[last][0..lo]) |*o, m| o.* = if (m < 0) fill else src[@intCast(base + m)];
            if (hi > lo) @memcpy(row[lo..hi], src[@intCast(base + maps[last][lo])..][0..(hi - lo)]);
            for (row[hi..], maps[last][hi..]) |*o, m| o.* = if (m < 0) fill else src[@intCast(base + m)];
        } else @memset(row, fill);
        var k = last;
        while (k > 0) {
            k -= 1;
            index[k] += 1;
            if (index[k] < @as(usize, @intCast(shape[k]))) break;
            index[k] = 0;
        }
    }
}

fn centerCropPad(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const rank = x.shape.len;
    const target = try util.ints(ctx, try ctx.require(1), "shape");
    var chosen: []const usize = undefined;
    if (ctx.node.attrInts("axes")) |given| {
        chosen = try util.axes(ctx, given, rank);
    } else {
        const list = try ctx.alloc(usize, rank);
        for (list, 0..) |*slot, k| slot.* = k;
        chosen = list;
    }
    if (target.len != chosen.len) return ctx.fail("shape has {d} entries for {d} axes", .{ target.len, chosen.len });
    const begins = try ctx.alloc(i64, rank);
    const ends = try ctx.alloc(i64, rank);
    @memset(begins, 0);
    @memset(ends, 0);
    for (chosen, target) |a, t| {
        if (t < 0) return ctx.fail("target dim {d} is negative", .{t});
        const d = x.shape[a];
        // Centered, the odd element going to the end (floor of half the difference at the start).
        begins[a] = if (t >= d) @divFloor(t - d, 2) else -@divFloor(d - t, 2);
        ends[a] = t - d - begins[a];
    }
    try padCore(ctx, x, .constant, begins, ends, null);
}

fn entry(comptime op: []const u8, run: kernel.Kernel) Entry {
    return .{ .op = op, .run = run };
}

pub const kernels = [_]Entry{
    entry("Concat", concat),
    entry("Split", split),
    entry("Slice", slice),
    entry("Pad", pad),
    entry("CenterCropPad", centerCropPad),
};

test "sliceRange clamps every bound without overflow" {
    const expect = std.testing.expectEqual;
    const max = std.math.maxInt(i64);
    const min = std.math.minInt(i64);
    try expect(Range{ .first = 1, .len = 2 }, sliceRange(4, 1, 3, 1));
    try expect(Range{ .first = 3, .len = 4 }, sliceRange(4, max, min, -1));
    try expect(Range{ .first = 0, .len = 1 }, sliceRange(4, 0, max, max));
    try expect(Range{ .first = 0, .len = 0 }, sliceRange(4, min, max, min));
    try expect(Range{ .first = 3, .len = 2 }, sliceRange(4, -1, 0, -2));
}

test "pad modes map outside indices back into the axis" {
    const expect = std.testing.expectEqual;
    try expect(@as(i64, -1), sourceIndex(.constant, -1, 3));
    try expect(@as(i64, 0), sourceIndex(.edge, -5, 3));
    try expect(@as(i64, 2), sourceIndex(.wrap, -1, 3));
    // reflect over [0, 1, 2]: ... 2 1 | 0 1 2 | 1 0 1 2 ...
    try expect(@as(i64, 1), sourceIndex(.reflect, -1, 3));
    try expect(@as(i64, 2), sourceIndex(.reflect, -2, 3));
    try expect(@as(i64, 1), sourceIndex(.reflect, 3, 3));
    try expect(@as(i64, 0), sourceIndex(.reflect, 4, 3));
    try expect(@as(i64, 1), sourceIndex(.reflect, 7, 3));
    try expect(@as(i64, 0), sourceIndex(.reflect, 9, 1));
}
