//! The sigmoid gates of transformer MLPs: Swish(X) = X·σ(αX) (opset 24) and
//! SwiGLU(A, B) = Swish(A)·B (opset 28, A and B of one shape, no broadcasting). float32 runs a
//! vector at a time on simd_math's sigmoid, the one the fused SiLU uses, so Swish with α = 1 and
//! a SiLU (Sigmoid then Mul) agree; float64 is computed in f64; float16 and bfloat16 in f32,
//! rounded once at the end.
const std = @import("std");
const common = @import("nn_common.zig");
const simd = @import("simd_math.zig");

const Context = common.Context;
const Error = common.Error;
const Tensor = common.Tensor;

/// Elements per work item when a large tensor is split across the pool.
const block_elements = 1 << 12;
/// Below this, a thread wake costs more than the pass over memory it would save.
const parallel_min_elements = 1 << 14;

fn swishVector(comptime n: usize, x: @Vector(n, f32), alpha: f32) @Vector(n, f32) {
    return x * simd.sigmoidOf(n, x * @as(@Vector(n, f32), @splat(alpha)));
}

fn swishScalar(comptime F: type, x: F, alpha: F) F {
    return x * (1 / (1 + @exp(-alpha * x)));
}

/// y = Swish(x)·(b, or 1 when b is null) over one range of the flattened tensors.
fn Gate(comptime F: type) type {
    return struct {
        const Self = @This();
        x: []const F,
        b: ?[]const F,
        y: []F,
        alpha: F,

        fn run(self: *const Self, begin: usize, end: usize) void {
            const start = begin * block_elements;
            const stop = @min(end * block_elements, self.y.len);
            if (F == f32) return self.runVectors(start, stop);
            for (start..stop) |i| {
                const s = swishScalar(F, self.x[i], self.alpha);
                self.y[i] = if (self.b) |b| s * b[i] else s;
            }
        }

        fn runVectors(self: *const Self, start: usize, stop: usize) void {
            const n = simd.lanes;
            var i = start;
            while (i < stop) {
                // The tail goes through one padded vector: the same instructions as full ones.
                const len = @min(n, stop - i);
                var x: [n]f32 = @splat(0);
                var b: [n]f32 = @splat(1);
                @memcpy(x[0..len], self.x[i..][0..len]);
                if (self.b) |values| @memcpy(b[0..len], values[i..][0..len]);
                const y: [n]f32 = swishVector(n, x, self.alpha) * @as(@Vector(n, f32), b);
                @memcpy(self.y[i..][0..len], y[0..len]);
                i += len;
            }
        }
    };
}

/// Swish when `b_index` is null, else SwiGLU with its second input there.
fn gated(ctx: *Context, b_index: ?usize) Error!void {
    const x = try ctx.require(0);
    const b = if (b_index) |i| try ctx.require(i) else null;
    if (b) |t| {
        if (t.dtype != x.dtype) return ctx.fail("A is {s} but B is {s}", .{ @tagName(x.dtype), @tagName(t.dtype) });
        if (!std.mem.eql(i64, t.shape, x.shape)) {
            return ctx.fail("A of shape {any} and B of shape {any} differ (SwiGLU does not broadcast)", .{ x.shape, t.shape });
        }
    }
    const alpha = ctx.node.attrFloat("alpha", 1.0);
    switch (try common.precision(ctx, x.dtype, false)) {
        inline else => |prec| {
            const F = if (prec == .f32) f32 else f64;
            const out = try common.floatOutput(F, ctx, 0, x.dtype, x.shape);
            const job: Gate(F) = .{
                .x = try common.floats(F, ctx, x),
                .b = if (b) |t| try common.floats(F, ctx, t) else null,
                .y = out.values,
                .alpha = alpha,
            };
            const blocks = std.math.divCeil(usize, out.values.len, block_elements) catch unreachable;
            if (out.values.len < parallel_min_elements or ctx.threadCount() == 1) {
                job.run(0, blocks);
            } else {
                ctx.parallelFor(blocks, &job, Gate(F).run);
            }
            out.finish();
        },
    }
}

fn swish(ctx: *Context) Error!void {
    return gated(ctx, null);
}

fn swiglu(ctx: *Context) Error!void {
    return gated(ctx, 1);
}

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .op = "Swish", .run = swish },
    .{ .op = "SwiGLU", .run = swiglu },
};

test "Swish and SwiGLU follow x·σ(αx) in float32 and float64" {
    const xs = [_]f32{ -20, -3, -1, -0.5, 0, 0.25, 1, 2.5, 7, 30, -0.0, 3, 4, 5, 6, 8, 9, 10, -7 };
    var bs: [xs.len]f32 = undefined;
    for (&bs, 0..) |*v, i| v.* = @as(f32, @floatFromInt(i)) - 4;
    var y: [xs.len]f32 = undefined;
    for ([_]f32{ 1, 0.5, -2 }) |alpha| {
        const swish_job: Gate(f32) = .{ .x = &xs, .b = null, .y = &y, .alpha = alpha };
        swish_job.run(0, 1);
        for (xs, y) |x, got| {
            const want = swishScalar(f64, x, alpha);
            try std.testing.expectApproxEqAbs(want, got, 1e-5 * @max(1, @abs(want)));
        }
        const glu_job: Gate(f32) = .{ .x = &xs, .b = &bs, .y = &y, .alpha = alpha };
        glu_job.run(0, 1);
        for (xs, bs, y) |x, b, got| {
            const want = swishScalar(f64, x, alpha) * b;
            try std.testing.expectApproxEqAbs(want, got, 1e-5 * @max(1, @abs(want)));
        }
    }
    const wide = [_]f64{ -1, 0, 2 };
    var wide_y: [3]f64 = undefined;
    const job: Gate(f64) = .{ .x = &wide, .b = null, .y = &wide_y, .alpha = 1 };
    job.run(0, 1);
    try std.testing.expectApproxEqAbs(@as(f64, -0.2689414213699951), wide_y[0], 1e-15);
    try std.testing.expectEqual(@as(f64, 0), wide_y[1]);
    try std.testing.expectApproxEqAbs(@as(f64, 1.7615941559557649), wide_y[2], 1e-15);
}
