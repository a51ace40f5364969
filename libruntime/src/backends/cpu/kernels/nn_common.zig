//! What the nn kernels share: reading inputs as f32/f64 (float16, bfloat16 and small integers are
//! converted once per node, so every kernel has just two instantiations), writing outputs back in
//! their own type, and the sliding-window geometry of convolutions and pools (kernel, strides,
//! dilations, pads, auto_pad, ceil_mode) checked against concrete shapes.
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");

pub const Context = kernel.Context;
pub const Tensor = kernel.Tensor;
pub const DType = kernel.DType;
pub const Error = status.Error;

/// The type a node computes in: f64 for float64 (and wide integers), f32 for the rest.
pub const Precision = enum { f32, f64 };

/// Float inputs only; `integers` also admits integer tensors (pools, Resize on images).
pub fn precision(ctx: *const Context, dtype: DType, integers: bool) Error!Precision {
    return switch (dtype) {
        .float32, .float16, .bfloat16 => .f32,
        .float64 => .f64,
        .int8, .uint8, .int16, .uint16 => if (integers) .f32 else ctx.unsupported(dtype),
        .int32, .uint32, .int64, .uint64 => if (integers) .f64 else ctx.unsupported(dtype),
        else => ctx.unsupported(dtype),
    };
}

fn bf16ToF32(bits: u16) f32 {
    return @bitCast(@as(u32, bits) << 16);
}

fn f32ToBf16(v: f32) u16 {
    const bits: u32 = @bitCast(v);
    if (std.math.isNan(v)) return @intCast((bits >> 16) | 0x40);
    // Round to nearest, ties to even, as numpy/ml_dtypes do.
    const rounded = bits +% (0x7fff + ((bits >> 16) & 1));
    return @intCast(rounded >> 16);
}

/// A tensor's values as F: its own memory when it is stored as F (and aligned), else a converted
/// arena copy. Constants can point into the model file at any byte offset, so reads here never
/// assume the element alignment that Tensor.items does.
pub fn floats(comptime F: type, ctx: *const Context, t: *const Tensor) Error![]const F {
    const n = t.count();
    if (t.data.len < n * (t.dtype.bits() / 8)) return ctx.fail("a {s} input has too few bytes", .{@tagName(t.dtype)});
    const direct = (F == f32 and t.dtype == .float32) or (F == f64 and t.dtype == .float64);
    if (direct and std.mem.isAligned(@intFromPtr(t.data.ptr), @alignOf(F))) return t.items(F)[0..n];
    const out = try ctx.alloc(F, n);
    switch (t.dtype) {
        .bfloat16 => for (out, unaligned(u16, t, n)) |*o, v| {
            o.* = @floatCast(bf16ToF32(v));
        },
        inline .float32,
        .float64,
        .float16,
        .int8,
        .uint8,
        .int16,
        .uint16,
        .int32,
        .uint32,
        .int64,
        .uint64,
        .bool,
        => |tag| {
            const T = Storage(tag);
            for (out, unaligned(T, t, n)) |*o, v| o.* = if (@typeInfo(T) == .float) @floatCast(v) else @floatFromInt(v);
        },
        else => return ctx.unsupported(t.dtype),
    }
    return out;
}

/// The first n elements of t as T, at whatever alignment the bytes have.
pub fn unaligned(comptime T: type, t: *const Tensor, n: usize) []align(1) const T {
    return std.mem.bytesAsSlice(T, t.data[0 .. n * @sizeOf(T)]);
}

/// A tensor's elements as an aligned T slice, copied when its bytes are not aligned.
pub fn alignedItems(comptime T: type, ctx: *const Context, t: *const Tensor) Error![]const T {
    const n = t.count();
    if (t.data.len < n * @sizeOf(T)) return ctx.fail("a {s} input has too few bytes", .{@tagName(t.dtype)});
    if (std.mem.isAligned(@intFromPtr(t.data.ptr), @alignOf(T))) return t.items(T)[0..n];
    const out = try ctx.alloc(T, n);
    for (out, unaligned(T, t, n)) |*o, v| o.* = v;
    return out;
}

