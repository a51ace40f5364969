//! LSTM, GRU and RNN against a plain float64 reference written from the ONNX operator
//! definitions, at sizes the vector code must get right: hidden sizes below, at and past a
//! vector of 16, one time step, batches with different sequence lengths (one of them 0), both
//! layouts, every direction, initial states, peepholes, clip, input_forget, linear_before_reset
//! and non-default activations, on the calling thread and on a pool of two threads. The ONNX
//! conformance suite (test/conformance.test.ts) checks the same kernels against onnx's data.
const std = @import("std");
const ir = @import("../../../model/ir.zig");
const onnx = @import("../../../model/proto/onnx.zig");
const kernel = @import("../kernel.zig");
const test_node = @import("test_node.zig");
const rnn = @import("linalg_rnn.zig");
const ThreadPool = @import("../thread_pool.zig").ThreadPool;

const Tensor = kernel.Tensor;
const testing = std.testing;

const Cell = enum { lstm, gru, rnn };

const Direction = enum { forward, reverse, bidirectional };

const Case = struct {
    cell: Cell,
    seq: usize,
    batch: usize,
    input: usize,
    hidden: usize,
    direction: Direction = .forward,
    batch_first: bool = false,
    bias: bool = true,
    initial: bool = false,
    lens: ?[]const i64 = null,
    peepholes: bool = false,
    clip: ?f32 = null,
    input_forget: bool = false,
    linear_before_reset: bool = false,
    /// Names as the attribute lists them (per direction); null for the defaults.
    activations: ?[]const []const u8 = null,
    alphas: []const f32 = &.{},
    betas: []const f32 = &.{},

    fn gates(self: Case) usize {
        return switch (self.cell) {
            .lstm => 4,
            .gru => 3,
            .rnn => 1,
        };
    }

    fn dirs(self: Case) usize {
        return if (self.direction == .bidirectional) 2 else 1;
    }

    fn op(self: Case) []const u8 {
        return switch (self.cell) {
            .lstm => "LSTM",
            .gru => "GRU",
            .rnn => "RNN",
        };
    }
};

/// The case's inputs, seeded: weights and states in [-0.6, 0.6), X in [-1, 1).
const Data = struct {
    x: []f32,
    w: []f32,
    r: []f32,
    b: []f32,
    h0: []f32,
    c0: []f32,
    p: []f32,

    fn init(arena: std.mem.Allocator, case: Case, seed: u64) !Data {
        var prng = std.Random.DefaultPrng.init(seed);
        const random = prng.random();
        const gh = case.gates() * case.hidden;
        const state = case.dirs() * case.batch * case.hidden;
        return .{
            .x = try fill(arena, random, case.seq * case.batch * case.input, 1),
            .w = try fill(arena, random, case.dirs() * gh * case.input, 0.6),
            .r = try fill(arena, random, case.dirs() * gh * case.hidden, 0.6),
            .b = try fill(arena, random, case.dirs() * 2 * gh, 0.6),
            .h0 = try fill(arena, random, state, 0.6),
            .c0 = try fill(arena, random, state, 0.6),
            .p = try fill(arena, random, case.dirs() * 3 * case.hidden, 0.6),
        };
    }
};

fn fill(arena: std.mem.Allocator, random: std.Random, n: usize, scale: f32) ![]f32 {
    const values = try arena.alloc(f32, n);
    for (values) |*v| v.* = (random.float(f32) * 2 - 1) * scale;
    return values;
}

/// Where element (t, b) of X starts, and (t, d, b) of Y or (d, b) of a state, in either layout.
const Index = struct {
    case: Case,

    fn x(self: Index, t: usize, b: usize) usize {
        const c = self.case;
        return (if (c.batch_first) b * c.seq + t else t * c.batch + b) * c.input;
    }

    fn y(self: Index, t: usize, d: usize, b: usize) usize {
        const c = self.case;
        const dirs = c.dirs();
        return (if (c.batch_first) (b * c.seq + t) * dirs + d else (t * dirs + d) * c.batch + b) * c.hidden;
    }

    fn state(self: Index, d: usize, b: usize) usize {
        const c = self.case;
        return (if (c.batch_first) b * c.dirs() + d else d * c.batch + b) * c.hidden;
    }
};

