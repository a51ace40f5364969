//! Kernels that select or place elements by a rule rather than by index tensors: OneHot, NonZero,
//! Compress, ReverseSequence, Trilu and EyeLike. Sizes that depend on values (NonZero, Compress)
//! are counted first, then written.
const std = @import("std");
const kernel = @import("../kernel.zig");
const Entry = @import("entry.zig").Entry;
const util = @import("tensor_ops_util.zig");

const Context = util.Context;
const Tensor = util.Tensor;
const DType = util.DType;
const Error = util.Error;

/// Numeric elements as i64, floats truncated (OneHot's indices and depth may be floats).
fn numericInts(ctx: *Context, t: *const Tensor, what: []const u8) Error![]i64 {
    try util.checkStorage(ctx, t, what);
    const out = try ctx.alloc(i64, t.count());
    inline for (util.numeric_types) |pair| if (t.dtype == pair[0]) {
        const S = pair[1];
        for (out, util.view(S, t)[0..out.len]) |*o, raw| {
            const v = util.load(pair[0], S, raw);
            o.* = if (@typeInfo(@TypeOf(v)) == .float) blk: {
                const f: f64 = @floatCast(v);
                if (!(f > -9.2e18 and f < 9.2e18)) return ctx.fail("{s} holds {d}", .{ what, f });
                break :blk @intFromFloat(f);
            } else std.math.cast(i64, v) orelse return ctx.fail("{s} holds {d}, beyond int64", .{ what, v });
        }
        return out;
    };
    return ctx.unsupported(t.dtype);
}

fn oneHot(ctx: *Context) Error!void {
    const index_tensor = try ctx.require(0);
    const depth_values = try numericInts(ctx, try ctx.require(1), "depth");
    const values = try ctx.require(2);
    if (depth_values.len != 1) return ctx.fail("depth must hold one element, not {d}", .{depth_values.len});
    const depth = depth_values[0];
    if (depth < 0) return ctx.fail("depth must not be negative, not {d}", .{depth});
    if (values.count() != 2) return ctx.fail("values must hold two elements, not {d}", .{values.count()});
    try util.checkStorage(ctx, values, "values");
    const idx = try numericInts(ctx, index_tensor, "indices");
    const rank = index_tensor.shape.len + 1;
    if (rank > util.max_rank) return ctx.fail("output rank {d} is too large", .{rank});
    const a = try util.axis(ctx, ctx.node.attrInt("axis", -1), rank);
    const shape = try ctx.alloc(i64, rank);
    @memcpy(shape[0..a], index_tensor.shape[0..a]);
    shape[a] = depth;
    @memcpy(shape[a + 1 ..], index_tensor.shape[a..]);
    const out = try ctx.output(0, values.dtype, shape);
    const inner = util.product(index_tensor.shape[a..]);
    const d: usize = @intCast(depth);
    switch (try util.width(ctx, values.dtype)) {
        inline else => |w| {
            const T = util.Elem(w);
            const pair = util.view(T, values);
            const dst = util.viewMut(T, out);
            @memset(dst, pair[0]);
            for (idx, 0..) |v, k| {
                const i = if (v < 0) v + depth else v;
                if (i < 0 or i >= depth) continue; // out of range: all off, as ONNX says
                const o = k / @max(inner, 1);
                dst[(o * d + @as(usize, @intCast(i))) * inner + k % inner] = pair[1];
            }
        },
    }
}

/// Per element, whether it is nonzero (NaN is; -0.0 is not).
fn nonzeroMask(ctx: *Context, t: *const Tensor) Error![]bool {
    try util.checkStorage(ctx, t, "input");
    const mask = try ctx.alloc(bool, t.count());
    if (t.dtype == .string) {
        for (mask, t.strings[0..mask.len]) |*m, s| m.* = s.len != 0;
        return mask;
    }
    inline for (util.numeric_types) |pair| if (t.dtype == pair[0]) {
        const S = pair[1];
        for (mask, util.view(S, t)[0..mask.len]) |*m, v| m.* = util.load(pair[0], S, v) != 0;
        return mask;
    };
    return ctx.unsupported(t.dtype);
}