fn Storage(comptime tag: DType) type {
    return switch (tag) {
        .float32 => f32,
        .float64 => f64,
        .float16 => f16,
        .int8 => i8,
        .uint8, .bool => u8,
        .int16 => i16,
        .uint16, .bfloat16 => u16,
        .int32 => i32,
        .uint32 => u32,
        .int64 => i64,
        .uint64 => u64,
        else => @compileError("no storage type"),
    };
}

/// An output computed as F: `values` is the tensor itself when it is stored as F, else scratch
/// that `finish` converts (floats round to nearest; integers round half to even and saturate).
pub fn FloatOutput(comptime F: type) type {
    return struct {
        tensor: *Tensor,
        values: []F,

        pub fn finish(self: @This()) void {
            const t = self.tensor;
            if (t.data.ptr == @as([*]u8, @ptrCast(self.values.ptr))) return;
            switch (t.dtype) {
                .bfloat16 => for (t.items(u16), self.values) |*o, v| {
                    o.* = f32ToBf16(@floatCast(v));
                },
                inline .float32,
                .float64,
                .float16,
                .int8,
                .uint8,
                .int16,
                .uint16,
                .int32,
                .uint32,
                .int64,
                .uint64,
                => |tag| {
                    const T = Storage(tag);
                    for (t.items(T), self.values) |*o, v| {
                        o.* = if (@typeInfo(T) == .float) @floatCast(v) else saturate(T, v);
                    }
                },
                else => unreachable, // precision() admitted only these
            }
        }
    };
}

pub fn saturate(comptime T: type, v: anytype) T {
    if (std.math.isNan(v)) return 0;
    const r = @round(v);
    const rounded = if (@abs(v - @trunc(v)) == 0.5) 2.0 * @round(v / 2.0) else r; // half to even
    const lo: f64 = @floatFromInt(std.math.minInt(T));
    const hi: f64 = @floatFromInt(std.math.maxInt(T));
    const wide: f64 = @floatCast(rounded);
    if (wide <= lo) return std.math.minInt(T);
    if (wide >= hi) return std.math.maxInt(T);
    return @intFromFloat(wide);
}

pub fn floatOutput(
    comptime F: type,
    ctx: *const Context,
    index: usize,
    dtype: DType,
    shape: []const i64,
) Error!FloatOutput(F) {
    const t = try ctx.output(index, dtype, shape);
    const n = t.count();
    if ((F == f32 and dtype == .float32) or (F == f64 and dtype == .float64)) {
        return .{ .tensor = t, .values = t.items(F)[0..n] };
    }
    return .{ .tensor = t, .values = try ctx.alloc(F, n) };
}

/// Element count of a shape, failing instead of overflowing.
pub fn countOf(ctx: *const Context, shape: []const i64) Error!usize {
    var n: usize = 1;
    for (shape) |d| {
        if (d < 0) return ctx.fail("a dim is negative ({d})", .{d});
        n = std.math.mul(usize, n, @intCast(d)) catch return ctx.fail("the shape is too large", .{});
    }
    return n;
}

pub fn mulChecked(ctx: *const Context, a: usize, b: usize) Error!usize {
    return std.math.mul(usize, a, b) catch ctx.fail("sizes overflow ({d} x {d})", .{ a, b });
}

pub fn dim(t: *const Tensor, i: usize) usize {
    return @intCast(t.shape[i]);
}

/// A 0/1 attribute.
pub fn flag(ctx: *const Context, comptime name: []const u8, default: i64) Error!bool {
    const v = ctx.node.attrInt(name, default);
    if (v != 0 and v != 1) return ctx.fail("{s} is {d}; it must be 0 or 1", .{ name, v });
    return v == 1;
}

