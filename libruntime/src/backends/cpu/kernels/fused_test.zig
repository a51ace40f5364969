//! The fused convolution stores against the unfused path: the same convolution computed plainly,
//! then the residual added and the activation applied as the standalone Add, Relu, Clip, Sigmoid
//! and Mul kernels compute them. The results must be the same bits, for every engine: the GEMM
//! with W on the left (column blocks, and the whole-B plan of small maps, threaded), on the right
//! (7x7-like maps), and the depthwise kernel (full and partial vectors, strides 1 and 2). The
//! engines themselves are checked against the plain loops of nn_conv.convolve.
const std = @import("std");
const status = @import("../../../core/status.zig");
const ir = @import("../../../model/ir.zig");
const kernel = @import("../../../exec/kernel.zig");
const ThreadPool = @import("../thread_pool.zig").ThreadPool;
const common = @import("nn_common.zig");
const conv_gemm = @import("nn_conv_gemm.zig");
const depthwise = @import("nn_depthwise.zig");
const simd = @import("simd_math.zig");
const fused = @import("fused.zig");
const nn_conv = @import("nn_conv.zig");

const Tensor = kernel.Tensor;
const testing = std.testing;

const Case = struct {
    c: usize,
    m: usize,
    group: usize = 1,
    in: usize,
    kernel: usize,
    stride: usize = 1,
    pad: usize = 0,
};

fn geometry(case: Case) common.Geometry {
    const out = (case.in + 2 * case.pad - case.kernel) / case.stride + 1;
    return .{
        .rank = 2,
        .in = .{ 1, case.in, case.in },
        .out = .{ 1, out, out },
        .kernel = .{ 1, case.kernel, case.kernel },
        .stride = .{ 1, case.stride, case.stride },
        .pad = .{ 0, @intCast(case.pad), @intCast(case.pad) },
    };
}

fn fill(random: std.Random, values: []f32) void {
    for (values) |*v| v.* = (random.float(f32) - 0.5) * 4;
}

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

/// A case's random input, weights and bias, and the kernel Context that runs it. Allocated in the
/// arena, so the pointers the Context holds stay valid.
const Fixture = struct {
    x: []f32,
    w: []f32,
    bias: []f32,
    w_shape: [4]i64,
    w_tensor: Tensor,
    inputs: [2]?*const Tensor,
    outputs: [1]?*Tensor,
    graph: ir.Graph,
    node: ir.Node,
    ctx: kernel.Context,
    shape: conv_gemm.Shape,

    fn init(arena: std.mem.Allocator, case: Case, pool: ?*ThreadPool, random: std.Random) !*Fixture {
        const g = geometry(case);
        const f = try arena.create(Fixture);
        f.x = try arena.alloc(f32, case.c * g.inCount());
        f.w = try arena.alloc(f32, case.m * (case.c / case.group) * g.kernelCount());
        f.bias = try arena.alloc(f32, case.m);
        fill(random, f.x);
        fill(random, f.w);
        fill(random, f.bias);
        f.w_shape = .{ @intCast(case.m), @intCast(case.c / case.group), @intCast(case.kernel), @intCast(case.kernel) };
        f.w_tensor = .{ .dtype = .float32, .shape = &f.w_shape, .data = std.mem.sliceAsBytes(f.w) };
        f.inputs = .{ null, &f.w_tensor };
        f.outputs = .{null};
        f.graph = .{ .name = "test" };
        f.node = .{ .name = "conv", .op_type = "Conv", .domain = "", .opset = 18, .inputs = &.{}, .outputs = &.{0}, .attributes = &.{} };
        f.ctx = .{
            .arena = arena,
            .node = &f.node,
            .node_id = 0,
            .inputs = &f.inputs,
            .outputs = &f.outputs,
            .subgraphs = .{ .context = undefined, .run = undefined },
            .graph = &f.graph,
            .pool = pool,
        };
        f.shape = .{ .n = 1, .c = case.c, .m = case.m, .group = case.group, .geo = g };
        return f;
    }

    fn outCount(self: *const Fixture) usize {
        return self.shape.m * self.shape.geo.outCount();
    }
};

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

fn conv(ctx: *const kernel.Context, s: conv_gemm.Shape, x: []const f32, w: []const f32, bias: []const f32, fusion: fused.ConvFusion, y: []f32) !void {
    if (s.cg() == 1 and depthwise.fits(s.geo)) {
        return depthwise.run(ctx, s.geo, s.n, s.c, s.m, x, w, bias, fusion, y);
    }
    return conv_gemm.run(ctx, s, x, bias, fusion, y);
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
