//! Helpers shared by the tensor_ops kernels: element views that move elements by width (so one
//! instantiation serves float32, int32 and uint32 alike, and strings move as slices), reading
//! small integer vectors (axes, shapes, pads) without trusting them, and a strided N-d copy that
//! Transpose, Slice, Expand, Tile and DepthToSpace all reduce to.
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");
const tensor_module = @import("../../../tensor/tensor.zig");

pub const Context = kernel.Context;
pub const Tensor = kernel.Tensor;
pub const DType = kernel.DType;
pub const Error = status.Error;

/// Tensors have at most this rank; Tile views its output with twice as many dims.
pub const max_rank = tensor_module.max_rank;
const max_view_rank = 2 * max_rank;

pub const data_alignment: std.mem.Alignment = .fromByteUnits(tensor_module.data_alignment);

/// How elements are stored, for ops that move them without looking at their values.
pub const Width = enum { w1, w2, w4, w8, w16, string };

pub fn Elem(comptime w: Width) type {
    return switch (w) {
        .w1 => u8,
        .w2 => u16,
        .w4 => u32,
        .w8 => u64,
        .w16 => u128,
        .string => []const u8,
    };
}

/// The storage class of `dtype`; packed sub-byte types are not movable element by element.
pub fn width(ctx: *const Context, dtype: DType) Error!Width {
    if (dtype == .string) return .string;
    return switch (dtype.bits()) {
        8 => .w1,
        16 => .w2,
        32 => .w4,
        64 => .w8,
        128 => .w16,
        else => ctx.unsupported(dtype),
    };
}

/// The elements of `t` as T. Constants may sit unaligned inside a model file, hence align(1).
pub fn view(comptime T: type, t: *const Tensor) []align(1) const T {
    if (T == []const u8) return t.strings;
    const p: [*]align(1) const T = @ptrCast(t.data.ptr);
    return p[0 .. t.data.len / @sizeOf(T)];
}

pub fn viewMut(comptime T: type, t: *Tensor) []align(1) T {
    if (T == []const u8) return t.strings;
    const p: [*]align(1) T = @ptrCast(t.data.ptr);
    return p[0 .. t.data.len / @sizeOf(T)];
}

/// Fails unless `t` holds as many elements as its shape says (guards every offset computed later).
pub fn checkStorage(ctx: *const Context, t: *const Tensor, what: []const u8) Error!void {
    const n = t.count();
    const ok = if (t.dtype == .string) t.strings.len >= n else t.data.len >= (t.dtype.byteSize(n) orelse 0);
    if (!ok) return ctx.fail("{s} holds fewer elements than its shape", .{what});
}

pub fn toUsize(shape: []const i64, out: []usize) void {
    for (shape, out) |d, *o| o.* = @intCast(d);
}

pub fn product(dims: []const i64) usize {
    var n: usize = 1;
    for (dims) |d| n *= @intCast(d);
    return n;
}

/// `a` (negative counts from the end) as an index into `rank` axes.
pub fn axis(ctx: *const Context, a: i64, rank: usize) Error!usize {
    const r: i64 = @intCast(rank);
    const v = if (a < 0) a +| r else a;
    if (v < 0 or v >= r) return ctx.fail("axis {d} is out of range for rank {d}", .{ a, rank });
    return @intCast(v);
}

/// Axes normalized against `rank`; repeats fail.
pub fn axes(ctx: *const Context, given: []const i64, rank: usize) Error![]usize {
    const out = try ctx.alloc(usize, given.len);
    for (given, out, 0..) |a, *slot, k| {
        slot.* = try axis(ctx, a, rank);
        if (std.mem.indexOfScalar(usize, out[0..k], slot.*) != null) return ctx.fail("axis {d} is repeated", .{a});
    }
    return out;
}

pub fn isInteger(dtype: DType) bool {
    return switch (dtype) {
        .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64 => true,
        else => false,
    };
}