fn nonZero(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const mask = try nonzeroMask(ctx, x);
    var count: usize = 0;
    for (mask) |m| count += @intFromBool(m);
    // A scalar is taken as a vector of one element, as numpy does.
    const rank = @max(x.shape.len, 1);
    const out = try ctx.output(0, .int64, &.{ @intCast(rank), @intCast(count) });
    const dst = out.items(i64);
    var index: [util.max_rank]i64 = @splat(0);
    var j: usize = 0;
    for (mask) |m| {
        if (m) {
            for (0..rank) |k| dst[k * count + j] = index[k];
            j += 1;
        }
        var k = x.shape.len;
        while (k > 0) {
            k -= 1;
            index[k] += 1;
            if (index[k] < x.shape[k]) break;
            index[k] = 0;
        }
    }
}

fn compress(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const cond = try ctx.require(1);
    if (cond.shape.len != 1) return ctx.fail("condition must be 1-D, not rank {d}", .{cond.shape.len});
    const keep = try nonzeroMask(ctx, cond);
    try util.checkStorage(ctx, x, "input");
    var shape: []i64 = undefined;
    var outer: usize = 1;
    var n: usize = x.count();
    var inner: usize = 1;
    var a: usize = 0;
    if (ctx.node.has("axis")) {
        a = try util.axis(ctx, ctx.node.attrInt("axis", 0), x.shape.len);
        shape = try ctx.alloc(i64, x.shape.len);
        @memcpy(shape, x.shape);
        outer = util.product(x.shape[0..a]);
        n = @intCast(x.shape[a]);
        inner = util.product(x.shape[a + 1 ..]);
    } else {
        shape = try ctx.alloc(i64, 1);
    }
    for (keep[@min(n, keep.len)..]) |k| if (k) return ctx.fail("condition selects beyond the {d} entries", .{n});
    const selected = keep[0..@min(n, keep.len)];
    var count: usize = 0;
    for (selected) |k| count += @intFromBool(k);
    shape[a] = @intCast(count);
    const out = try ctx.output(0, x.dtype, shape);
    switch (try util.width(ctx, x.dtype)) {
        inline else => |w| {
            const T = util.Elem(w);
            const dst = util.viewMut(T, out);
            const src = util.view(T, x);
            var pos: usize = 0;
            for (0..outer) |o| {
                for (selected, 0..) |k, i| if (k) {
                    @memcpy(dst[pos..][0..inner], src[(o * n + i) * inner ..][0..inner]);
                    pos += inner;
                };
            }
        },
    }
}

fn reverseSequence(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const lens = try util.ints(ctx, try ctx.require(1), "sequence_lens");
    const batch_axis = ctx.node.attrInt("batch_axis", 1);
    const time_axis = ctx.node.attrInt("time_axis", 0);
    if ((batch_axis != 0 and batch_axis != 1) or (time_axis != 0 and time_axis != 1) or batch_axis == time_axis) {
        return ctx.fail("batch_axis {d} and time_axis {d} must be 0 and 1", .{ batch_axis, time_axis });
    }
    if (x.shape.len < 2) return ctx.fail("input must have rank >= 2, not {d}", .{x.shape.len});
    const batch: usize = @intCast(x.shape[@intCast(batch_axis)]);
    const steps: usize = @intCast(x.shape[@intCast(time_axis)]);
    if (lens.len != batch) return ctx.fail("sequence_lens has {d} entries for a batch of {d}", .{ lens.len, batch });
    for (lens) |l| if (l < 0 or l > steps) return ctx.fail("sequence length {d} is outside [0, {d}]", .{ l, steps });
    try util.checkStorage(ctx, x, "input");
    const out = try ctx.output(0, x.dtype, x.shape);
    const inner = util.product(x.shape[2..]);
    const time_major = time_axis == 0;
    switch (try util.width(ctx, x.dtype)) {
        inline else => |w| {
            const T = util.Elem(w);
            const dst = util.viewMut(T, out);
            const src = util.view(T, x);
            for (0..batch) |b| {
                const len: usize = @intCast(lens[b]);
                for (0..steps) |t| {
                    const from = if (t < len) len - 1 - t else t;
                    const o = if (time_major) t * batch + b else b * steps + t;
                    const i = if (time_major) from * batch + b else b * steps + from;
                    @memcpy(dst[o * inner ..][0..inner], src[i * inner ..][0..inner]);
                }
            }
        },
    }
}

