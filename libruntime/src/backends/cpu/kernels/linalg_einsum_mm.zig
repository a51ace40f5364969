//! Einsum's fast path: a two-operand contraction whose labels are each batch (both operands and
//! the output), row (A and output), column (B and output) or summed (A and B) is a batched
//! matrix product. The operands are permuted (copied only when out of order) to [batch, M, K] and
//! [batch, K, N], multiplied by linalg.zig (SGEMM for float32), and the result permuted back.
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");
const linalg = @import("linalg.zig");

const Context = kernel.Context;

const max_axes = 64;

pub const Operand = struct { labels: []const usize, shape: []const i64 };

/// Writes the product into `out` and returns true, or returns false (nothing written) when the
/// equation is not a plain contraction.
pub fn contract(
    comptime T: type,
    ctx: *Context,
    a: Operand,
    b: Operand,
    out_labels: []const usize,
    size: []const usize,
    x: []const T,
    y: []const T,
    out: []T,
) status.Error!bool {
    if (a.labels.len > max_axes or b.labels.len > max_axes or out_labels.len > max_axes) return false;
    if (repeats(a.labels) or repeats(b.labels)) return false;
    // Broadcast dims of 1 (ellipsis) would need stride-0 copies: leave them to the general walk.
    for (a.labels, a.shape) |l, d| if (d != @as(i64, @intCast(size[l]))) return false;
    for (b.labels, b.shape) |l, d| if (d != @as(i64, @intCast(size[l]))) return false;
    var order_a: [max_axes]usize = undefined; // labels of A as [batch, m, k]
    var order_b: [max_axes]usize = undefined; // labels of B as [batch, k, n]
    var order_r: [max_axes]usize = undefined; // labels of the product as [batch, m, n]
    var nb: usize = 0;
    var nm: usize = 0;
    var nk: usize = 0;
    var nn: usize = 0;
    var batch: usize = 1;
    var m: usize = 1;
    var k: usize = 1;
    var n: usize = 1;
    inline for (.{ 0, 1, 2 }) |pass| for (a.labels) |l| {
        const in_b = has(b.labels, l);
        const in_out = has(out_labels, l);
        if (!in_b and !in_out) return false;
        const class: usize = if (in_b and in_out) 0 else if (in_out) 1 else 2;
        if (class != pass) continue;
        switch (pass) {
            0 => {
                order_a[nb] = l;
                nb += 1;
                batch *= size[l];
            },
            1 => {
                order_a[nb + nm] = l;
                nm += 1;
                m *= size[l];
            },
            else => {
                order_a[nb + nm + nk] = l;
                nk += 1;
                k *= size[l];
            },
        }
    };
    for (b.labels) |l| {
        if (has(a.labels, l)) continue;
        if (!has(out_labels, l)) return false;
        order_r[nb + nm + nn] = l;
        nn += 1;
        n *= size[l];
    }
    for (out_labels) |l| if (!has(a.labels, l) and !has(b.labels, l)) return false;
    @memcpy(order_b[0..nb], order_a[0..nb]);
    @memcpy(order_b[nb..][0..nk], order_a[nb + nm ..][0..nk]);
    @memcpy(order_b[nb + nk ..][0..nn], order_r[nb + nm ..][0..nn]);
    @memcpy(order_r[0 .. nb + nm], order_a[0 .. nb + nm]);
    const a_in = try permuted(T, ctx, x, a.labels, order_a[0 .. nb + nm + nk], size);
    const b_in = try permuted(T, ctx, y, b.labels, order_b[0 .. nb + nk + nn], size);
    const direct = std.mem.eql(usize, order_r[0 .. nb + nm + nn], out_labels);
    const product = if (direct) out else try ctx.alloc(T, out.len);
    const index = try ctx.alloc(usize, batch);
    for (index, 0..) |*v, i| v.* = i;
    const plan: linalg.Plan = .{ .m = m, .k = k, .n = n, .out_shape = &.{}, .a_index = index, .b_index = index };
    try linalg.matmulTyped(T, ctx, plan, a_in, b_in, product);
    if (!direct) permuteInto(T, product, order_r[0 .. nb + nm + nn], out_labels, size, out);
    return true;
}

fn has(labels: []const usize, l: usize) bool {
    return std.mem.indexOfScalar(usize, labels, l) != null;
}

fn repeats(labels: []const usize) bool {
    for (labels, 0..) |l, i| if (has(labels[0..i], l)) return true;
    return false;
}

/// `src` (axes labelled `from`) with its axes reordered to `to`; no copy when already in order.
fn permuted(
    comptime T: type,
    ctx: *Context,
    src: []const T,
    from: []const usize,
    to: []const usize,
    size: []const usize,
) status.Error![]const T {
    if (std.mem.eql(usize, from, to)) return src;
    const dst = try ctx.alloc(T, src.len);
    permuteInto(T, src, from, to, size, dst);
    return dst;
}

fn permuteInto(
    comptime T: type,
    src: []const T,
    from: []const usize,
    to: []const usize,
    size: []const usize,
    dst: []T,
) void {
    if (dst.len == 0) return;
    // Stride in src of each destination axis, then an odometer over the destination.
    var strides: [max_axes]usize = undefined;
    var dims: [max_axes]usize = undefined;
    for (to, 0..) |l, i| {
        var stride: usize = 1;
        var j = from.len;
        while (j > 0) {
            j -= 1;
            if (from[j] == l) break;
            stride *= size[from[j]];
        }
        strides[i] = stride;
        dims[i] = size[l];
    }
    var index = [_]usize{0} ** max_axes;
    var offset: usize = 0;
    for (dst) |*d| {
        d.* = src[offset];
        var i = to.len;
        while (i > 0) {
            i -= 1;
            index[i] += 1;
            offset += strides[i];
            if (index[i] < dims[i]) break;
            offset -= strides[i] * index[i];
            index[i] = 0;
        }
    }
}