const integer_types = .{
    .{ DType.int8, i8 },  .{ DType.int16, i16 },  .{ DType.int32, i32 },  .{ DType.int64, i64 },
    .{ DType.uint8, u8 }, .{ DType.uint16, u16 }, .{ DType.uint32, u32 }, .{ DType.uint64, u64 },
};

/// The elements of an integer tensor (axes, shapes, pads, repeats) as i64 in a fresh array.
pub fn ints(ctx: *const Context, t: *const Tensor, what: []const u8) Error![]i64 {
    try checkStorage(ctx, t, what);
    const out = try ctx.alloc(i64, t.count());
    inline for (integer_types) |pair| if (t.dtype == pair[0]) {
        for (out, view(pair[1], t)[0..out.len]) |*o, v| {
            o.* = std.math.cast(i64, v) orelse return ctx.fail("{s} holds {d}, beyond int64", .{ what, v });
        }
        return out;
    };
    return ctx.fail("{s} must hold integers, not {s}", .{ what, @tagName(t.dtype) });
}

/// One integer from a tensor that must hold exactly one (K of TopK, Trilu's k, ...).
pub fn scalarInt(ctx: *const Context, t: *const Tensor, what: []const u8) Error!i64 {
    const values = try ints(ctx, t, what);
    if (values.len != 1) return ctx.fail("{s} must hold one element, not {d}", .{ what, values.len });
    return values[0];
}

/// Index tensors (int64 or int32) as i64, without a copy for int64.
pub fn indices(ctx: *const Context, t: *const Tensor) Error![]align(1) const i64 {
    try checkStorage(ctx, t, "indices");
    const n = t.count();
    switch (t.dtype) {
        .int64 => return view(i64, t)[0..n],
        .int32 => {
            const out = try ctx.alloc(i64, n);
            for (out, view(i32, t)[0..n]) |*o, v| o.* = v;
            return out;
        },
        else => return ctx.fail("indices must be int32 or int64, not {s}", .{@tagName(t.dtype)}),
    }
}

/// `index` (negative counts from the end) checked against a dim of `n`.
pub inline fn wrapIndex(index: i64, n: usize) ?usize {
    const size: i64 = @intCast(n);
    const v = if (index < 0) index + size else index;
    if (v < 0 or v >= size) return null;
    return @intCast(v);
}

/// Validates a shape built by a kernel (a Reshape target, say) for an alias, which skips the
/// checks ctx.output makes.
pub fn checkShape(ctx: *const Context, dtype: DType, shape: []const i64) Error!void {
    _ = tensor_module.Layout.init(dtype, shape) catch
        return ctx.fail("invalid output shape: {s}", .{std.mem.span(status.lastMessage())});
}

/// Row-major strides of `shape` in elements.
pub fn stridesOf(shape: []const i64, out: []isize) void {
    var running: isize = 1;
    var k = shape.len;
    while (k > 0) {
        k -= 1;
        out[k] = running;
        running *= @intCast(shape[k]);
    }
}

