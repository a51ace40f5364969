//! One time step of LSTM, GRU and RNN for every batch entry of one direction (linalg_rnn.zig
//! runs the kernel): the gates 16 hidden units at a time in vector registers, from the projected
//! input and the recurrent product of the step, through simd_math's exp and tanh. A hidden size
//! that is not a multiple of 16 ends in one zero-padded vector, so every unit goes through the
//! same instructions. Also the types the kernel and its steps share.
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");
const linalg = @import("linalg.zig");
const simd = @import("simd_math.zig");

const Context = kernel.Context;
const lanes = simd.lanes;
const V = simd.V;

pub const Cell = enum { lstm, gru, rnn };

pub fn gateCount(comptime cell: Cell) usize {
    return switch (cell) {
        .lstm => 4,
        .gru => 3,
        .rnn => 1,
    };
}

pub const Act = struct {
    kind: Kind,
    alpha: f32 = 0,
    beta: f32 = 0,

    pub const Kind = enum {
        relu,
        tanh,
        sigmoid,
        affine,
        leaky_relu,
        thresholded_relu,
        scaled_tanh,
        hard_sigmoid,
        elu,
        softsign,
        softplus,
    };

    pub const names = [_]struct { []const u8, Kind, ?f32, ?f32 }{
        .{ "Relu", .relu, null, null },            .{ "Tanh", .tanh, null, null },
        .{ "Sigmoid", .sigmoid, null, null },      .{ "Affine", .affine, 1.0, 0.0 },
        .{ "LeakyRelu", .leaky_relu, 0.01, null }, .{ "ThresholdedRelu", .thresholded_relu, 1.0, null },
        .{ "ScaledTanh", .scaled_tanh, 1.0, 1.0 }, .{ "HardSigmoid", .hard_sigmoid, 0.2, 0.5 },
        .{ "Elu", .elu, 1.0, null },               .{ "Softsign", .softsign, null, null },
        .{ "Softplus", .softplus, null, null },
    };

    /// The activation on 16 values at once (lanes past a hidden size's end hold padding).
    pub fn apply(self: Act, x: V) V {
        const a: V = @splat(self.alpha);
        const b: V = @splat(self.beta);
        const zero: V = @splat(0);
        const one: V = @splat(1);
        return switch (self.kind) {
            .relu => simd.relu(x),
            .tanh => simd.tanh(x),
            .sigmoid => simd.sigmoid(x),
            .affine => a * x + b,
            .leaky_relu => @select(f32, x >= zero, x, a * x),
            .thresholded_relu => @select(f32, x >= a, x, zero),
            .scaled_tanh => a * simd.tanh(b * x),
            .hard_sigmoid => @min(@max(a * x + b, zero), one),
            .elu => @select(f32, x >= zero, x, a * (simd.exp(x) - one)),
            .softsign => x / (one + @abs(x)),
            // log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow, and exact for very negative x.
            .softplus => @max(x, zero) + simd.log1p(simd.exp(-@abs(x))),
        };
    }
};

pub const Dims = struct {
    seq: usize,
    batch: usize,
    input: usize,
    hidden: usize,
    dirs: usize,
    batch_first: bool,

    pub fn xRow(self: Dims, t: usize, b: usize) usize {
        return if (self.batch_first) b * self.seq + t else t * self.batch + b;
    }

    pub fn yOffset(self: Dims, t: usize, d: usize, b: usize) usize {
        const i = if (self.batch_first) (b * self.seq + t) * self.dirs + d else (t * self.dirs + d) * self.batch + b;
        return i * self.hidden;
    }

    pub fn stateOffset(self: Dims, d: usize, b: usize) usize {
        return (if (self.batch_first) b * self.dirs + d else d * self.batch + b) * self.hidden;
    }

    pub fn stateShape(self: Dims) [3]i64 {
        const h: i64 = @intCast(self.hidden);
        const d: i64 = @intCast(self.dirs);
        const b: i64 = @intCast(self.batch);
        return if (self.batch_first) .{ b, d, h } else .{ d, b, h };
    }
};