fn trilu(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    if (x.shape.len < 2) return ctx.fail("input must have rank >= 2, not {d}", .{x.shape.len});
    const k: i64 = if (ctx.input(1)) |t| try util.scalarInt(ctx, t, "k") else 0;
    const upper = ctx.node.attrInt("upper", 1) != 0;
    try util.checkStorage(ctx, x, "input");
    const out = try ctx.output(0, x.dtype, x.shape);
    const rows: usize = @intCast(x.shape[x.shape.len - 2]);
    const cols: usize = @intCast(x.shape[x.shape.len - 1]);
    const matrices = util.product(x.shape[0 .. x.shape.len - 2]);
    switch (try util.width(ctx, x.dtype)) {
        inline else => |w| {
            const T = util.Elem(w);
            const zero: T = if (T == []const u8) "" else 0;
            const dst = util.viewMut(T, out);
            const src = util.view(T, x);
            for (0..matrices * rows) |r| {
                const i: i64 = @intCast(r % rows);
                // Upper keeps columns j >= i + k, lower keeps j <= i + k.
                const edge = std.math.clamp(i +| k +| @intFromBool(!upper), 0, @as(i64, @intCast(cols)));
                const split: usize = @intCast(edge);
                const row = dst[r * cols ..][0..cols];
                const from = src[r * cols ..][0..cols];
                if (upper) {
                    @memset(row[0..split], zero);
                    @memcpy(row[split..], from[split..]);
                } else {
                    @memcpy(row[0..split], from[0..split]);
                    @memset(row[split..], zero);
                }
            }
        },
    }
}

fn eyeLike(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    if (x.shape.len != 2) return ctx.fail("input must have rank 2, not {d}", .{x.shape.len});
    var dtype = x.dtype;
    if (ctx.node.has("dtype")) {
        const given = ctx.node.attrInt("dtype", 0);
        const code = std.math.cast(i32, given) orelse -1;
        dtype = std.meta.intToEnum(DType, code) catch return ctx.fail("dtype {d} is no element type", .{given});
    }
    const k = ctx.node.attrInt("k", 0);
    const out = try ctx.output(0, dtype, x.shape);
    const rows: usize = @intCast(x.shape[0]);
    const cols: usize = @intCast(x.shape[1]);
    inline for (util.numeric_types) |pair| if (dtype == pair[0]) {
        const S = pair[1];
        const dst = util.viewMut(S, out);
        @memset(dst, 0);
        const one = util.store(pair[0], S, 1);
        for (0..rows) |i| {
            const j = @as(i64, @intCast(i)) +| k;
            if (j >= 0 and j < cols) dst[i * cols + @as(usize, @intCast(j))] = one;
        }
        return;
    };
    return ctx.unsupported(dtype);
}

fn entry(comptime op: []const u8, run: kernel.Kernel) Entry {
    return .{ .op = op, .run = run };
}

pub const kernels = [_]Entry{
    entry("OneHot", oneHot),
    entry("NonZero", nonZero),
    entry("Compress", compress),
    entry("ReverseSequence", reverseSequence),
    entry("Trilu", trilu),
    entry("EyeLike", eyeLike),
};