const Activation = struct {
    name: []const u8,
    alpha: f64 = 0,
    beta: f64 = 0,

    fn apply(self: Activation, v: f64) f64 {
        const is = std.ascii.eqlIgnoreCase;
        if (is(self.name, "Sigmoid")) return 1 / (1 + @exp(-v));
        if (is(self.name, "Tanh")) return std.math.tanh(v);
        if (is(self.name, "Relu")) return @max(v, 0);
        if (is(self.name, "HardSigmoid")) return std.math.clamp(self.alpha * v + self.beta, 0, 1);
        if (is(self.name, "Softplus")) return @log(1 + @exp(v));
        if (is(self.name, "Softsign")) return v / (1 + @abs(v));
        if (is(self.name, "LeakyRelu")) return if (v >= 0) v else self.alpha * v;
        if (is(self.name, "Elu")) return if (v >= 0) v else self.alpha * (@exp(v) - 1);
        if (is(self.name, "ScaledTanh")) return self.alpha * std.math.tanh(self.beta * v);
        if (is(self.name, "Affine")) return self.alpha * v + self.beta;
        if (is(self.name, "ThresholdedRelu")) return if (v >= self.alpha) v else 0;
        std.debug.panic("the reference has no activation {s}", .{self.name});
    }
};

const Outputs = struct { y: []f64, y_h: []f64, y_c: []f64 };

fn clip(limit: ?f32, v: f64) f64 {
    return if (limit) |l| std.math.clamp(v, -@as(f64, l), l) else v;
}

/// LSTM's peephole weight for `gate` (input 0, output 1, forget 2) of unit j; 0 without P.
fn peep(case: Case, p: []const f32, d: usize, gate: usize, j: usize) f64 {
    return if (case.peepholes) p[d * 3 * case.hidden + gate * case.hidden + j] else 0;
}

/// The activations per direction (f, g, h in the attribute's order), alphas and betas taken in
/// turn by the functions that have them.
fn activationsOf(case: Case) [2][3]Activation {
    const per: usize = switch (case.cell) {
        .lstm => 3,
        .gru => 2,
        .rnn => 1,
    };
    const defaults = [3][]const u8{ if (case.cell == .rnn) "Tanh" else "Sigmoid", "Tanh", "Tanh" };
    var acts: [2][3]Activation = undefined;
    var next_alpha: usize = 0;
    var next_beta: usize = 0;
    for (0..case.dirs()) |d| for (0..per) |g| {
        const name = if (case.activations) |names| names[d * per + g] else defaults[g];
        var act: Activation = .{ .name = name };
        const takes_alpha = [_][]const u8{ "HardSigmoid", "LeakyRelu", "Elu", "ScaledTanh", "Affine", "ThresholdedRelu" };
        const takes_beta = [_][]const u8{ "HardSigmoid", "ScaledTanh", "Affine" };
        for (takes_alpha) |n| if (std.mem.eql(u8, n, name)) {
            act.alpha = case.alphas[next_alpha];
            next_alpha += 1;
        };
        for (takes_beta) |n| if (std.mem.eql(u8, n, name)) {
            act.beta = case.betas[next_beta];
            next_beta += 1;
        };
        acts[d][g] = act;
    };
    return acts;
}