/// NotImplemented naming the node, for valid inputs this backend does not handle.
pub fn notImplemented(ctx: *const Context, comptime fmt: []const u8, args: anytype) Error {
    var name_buffer: [160]u8 = undefined;
    const who = ctx.node.describe(&name_buffer, ctx.node_id);
    var message: [512]u8 = undefined;
    const text = std.fmt.bufPrint(&message, fmt, args) catch fmt;
    return status.fail(error.NotImplemented, "node {s}: {s}", .{ who, text });
}

pub fn normalizeAxis(ctx: *const Context, axis: i64, rank: usize) Error!usize {
    const r: i64 = @intCast(rank);
    if (axis < -r or axis >= @max(r, 1)) return ctx.fail("axis {d} is out of range for rank {d}", .{ axis, rank });
    return @intCast(if (axis < 0) axis + r else axis);
}

// ---- Sliding windows -------------------------------------------------------------------------

/// Convolutions and pools run over up to 3 spatial axes; lower ranks get leading unit axes, so
/// one 3-D loop nest serves 1-D, 2-D and 3-D.
pub const max_spatial = 3;
/// Attribute values above this are refused, so window arithmetic cannot overflow i64.
const max_attribute: i64 = 1 << 31;

pub const AutoPad = enum { notset, same_upper, same_lower, valid };

pub fn autoPad(ctx: *const Context) Error!AutoPad {
    const text = ctx.node.attrString("auto_pad", "NOTSET");
    if (text.len == 0 or std.mem.eql(u8, text, "NOTSET")) return .notset;
    if (std.mem.eql(u8, text, "SAME_UPPER")) return .same_upper;
    if (std.mem.eql(u8, text, "SAME_LOWER")) return .same_lower;
    if (std.mem.eql(u8, text, "VALID")) return .valid;
    return ctx.fail("auto_pad '{s}' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID", .{text[0..@min(text.len, 64)]});
}

/// An ints attribute with one value per spatial axis in [min, 2^31]; `default` when absent.
pub fn perAxis(ctx: *const Context, comptime name: []const u8, n: usize, default: i64, min: i64) Error![max_spatial]i64 {
    var out = [_]i64{default} ** max_spatial;
    const values = ctx.node.attrInts(name) orelse return out;
    if (values.len != n) return ctx.fail("{s} has {d} values for {d} spatial axes", .{ name, values.len, n });
    for (values, 0..) |v, i| {
        if (v < min or v > max_attribute) {
            return ctx.fail("{s} holds {d}; it must be in [{d}, 2^31]", .{ name, v, min });
        }
        out[i] = v;
    }
    return out;
}

/// Placement of a window over N x C x spatial: per axis (leading unit axes first when the spatial
/// rank is below 3) the input and output extents, kernel, stride, dilation and begin pad.
pub const Geometry = struct {
    rank: usize,
    in: [max_spatial]usize = .{ 1, 1, 1 },
    out: [max_spatial]usize = .{ 1, 1, 1 },
    kernel: [max_spatial]usize = .{ 1, 1, 1 },
    stride: [max_spatial]usize = .{ 1, 1, 1 },
    dilation: [max_spatial]usize = .{ 1, 1, 1 },
    /// Begin pads; may be negative for ConvTranspose given an output_shape (a crop).
    pad: [max_spatial]i64 = .{ 0, 0, 0 },

    pub fn inCount(self: Geometry) usize {
        return self.in[0] * self.in[1] * self.in[2];
    }
    pub fn outCount(self: Geometry) usize {
        return self.out[0] * self.out[1] * self.out[2];
    }
    pub fn kernelCount(self: Geometry) usize {
        return self.kernel[0] * self.kernel[1] * self.kernel[2];
    }
    /// Fails unless the input and output extents multiply without overflow (an empty batch
    /// may come with absurd spatial dims), so that inCount and outCount are safe afterwards.
    pub fn checkCounts(self: Geometry, ctx: *const Context) Error!void {
        for ([2][max_spatial]usize{ self.in, self.out }) |extents| {
            var n: usize = 1;
            for (extents) |e| {
                n = std.math.mul(usize, n, e) catch return ctx.fail("the spatial extents are too large", .{});
            }
        }
    }
    /// Whether every window reads its input one to one (a 1x1 conv as a plain GEMM).
    pub fn isPointwise(self: Geometry) bool {
        for (0..max_spatial) |i| {
            if (self.kernel[i] != 1 or self.stride[i] != 1 or self.pad[i] != 0 or self.in[i] != self.out[i]) {
                return false;
            }
        }
        return true;
    }
    /// The N x C x out... shape.
    pub fn outShape(self: Geometry, ctx: *const Context, n: usize, c: usize) Error![]i64 {
        const shape = try ctx.alloc(i64, self.rank + 2);
        shape[0] = @intCast(n);
        shape[1] = @intCast(c);
        for (0..self.rank) |i| shape[2 + i] = @intCast(self.out[max_spatial - self.rank + i]);
        return shape;
    }
};

