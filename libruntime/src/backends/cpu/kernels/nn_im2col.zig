//! The data movement under the convolutions: im2col (each kernel tap's shifted input plane as a
//! row, so a convolution is one GEMM), its adjoint col2im (ConvTranspose, Col2Im), and the GEMMs
//! they feed: the packed SGEMM of backends/cpu/gemm.zig for f32, plain loops for f64 and int32.
const std = @import("std");
const common = @import("nn_common.zig");
const gemm_module = @import("../gemm.zig");

const Context = common.Context;
const Error = common.Error;
const Geometry = common.Geometry;

/// Writes `channels` planes of `src` (each g.inCount()) as channels * kernelCount rows of
/// g.outCount() columns; taps that fall in the padding read as zero.
pub fn im2col(comptime T: type, g: Geometry, src: []const T, channels: usize, col: []T) void {
    im2colFill(T, g, src, channels, col, 0);
}

/// im2col with taps in the padding read as `fill` (a quantized input's zero point, the value
/// that stands for 0).
pub fn im2colFill(comptime T: type, g: Geometry, src: []const T, channels: usize, col: []T, fill: T) void {
    const plane_in = g.inCount();
    const plane_out = g.outCount();
    var row: usize = 0;
    for (0..channels) |c| {
        const plane = src[c * plane_in ..][0..plane_in];
        for (0..g.kernel[0]) |kd| for (0..g.kernel[1]) |kh| for (0..g.kernel[2]) |kw| {
            const dst = col[row * plane_out ..][0..plane_out];
            row += 1;
            const taps = [3]usize{ kd, kh, kw };
            tapRows(T, g, taps, @constCast(plane), dst, .copy, fill); // copy only reads the plane
        };
    }
}

/// The adjoint of im2col: adds each row of `col` back into the planes it was read from.
pub fn col2im(comptime T: type, g: Geometry, col: []const T, channels: usize, dst: []T) void {
    const plane_in = g.inCount();
    const plane_out = g.outCount();
    var row: usize = 0;
    for (0..channels) |c| {
        const plane = dst[c * plane_in ..][0..plane_in];
        for (0..g.kernel[0]) |kd| for (0..g.kernel[1]) |kh| for (0..g.kernel[2]) |kw| {
            const src = col[row * plane_out ..][0..plane_out];
            row += 1;
            const taps = [3]usize{ kd, kh, kw };
            tapRows(T, g, taps, plane, @constCast(src), .accumulate, 0); // accumulate only reads the row
        };
    }
}

const Direction = enum { copy, accumulate };

/// For one kernel tap, walks the output positions: `.copy` gathers plane -> row (zeros outside),
/// `.accumulate` scatters row -> plane (adds, skipping taps outside). `fill` is what `.copy`
/// writes for taps in the padding.
fn tapRows(comptime T: type, g: Geometry, taps: [3]usize, plane: []T, row: []T, comptime direction: Direction, fill: T) void {
    var offsets: [3]i64 = undefined;
    for (0..3) |i| offsets[i] = @as(i64, @intCast(taps[i] * g.dilation[i])) - g.pad[i];
    const r0 = common.validRange(g.out[0], g.in[0], g.stride[0], offsets[0]);
    const r1 = common.validRange(g.out[1], g.in[1], g.stride[1], offsets[1]);
    const r2 = common.validRange(g.out[2], g.in[2], g.stride[2], offsets[2]);
    const out_hw = g.out[1] * g.out[2];
    if (direction == .copy) {
        @memset(row[0 .. r0[0] * out_hw], fill);
        @memset(row[r0[1] * out_hw ..], fill);
    }
    for (r0[0]..r0[1]) |od| {
        const id: usize = @intCast(@as(i64, @intCast(od * g.stride[0])) + offsets[0]);
        const slab = row[od * out_hw ..][0..out_hw];
        if (direction == .copy) {
            @memset(slab[0 .. r1[0] * g.out[2]], fill);
            @memset(slab[r1[1] * g.out[2] ..], fill);
        }
        for (r1[0]..r1[1]) |oh| {
            const ih: usize = @intCast(@as(i64, @intCast(oh * g.stride[1])) + offsets[1]);
            const line = slab[oh * g.out[2] ..][0..g.out[2]];
            const src = plane[(id * g.in[1] + ih) * g.in[2] ..][0..g.in[2]];
            if (direction == .copy) {
                @memset(line[0..r2[0]], fill);
                @memset(line[r2[1]..], fill);
            }
            if (r2[0] == r2[1]) continue;
            const iw0: usize = @intCast(@as(i64, @intCast(r2[0] * g.stride[2])) + offsets[2]);
            if (g.stride[2] == 1) {
                const n = r2[1] - r2[0];
                if (direction == .copy) {
                    @memcpy(line[r2[0]..r2[1]], src[iw0..][0..n]);
                } else for (src[iw0..][0..n], line[r2[0]..r2[1]]) |*d, v| {
                    d.* += v;
                }
            } else {
                var iw = iw0;
                for (line[r2[0]..r2[1]]) |*v| {
                    if (direction == .copy) v.* = src[iw] else src[iw] += v.*;
                    iw += g.stride[2];
                }
            }
        }
    }
}