/// Fills `out` (row-major over `shape`) with src[base + sum(index_k * strides_k)]. Strides may
/// be 0 (broadcast) or negative (reversed slices). Dims that are contiguous in both are merged
/// first, so that the inner loop runs as long as it can, as a memcpy when its stride is 1.
pub fn stridedCopy(
    comptime T: type,
    ctx: *const Context,
    out: []align(1) T,
    src: []align(1) const T,
    shape_in: []const usize,
    strides_in: []const isize,
    base: isize,
) Error!void {
    if (out.len == 0) return;
    if (shape_in.len > max_view_rank) return ctx.fail("rank {d} is too large", .{shape_in.len});
    var shape: [max_view_rank]usize = undefined;
    var strides: [max_view_rank]isize = undefined;
    var rank: usize = 0;
    for (shape_in, strides_in) |d, s| {
        if (d == 1) continue;
        if (rank > 0 and strides[rank - 1] == s * @as(isize, @intCast(d))) {
            shape[rank - 1] *= d;
            strides[rank - 1] = s;
            continue;
        }
        shape[rank] = d;
        strides[rank] = s;
        rank += 1;
    }
    if (rank == 0) {
        out[0] = src[@intCast(base)];
        return;
    }
    const inner = shape[rank - 1];
    const inner_stride = strides[rank - 1];
    var index: [max_view_rank]usize = @splat(0);
    var offset = base;
    var o: usize = 0;
    if (rank >= 2 and strides[rank - 2] == 1 and inner_stride > 1) {
        // The last two dims are a transpose (NCHW <-> NHWC, x^T): copy them in tiles, so that
        // both the reads and the writes stay within a few cache lines.
        const rows = shape[rank - 2];
        while (true) {
            transposeTile(T, out[o..][0 .. rows * inner], src, offset, rows, inner, inner_stride);
            o += rows * inner;
            if (!advance(&index, shape[0 .. rank - 2], strides[0 .. rank - 2], &offset)) return;
        }
    }
    while (true) {
        const row = out[o..][0..inner];
        if (inner_stride == 1) {
            @memcpy(row, src[@intCast(offset)..][0..inner]);
        } else if (inner_stride == 0) {
            @memset(row, src[@intCast(offset)]);
        } else {
            var s = offset;
            for (row) |*d| {
                d.* = src[@intCast(s)];
                s += inner_stride;
            }
        }
        o += inner;
        if (!advance(&index, shape[0 .. rank - 1], strides[0 .. rank - 1], &offset)) return;
    }
}

/// Steps a row-major multi-index over `shape`, keeping `offset` in step; false after the last.
inline fn advance(index: []usize, shape: []const usize, strides: []const isize, offset: *isize) bool {
    var k = shape.len;
    while (k > 0) {
        k -= 1;
        index[k] += 1;
        offset.* += strides[k];
        if (index[k] < shape[k]) return true;
        offset.* -= strides[k] * @as(isize, @intCast(shape[k]));
        index[k] = 0;
    }
    return false;
}

/// out (rows × cols, row-major) = src[base + i + j * col_stride], in 32 × 32 tiles.
fn transposeTile(
    comptime T: type,
    out: []align(1) T,
    src: []align(1) const T,
    base: isize,
    rows: usize,
    cols: usize,
    col_stride: isize,
) void {
    const tile = 32;
    const step: usize = @intCast(col_stride);
    const from = src[@intCast(base)..];
    var r0: usize = 0;
    while (r0 < rows) : (r0 += tile) {
        var c0: usize = 0;
        while (c0 < cols) : (c0 += tile) {
            for (r0..@min(r0 + tile, rows)) |i| {
                for (c0..@min(c0 + tile, cols)) |j| out[i * cols + j] = from[i + j * step];
            }
        }
    }
}

/// stridedCopy for any element type, dispatched once on the storage width.
pub fn copyStrided(
    ctx: *const Context,
    out: *Tensor,
    src: *const Tensor,
    shape: []const usize,
    strides: []const isize,
    base: isize,
) Error!void {
    switch (try width(ctx, src.dtype)) {
        inline else => |w| {
            const T = Elem(w);
            try stridedCopy(T, ctx, viewMut(T, out), view(T, src), shape, strides, base);
        },
    }
}

/// A tensor of `dtype` and `shape` in the run's memory that is not an output (scratch).
pub fn scratch(ctx: *const Context, dtype: DType, shape: []const i64) Error!*Tensor {
    const layout = tensor_module.Layout.init(dtype, shape) catch
        return ctx.fail("invalid shape: {s}", .{std.mem.span(status.lastMessage())});
    const t = ctx.arena.create(Tensor) catch return oom();
    const data = ctx.arena.alignedAlloc(u8, data_alignment, @intCast(layout.byte_size)) catch return oom();
    t.* = .{ .dtype = dtype, .shape = ctx.arena.dupe(i64, shape) catch return oom(), .data = data };
    if (dtype == .string) {
        t.data = &.{};
        t.strings = ctx.arena.alloc([]const u8, @intCast(layout.count)) catch return oom();
        @memset(t.strings, "");
    }
    return t;
}