/// The ONNX definitions, one hidden unit and one time step at a time, in float64.
fn reference(arena: std.mem.Allocator, case: Case, data: Data) !Outputs {
    const hid = case.hidden;
    const gh = case.gates() * hid;
    const dirs = case.dirs();
    const index: Index = .{ .case = case };
    const state_len = dirs * case.batch * hid;
    const out: Outputs = .{
        .y = try arena.alloc(f64, case.seq * state_len),
        .y_h = try arena.alloc(f64, state_len),
        .y_c = try arena.alloc(f64, state_len),
    };
    @memset(out.y, 0);
    const acts = activationsOf(case);
    const h = try arena.alloc(f64, hid);
    const c = try arena.alloc(f64, hid);
    const pre = try arena.alloc(f64, gh);
    const next_h = try arena.alloc(f64, hid);
    for (0..dirs) |d| {
        const reverse = case.direction == .reverse or d == 1;
        const w = data.w[d * gh * case.input ..];
        const r = data.r[d * gh * hid ..];
        for (0..case.batch) |b| {
            for (0..hid) |j| {
                h[j] = if (case.initial) data.h0[index.state(d, b) + j] else 0;
                c[j] = if (case.initial) data.c0[index.state(d, b) + j] else 0;
            }
            const len: usize = if (case.lens) |l| @intCast(l[b]) else case.seq;
            for (0..len) |step| {
                const t = if (reverse) len - 1 - step else step;
                const x = data.x[index.x(t, b)..][0..case.input];
                // X W^T + Wb for every gate; H R^T + Rb except GRU's candidate (below).
                for (0..gh) |row| {
                    var sum: f64 = if (case.bias) data.b[d * 2 * gh + row] else 0;
                    for (x, w[row * case.input ..][0..case.input]) |xv, wv| sum += @as(f64, xv) * wv;
                    const candidate = case.cell == .gru and row >= 2 * hid;
                    if (!candidate) {
                        if (case.bias) sum += data.b[d * 2 * gh + gh + row];
                        for (h, r[row * hid ..][0..hid]) |hv, rv| sum += hv * rv;
                    }
                    pre[row] = sum;
                }
                const act = acts[d];
                switch (case.cell) {
                    .rnn => for (0..hid) |j| {
                        next_h[j] = act[0].apply(clip(case.clip, pre[j]));
                    },
                    .lstm => for (0..hid) |j| {
                        const i = act[0].apply(clip(case.clip, pre[j] + peep(case, data.p, d, 0, j) * c[j]));
                        const f = if (case.input_forget) 1 - i else act[0].apply(clip(case.clip, pre[2 * hid + j] + peep(case, data.p, d, 2, j) * c[j]));
                        const g = act[1].apply(clip(case.clip, pre[3 * hid + j]));
                        c[j] = f * c[j] + i * g;
                        const o = act[0].apply(clip(case.clip, pre[hid + j] + peep(case, data.p, d, 1, j) * c[j]));
                        next_h[j] = o * act[2].apply(c[j]);
                    },
                    .gru => for (0..hid) |j| {
                        const z = act[0].apply(clip(case.clip, pre[j]));
                        // r_k for every unit k is needed by unit j's product, so compute them all.
                        var product: f64 = 0;
                        const rbh: f64 = if (case.bias) data.b[d * 2 * gh + gh + 2 * hid + j] else 0;
                        for (0..hid) |k| {
                            const reset = act[0].apply(clip(case.clip, pre[hid + k]));
                            const weight: f64 = r[(2 * hid + j) * hid + k];
                            product += (if (case.linear_before_reset) h[k] else reset * h[k]) * weight;
                        }
                        const reset_j = act[0].apply(clip(case.clip, pre[hid + j]));
                        const candidate_in = if (case.linear_before_reset)
                            pre[2 * hid + j] + reset_j * (product + rbh)
                        else
                            pre[2 * hid + j] + product + rbh;
                        const candidate = act[1].apply(clip(case.clip, candidate_in));
                        next_h[j] = (1 - z) * candidate + z * h[j];
                    },
                }
                @memcpy(h, next_h);
                for (0..hid) |j| out.y[index.y(t, d, b) + j] = h[j];
            }
            for (0..hid) |j| {
                out.y_h[index.state(d, b) + j] = h[j];
                out.y_c[index.state(d, b) + j] = c[j];
            }
        }
    }
    return out;
}

fn shape3(arena: std.mem.Allocator, a: usize, b: usize, c: usize) ![]const i64 {
    return arena.dupe(i64, &.{ @intCast(a), @intCast(b), @intCast(c) });
}

/// Runs the kernel on the case and compares Y, Y_h (and Y_c) with the reference.
fn check(case: Case, pool: ?*ThreadPool) !void {
    var arena_state = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena_state.deinit();
    const arena = arena_state.allocator();
    const data = try Data.init(arena, case, case.hidden * 131 + case.seq * 7 + case.batch);
    const gh = case.gates() * case.hidden;
    const dirs = case.dirs();
    const state_shape = if (case.batch_first) try shape3(arena, case.batch, dirs, case.hidden) else try shape3(arena, dirs, case.batch, case.hidden);
    const x_shape = if (case.batch_first) try shape3(arena, case.batch, case.seq, case.input) else try shape3(arena, case.seq, case.batch, case.input);
    var inputs = [_]?*const Tensor{null} ** 8;
    inputs[0] = try test_node.tensor(arena, f32, x_shape, data.x);
    inputs[1] = try test_node.tensor(arena, f32, try shape3(arena, dirs, gh, case.input), data.w);
    inputs[2] = try test_node.tensor(arena, f32, try shape3(arena, dirs, gh, case.hidden), data.r);
    if (case.bias) inputs[3] = try test_node.tensor(arena, f32, try arena.dupe(i64, &.{ @intCast(dirs), @intCast(2 * gh) }), data.b);
    if (case.lens) |lens| inputs[4] = try test_node.tensor(arena, i64, try arena.dupe(i64, &.{@intCast(case.batch)}), lens);
    if (case.initial) {
        inputs[5] = try test_node.tensor(arena, f32, state_shape, data.h0);
        if (case.cell == .lstm) inputs[6] = try test_node.tensor(arena, f32, state_shape, data.c0);
    }
    if (case.peepholes) inputs[7] = try test_node.tensor(arena, f32, try arena.dupe(i64, &.{ @intCast(dirs), @intCast(3 * case.hidden) }), data.p);
    const input_count: usize = switch (case.cell) {
        .lstm => 8,
        else => 6,
    };

    var attributes: std.ArrayList(ir.Attribute) = .empty;
    const make = test_node.attribute;
    try attributes.append(arena, try make(arena, "hidden_size", @as(i64, @intCast(case.hidden))));
    try attributes.append(arena, try make(arena, "direction", @as([]const u8, @tagName(case.direction))));
    if (case.batch_first) try attributes.append(arena, try make(arena, "layout", @as(i64, 1)));
    if (case.clip) |limit| try attributes.append(arena, try make(arena, "clip", limit));
    if (case.input_forget) try attributes.append(arena, try make(arena, "input_forget", @as(i64, 1)));
    if (case.linear_before_reset) try attributes.append(arena, try make(arena, "linear_before_reset", @as(i64, 1)));
    if (case.activations) |names| {
        try attributes.append(arena, try make(arena, "activations", onnx.AttributeProto{ .name = "", .type = .strings, .strings = names }));
        if (case.alphas.len > 0) try attributes.append(arena, try make(arena, "activation_alpha", case.alphas));
        if (case.betas.len > 0) try attributes.append(arena, try make(arena, "activation_beta", case.betas));
    }

    const outputs: usize = if (case.cell == .lstm) 3 else 2;
    const node: test_node.Run = .{ .arena = arena, .table = &rnn.kernels, .attributes = attributes.items, .opset = 22, .outputs = outputs, .pool = pool };
    const got = try node.callAll(case.op(), inputs[0..input_count]);
    const want = try reference(arena, case, data);
    try expectClose(want.y, got[0].?.items(f32));
    try expectClose(want.y_h, got[1].?.items(f32));
    if (case.cell == .lstm) try expectClose(want.y_c, got[2].?.items(f32));
}

