//! Recurrent layers: LSTM, GRU and RNN (float32; forward, reverse, bidirectional; batch-first
//! layout; per-batch sequence lengths; peepholes, clip, custom activations).
//!
//! The input projection X * W^T + bias for every time step and both directions is one SGEMM
//! before the time loop, on the model's threads. Each step then multiplies the state by R^T (a
//! GEMV at batch 1) and computes the gates 16 hidden units at a time in vector registers, with
//! simd_math's exp and tanh (scalar libm calls cost more than the products at VAD sizes). When
//! W and R are constants (weights) they are packed at load (PackedWeights); otherwise once per
//! run. The scratch comes from the run's arena, sized once per node: no step allocates.
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
const steps = @import("linalg_rnn_steps.zig");

const Context = kernel.Context;
const Tensor = kernel.Tensor;
const Cell = steps.Cell;
const Act = steps.Act;
const Dims = steps.Dims;
const Shared = steps.Shared;
const Work = steps.Work;
const gateCount = steps.gateCount;

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
            _ = std.math.mul(usize, gh * dims.dirs, widest) catch return ctx.fail(
                "too large",
                .{},
            );
            const acts = try activations(cell, ctx, dims.dirs);
            var shared = try readInputs(cell, ctx, dims, x, w, r);
            const packed_weights = if (ctx.prepared(PackedWeights)) |p| (if (p.fits(dims)) p else null) else null;
            shared.xw = try project(cell, ctx, &shared, packed_weights);
            for (0..dims.dirs) |d| {
                const reverse = reverse_only or d == 1;
                try runDirection(cell, ctx, &shared, packed_weights, d, reverse, acts[d]);
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
        .xw = &.{},
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

/// X * W^T + bias for every time step, batch entry and direction: one SGEMM over W's rows of
/// all directions, the biases added in its store. GRU with linear_before_reset leaves R's
/// candidate bias out: the step adds it inside the reset gate's product.
fn project(comptime cell: Cell, ctx: *Context, s: *const Shared, packed_weights: ?*const PackedWeights) status.Error![]f32 {
    const dm = s.dims;
    const gh = gateCount(cell) * dm.hidden;
    const width = dm.dirs * gh;
    const rows = dm.seq * dm.batch;
    const xw = try ctx.alloc(f32, rows * width);
    var bias: ?[]f32 = null;
    if (s.bias) |b| {
        const sum = try ctx.alloc(f32, width);
        for (0..dm.dirs) |d| for (sum[d * gh ..][0..gh], b[d * 2 * gh ..][0..gh], b[d * 2 * gh + gh ..][0..gh], 0..) |*v, wb, rb, j| {
            const inner = cell == .gru and s.lbr and j >= 2 * dm.hidden;
            v.* = wb + (if (inner) 0 else rb);
        };
        bias = sum;
    }
    const product: linalg.Sgemm = .{ .m = rows, .n = width, .k = dm.input, .trans_b = true, .bias = bias };
    if (packed_weights) |p| {
        var ws = try gemm.Workspace.init(ctx.arena, p.w.tuning, ctx.threadCount());
        defer ws.deinit();
        try product.runPacked(s.x, &p.w, &ws, xw, ctx.pool);
    } else {
        try product.runOn(s.x, s.w, xw, ctx.pool);
    }
    return xw;
}

fn runDirection(
    comptime cell: Cell,
    ctx: *Context,
    s: *const Shared,
    packed_weights: ?*const PackedWeights,
    d: usize,
    reverse: bool,
    acts: [3]Act,
) status.Error!void {
    const dm = s.dims;
    const hid = dm.hidden;
    const gh = gateCount(cell) * hid;
    const state = dm.batch * hid;
    var wk: Work = .{
        .h = try ctx.alloc(f32, state),
        .c = try ctx.alloc(f32, if (cell == .lstm) state else 0),
        .hr = try ctx.alloc(f32, dm.batch * gh),
        .z = try ctx.alloc(f32, if (cell == .gru) state else 0),
        .r = try ctx.alloc(f32, if (cell == .gru) state else 0),
        .hh = try ctx.alloc(f32, if (cell == .gru) state else 0),
    };
    for (0..dm.batch) |b| {
        const src = dm.stateOffset(d, b);
        const h = wk.h[b * hid ..][0..hid];
        if (s.init_h) |h0| @memcpy(h, h0[src..][0..hid]) else @memset(h, 0);
        if (cell == .lstm) {
            const c = wk.c[b * hid ..][0..hid];
            if (s.init_c) |c0| @memcpy(c, c0[src..][0..hid]) else @memset(c, 0);
        }
    }
    // GRU's candidate gate multiplies R_h separately (after the reset gate), so it packs apart.
    const main_n = if (cell == .gru) 2 * hid else gh;
    const r_d = s.r[d * gh * hid ..][0 .. gh * hid];
    const threads = ctx.threadCount();
    var r_main = if (packed_weights) |p|
        try linalg.Prepacked.borrow(ctx.arena, p.at(d, .r_main), hid, main_n, threads)
    else
        try linalg.Prepacked.init(ctx.arena, r_d[0 .. main_n * hid], hid, main_n, true, threads);
    defer r_main.deinit();
    var r_h: ?linalg.Prepacked = if (cell != .gru) null else if (packed_weights) |p|
        try linalg.Prepacked.borrow(ctx.arena, p.at(d, .r_h), hid, hid, threads)
    else
        try linalg.Prepacked.init(ctx.arena, r_d[2 * hid * hid ..][0 .. hid * hid], hid, hid, true, threads);
    defer if (r_h) |*p| p.deinit();
    for (0..dm.seq) |step| {
        try r_main.run(wk.h, dm.batch, wk.hr[0 .. dm.batch * main_n], ctx.pool);
        switch (cell) {
            .lstm => steps.lstmStep(s, &wk, d, step, reverse, acts),
            .rnn => steps.rnnStep(s, &wk, d, step, reverse, acts),
            .gru => try steps.gruStep(ctx, s, &wk, &r_h.?, d, step, reverse, acts),
        }
    }
    for (0..dm.batch) |b| {
        const dst = dm.stateOffset(d, b);
        @memcpy(s.y_h[dst..][0..hid], wk.h[b * hid ..][0..hid]);
        if (cell == .lstm) @memcpy(s.y_c[dst..][0..hid], wk.c[b * hid ..][0..hid]);
    }
}

/// W and R packed at load when both are float32 constants (weights, as they nearly always are).
/// A run would otherwise pack them again each time; for a model that runs one step per call (a
/// streaming VAD's LSTM) that packing cost more than the step.
const PackedWeights = struct {
    dirs: usize,
    input: usize,
    hidden: usize,
    /// W of every direction as one product: X * [W_0; W_1]^T.
    w: gemm.PackedB,
    /// Per direction, `per_direction` parts of R in Part order: GRU's candidate rows (r_h) are
    /// apart because they multiply r . H, after the reset gate; other cells have no r_h.
    r_parts: []gemm.PackedB,
    per_direction: usize,
    filled: usize = 0,

    const Part = enum { r_main, r_h };

    fn at(self: *const PackedWeights, d: usize, part: Part) *const gemm.PackedB {
        return &self.r_parts[d * self.per_direction + @intFromEnum(part)];
    }

    /// Whether a run's shapes are the ones packed (the constants'; a run reports others).
    fn fits(self: *const PackedWeights, dm: Dims) bool {
        return self.dirs == dm.dirs and self.input == dm.input and self.hidden == dm.hidden;
    }

    fn release(self: *PackedWeights) void {
        for (self.r_parts[0..self.filled]) |*p| p.deinit();
        memory.allocator.free(self.r_parts);
        self.w.deinit();
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

            const per_direction: usize = if (cell == .gru) 2 else 1;
            const r_parts = memory.allocator.alloc(gemm.PackedB, dirs * per_direction) catch return outOfMemory();
            errdefer memory.allocator.free(r_parts);
            const self = memory.allocator.create(PackedWeights) catch return outOfMemory();
            errdefer memory.allocator.destroy(self);
            // As the run multiplies them: X * W^T and H * R_d^T (N x K, packed transposed).
            const packed_w = try sgemm.packForModel(p.store, w.values, input, dirs * gh, true);
            self.* = .{ .dirs = dirs, .input = input, .hidden = hid, .w = packed_w, .r_parts = r_parts, .per_direction = per_direction };
            errdefer self.w.deinit();
            errdefer for (r_parts[0..self.filled]) |*part| part.deinit();
            const main_n = if (cell == .gru) 2 * hid else gh;
            for (0..dirs) |d| {
                const r_d = r.values[d * gh * hid ..][0 .. gh * hid];
                r_parts[self.filled] = try sgemm.packForModel(p.store, r_d[0 .. main_n * hid], hid, main_n, true);
                self.filled += 1;
                if (cell == .gru) {
                    r_parts[self.filled] = try sgemm.packForModel(p.store, r_d[2 * hid * hid ..][0 .. hid * hid], hid, hid, true);
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

test {
    _ = @import("linalg_rnn_test.zig");
}