/// Everything the directions share; read-only once the projection has filled `xw`.
pub const Shared = struct {
    dims: Dims,
    x: []const f32,
    w: []const f32,
    r: []const f32,
    bias: ?[]const f32,
    lens: []const usize,
    init_h: ?[]const f32,
    init_c: ?[]const f32,
    peep: ?[]const f32,
    clip: ?f32,
    lbr: bool,
    input_forget: bool,
    y: ?[]f32,
    y_h: []f32,
    y_c: []f32,
    /// X * W^T + bias: one row per (time, batch) entry of X, each `dirs` rows of G gate values.
    xw: []f32,

    /// Direction d's projected gates for time t of batch entry b.
    pub fn projected(self: *const Shared, comptime cell: Cell, d: usize, t: usize, b: usize) []const f32 {
        const gh = gateCount(cell) * self.dims.hidden;
        return self.xw[(self.dims.xRow(t, b) * self.dims.dirs + d) * gh ..][0..gh];
    }
};

/// Per-direction working state, batch rows of `hidden` (`gates` for the recurrent product).
pub const Work = struct {
    h: []f32,
    c: []f32,
    /// H * R^T of this step (GRU: its update and reset gates, then the candidate's product).
    hr: []f32,
    /// GRU: the update and reset gates, and r . H (or H) for the candidate's product.
    z: []f32,
    r: []f32,
    hh: []f32,
};

/// The time index batch entry `b` processes at `step`, or null once its sequence has ended.
fn timeOf(s: *const Shared, b: usize, step: usize, reverse: bool) ?usize {
    const len = s.lens[b];
    if (step >= len) return null;
    return if (reverse) len - 1 - step else step;
}

/// `n` (1 to 16) values from `at`; the lanes past them are 0. A hidden size that is not a
/// multiple of 16 ends in one such padded vector, computed by the same instructions.
inline fn load(values: []const f32, at: usize, n: usize) V {
    if (n == lanes) return values[at..][0..lanes].*;
    var padded: [lanes]f32 = @splat(0);
    @memcpy(padded[0..n], values[at..][0..n]);
    return padded;
}

inline fn store(values: []f32, at: usize, n: usize, v: V) void {
    if (n == lanes) {
        values[at..][0..lanes].* = v;
        return;
    }
    const array: [lanes]f32 = v;
    @memcpy(values[at..][0..n], array[0..n]);
}

/// A gate's pre-activation: its projected input plus its recurrent product.
inline fn gate(xw: []const f32, hr: []const f32, at: usize, n: usize) V {
    return load(xw, at, n) + load(hr, at, n);
}

fn clipped(s: *const Shared, v: V) V {
    const limit: V = @splat(s.clip orelse return v);
    return @min(@max(v, -limit), limit);
}

fn emit(s: *const Shared, wk: *const Work, d: usize, t: usize, b: usize) void {
    const hid = s.dims.hidden;
    if (s.y) |y| @memcpy(y[s.dims.yOffset(t, d, b)..][0..hid], wk.h[b * hid ..][0..hid]);
}

pub fn rnnStep(s: *const Shared, wk: *Work, d: usize, step: usize, reverse: bool, acts: [3]Act) void {
    const hid = s.dims.hidden;
    for (0..s.dims.batch) |b| {
        const t = timeOf(s, b, step, reverse) orelse continue;
        const xw = s.projected(.rnn, d, t, b);
        const hr = wk.hr[b * hid ..][0..hid];
        const h = wk.h[b * hid ..][0..hid];
        var j: usize = 0;
        while (j < hid) : (j += lanes) {
            const n = @min(lanes, hid - j);
            store(h, j, n, acts[0].apply(clipped(s, gate(xw, hr, j, n))));
        }
        emit(s, wk, d, t, b);
    }
}

