//! The Winograd engine against the direct convolution (the GEMM engine, itself checked against
//! the plain loops), at sizes that are not whole tiles or whole vectors, with pads, several
//! images' worth of blocks, one and two threads; and its fused residual and activation against
//! the same steps done afterwards, bit for bit.
const std = @import("std");
const ThreadPool = @import("../thread_pool.zig").ThreadPool;
const fused = @import("fused.zig");
const fixture = @import("conv_fixture.zig");
const testing = std.testing;
const Case = fixture.Case;

/// Normalized error: sum of squared differences over the reference's sum of squares.
fn nmse(want: []const f32, got: []const f32) f64 {
    var err: f64 = 0;
    var norm: f64 = 0;
    for (want, got) |a, b| {
        const d: f64 = @as(f64, a) - b;
        err += d * d;
        norm += @as(f64, a) * a;
    }
    return err / @max(norm, 1e-30);
}

fn runCase(case: Case, pool: ?*ThreadPool, seed: u64) !void {
    var state = std.heap.ArenaAllocator.init(testing.allocator);
    defer state.deinit();
    const arena = state.allocator();
    var prng = std.Random.DefaultPrng.init(seed);
    const f = try fixture.Fixture.init(arena, case, pool, prng.random());
    const want = try arena.alloc(f32, f.outCount());
    try fixture.conv(&f.ctx, f.shape, f.x, f.w, f.bias, .none, want);
    const got = try arena.alloc(f32, want.len);
    @memset(got, std.math.nan(f32)); // an output the engine never writes shows
    try fixture.winogradConv(&f.ctx, f.shape, f.x, f.w, f.bias, .none, got);
    for (got) |v| try testing.expect(std.math.isFinite(v));
    const e = nmse(want, got);
    if (e > 1e-10) {
        std.debug.print("winograd {any}: nmse {e}\n", .{ case, e });
        return error.TestExpectedApproxEq;
    }

    // Fused residual and activation: the unfused steps on the engine's own plain output.
    const residual = try arena.alloc(f32, want.len);
    fixture.fill(prng.random(), residual);
    const fusion: fused.ConvFusion = .{ .residual = residual, .activation = .{ .kind = .clip, .lo = 0, .hi = 6 } };
    const tail = try arena.dupe(f32, got);
    for (tail, residual) |*o, r| o.* += r;
    fusion.activation.applySlice(tail);
    const fused_out = try arena.alloc(f32, want.len);
    try fixture.winogradConv(&f.ctx, f.shape, f.x, f.w, f.bias, fusion, fused_out);
    for (tail, fused_out) |a, b| try testing.expectEqual(@as(u32, @bitCast(a)), @as(u32, @bitCast(b)));
}

const cases = [_]Case{
    // Whole tiles and vectors; then ragged edges, channels not a multiple of 16, no pads.
    .{ .c = 32, .m = 32, .in = 8, .kernel = 3, .pad = 1 },
    .{ .c = 37, .m = 45, .in = 13, .kernel = 3, .pad = 1 },
    .{ .c = 33, .m = 17, .in = 11, .kernel = 3 },
    // Many tile rows: several blocks per image, and on two threads whole blocks per thread.
    .{ .c = 64, .m = 48, .in = 58, .kernel = 3, .pad = 1 },
    // Wide channels on a small map: the GEMM's blocking over K.
    .{ .c = 300, .m = 70, .in = 14, .kernel = 3, .pad = 1 },
    .{ .c = 16, .m = 40, .in = 7, .kernel = 3, .pad = 2 },
};

test "Winograd F(4x4, 3x3) agrees with the direct convolution on one thread" {
    for (cases, 0..) |case, i| try runCase(case, null, 100 + i);
}

test "Winograd F(4x4, 3x3) agrees with the direct convolution on two threads" {
    const pool = try ThreadPool.init(testing.allocator, .{ .threads = 2 });
    defer pool.deinit();
    for (cases, 0..) |case, i| try runCase(case, pool, 200 + i);
}