var tuning_once = std.once(initTuning);
var tuning: gemm_module.Tuning = undefined;

fn initTuning() void {
    tuning = gemm_module.Tuning.host();
}

/// Set only by tests (blocking_test.zig), to run the convolution engines with the blocking of
/// other machines' caches; null in the library.
var tuning_override: ?gemm_module.Tuning = null;

/// The GEMM blocking and kernel for this CPU, detected once.
pub fn hostTuning() gemm_module.Tuning {
    if (@import("builtin").is_test) if (tuning_override) |t| return t;
    tuning_once.call();
    return tuning;
}

pub fn overrideTuningForTests(t: ?gemm_module.Tuning) void {
    tuning_override = t;
}

/// Part of one im2col row: for kernel tap `taps`, the input values under output positions
/// [first, first + row.len) of the flattened output (zeros where the tap is in the padding).
/// The convolution packs its GEMM operand a column block at a time with this.
pub fn tapSpan(g: Geometry, taps: [3]usize, plane: []const f32, first: usize, row: []f32) void {
    var offsets: [3]i64 = undefined;
    for (0..3) |i| offsets[i] = @as(i64, @intCast(taps[i] * g.dilation[i])) - g.pad[i];
    const valid_w = common.validRange(g.out[2], g.in[2], g.stride[2], offsets[2]);
    if (row.len == 0) return;
    // The output position as (od, oh, ow), stepped line by line: small maps (13x13) have short
    // lines, where dividing per line cost more than the copy.
    var ow0 = first % g.out[2];
    var oh = (first / g.out[2]) % g.out[1];
    var od = first / (g.out[2] * g.out[1]);
    var done: usize = 0;
    while (done < row.len) {
        const n = @min(g.out[2] - ow0, row.len - done);
        const seg = row[done..][0..n];
        done += n;
        const id = @as(i64, @intCast(od * g.stride[0])) + offsets[0];
        const ih = @as(i64, @intCast(oh * g.stride[1])) + offsets[1];
        const lo_w = ow0;
        ow0 = 0;
        oh += 1;
        if (oh == g.out[1]) {
            oh = 0;
            od += 1;
        }
        if (id < 0 or id >= g.in[0] or ih < 0 or ih >= g.in[1]) {
            @memset(seg, 0);
            continue;
        }
        const src = plane[(@as(usize, @intCast(id)) * g.in[1] + @as(usize, @intCast(ih))) * g.in[2] ..][0..g.in[2]];
        const lo = std.math.clamp(valid_w[0], lo_w, lo_w + n);
        const hi = std.math.clamp(valid_w[1], lo, lo_w + n);
        @memset(seg[0 .. lo - lo_w], 0);
        @memset(seg[hi - lo_w ..], 0);
        if (lo == hi) continue;
        const iw0: usize = @intCast(@as(i64, @intCast(lo * g.stride[2])) + offsets[2]);
        const inside = seg[lo - lo_w .. hi - lo_w];
        if (g.stride[2] == 1) {
            @memcpy(inside, src[iw0..][0..inside.len]);
        } else for (inside, 0..) |*v, i| {
            v.* = src[iw0 + i * g.stride[2]];
        }
    }
}

