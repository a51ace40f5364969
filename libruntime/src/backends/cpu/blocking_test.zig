//! Every blocking any machine can get, on this one. The GEMM's MC and KC come from the caches the
//! CPU reports (gemm.Tuning.forVariant), so a machine with other caches runs other loop bounds;
//! a bug that only some bounds reach passed on one machine and failed on the next. Here every
//! kernel variant runs with the blocking of every L1 from 32 to 64 KiB and every L2 from 256 KiB
//! to 32 MiB: the GEMM (row-major and transposed A, packed A and B, 1 and 2 threads) against a
//! float64 reference, and the convolution engines (W on the left in column blocks and the
//! whole-B plan, W on the right, depthwise) against the plain loops (pooling and depthwise
//! have no cache-dependent blocking: they run alike on every machine, and the conformance
//! suite's pooling cases cover them at every CPU level). Shapes are
//! chosen to cross the largest MC (480 rows) and KC (512) that any of those caches give.
//! The vector code of every variant is correct on any target (narrower ones just split it), so
//! all three run here whatever this CPU is.
const std = @import("std");
const gemm = @import("gemm.zig");
const kernels = @import("gemm_kernels.zig");
const ThreadPool = @import("thread_pool.zig").ThreadPool;
const im2col = @import("kernels/nn_im2col.zig");
const nn_conv = @import("kernels/nn_conv.zig");
const fixture = @import("kernels/conv_fixture.zig");

const testing = std.testing;
const allocator = testing.allocator;

const l1_sizes = [_]u64{ 32 << 10, 48 << 10, 64 << 10 };
const l2_sizes = [_]u64{ 256 << 10, 512 << 10, 1 << 20, 1280 << 10, 2 << 20, 4 << 20, 8 << 20, 32 << 20 };
const variants = [_]gemm.Variant{ .portable, .avx2, .avx512 };

/// The distinct blockings of one variant over every cache pair (many pairs give the same one).
fn blockings(variant: gemm.Variant, out: *[l1_sizes.len * l2_sizes.len]gemm.Tuning) []gemm.Tuning {
    var len: usize = 0;
    for (l1_sizes) |l1| for (l2_sizes) |l2| {
        const t = gemm.Tuning.forVariant(variant, l1, l2);
        for (out[0..len]) |seen| {
            if (seen.mc == t.mc and seen.kc == t.kc) break;
        } else {
            out[len] = t;
            len += 1;
        }
    };
    return out[0..len];
}

test "the blockings cover small and large MC and KC" {
    var buffer: [l1_sizes.len * l2_sizes.len]gemm.Tuning = undefined;
    for (variants) |variant| {
        const list = blockings(variant, &buffer);
        var min_mc: usize = std.math.maxInt(usize);
        var max_mc: usize = 0;
        for (list) |t| {
            min_mc = @min(min_mc, t.mc);
            max_mc = @max(max_mc, t.mc);
        }
        try testing.expect(list.len >= 4);
        try testing.expect(max_mc > min_mc);
        // The shapes below cross the largest blocks.
        try testing.expect(max_mc < gemm_m and list[0].kc < gemm_k);
    }
}

const gemm_m = 500;
const gemm_k = 530;

/// A x B (M x K times K x N) in float64, with the sum of magnitudes for the tolerance.
fn reference(m: usize, n: usize, k: usize, a: []const f32, trans_a: bool, b: []const f32, want: []f64, size: []f64) void {
    for (0..m) |i| for (0..n) |j| {
        var sum: f64 = 0;
        var mag: f64 = 0;
        for (0..k) |p| {
            const x: f64 = if (trans_a) a[p * m + i] else a[i * k + p];
            const y: f64 = b[p * n + j];
            sum += x * y;
            mag += @abs(x * y);
        }
        want[i * n + j] = sum;
        size[i * n + j] = mag;
    };
}

fn expectClose(got: []const f32, want: []const f64, size: []const f64, what: []const u8, t: gemm.Tuning) !void {
    for (got, want, size, 0..) |g, w, s, i| {
        if (!(@abs(g - w) <= 1e-4 * s + 1e-30)) {
            std.debug.print("{s}: element {d} is {d}, want {d} ({s}, MC {d}, KC {d})\n", .{ what, i, g, w, @tagName(t.variant), t.mc, t.kc });
            return error.TestUnexpectedResult;
        }
    }
}

fn randomFloats(random: std.Random, len: usize) ![]f32 {
    const out = try allocator.alloc(f32, len);
    fixture.fill(random, out);
    return out;
}

