//! Sliding-window arithmetic shared by the convolution and pooling rules (nn.zig, nn_pool.zig):
//! reading kernel, stride, dilation and pad attributes, checked against the spatial rank, and the
//! output extent of a window along one axis, symbolic when the input dim is.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const context = @import("context.zig");

const Context = context.Context;
const Dim = ir.Dim;
const Error = status.Error;

pub const AutoPad = enum { notset, same_upper, same_lower, valid };

/// Everything that decides a window's placement along the spatial axes of an N x C x D1... input.
pub const Window = struct {
    /// Kernel extent per spatial axis; null when unknown (a weight of unknown shape).
    kernel: ?[]const Dim,
    strides: []const i64,
    dilations: []const i64,
    /// Begins of every axis, then ends.
    pads: []const i64,
    auto_pad: AutoPad,
    ceil_mode: bool = false,

    /// Reads strides, dilations, pads and auto_pad for `n` spatial axes.
    pub fn read(ctx: *const Context, n: usize, kernel: ?[]const Dim) Error!Window {
        return .{
            .kernel = kernel,
            .strides = try perAxis(ctx, "strides", n, 1, 1),
            .dilations = try perAxis(ctx, "dilations", n, 1, 1),
            .pads = try pads(ctx, n),
            .auto_pad = try autoPad(ctx),
        };
    }

    fn same(self: Window) bool {
        return self.auto_pad == .same_upper or self.auto_pad == .same_lower;
    }

    fn padPair(self: Window, i: usize) [2]i64 {
        if (self.auto_pad == .valid) return .{ 0, 0 };
        return .{ self.pads[i], self.pads[i + self.strides.len] };
    }
};

pub fn autoPad(ctx: *const Context) Error!AutoPad {
    const text = ctx.attrString("auto_pad", "NOTSET");
    if (text.len == 0) return .notset; // some exporters write an empty string; runtimes read it as NOTSET
    const names = [_]struct { []const u8, AutoPad }{
        .{ "NOTSET", .notset }, .{ "SAME_UPPER", .same_upper }, .{ "SAME_LOWER", .same_lower }, .{ "VALID", .valid },
    };
    for (names) |pair| if (std.mem.eql(u8, text, pair[0])) return pair[1];
    return ctx.fail("auto_pad '{s}' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID", .{clip(text)});
}

/// An ints attribute with one value per spatial axis, each at least `min`; `default` when absent.
pub fn perAxis(ctx: *const Context, comptime name: []const u8, n: usize, default: i64, min: i64) Error![]const i64 {
    const values = ctx.attrInts(name) orelse {
        const filled = try ctx.alloc(i64, n);
        @memset(filled, default);
        return filled;
    };
    if (values.len != n) return ctx.fail("{s} has {d} values for {d} spatial axes", .{ name, values.len, n });
    for (values) |v| if (v < min) return ctx.fail("{s} holds {d}; it must be at least {d}", .{ name, v, min });
    return values;
}

/// `pads`: a begin and an end per spatial axis, each >= 0; zeros when absent.
pub fn pads(ctx: *const Context, n: usize) Error![]const i64 {
    const values = ctx.attrInts("pads") orelse {
        const zeros = try ctx.alloc(i64, 2 * n);
        @memset(zeros, 0);
        return zeros;
    };
    if (values.len != 2 * n) return ctx.fail("pads has {d} values for {d} spatial axes", .{ values.len, n });
    for (values) |v| if (v < 0) return ctx.fail("pads holds {d}; pads must be >= 0", .{v});
    return values;
}

/// The kernel_shape attribute as dims (each >= 1), checked against `n` spatial axes; null if absent.
pub fn kernelAttribute(ctx: *const Context, n: usize) Error!?[]const Dim {
    if (ctx.attrInts("kernel_shape") == null) return null;
    return try ctx.dims(try perAxis(ctx, "kernel_shape", n, 1, 1));
}