pub const WindowOptions = struct {
    /// From W for convolutions, from kernel_shape for pools.
    kernel: []const i64,
    ceil_mode: bool = false,
};

/// The geometry of a convolution or pool over `spatial` input extents, from the node's strides,
/// dilations, pads and auto_pad; fails when the window does not fit the padded input.
pub fn window(ctx: *const Context, spatial: []const i64, options: WindowOptions) Error!Geometry {
    const n = spatial.len;
    if (n == 0) return ctx.fail("X has no spatial axes", .{});
    if (n > max_spatial) return notImplemented(ctx, "{d} spatial axes (at most 3 are supported)", .{n});
    if (options.kernel.len != n) {
        return ctx.fail("the kernel has {d} axes for {d} spatial axes", .{ options.kernel.len, n });
    }
    const strides = try perAxis(ctx, "strides", n, 1, 1);
    const dilations = try perAxis(ctx, "dilations", n, 1, 1);
    const auto_pad = try autoPad(ctx);
    var pads = [_]i64{0} ** (2 * max_spatial);
    if (auto_pad == .notset) if (ctx.node.attrInts("pads")) |p| {
        if (p.len != 2 * n) return ctx.fail("pads has {d} values for {d} spatial axes", .{ p.len, n });
        for (p, 0..) |v, i| {
            if (v < 0 or v > max_attribute) return ctx.fail("pads holds {d}; pads must be in [0, 2^31]", .{v});
            pads[i] = v;
        }
    };
    var g = Geometry{ .rank = n };
    for (0..n) |i| {
        const k = options.kernel[i];
        if (k < 1 or k > max_attribute) return ctx.fail("kernel extent {d} is out of range", .{k});
        const in = spatial[i];
        if (in > 1 << 40) return ctx.fail("spatial axis {d} is too large ({d})", .{ i, in });
        const s = strides[i];
        const span = (k - 1) * dilations[i] + 1;
        var begin = pads[i];
        var out: i64 = undefined;
        switch (auto_pad) {
            .same_upper, .same_lower => {
                out = @divFloor(in + s - 1, s);
                const total = @max(0, (out - 1) * s + span - in);
                begin = if (auto_pad == .same_upper) @divFloor(total, 2) else total - @divFloor(total, 2);
            },
            .valid, .notset => {
                const padded = in + pads[i] + pads[i + n];
                if (padded < span) {
                    const message = "spatial axis {d}: the window spans {d}, more than the padded input {d}";
                    return ctx.fail(message, .{ i, span, padded });
                }
                out = @divFloor(padded - span, s) + 1;
                if (options.ceil_mode) {
                    out = std.math.divCeil(i64, padded - span, s) catch unreachable;
                    out += 1;
                    // The last window must start inside the input or its leading pad.
                    if ((out - 1) * s >= in + pads[i]) out -= 1;
                }
            },
        }
        const j = max_spatial - n + i;
        g.in[j] = @intCast(in);
        g.out[j] = @intCast(out);
        g.kernel[j] = @intCast(k);
        g.stride[j] = @intCast(s);
        g.dilation[j] = @intCast(dilations[i]);
        g.pad[j] = begin;
    }
    try g.checkCounts(ctx);
    return g;
}

