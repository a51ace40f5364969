//! Test support for the convolution engines: a case's random data and the kernel Context that
//! runs it (fused_test.zig, blocking_test.zig), and the engine a case takes.
const std = @import("std");
const ir = @import("../../../model/ir.zig");
const kernel = @import("../kernel.zig");
const ThreadPool = @import("../thread_pool.zig").ThreadPool;
const common = @import("nn_common.zig");
const conv_gemm = @import("nn_conv_gemm.zig");
const depthwise = @import("nn_depthwise.zig");
const winograd = @import("nn_conv_winograd.zig");
const fused = @import("fused.zig");

const Tensor = kernel.Tensor;

pub const Case = struct {
    c: usize,
    m: usize,
    group: usize = 1,
    in: usize,
    kernel: usize,
    stride: usize = 1,
    pad: usize = 0,
};

pub fn geometry(case: Case) common.Geometry {
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

pub fn fill(random: std.Random, values: []f32) void {
    for (values) |*v| v.* = (random.float(f32) - 0.5) * 4;
}

/// A case's random input, weights and bias, and the kernel Context that runs it. Allocated in the
/// arena, so the pointers the Context holds stay valid.
pub const Fixture = struct {
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

    pub fn init(arena: std.mem.Allocator, case: Case, pool: ?*ThreadPool, random: std.Random) !*Fixture {
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

    pub fn outCount(self: *const Fixture) usize {
        return self.shape.m * self.shape.geo.outCount();
    }
};

/// The engine the convolution kernel picks for the case: depthwise, or the GEMM forms.
pub fn conv(ctx: *const kernel.Context, s: conv_gemm.Shape, x: []const f32, w: []const f32, bias: []const f32, fusion: fused.ConvFusion, y: []f32) !void {
    if (s.cg() == 1 and depthwise.fits(s.geo)) {
        return depthwise.run(ctx, s.geo, s.n, s.c, s.m, x, w, bias, fusion, y);
    }
    return conv_gemm.run(ctx, s, x, bias, fusion, y);
}


/// The Winograd engine on the case (a 3x3 stride-1 window), its weights transformed for the call.
pub fn winogradConv(ctx: *const kernel.Context, s: conv_gemm.Shape, x: []const f32, w: []const f32, bias: []const f32, fusion: fused.ConvFusion, y: []f32) !void {
    const weights = try winograd.Weights.init(null, w, s.c, s.m);
    defer weights.deinit();
    return winograd.run(ctx, s.geo, s.n, weights, x, bias, fusion, y);
}