/// (k - 1) * dilation + 1: the span a dilated kernel covers.
pub fn effectiveKernel(ctx: *const Context, k: Dim, dilation: i64) Error!Dim {
    const pool = ctx.pool;
    const one = try ctx.dim(1);
    return pool.add(try pool.mul(try pool.sub(k, one), try ctx.dim(dilation)), one);
}

/// Output extent of spatial axis `i` of a convolution or pooling over `in`:
/// floor((in + pads - effective kernel) / stride) + 1, ceil with ceil_mode, ceil(in / stride) for SAME_*.
pub fn extent(ctx: *const Context, w: Window, i: usize, in: Dim) Error!Dim {
    const pool = ctx.pool;
    const stride = try ctx.dim(w.strides[i]);
    if (w.same()) return pool.ceilDiv(in, stride);
    const kernel = w.kernel orelse return ctx.freshDim("window");
    const span_kernel = try effectiveKernel(ctx, kernel[i], w.dilations[i]);
    const pad = w.padPair(i);
    const padded = try pool.add(try pool.add(in, try ctx.dim(pad[0])), try ctx.dim(pad[1]));
    const span = try pool.sub(padded, span_kernel);
    if (pool.value(span)) |v| if (v < 0) {
        return ctx.fail("spatial axis {d}: the window spans {f}, more than the padded input {f}", .{
            i, pool.fmt(span_kernel), pool.fmt(padded),
        });
    };
    const one = try ctx.dim(1);
    if (!w.ceil_mode) return pool.add(try pool.div(span, stride), one);
    var steps = try pool.ceilDiv(span, stride);
    // The last window must start inside the input or its leading pad, not in the trailing pad. That
    // cap can only bite when the trailing pad leaves less than a stride of the kernel outside it.
    const redundant = if (pool.value(span_kernel)) |k| k - pad[1] >= w.strides[i] else false;
    if (!redundant) {
        const last_start = try pool.sub(try pool.add(in, try ctx.dim(pad[0])), one);
        steps = try pool.min(steps, try pool.div(last_start, stride));
    }
    return pool.add(steps, one);
}

/// The output extent of spatial axis `i` of a transposed convolution (no output_shape given):
/// stride * (in - 1) + output_padding + effective kernel - pads, or in * stride for SAME_*.
pub fn transposedExtent(ctx: *const Context, w: Window, i: usize, in: Dim, output_padding: i64) Error!Dim {
    const pool = ctx.pool;
    const stride = try ctx.dim(w.strides[i]);
    if (w.same()) return pool.mul(in, stride);
    const kernel = w.kernel orelse return ctx.freshDim("window");
    const span_kernel = try effectiveKernel(ctx, kernel[i], w.dilations[i]);
    const pad = w.padPair(i);
    const grown = try pool.mul(stride, try pool.sub(in, try ctx.dim(1)));
    const full = try pool.add(try pool.add(grown, span_kernel), try ctx.dim(output_padding));
    const out = try pool.sub(try pool.sub(full, try ctx.dim(pad[0])), try ctx.dim(pad[1]));
    if (pool.value(out)) |v| if (v < 0) return ctx.fail("spatial axis {d}: pads exceed the output ({d})", .{ i, v });
    return out;
}

/// Bounds an untrusted string echoed in a message.
pub fn clip(text: []const u8) []const u8 {
    return text[0..@min(text.len, 64)];
}

/// Fails when two known dims differ; `what` names them for the message.
pub fn checkSame(ctx: *const Context, a: Dim, b: Dim, comptime what: []const u8) Error!void {
    const x = ctx.pool.value(a) orelse return;
    const y = ctx.pool.value(b) orelse return;
    if (x != y) return ctx.fail(what ++ " ({d} and {d}) must be equal", .{ x, y });
}

/// Fails unless input `i`, when its rank is known, has rank `expected`.
pub fn checkRank(ctx: *const Context, i: usize, expected: usize) Error!void {
    const r = ctx.rank(i) orelse return;
    if (r != expected) return ctx.fail("input {d} has rank {d}; it must have rank {d}", .{ i, r, expected });
}