/// The spatial dims of W (convolutions), checked against kernel_shape when that is given.
pub fn kernelFromWeight(ctx: *const Context, w: *const Tensor) Error![]const i64 {
    const from_w = w.shape[2..];
    if (ctx.node.attrInts("kernel_shape")) |k| {
        if (!std.mem.eql(i64, k, from_w)) return ctx.fail("kernel_shape does not match W's spatial dims", .{});
    }
    return from_w;
}

/// The outputs o in [0, out) whose tap o * stride + offset lands in [0, in): [first, last).
pub fn validRange(out: usize, in: usize, stride: usize, offset: i64) [2]usize {
    const s: i64 = @intCast(stride);
    const lo: i64 = if (offset >= 0) 0 else @divFloor(-offset + s - 1, s);
    const room = @as(i64, @intCast(in)) - offset; // taps below this are inside
    const hi: i64 = if (room <= 0) 0 else @divFloor(room + s - 1, s);
    const o: i64 = @intCast(out);
    const first = std.math.clamp(lo, 0, o);
    return .{ @intCast(first), @intCast(std.math.clamp(hi, first, o)) };
}

/// Runs work(context, slot, unit) for every unit in [0, units) on up to `slots` of the model's
/// threads. Units come from an atomic counter, so a thread slowed by a noisy neighbour takes
/// fewer; `slot` (< slots) is owned by one call at a time, so it can index per-thread scratch.
pub fn runUnits(
    ctx: *const Context,
    units: usize,
    slots: usize,
    context: anytype,
    comptime work: fn (@TypeOf(context), usize, usize) void,
) void {
    const Job = struct {
        context: @TypeOf(context),
        units: usize,
        next: std.atomic.Value(usize) = .init(0),

        fn run(self: *@This(), begin: usize, end: usize) void {
            for (begin..end) |slot| while (true) {
                const unit = self.next.fetchAdd(1, .monotonic);
                if (unit >= self.units) break;
                work(self.context, slot, unit);
            };
        }
    };
    var job: Job = .{ .context = context, .units = units };
    const count = @max(1, @min(slots, units));
    // One chunk per slot: the pool splits `count` items into chunks of at least one.
    if (count == 1 or ctx.pool == null) return job.run(0, 1);
    ctx.pool.?.parallelForGrain(count, 1, &job, Job.run);
}

test "validRange keeps taps inside the input" {
    // in = 5, stride 2, offset -1: taps -1, 1, 3, 5 -> outputs 1 and 2.
    try std.testing.expectEqual([2]usize{ 1, 3 }, validRange(4, 5, 2, -1));
    try std.testing.expectEqual([2]usize{ 0, 0 }, validRange(4, 5, 1, 7));
    try std.testing.expectEqual([2]usize{ 0, 4 }, validRange(4, 5, 1, 1));
}

test "saturate rounds half to even and clamps" {
    try std.testing.expectEqual(@as(u8, 2), saturate(u8, @as(f32, 2.5)));
    try std.testing.expectEqual(@as(u8, 4), saturate(u8, @as(f32, 3.5)));
    try std.testing.expectEqual(@as(u8, 255), saturate(u8, @as(f32, 300)));
    try std.testing.expectEqual(@as(i8, -128), saturate(i8, @as(f64, -1e9)));
    try std.testing.expectEqual(@as(u16, 0x3f80), f32ToBf16(1.0));
}