pub fn oom() Error {
    return status.fail(error.OutOfResource, "out of memory", .{});
}

/// Numeric dtypes and the Zig types that store them; bfloat16 is stored as its u16 bits.
pub const numeric_types = .{
    .{ DType.float32, f32 }, .{ DType.float64, f64 }, .{ DType.float16, f16 }, .{ DType.bfloat16, u16 },
    .{ DType.int8, i8 },     .{ DType.int16, i16 },   .{ DType.int32, i32 },   .{ DType.int64, i64 },
    .{ DType.uint8, u8 },    .{ DType.uint16, u16 },  .{ DType.uint32, u32 },  .{ DType.uint64, u64 },
    .{ DType.bool, u8 },
};

/// What elements of `dt` are compared and computed as: bfloat16 widens to f32, the rest stay.
pub fn Compute(comptime dt: DType, comptime S: type) type {
    return if (dt == .bfloat16) f32 else S;
}

pub inline fn load(comptime dt: DType, comptime S: type, v: S) Compute(dt, S) {
    if (dt == .bfloat16) return bf16ToF32(v);
    return v;
}

pub inline fn store(comptime dt: DType, comptime S: type, v: Compute(dt, S)) S {
    if (dt == .bfloat16) return f32ToBf16(v);
    return v;
}

pub inline fn bf16ToF32(bits: u16) f32 {
    return @bitCast(@as(u32, bits) << 16);
}

/// Round to nearest even, as ml_dtypes and PyTorch convert; NaN stays a quiet NaN.
pub inline fn f32ToBf16(v: f32) u16 {
    const bits: u32 = @bitCast(v);
    if (std.math.isNan(v)) return @truncate((bits >> 16) | 0x40);
    const rounding: u32 = 0x7fff + ((bits >> 16) & 1);
    return @truncate((bits +% rounding) >> 16);
}

/// `a` before `b` in ascending order, NaN after every number (as numpy sorts).
pub inline fn lessThan(comptime T: type, a: T, b: T) bool {
    if (@typeInfo(T) == .float) {
        if (std.math.isNan(a)) return false;
        if (std.math.isNan(b)) return true;
    }
    return a < b;
}

/// Walks a shape in row-major order, keeping offset = sum(index_k * strides_k) up to date.
pub const Walker = struct {
    shape: [max_rank]usize = undefined,
    strides: [max_rank]isize = undefined,
    index: [max_rank]usize = @splat(0),
    offset: isize = 0,
    rank: usize,

    pub fn init(shape: []const i64, strides: []const isize) Walker {
        var self = Walker{ .rank = shape.len };
        toUsize(shape, self.shape[0..shape.len]);
        @memcpy(self.strides[0..shape.len], strides);
        return self;
    }

    /// Advances one element; call once per element after reading `offset`.
    pub inline fn next(self: *Walker) void {
        var k = self.rank;
        while (k > 0) {
            k -= 1;
            self.index[k] += 1;
            self.offset += self.strides[k];
            if (self.index[k] < self.shape[k]) return;
            self.offset -= self.strides[k] * @as(isize, @intCast(self.shape[k]));
            self.index[k] = 0;
        }
    }
};

test "bfloat16 rounds to nearest even" {
    try std.testing.expectEqual(@as(u16, 0x3f80), f32ToBf16(1.0));
    try std.testing.expectEqual(@as(u16, 0x3f80), f32ToBf16(@bitCast(@as(u32, 0x3f808000))));
    try std.testing.expectEqual(@as(u16, 0x3f82), f32ToBf16(@bitCast(@as(u32, 0x3f818000))));
    try std.testing.expect(std.math.isNan(bf16ToF32(f32ToBf16(std.math.nan(f32)))));
    try std.testing.expectEqual(@as(f32, 1.0), bf16ToF32(0x3f80));
}
