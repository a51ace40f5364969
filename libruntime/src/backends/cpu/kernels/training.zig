//! The ai.onnx.preview.training optimizers: one update step of Adagrad, Momentum (standard or
//! Nesterov) and Adam over n tensors at once. Inputs are R (learning rate), T (update count),
//! then X_1..X_n, G_1..G_n and the optimizer's states (Adagrad: H; Momentum: V; Adam: V then H),
//! each group n long; outputs are the new X's, then the new states in the same order. Updates
//! run per element in f64 and are written back in each tensor's own type.
const std = @import("std");
const common = @import("nn_common.zig");
const util = @import("tensor_ops_util.zig");

const Context = common.Context;
const Error = common.Error;

const domain = "ai.onnx.preview.training";

const Family = enum { adagrad, momentum, adam };

/// What one step needs besides the elements: attributes, and R already adjusted for T.
const Step = struct {
    family: Family,
    nesterov: bool = false,
    r: f64,
    beta_t: f64 = 1, // Momentum's gradient coefficient: beta, or 1 at the first step (T = 0).
    norm: f64,
    norm_post: f64 = 0,
    alpha: f64 = 0,
    beta: f64 = 0,
    epsilon: f64 = 0,

    /// New x and states from x, the gradient g and the states (Adagrad and Momentum use one).
    fn apply(s: Step, x: f64, g: f64, state: [2]f64) [3]f64 {
        const gr = s.norm * x + g; // the gradient of the L2 regularization term added
        switch (s.family) {
            .adagrad => {
                const h = state[0] + gr * gr;
                return .{ x - s.r * gr / (@sqrt(h) + s.epsilon), h, 0 };
            },
            .momentum => {
                const v = s.alpha * state[0] + s.beta_t * gr;
                const step = if (s.nesterov) gr + s.alpha * v else v;
                return .{ x - s.r * step, v, 0 };
            },
            .adam => {
                const v = s.alpha * state[0] + (1 - s.alpha) * gr;
                const h = s.beta * state[1] + (1 - s.beta) * gr * gr;
                const x_new = x - s.r * (v / (@sqrt(h) + s.epsilon));
                return .{ (1 - s.norm_post) * x_new, v, h };
            },
        }
    }
};

fn attr(ctx: *const Context, comptime name: []const u8, default: f32) f64 {
    return ctx.node.attrFloat(name, default);
}

/// The step's constants from the attributes, R and T (as onnx's reference computes them).
fn prepare(ctx: *const Context, family: Family) Error!Step {
    const r_tensor = try ctx.require(0);
    if (r_tensor.count() != 1) return ctx.fail("R must hold one element", .{});
    _ = try common.precision(ctx, r_tensor.dtype, false);
    const r = (try common.floats(f64, ctx, r_tensor))[0];
    const t = try util.scalarInt(ctx, try ctx.require(1), "T");
    const tf: f64 = @floatFromInt(t);
    const norm = attr(ctx, "norm_coefficient", 0);
    switch (family) {
        .adagrad => {
            const decay = attr(ctx, "decay_factor", 0);
            const epsilon = attr(ctx, "epsilon", 0);
            return .{ .family = family, .r = r / (1 + tf * decay), .norm = norm, .epsilon = epsilon };
        },
        .momentum => {
            const mode = ctx.node.attrString("mode", "standard");
            const nesterov = std.mem.eql(u8, mode, "nesterov");
            if (!nesterov and !std.mem.eql(u8, mode, "standard")) {
                return ctx.fail("unknown mode '{s}'", .{mode});
            }
            const beta = attr(ctx, "beta", 0);
            return .{
                .family = family,
                .nesterov = nesterov,
                .r = r,
                .norm = norm,
                .alpha = attr(ctx, "alpha", 0),
                .beta_t = if (t > 0) beta else 1,
            };
        },
        .adam => {
            const alpha = attr(ctx, "alpha", 0.9);
            const beta = attr(ctx, "beta", 0.999);
            // From the second step on, R carries the bias correction of both momentums.
            const pow = std.math.pow;
            const corrected = if (t > 0) r * @sqrt(1 - pow(f64, beta, tf)) / (1 - pow(f64, alpha, tf)) else r;
            return .{
                .family = family,
                .r = corrected,
                .norm = norm,
                .norm_post = attr(ctx, "norm_coefficient_post", 0),
                .alpha = alpha,
                .beta = beta,
                .epsilon = attr(ctx, "epsilon", 0),
            };
        },
    }
}

