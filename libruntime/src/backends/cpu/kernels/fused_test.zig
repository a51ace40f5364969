//! The fused convolution stores against the unfused path: the same convolution computed plainly,
//! then the residual added and the activation applied as the standalone Add, Relu, Clip, Sigmoid
//! and Mul kernels compute them. The results must be the same bits, for every engine: the GEMM
//! with W on the left (column blocks, and the whole-B plan of small maps, threaded), on the right
//! (7x7-like maps), and the depthwise kernel (full and partial vectors, strides 1 and 2). The
//! engines themselves are checked against the plain loops of nn_conv.convolve.
const std = @import("std");
const ThreadPool = @import("../thread_pool.zig").ThreadPool;
const simd = @import("simd_math.zig");
const fused = @import("fused.zig");
const nn_conv = @import("nn_conv.zig");
const fixture = @import("conv_fixture.zig");
const testing = std.testing;
const Case = fixture.Case;
const Fixture = fixture.Fixture;
const fill = fixture.fill;
const conv = fixture.conv;

/// The standalone kernels' arithmetic, one op at a time over the whole output.
fn unfusedTail(y: []f32, residual: ?[]const f32, activation: fused.Activation) void {
    if (residual) |r| for (y, r) |*o, v| {
        o.* = o.* + v;
    };
    switch (activation.kind) {
        .none => {},
        .relu => simd.map(simd.relu, y, y),
        // The standalone Clip kernel runs Activation.map on float32.
        .clip => activation.map(y, y),
        .sigmoid => simd.map(simd.sigmoid, y, y),
        .silu => {
            const gate = testing.allocator.alloc(f32, y.len) catch unreachable;
            defer testing.allocator.free(gate);
            simd.map(simd.sigmoid, y, gate);
            for (y, gate) |*v, s| v.* = v.* * s;
        },
    }
}

fn runCase(case: Case, pool: ?*ThreadPool, random: std.Random) !void {
    var state = std.heap.ArenaAllocator.init(testing.allocator);
    defer state.deinit();
    const arena = state.allocator();
    const f = try Fixture.init(arena, case, pool, random);
    const residual = try arena.alloc(f32, f.outCount());
    fill(random, residual);
    const activations = [_]fused.Activation{
        .none,
        .{ .kind = .relu },
        .{ .kind = .clip, .lo = 0, .hi = 6 },
        .{ .kind = .sigmoid },
        .{ .kind = .silu },
    };
    const plain = try arena.alloc(f32, residual.len);
    try conv(&f.ctx, f.shape, f.x, f.w, f.bias, .none, plain);
    for (activations) |activation| for ([_]bool{ false, true }) |with_residual| {
        const fusion: fused.ConvFusion = .{ .residual = if (with_residual) residual else null, .activation = activation };
        const want = try arena.dupe(f32, plain);
        unfusedTail(want, fusion.residual, activation);
        const got = try arena.alloc(f32, residual.len);
        try conv(&f.ctx, f.shape, f.x, f.w, f.bias, fusion, got);
        for (want, got) |a, b| try testing.expectEqual(@as(u32, @bitCast(a)), @as(u32, @bitCast(b)));
    };
}

const cases = [_]Case{
    // W on the left, column blocks: 16x16 = 256 positions, 1x1 and 3x3.
    .{ .c = 8, .m = 13, .in = 16, .kernel = 1 },
    .{ .c = 5, .m = 7, .in = 16, .kernel = 3, .pad = 1 },
    // Whole-B plan on two threads: 14x14.
    .{ .c = 24, .m = 20, .in = 14, .kernel = 1 },
    // W on the right: 7x7 and a strided 3x3 down to 4x4.
    .{ .c = 16, .m = 19, .in = 7, .kernel = 1 },
    .{ .c = 6, .m = 9, .in = 8, .kernel = 3, .stride = 2, .pad = 1 },
    // Depthwise: partial vectors (10 wide), stride 2, and a depth multiplier of 2.
    .{ .c = 6, .m = 6, .group = 6, .in = 10, .kernel = 3, .pad = 1 },
    .{ .c = 4, .m = 4, .group = 4, .in = 19, .kernel = 3, .stride = 2, .pad = 1 },
    .{ .c = 3, .m = 6, .group = 3, .in = 9, .kernel = 5, .pad = 2 },
    // Grouped but not depthwise: the GEMM per group.
    .{ .c = 8, .m = 6, .group = 2, .in = 9, .kernel = 3, .pad = 1 },
};

test "the engines agree with the plain convolution loops" {
    var prng = std.Random.DefaultPrng.init(13);
    const random = prng.random();
    for (cases) |case| {
        var state = std.heap.ArenaAllocator.init(testing.allocator);
        defer state.deinit();
        const arena = state.allocator();
        const f = try Fixture.init(arena, case, null, random);
        const want = try arena.alloc(f32, f.outCount());
        try nn_conv.convolve(f32, &f.ctx, f.shape, f.x, f.w, f.bias, want);
        const got = try arena.alloc(f32, want.len);
        try conv(&f.ctx, f.shape, f.x, f.w, f.bias, .none, got);
        for (want, got) |a, b| try testing.expectApproxEqAbs(a, b, 1e-4);
    }
}

test "fused convolution stores give the unfused bits, single-threaded" {
    var prng = std.Random.DefaultPrng.init(11);
    for (cases) |case| try runCase(case, null, prng.random());
}

test "fused convolution stores give the unfused bits on two threads" {
    const pool = try ThreadPool.init(testing.allocator, .{ .threads = 2 });
    defer pool.deinit();
    var prng = std.Random.DefaultPrng.init(12);
    for (cases) |case| try runCase(case, pool, prng.random());
}