test "the GEMM is right under every blocking, packed or not, on 1 and 2 threads" {
    const pool = try ThreadPool.init(allocator, .{ .threads = 2 });
    defer pool.deinit();
    var prng = std.Random.DefaultPrng.init(21);
    const random = prng.random();
    // M and K past every MC and KC; N past one NC-free task split and with a ragged edge.
    const shapes = [_][3]usize{ .{ gemm_m, 67, gemm_k }, .{ 7, 300, gemm_k }, .{ 169, 40, 1000 } };
    for (shapes) |shape| {
        const m, const n, const k = shape;
        const a = try randomFloats(random, m * k);
        defer allocator.free(a);
        const b = try randomFloats(random, k * n);
        defer allocator.free(b);
        const want = try allocator.alloc(f64, m * n);
        defer allocator.free(want);
        const size = try allocator.alloc(f64, m * n);
        defer allocator.free(size);
        const c = try allocator.alloc(f32, m * n);
        defer allocator.free(c);
        for ([_]bool{ false, true }) |trans_a| {
            reference(m, n, k, a, trans_a, b, want, size);
            var buffer: [l1_sizes.len * l2_sizes.len]gemm.Tuning = undefined;
            for (variants) |variant| for (blockings(variant, &buffer)) |t| {
                var tuning = t;
                tuning.min_macs_per_thread = 1;
                for ([_]?*ThreadPool{ null, pool }) |p| {
                    @memset(c, std.math.nan(f32));
                    try gemm.gemmOnce(allocator, tuning, .{ .m = m, .n = n, .k = k, .a = a, .lda = if (trans_a) m else k, .trans_a = trans_a, .c = c, .ldc = n }, b, n, false, p);
                    try expectClose(c, want, size, "gemm", tuning);
                    if (trans_a) continue;
                    // A packed once (a convolution's weights), B packed per call.
                    var packed_a = try gemm.PackedA.init(allocator, variant, a, k, m, k);
                    defer packed_a.deinit();
                    var packed_b = try gemm.PackedB.init(allocator, tuning, b, n, false, k, n);
                    defer packed_b.deinit();
                    @memset(c, std.math.nan(f32));
                    try gemm.gemmPacked(.{ .m = m, .n = n, .k = k, .a = &.{}, .lda = k, .c = c, .ldc = n }, &packed_a, &packed_b, p);
                    try expectClose(c, want, size, "gemm, A packed", tuning);
                }
            };
        }
    }
}

/// Each engine of the convolution, sized to cross MC and KC: squeezenet's last layer (1x1,
/// 13x13, W on the left), a 3x3 with many taps, a 7x7 map (W on the right), depthwise.
const conv_cases = [_]fixture.Case{
    .{ .c = 512, .m = 500, .in = 13, .kernel = 1 },
    .{ .c = 64, .m = 48, .in = 13, .kernel = 3, .pad = 1 },
    .{ .c = 600, .m = 40, .in = 7, .kernel = 1 },
    .{ .c = 64, .m = 24, .in = 20, .kernel = 3, .stride = 2, .pad = 1 },
    .{ .c = 16, .m = 16, .group = 16, .in = 21, .kernel = 3, .pad = 1 },
};

test "the convolution engines are right under every blocking, on 1 and 2 threads" {
    const pool = try ThreadPool.init(allocator, .{ .threads = 2 });
    defer pool.deinit();
    defer im2col.overrideTuningForTests(null);
    var prng = std.Random.DefaultPrng.init(22);
    for (conv_cases) |case| {
        var state = std.heap.ArenaAllocator.init(allocator);
        defer state.deinit();
        const arena = state.allocator();
        const f = try fixture.Fixture.init(arena, case, null, prng.random());
        const want = try arena.alloc(f32, f.outCount());
        try nn_conv.convolve(f32, &f.ctx, f.shape, f.x, f.w, f.bias, want);
        const got = try arena.alloc(f32, want.len);
        var buffer: [l1_sizes.len * l2_sizes.len]gemm.Tuning = undefined;
        for (variants) |variant| for (blockings(variant, &buffer)) |tuning| {
            im2col.overrideTuningForTests(tuning);
            for ([_]?*ThreadPool{ null, pool }) |p| {
                f.ctx.pool = p;
                @memset(got, std.math.nan(f32));
                try fixture.conv(&f.ctx, f.shape, f.x, f.w, f.bias, .none, got);
                for (want, got, 0..) |a, b, i| {
                    if (!(@abs(a - b) <= 1e-4 * (1 + @abs(a)))) {
                        std.debug.print("conv {any}: element {d} is {d}, want {d} ({s}, MC {d}, KC {d})\n", .{ case, i, b, a, @tagName(variant), tuning.mc, tuning.kc });
                        return error.TestUnexpectedResult;
                    }
                }
            }
        };
    }
}
