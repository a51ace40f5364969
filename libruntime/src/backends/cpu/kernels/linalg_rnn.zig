//! Recurrent layers: LSTM, GRU and RNN (float32; forward, reverse, bidirectional; batch-first
//! layout; per-batch sequence lengths; peepholes, clip, custom activations). The input
//! projection X * W^T for every time step is one SGEMM; each step then multiplies the state by
//! R^T. When W and R are constants (weights), both are packed at load (PackedWeights); otherwise
//! once per direction per run.
const std = @import("std");
const status = @import("../../../core/status.zig");
const memory = @import("../../../core/memory.zig");
const kernel = @import("../kernel.zig");
const gemm = @import("../gemm.zig");
const prepare = @import("../prepare.zig");
const sgemm = @import("linalg_sgemm.zig");
const Entry = @import("entry.zig").Entry;
const common = @import("linalg_common.zig");
const linalg = @import("linalg.zig");

const Context = kernel.Context;
const Tensor = kernel.Tensor;

const Cell = enum { lstm, gru, rnn };

fn gateCount(comptime cell: Cell) usize {
    return switch (cell) {
        .lstm => 4,
        .gru => 3,
        .rnn => 1,
    };
}

const Act = struct {
    kind: Kind,
    alpha: f32 = 0,
    beta: f32 = 0,

    const Kind = enum {
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

    const names = [_]struct { []const u8, Kind, ?f32, ?f32 }{
        .{ "Relu", .relu, null, null },            .{ "Tanh", .tanh, null, null },
        .{ "Sigmoid", .sigmoid, null, null },      .{ "Affine", .affine, 1.0, 0.0 },
        .{ "LeakyRelu", .leaky_relu, 0.01, null }, .{ "ThresholdedRelu", .thresholded_relu, 1.0, null },
        .{ "ScaledTanh", .scaled_tanh, 1.0, 1.0 }, .{ "HardSigmoid", .hard_sigmoid, 0.2, 0.5 },
        .{ "Elu", .elu, 1.0, null },               .{ "Softsign", .softsign, null, null },
        .{ "Softplus", .softplus, null, null },
    };

    fn apply(self: Act, x: f32) f32 {
        return switch (self.kind) {
            .relu => @max(x, 0),
            .tanh => std.math.tanh(x),
            .sigmoid => if (x >= 0) 1 / (1 + @exp(-x)) else @exp(x) / (1 + @exp(x)),
            .affine => self.alpha * x + self.beta,
            .leaky_relu => if (x >= 0) x else self.alpha * x,
            .thresholded_relu => if (x >= self.alpha) x else 0,
            .scaled_tanh => self.alpha * std.math.tanh(self.beta * x),
            .hard_sigmoid => std.math.clamp(self.alpha * x + self.beta, 0, 1),
            .elu => if (x >= 0) x else self.alpha * (@exp(x) - 1),
            .softsign => x / (1 + @abs(x)),
            .softplus => if (x > 30) x else std.math.log1p(@exp(x)),
        };
    }
};

/// Activations per direction: the attribute lists them for each direction in turn; alphas and
/// betas are consumed in order by the functions that take them.
fn activations(comptime cell: Cell, ctx: *Context, dirs: usize) status.Error![2][3]Act {
    const per: usize = switch (cell) {
        .lstm => 3,
        .gru => 2,
        .rnn => 1,
    };
    const defaults = [3]Act{
        .{ .kind = if (cell == .rnn) .tanh else .sigmoid },
        .{ .kind = .tanh },
        .{ .kind = .tanh },
    };
    var result = [2][3]Act{ defaults, defaults };
    const strings = ctx.node.attrStrings("activations") orelse return result;
    if (strings.len != per and strings.len != per * dirs) {
        return ctx.fail("needs {d} activations, not {d}", .{ per * dirs, strings.len });
    }
    const alphas = ctx.node.attrFloats("activation_alpha") orelse &.{};
    const betas = ctx.node.attrFloats("activation_beta") orelse &.{};
    var next_alpha: usize = 0;
    var next_beta: usize = 0;
    for (0..dirs) |d| for (0..per) |g| {
        const name = strings[(d * per + g) % strings.len];
        const found = for (Act.names) |n| {
            if (std.ascii.eqlIgnoreCase(n[0], name)) break n;
        } else return ctx.fail("unknown activation '{s}'", .{name});
        var act: Act = .{ .kind = found[1] };
        if (found[2]) |default| {
            act.alpha = if (next_alpha < alphas.len) alphas[next_alpha] else default;
            next_alpha += 1;
        }
        if (found[3]) |default| {
            act.beta = if (next_beta < betas.len) betas[next_beta] else default;
            next_beta += 1;
        }
        result[d][g] = act;
    };
    return result;
}

const Dims = struct {
    seq: usize,
    batch: usize,
    input: usize,
    hidden: usize,
    dirs: usize,
    batch_first: bool,

    fn xRow(self: Dims, t: usize, b: usize) usize {
        return if (self.batch_first) b * self.seq + t else t * self.batch + b;
    }

    fn yOffset(self: Dims, t: usize, d: usize, b: usize) usize {
        const i = if (self.batch_first) (b * self.seq + t) * self.dirs + d else (t * self.dirs + d) * self.batch + b;
        return i * self.hidden;
    }

    fn stateOffset(self: Dims, d: usize, b: usize) usize {
        return (if (self.batch_first) b * self.dirs + d else d * self.batch + b) * self.hidden;
    }

    fn stateShape(self: Dims) [3]i64 {
        const h: i64 = @intCast(self.hidden);
        const d: i64 = @intCast(self.dirs);
        const b: i64 = @intCast(self.batch);
        return if (self.batch_first) .{ b, d, h } else .{ d, b, h };
    }
};

/// Everything one direction needs, read-only.
const Shared = struct {
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
};

fn expectShape(ctx: *Context, t: *const Tensor, what: []const u8, dims: []const usize) status.Error![]const f32 {
    if (t.dtype != .float32) return ctx.unsupported(t.dtype);
    var ok = t.shape.len == dims.len;
    if (ok) for (t.shape, dims) |a, b| {
        if (a != @as(i64, @intCast(b))) ok = false;
    };
    if (!ok) return ctx.fail("{s} has the wrong shape", .{what});
    return common.elems(ctx, f32, t);
}

fn recurrent(comptime cell: Cell) kernel.Kernel {
    return struct {
        fn run(ctx: *Context) status.Error!void {
            const x = try ctx.require(0);
            const w = try ctx.require(1);
            const r = try ctx.require(2);
            if (x.dtype != .float32) return ctx.unsupported(x.dtype);
            if (x.shape.len != 3 or w.shape.len != 3 or r.shape.len != 3) {
                return ctx.fail("X, W and R must have rank 3", .{});
            }
            for ([_]*const Tensor{ x, w, r }) |t| _ = try common.product(ctx, t.shape);
            const direction = ctx.node.attrString("direction", "forward");
            const bidirectional = std.mem.eql(u8, direction, "bidirectional");
            const reverse_only = std.mem.eql(u8, direction, "reverse");
            if (!bidirectional and !reverse_only and !std.mem.eql(u8, direction, "forward")) {
                return ctx.fail("unknown direction '{s}'", .{direction});
            }
            const batch_first = ctx.node.attrInt("layout", 0) != 0;
            const dims: Dims = .{
                .seq = @intCast(x.shape[if (batch_first) 1 else 0]),
                .batch = @intCast(x.shape[if (batch_first) 0 else 1]),
                .input = @intCast(x.shape[2]),
                .hidden = @intCast(r.shape[2]),
                .dirs = if (bidirectional) 2 else 1,
                .batch_first = batch_first,
            };
            const hidden_attr = ctx.node.attrInt("hidden_size", @intCast(dims.hidden));
            if (hidden_attr != @as(i64, @intCast(dims.hidden))) {
                return ctx.fail("hidden_size {d} differs from R's {d}", .{ hidden_attr, dims.hidden });
            }
            const gh = gateCount(cell) * dims.hidden;
            const widest = @max(dims.input, dims.hidden, 1) * (dims.seq + 1) * (dims.batch + 1);
            _ = std.math.mul(usize, gh, widest) catch return ctx.fail(
                "too large",
                .{},
            );
            const acts = try activations(cell, ctx, dims.dirs);
            const shared = try readInputs(cell, ctx, dims, x, w, r);
            for (0..dims.dirs) |d| {
                const reverse = reverse_only or d == 1;
                try runDirection(cell, ctx, &shared, d, reverse, acts[d]);
            }
        }
    }.run;
}

fn readInputs(
    comptime cell: Cell,
    ctx: *Context,
    dims: Dims,
    x: *const Tensor,
    w: *const Tensor,
    r: *const Tensor,
) status.Error!Shared {
    const gh = gateCount(cell) * dims.hidden;
    const state = [3]usize{
        if (dims.batch_first) dims.batch else dims.dirs,
        if (dims.batch_first) dims.dirs else dims.batch,
        dims.hidden,
    };
    var s: Shared = .{
        .dims = dims,
        .x = try common.elems(ctx, f32, x),
        .w = try expectShape(ctx, w, "W", &.{ dims.dirs, gh, dims.input }),
        .r = try expectShape(ctx, r, "R", &.{ dims.dirs, gh, dims.hidden }),
        .bias = if (ctx.input(3)) |b| try expectShape(ctx, b, "B", &.{ dims.dirs, 2 * gh }) else null,
        .lens = try ctx.alloc(usize, dims.batch),
        .init_h = if (ctx.input(5)) |h| try expectShape(ctx, h, "initial_h", &state) else null,
        .init_c = null,
        .peep = null,
        .clip = if (ctx.node.has("clip")) ctx.node.attrFloat("clip", 0) else null,
        .lbr = ctx.node.attrInt("linear_before_reset", 0) != 0,
        .input_forget = ctx.node.attrInt("input_forget", 0) != 0,
        .y = null,
        .y_h = &.{},
        .y_c = &.{},
    };
    if (cell == .lstm) {
        if (ctx.input(6)) |c| s.init_c = try expectShape(ctx, c, "initial_c", &state);
        if (ctx.input(7)) |p| s.peep = try expectShape(ctx, p, "P", &.{ dims.dirs, 3 * dims.hidden });
    }
    const lens: []usize = @constCast(s.lens);
    @memset(lens, dims.seq);
    if (ctx.input(4)) |t| {
        const values = try common.readInts(ctx, t, "sequence_lens");
        if (values.len != dims.batch) {
            return ctx.fail("sequence_lens has {d} values for batch {d}", .{ values.len, dims.batch });
        }
        for (lens, values) |*l, v| {
            if (v < 0 or v > @as(i64, @intCast(dims.seq))) return ctx.fail("sequence length {d} is out of range", .{v});
            l.* = @intCast(v);
        }
    }
    const h: i64 = @intCast(dims.hidden);
    const d: i64 = @intCast(dims.dirs);
    const seq: i64 = @intCast(dims.seq);
    const b: i64 = @intCast(dims.batch);
    if (ctx.wantsOutput(0)) {
        const shape = if (dims.batch_first) [4]i64{ b, seq, d, h } else [4]i64{ seq, d, b, h };
        const y = try ctx.output(0, .float32, &shape);
        // Steps past a sequence's length stay zero.
        @memset(y.data, 0);
        s.y = y.items(f32);
    }
    const state_shape = dims.stateShape();
    s.y_h = if (ctx.wantsOutput(1)) (try ctx.output(1, .float32, &state_shape)).items(f32) else try ctx.alloc(
        f32,
        dims.dirs * dims.batch * dims.hidden,
    );
    if (cell == .lstm) {
        s.y_c = if (ctx.wantsOutput(2)) (try ctx.output(2, .float32, &state_shape)).items(f32) else try ctx.alloc(
            f32,
            dims.dirs * dims.batch * dims.hidden,
        );
    }
    return s;
}

/// Per-direction working state.
const Work = struct {
    xw: []f32,
    h: []f32,
    c: []f32,
    hr: []f32,
    gate: []f32,
    hh: []f32,
};

fn runDirection(
    comptime cell: Cell,
    ctx: *Context,
    s: *const Shared,
    d: usize,
    reverse: bool,
    acts: [3]Act,
) status.Error!void {
    const dm = s.dims;
    const hid = dm.hidden;
    const gh = gateCount(cell) * hid;
    const rows = dm.seq * dm.batch;
    var wk: Work = .{
        .xw = try ctx.alloc(f32, rows * gh),
        .h = try ctx.alloc(f32, dm.batch * hid),
        .c = try ctx.alloc(f32, dm.batch * hid),
        .hr = try ctx.alloc(f32, dm.batch * gh),
        .gate = try ctx.alloc(f32, dm.batch * gh),
        .hh = try ctx.alloc(f32, dm.batch * hid),
    };
    const w_d = s.w[d * gh * dm.input ..][0 .. gh * dm.input];
    const r_d = s.r[d * gh * hid ..][0 .. gh * hid];
    const packed_weights = if (ctx.prepared(PackedWeights)) |p| (if (p.fits(dm)) p else null) else null;
    const projection: linalg.Sgemm = .{ .m = rows, .n = gh, .k = dm.input, .trans_b = true };
    if (packed_weights) |p| try projection.runShared(s.x, p.at(d, .w), wk.xw, null) else try projection.run(s.x, w_d, wk.xw);
    if (s.bias) |bias| {
        const wb = bias[d * 2 * gh ..][0..gh];
        const rb = bias[d * 2 * gh + gh ..][0..gh];
        for (0..rows) |row| for (wk.xw[row * gh ..][0..gh], wb, rb, 0..) |*v, a, b, j| {
            // GRU with linear_before_reset adds Rbh inside the reset product instead.
            const inner = cell == .gru and s.lbr and j >= 2 * hid;
            v.* += a + (if (inner) 0 else b);
        };
    }
    for (0..dm.batch) |b| {
        const src = dm.stateOffset(d, b);
        if (s.init_h) |h0| @memcpy(wk.h[b * hid ..][0..hid], h0[src..][0..hid]) else @memset(
            wk.h[b * hid ..][0..hid],
            0,
        );
        if (s.init_c) |c0| @memcpy(wk.c[b * hid ..][0..hid], c0[src..][0..hid]) else @memset(
            wk.c[b * hid ..][0..hid],
            0,
        );
    }
    // GRU's candidate gate multiplies R_h separately (after the reset gate), so it packs apart.
    const main_n = if (cell == .gru) 2 * hid else gh;
    var r_main = if (packed_weights) |p|
        try linalg.Prepacked.borrow(p.at(d, .r_main), hid, main_n)
    else
        try linalg.Prepacked.init(r_d[0 .. main_n * hid], hid, main_n, true);
    defer r_main.deinit();
    const r_h_data = r_d[if (cell == .gru) 2 * hid * hid else 0..][0 .. hid * hid];
    var r_h: ?linalg.Prepacked = if (cell != .gru) null else if (packed_weights) |p|
        try linalg.Prepacked.borrow(p.at(d, .r_h), hid, hid)
    else
        try linalg.Prepacked.init(r_h_data, hid, hid, true);
    defer if (r_h) |*p| p.deinit();
    for (0..dm.seq) |step| {
        try r_main.run(wk.h, dm.batch, wk.hr[0 .. dm.batch * main_n]);
        switch (cell) {
            .lstm => lstmStep(s, &wk, d, step, reverse, acts),
            .rnn => rnnStep(s, &wk, d, step, reverse, acts),
            .gru => try gruStep(s, &wk, &r_h.?, d, step, reverse, acts),
        }
    }
    for (0..dm.batch) |b| {
        const dst = dm.stateOffset(d, b);
        @memcpy(s.y_h[dst..][0..hid], wk.h[b * hid ..][0..hid]);
        if (cell == .lstm) @memcpy(s.y_c[dst..][0..hid], wk.c[b * hid ..][0..hid]);
    }
}

/// The time index batch entry `b` processes at `step`, or null once its sequence has ended.
fn timeOf(s: *const Shared, b: usize, step: usize, reverse: bool) ?usize {
    const len = s.lens[b];
    if (step >= len) return null;
    return if (reverse) len - 1 - step else step;
}

fn clipped(s: *const Shared, v: f32) f32 {
    return if (s.clip) |c| std.math.clamp(v, -c, c) else v;
}

fn emit(s: *const Shared, wk: *const Work, d: usize, t: usize, b: usize) void {
    const hid = s.dims.hidden;
    if (s.y) |y| @memcpy(y[s.dims.yOffset(t, d, b)..][0..hid], wk.h[b * hid ..][0..hid]);
}

fn rnnStep(s: *const Shared, wk: *Work, d: usize, step: usize, reverse: bool, acts: [3]Act) void {
    const hid = s.dims.hidden;
    for (0..s.dims.batch) |b| {
        const t = timeOf(s, b, step, reverse) orelse continue;
        const xw = wk.xw[s.dims.xRow(t, b) * hid ..][0..hid];
        for (wk.h[b * hid ..][0..hid], xw, wk.hr[b * hid ..][0..hid]) |*h, a, r| h.* = acts[0].apply(clipped(s, a + r));
        emit(s, wk, d, t, b);
    }
}

fn lstmStep(s: *const Shared, wk: *Work, d: usize, step: usize, reverse: bool, acts: [3]Act) void {
    const hid = s.dims.hidden;
    const gh = 4 * hid;
    for (0..s.dims.batch) |b| {
        const t = timeOf(s, b, step, reverse) orelse continue;
        const xw = wk.xw[s.dims.xRow(t, b) * gh ..][0..gh];
        const hr = wk.hr[b * gh ..][0..gh];
        const h = wk.h[b * hid ..][0..hid];
        const c = wk.c[b * hid ..][0..hid];
        for (0..hid) |j| {
            // Gate order in W, R and B: input, output, forget, cell. P holds input, output, forget.
            const pi: f32 = if (s.peep) |p| p[d * 3 * hid + j] else 0;
            const po: f32 = if (s.peep) |p| p[d * 3 * hid + hid + j] else 0;
            const pf: f32 = if (s.peep) |p| p[d * 3 * hid + 2 * hid + j] else 0;
            const i = acts[0].apply(clipped(s, xw[j] + hr[j] + pi * c[j]));
            const f = if (s.input_forget) 1 - i else acts[0].apply(
                clipped(s, xw[2 * hid + j] + hr[2 * hid + j] + pf * c[j]),
            );
            const g = acts[1].apply(clipped(s, xw[3 * hid + j] + hr[3 * hid + j]));
            c[j] = f * c[j] + i * g;
            const o = acts[0].apply(clipped(s, xw[hid + j] + hr[hid + j] + po * c[j]));
            h[j] = o * acts[2].apply(c[j]);
        }
        emit(s, wk, d, t, b);
    }
}

fn gruStep(
    s: *const Shared,
    wk: *Work,
    r_h: *const linalg.Prepacked,
    d: usize,
    step: usize,
    reverse: bool,
    acts: [3]Act,
) status.Error!void {
    const hid = s.dims.hidden;
    const gh = 3 * hid;
    // Update and reset gates first: the candidate's recurrent product needs the reset gate.
    for (0..s.dims.batch) |b| {
        const z = wk.gate[b * gh ..][0..hid];
        const r = wk.gate[b * gh + hid ..][0..hid];
        const t = timeOf(s, b, step, reverse) orelse {
            @memset(wk.hh[b * hid ..][0..hid], 0);
            continue;
        };
        const xw = wk.xw[s.dims.xRow(t, b) * gh ..][0..gh];
        const hr = wk.hr[b * 2 * hid ..][0 .. 2 * hid];
        for (0..hid) |j| {
            z[j] = acts[0].apply(clipped(s, xw[j] + hr[j]));
            r[j] = acts[0].apply(clipped(s, xw[hid + j] + hr[hid + j]));
            // Without linear_before_reset the product takes (r . H); with it, H alone.
            wk.hh[b * hid + j] = if (s.lbr) wk.h[b * hid + j] else r[j] * wk.h[b * hid + j];
        }
    }
    const product = wk.hr[0 .. s.dims.batch * hid];
    try r_h.run(wk.hh, s.dims.batch, product);
    const rbh: ?[]const f32 = if (s.bias) |bias| bias[d * 2 * gh + gh + 2 * hid ..][0..hid] else null;
    for (0..s.dims.batch) |b| {
        const t = timeOf(s, b, step, reverse) orelse continue;
        const xw = wk.xw[s.dims.xRow(t, b) * gh ..][0..gh];
        const z = wk.gate[b * gh ..][0..hid];
        const r = wk.gate[b * gh + hid ..][0..hid];
        const h = wk.h[b * hid ..][0..hid];
        for (0..hid) |j| {
            const rec = product[b * hid + j];
            const bias: f32 = if (rbh) |v| v[j] else 0;
            const pre = if (s.lbr) xw[2 * hid + j] + r[j] * (rec + bias) else xw[2 * hid + j] + rec;
            const cand = acts[1].apply(clipped(s, pre));
            h[j] = (1 - z[j]) * cand + z[j] * h[j];
        }
        emit(s, wk, d, t, b);
    }
}

/// W and R of every direction, packed at load when both are float32 constants (weights, as they
/// nearly always are). A run would otherwise pack them again each time; for a model that runs
/// one step per call (a streaming VAD's LSTM) that packing cost more than the step.
const PackedWeights = struct {
    dirs: usize,
    input: usize,
    hidden: usize,
    /// Per direction, `per_direction` parts in Part order: GRU's candidate rows of R (r_h) are
    /// apart because they multiply r . H, after the reset gate; other cells have no r_h.
    parts: []gemm.PackedB,
    per_direction: usize,
    filled: usize = 0,

    const Part = enum { w, r_main, r_h };

    fn at(self: *const PackedWeights, d: usize, part: Part) *const gemm.PackedB {
        return &self.parts[d * self.per_direction + @intFromEnum(part)];
    }

    /// Whether a run's shapes are the ones packed (the constants'; a run reports others).
    fn fits(self: *const PackedWeights, dm: Dims) bool {
        return self.dirs == dm.dirs and self.input == dm.input and self.hidden == dm.hidden;
    }

    fn release(self: *PackedWeights) void {
        for (self.parts[0..self.filled]) |*p| p.deinit();
        memory.allocator.free(self.parts);
        memory.allocator.destroy(self);
    }
};

fn prepareRecurrent(comptime cell: Cell) prepare.Prepare {
    return struct {
        fn build(p: *const prepare.Preparation) status.Error!?prepare.Prepared {
            const w = p.constantFloats(1) orelse return null;
            const r = p.constantFloats(2) orelse return null;
            if (w.shape.len != 3 or r.shape.len != 3) return null;
            for ([_]i64{ w.shape[0], w.shape[1], w.shape[2], r.shape[2] }) |extent| if (extent <= 0) return null;
            const dirs: usize = @intCast(w.shape[0]);
            const input: usize = @intCast(w.shape[2]);
            const hid: usize = @intCast(r.shape[2]);
            const gh = std.math.mul(usize, gateCount(cell), hid) catch return null;
            // Shapes that disagree are the run's to report, in its words.
            if (w.shape[1] != @as(i64, @intCast(gh)) or r.shape[0] != w.shape[0] or r.shape[1] != w.shape[1]) return null;
            if (dirs > 2 or w.values.len != dirs * gh * input or r.values.len != dirs * gh * hid) return null;

            const per_direction: usize = if (cell == .gru) 3 else 2;
            const parts = memory.allocator.alloc(gemm.PackedB, dirs * per_direction) catch return outOfMemory();
            errdefer memory.allocator.free(parts);
            const self = memory.allocator.create(PackedWeights) catch return outOfMemory();
            errdefer memory.allocator.destroy(self);
            self.* = .{ .dirs = dirs, .input = input, .hidden = hid, .parts = parts, .per_direction = per_direction };
            errdefer for (parts[0..self.filled]) |*part| part.deinit();
            const main_n = if (cell == .gru) 2 * hid else gh;
            for (0..dirs) |d| {
                const r_d = r.values[d * gh * hid ..][0 .. gh * hid];
                // As the run multiplies them: X * W_d^T, H * R_d^T (N x K, packed transposed).
                parts[self.filled] = try sgemm.packForModel(p.store, w.values[d * gh * input ..][0 .. gh * input], input, gh, true);
                self.filled += 1;
                parts[self.filled] = try sgemm.packForModel(p.store, r_d[0 .. main_n * hid], hid, main_n, true);
                self.filled += 1;
                if (cell == .gru) {
                    parts[self.filled] = try sgemm.packForModel(p.store, r_d[2 * hid * hid ..][0 .. hid * hid], hid, hid, true);
                    self.filled += 1;
                }
            }
            return .of(PackedWeights, self, PackedWeights.release);
        }

        fn outOfMemory() status.Error {
            return status.fail(error.OutOfResource, "out of memory packing recurrent weights", .{});
        }
    }.build;
}

pub const kernels = [_]Entry{
    .{ .op = "LSTM", .run = recurrent(.lstm), .prepare = prepareRecurrent(.lstm) },
    .{ .op = "GRU", .run = recurrent(.gru), .prepare = prepareRecurrent(.gru) },
    .{ .op = "RNN", .run = recurrent(.rnn), .prepare = prepareRecurrent(.rnn) },
};