pub fn lstmStep(s: *const Shared, wk: *Work, d: usize, step: usize, reverse: bool, acts: [3]Act) void {
    const hid = s.dims.hidden;
    const one: V = @splat(1);
    const zero: V = @splat(0);
    for (0..s.dims.batch) |b| {
        const t = timeOf(s, b, step, reverse) orelse continue;
        const xw = s.projected(.lstm, d, t, b);
        const hr = wk.hr[b * 4 * hid ..][0 .. 4 * hid];
        const h = wk.h[b * hid ..][0..hid];
        const c = wk.c[b * hid ..][0..hid];
        var j: usize = 0;
        while (j < hid) : (j += lanes) {
            const n = @min(lanes, hid - j);
            // Gate order in W, R and B: input, output, forget, cell. P holds input, output, forget.
            const pi: V = if (s.peep) |p| load(p, d * 3 * hid + j, n) else zero;
            const po: V = if (s.peep) |p| load(p, d * 3 * hid + hid + j, n) else zero;
            const pf: V = if (s.peep) |p| load(p, d * 3 * hid + 2 * hid + j, n) else zero;
            const c_prev = load(c, j, n);
            const i = acts[0].apply(clipped(s, gate(xw, hr, 0 * hid + j, n) + pi * c_prev));
            const f = if (s.input_forget) one - i else acts[0].apply(clipped(s, gate(xw, hr, 2 * hid + j, n) + pf * c_prev));
            const g = acts[1].apply(clipped(s, gate(xw, hr, 3 * hid + j, n)));
            const c_new = f * c_prev + i * g;
            const o = acts[0].apply(clipped(s, gate(xw, hr, 1 * hid + j, n) + po * c_new));
            store(c, j, n, c_new);
            store(h, j, n, o * acts[2].apply(c_new));
        }
        emit(s, wk, d, t, b);
    }
}

pub fn gruStep(
    ctx: *Context,
    s: *const Shared,
    wk: *Work,
    r_h: *const linalg.Prepacked,
    d: usize,
    step: usize,
    reverse: bool,
    acts: [3]Act,
) status.Error!void {
    const hid = s.dims.hidden;
    // Update and reset gates first: the candidate's recurrent product needs the reset gate.
    for (0..s.dims.batch) |b| {
        const hh = wk.hh[b * hid ..][0..hid];
        const t = timeOf(s, b, step, reverse) orelse {
            @memset(hh, 0);
            continue;
        };
        const xw = s.projected(.gru, d, t, b);
        const hr = wk.hr[b * 2 * hid ..][0 .. 2 * hid];
        const h = wk.h[b * hid ..][0..hid];
        var j: usize = 0;
        while (j < hid) : (j += lanes) {
            const n = @min(lanes, hid - j);
            const z = acts[0].apply(clipped(s, gate(xw, hr, j, n)));
            const r = acts[0].apply(clipped(s, gate(xw, hr, hid + j, n)));
            store(wk.z[b * hid ..], j, n, z);
            store(wk.r[b * hid ..], j, n, r);
            // Without linear_before_reset the product takes (r . H); with it, H alone.
            store(hh, j, n, if (s.lbr) load(h, j, n) else r * load(h, j, n));
        }
    }
    const product = wk.hr[0 .. s.dims.batch * hid];
    try r_h.run(wk.hh, s.dims.batch, product, ctx.pool);
    const gh = 3 * hid;
    const rbh: ?[]const f32 = if (s.bias) |bias| bias[d * 2 * gh + gh + 2 * hid ..][0..hid] else null;
    const one: V = @splat(1);
    for (0..s.dims.batch) |b| {
        const t = timeOf(s, b, step, reverse) orelse continue;
        const xw = s.projected(.gru, d, t, b);
        const h = wk.h[b * hid ..][0..hid];
        var j: usize = 0;
        while (j < hid) : (j += lanes) {
            const n = @min(lanes, hid - j);
            const rec = load(product, b * hid + j, n);
            const x_h = load(xw, 2 * hid + j, n);
            const r = load(wk.r, b * hid + j, n);
            const bias: V = if (rbh) |v| load(v, j, n) else @splat(0);
            const pre = if (s.lbr) x_h + r * (rec + bias) else x_h + rec;
            const cand = acts[1].apply(clipped(s, pre));
            const z = load(wk.z, b * hid + j, n);
            store(h, j, n, (one - z) * cand + z * load(h, j, n));
        }
        emit(s, wk, d, t, b);
    }
}