/// float32 products and polynomial exp/tanh against float64: a few ulps per step, compounding
/// over the steps.
fn expectClose(want: []const f64, got: []const f32) !void {
    try testing.expectEqual(want.len, got.len);
    for (want, got, 0..) |w, g, i| {
        if (!(@abs(w - g) <= 2e-5 + 1e-4 * @abs(w))) {
            std.debug.print("element {d}: want {d}, got {d}\n", .{ i, w, g });
            return error.TestExpectedApproxEqAbs;
        }
    }
}

const cases = [_]Case{
    // One unit, one vector's worth, one more than a vector; seq 1; a batch of 3.
    .{ .cell = .lstm, .seq = 5, .batch = 1, .input = 7, .hidden = 5 },
    .{ .cell = .lstm, .seq = 1, .batch = 2, .input = 3, .hidden = 16, .bias = false },
    .{ .cell = .lstm, .seq = 4, .batch = 3, .input = 3, .hidden = 17, .direction = .bidirectional, .initial = true, .lens = &.{ 4, 1, 0 } },
    .{ .cell = .lstm, .seq = 3, .batch = 2, .input = 5, .hidden = 33, .direction = .reverse, .batch_first = true, .peepholes = true, .clip = 0.7, .input_forget = true, .initial = true },
    .{
        .cell = .lstm,
        .seq = 3,
        .batch = 1,
        .input = 4,
        .hidden = 9,
        .direction = .bidirectional,
        .activations = &.{ "HardSigmoid", "Softsign", "Softplus", "Sigmoid", "LeakyRelu", "ScaledTanh" },
        .alphas = &.{ 0.3, 0.1, 0.8 },
        .betas = &.{ 0.4, 1.5 },
    },
    .{ .cell = .gru, .seq = 4, .batch = 1, .input = 6, .hidden = 19, .initial = true },
    .{ .cell = .gru, .seq = 5, .batch = 3, .input = 2, .hidden = 16, .direction = .bidirectional, .linear_before_reset = true, .batch_first = true, .lens = &.{ 2, 5, 3 } },
    .{ .cell = .gru, .seq = 1, .batch = 2, .input = 3, .hidden = 7, .direction = .reverse, .clip = 0.5, .linear_before_reset = true, .initial = true },
    .{ .cell = .gru, .seq = 3, .batch = 1, .input = 3, .hidden = 6, .activations = &.{ "Relu", "Elu" }, .alphas = &.{0.9} },
    .{ .cell = .rnn, .seq = 6, .batch = 2, .input = 4, .hidden = 21, .direction = .bidirectional, .lens = &.{ 6, 3 }, .initial = true },
    .{ .cell = .rnn, .seq = 2, .batch = 1, .input = 2, .hidden = 3, .activations = &.{"Relu"}, .bias = false },
};

test "LSTM, GRU and RNN agree with the float64 reference at odd sizes, on one thread" {
    for (cases) |case| try check(case, null);
}

test "LSTM, GRU and RNN agree with the float64 reference on a pool of two threads" {
    const pool = try ThreadPool.init(testing.allocator, .{ .threads = 2 });
    defer pool.deinit();
    for (cases) |case| try check(case, pool);
    // Wide enough that the projection and the recurrent product are split across the threads.
    try check(.{ .cell = .lstm, .seq = 12, .batch = 4, .input = 96, .hidden = 160, .direction = .bidirectional, .initial = true, .lens = &.{ 12, 7, 12, 1 } }, pool);
}