/// Updates tensor i of n: X at 2+i, G at 2+n+i, state j at 2+(2+j)n+i; outputs i and (1+j)n+i.
fn updateOne(ctx: *Context, step: Step, n: usize, i: usize, states: usize) Error!void {
    const x = try ctx.require(2 + i);
    const g = try ctx.require(2 + n + i);
    const count = x.count();
    _ = try common.precision(ctx, x.dtype, false);
    const xs = try common.floats(f64, ctx, x);
    if (g.count() != count) return ctx.fail("G_{d} has {d} elements, not {d}", .{ i + 1, g.count(), count });
    const gs = try common.floats(f64, ctx, g);
    var in: [2][]const f64 = .{ &.{}, &.{} };
    var out: [3]common.FloatOutput(f64) = undefined;
    out[0] = try common.floatOutput(f64, ctx, i, x.dtype, x.shape);
    for (0..states) |j| {
        const s = try ctx.require(2 + (2 + j) * n + i);
        if (s.count() != count) {
            return ctx.fail("a state of X_{d} has {d} elements, not {d}", .{ i + 1, s.count(), count });
        }
        _ = try common.precision(ctx, s.dtype, false);
        in[j] = try common.floats(f64, ctx, s);
        out[1 + j] = try common.floatOutput(f64, ctx, (1 + j) * n + i, s.dtype, s.shape);
    }
    for (0..count) |e| {
        const state: [2]f64 = .{ if (states > 0) in[0][e] else 0, if (states > 1) in[1][e] else 0 };
        const new = step.apply(xs[e], gs[e], state);
        for (0..1 + states) |j| out[j].values[e] = new[j];
    }
    for (0..1 + states) |j| out[j].finish();
}

fn optimizer(comptime family: Family) @import("entry.zig").Entry {
    const step_kernel = struct {
        fn run(ctx: *Context) Error!void {
            const states: usize = if (family == .adam) 2 else 1;
            const group = 2 + states; // X, G and the states
            const inputs = ctx.inputCount();
            if (inputs < 2 + group or (inputs - 2) % group != 0) {
                return ctx.fail("needs R, T and {d} groups of n inputs, not {d}", .{ group, inputs });
            }
            const n = (inputs - 2) / group;
            const step = try prepare(ctx, family);
            for (0..n) |i| try updateOne(ctx, step, n, i, states);
        }
    }.run;
    const names = .{ .adagrad = "Adagrad", .momentum = "Momentum", .adam = "Adam" };
    return .{ .domain = domain, .op = @field(names, @tagName(family)), .run = step_kernel };
}

pub const kernels = [_]@import("entry.zig").Entry{
    optimizer(.adagrad),
    optimizer(.momentum),
    optimizer(.adam),
};

test "Adam's first step moves x against the gradient's sign by about R" {
    const step: Step = .{ .family = .adam, .r = 0.1, .norm = 0, .alpha = 0.9, .beta = 0.999, .epsilon = 0 };
    const new = step.apply(1.0, 0.5, .{ 0, 0 });
    // v = 0.05, h = 0.00025
    const x_expected = 1 - 0.1 * 0.05 / @sqrt(0.00025);
    try std.testing.expectApproxEqRel(@as(f64, x_expected), new[0], 1e-12);
    try std.testing.expectApproxEqRel(@as(f64, 0.05), new[1], 1e-12);
}