pub const Dims = struct { m: usize, n: usize, k: usize, trans_a: bool = false, accumulate: bool = false };

/// C (m x n, leading dim n) = A (m x k) * B (k x n) + (C when `accumulate`), all row-major.
/// A may be given transposed (k x m) with `trans_a`.
pub fn matmul(
    comptime T: type,
    ctx: *const Context,
    dims: Dims,
    a: []const T,
    b: []const T,
    c: []T,
) Error!void {
    const m = dims.m;
    const n = dims.n;
    const k = dims.k;
    if (m == 0 or n == 0) return;
    if (T == f32) {
        return gemm_module.gemmOnce(ctx.arena, hostTuning(), .{
            .m = m,
            .n = n,
            .k = k,
            .a = a,
            .lda = if (dims.trans_a) m else k,
            .trans_a = dims.trans_a,
            .c = c,
            .ldc = n,
            .beta = if (dims.accumulate) 1 else 0,
        }, b, n, false, ctx.pool);
    }
    // f64 and int32: i-k-j order, so the inner loop streams rows of B and C and vectorizes.
    for (0..m) |i| {
        const row = c[i * n ..][0..n];
        if (!dims.accumulate) @memset(row, 0);
        for (0..k) |kk| {
            const av = if (dims.trans_a) a[kk * m + i] else a[i * k + kk];
            if (av == 0) continue;
            for (row, b[kk * n ..][0..n]) |*o, bv| {
                if (@typeInfo(T) == .int) o.* +%= av *% bv else o.* += av * bv;
            }
        }
    }
}

test "col2im is the adjoint of im2col" {
    // <im2col(x), c> == <x, col2im(c)> for any x and c: every tap is read and written alike.
    const g = Geometry{
        .rank = 2,
        .in = .{ 1, 5, 4 },
        .out = .{ 1, 3, 2 },
        .kernel = .{ 1, 3, 2 },
        .stride = .{ 1, 2, 2 },
        .dilation = .{ 1, 1, 2 },
        .pad = .{ 0, 1, 1 },
    };
    var x: [2 * 20]f64 = undefined;
    var c: [2 * 6 * 6]f64 = undefined;
    for (&x, 0..) |*v, i| v.* = @floatFromInt(i % 7);
    for (&c, 0..) |*v, i| v.* = @floatFromInt(i % 5);
    var col: [2 * 6 * 6]f64 = undefined;
    im2col(f64, g, &x, 2, &col);
    var back = [_]f64{0} ** 40;
    col2im(f64, g, &c, 2, &back);
    var left: f64 = 0;
    var right: f64 = 0;
    for (col, c) |a, b| left += a * b;
    for (x, back) |a, b| right += a * b;
    try std.testing.expectEqual(left, right);
}

test "tapSpan gives the columns of im2col's rows" {
    const g = Geometry{
        .rank = 3,
        .in = .{ 3, 5, 6 },
        .out = .{ 2, 3, 4 },
        .kernel = .{ 2, 3, 2 },
        .stride = .{ 1, 2, 2 },
        .dilation = .{ 2, 1, 1 },
        .pad = .{ 0, 1, 1 },
    };
    var x: [3 * 5 * 6]f32 = undefined;
    for (&x, 0..) |*v, i| v.* = @floatFromInt(i + 1);
    const taps = 2 * 3 * 2;
    var col: [taps * 24]f32 = undefined;
    im2col(f32, g, &x, 1, &col);
    var row: [24]f32 = undefined;
    for (0..taps) |tap| {
        const t = [3]usize{ tap / 6, (tap / 2) % 3, tap % 2 };
        for ([_][2]usize{ .{ 0, 24 }, .{ 3, 9 }, .{ 5, 1 }, .{ 13, 11 } }) |span| {
            tapSpan(g, t, &x, span[0], row[0..span[1]]);
            try std.testing.expectEqualSlices(f32, col[tap * 24 + span[0] ..][0..span[1]], row[0..span[1]]);
        }
    }
}
