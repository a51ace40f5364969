//! f32 convolutions as packed SGEMMs: per image and group, Y (M/g x P positions, NCHW as it
//! stands) = W (M/g x K) * im2col(X) (K x P), with the channel bias added in the GEMM's store.
//! - W is packed into the GEMM's A micro-panels (gemm.PackedA) when the node is compiled at load,
//!   for the model's life, when it is a graph constant (see `prepare`); otherwise per call.
//! - im2col(X) is written straight into the GEMM's B panel layout (1x1 stride-1 windows just
//!   copy X), one column block at a time: a thread packs a block of output positions into its
//!   own buffer and multiplies it while the block is still in cache. Blocks are spread over the
//!   model's threads, so each thread packs only what it multiplies.
//!   On several threads there are several blocks per thread (see Plan.of), so that a thread
//!   that starts late takes fewer blocks instead of making the others wait.
//! - Small maps (7x7, 1x1) swap the operands (see Form): W becomes the packed B, and the
//!   threads split the output channels.
const std = @import("std");
const common = @import("nn_common.zig");
const im2col_module = @import("nn_im2col.zig");
const gemm = @import("../gemm.zig");
const gemm_kernels = @import("../gemm_kernels.zig");
const memory = @import("../../../core/memory.zig");
const status = @import("../../../core/status.zig");
const ThreadPool = @import("../thread_pool.zig").ThreadPool;
const fused = @import("fused.zig");
const Prepared = @import("../prepare.zig").Prepared;
const winograd = @import("nn_conv_winograd.zig");
const Store = @import("../weight_store.zig").Store;

const Context = common.Context;
const Error = common.Error;
const Geometry = common.Geometry;

/// Sizes of one grouped convolution (checked by nn_conv.convShape).
pub const Shape = @import("nn_conv.zig").ConvShape;

/// Which side of the GEMM W is on. `.left`: Y (M/g x P) = W * im2col, written in place, for
/// all but small outputs. `.right`: Y^T (P x M/g) = im2col^T * W^T, then transposed, for fewer
/// than `right_below` positions (the 7x7 and 1x1 maps of late layers), where P as the GEMM's N
/// would fill its NR-wide panels poorly (49 of 64 columns) and as M fills MR-row tiles well.
pub const Form = enum { left, right };

const right_below = 128;

/// The form for `positions` output positions per image and group.
fn formFor(positions: usize) Form {
    return if (positions < right_below) .right else .left;
}

/// W packed for the GEMM in one form, one operand per group, allocated with `allocator`.
pub const PackedWeights = struct {
    allocator: std.mem.Allocator,
    form: Form,
    left: []gemm.PackedA = &.{},
    right: []gemm.PackedB = &.{},

    /// `w` holds `group` matrices of `mg` x `k`; packed through `store` at load, with
    /// `allocator` alone for one run.
    fn init(allocator: std.mem.Allocator, store: ?*Store, group: usize, mg: usize, k: usize, w: []const f32, form: Form) Error!PackedWeights {
        const tuning = im2col_module.hostTuning();
        var self: PackedWeights = .{ .allocator = allocator, .form = form };
        switch (form) {
            .left => self.left = allocator.alloc(gemm.PackedA, group) catch return outOfMemory(),
            .right => self.right = allocator.alloc(gemm.PackedB, group) catch return outOfMemory(),
        }
        var made: usize = 0;
        errdefer {
            for (self.left[0..@min(made, self.left.len)]) |*g| g.deinit();
            for (self.right[0..@min(made, self.right.len)]) |*g| g.deinit();
            allocator.free(self.left);
            allocator.free(self.right);
        }
        for (0..group) |i| {
            const wg = w[i * mg * k ..][0 .. mg * k];
            // .right: W is M/g x K row-major, W^T's K x M/g read transposed.
            if (store) |s| switch (form) {
                .left => self.left[i] = try s.packA(tuning.variant, wg, mg, k),
                .right => self.right[i] = try s.packB(tuning, wg, true, k, mg),
            } else switch (form) {
                .left => self.left[i] = try gemm.PackedA.init(allocator, tuning.variant, wg, k, mg, k),
                .right => self.right[i] = try gemm.PackedB.init(allocator, tuning, wg, k, true, k, mg),
            }
            made += 1;
        }
        return self;
    }

    fn deinit(self: *PackedWeights) void {
        for (self.left) |*g| g.deinit();
        for (self.right) |*g| g.deinit();
        self.allocator.free(self.left);
        self.allocator.free(self.right);
    }
};

/// A constant W packed at load, per form (indexed by Form): the one its output positions call
/// for, or both when inference left them symbolic and each run's extents pick one; or, for a
/// 3x3 convolution that gains from it, transformed for nn_conv_winograd.zig instead.
pub const PreparedWeights = struct {
    forms: [2]?PackedWeights = .{ null, null },
    winograd: ?*winograd.Weights = null,

    fn release(self: *PreparedWeights) void {
        for (&self.forms) |*form| if (form.*) |*weights| weights.deinit();
        if (self.winograd) |w| w.deinit();
        memory.allocator.destroy(self);
    }
};

/// Transforms a constant 3x3 W (M x C x 3 x 3) for the Winograd engine when its node is
/// compiled at load (see winograd.worthwhile).
pub fn prepareWinograd(store: *Store, w: []const f32, c: usize, m: usize) Error!Prepared {
    const self = memory.allocator.create(PreparedWeights) catch return outOfMemory();
    self.* = .{};
    errdefer self.release();
    self.winograd = try winograd.Weights.init(store, w, c, m);
    return .of(PreparedWeights, self, PreparedWeights.release);
}

/// The Winograd form of W, when the node's weights were prepared that way.
pub fn winogradWeights(ctx: *const Context) ?*const winograd.Weights {
    const prepared = ctx.prepared(PreparedWeights) orelse return null;
    return prepared.winograd;
}

/// Packs a constant W (`group` matrices of `mg` x `k`) when its node is compiled at load, for
/// `positions` output positions per image, or for any number (null). The packing depends on the
/// host's GEMM tuning (fixed for the process) and the form, never on the thread count.
pub fn prepare(store: *Store, w: []const f32, group: usize, mg: usize, k: usize, positions: ?usize) Error!Prepared {
    const self = memory.allocator.create(PreparedWeights) catch return outOfMemory();
    self.* = .{};
    errdefer self.release();
    for (std.enums.values(Form)) |form| {
        if (positions) |p| if (formFor(p) != form) continue;
        self.forms[@intFromEnum(form)] = try PackedWeights.init(memory.allocator, store, group, mg, k, w, form);
    }
    return .of(PreparedWeights, self, PreparedWeights.release);
}

/// Y = act(conv(X, W) + bias + residual) for f32 X (`fusion` names the residual and the
/// activation, or none); W is input 1 of the node, read here only when the form this run needs
/// was not packed at load.
pub fn run(ctx: *const Context, s: Shape, x: []const f32, bias: ?[]const f32, fusion: fused.ConvFusion, y: []f32) Error!void {
    if (s.geo.outCount() == 0 or s.mg() == 0 or s.n == 0) return;
    const weights = try packedWeights(ctx, s);
    if (weights.form == .right) return runRight(ctx, s, x, weights, bias, fusion, y);
    const k = s.depth();
    const in_plane = s.geo.inCount();
    const out_plane = s.geo.outCount();
    const plan = Plan.of(s, ctx.threadCount());
    const buffers = ctx.arena.alignedAlloc(f32, .@"64", try plan.bufferFloats(ctx, k)) catch
        return status.fail(error.OutOfResource, "out of memory for im2col blocks", .{});
    for (0..s.n) |image| for (0..s.group) |group| {
        const first = image * s.m + group * s.mg();
        var job: Job = .{
            .g = s.geo,
            .x = x[(image * s.c + group * s.cg()) * in_plane ..][0 .. s.cg() * in_plane],
            .channels = s.cg(),
            .weights = &weights.left[group],
            .bias = if (bias) |b| b[group * s.mg() ..][0..s.mg()] else null,
            .y = y[first * out_plane ..][0 .. s.mg() * out_plane],
            .residual = if (fusion.residual) |r| r[first * out_plane ..][0 .. s.mg() * out_plane] else null,
            .activation = fusion.activation,
            .plan = plan,
            .buffers = buffers,
        };
        try job.run(ctx);
    };
}

fn outOfMemory() Error {
    return status.fail(error.OutOfResource, "out of memory packing convolution weights", .{});
}

fn packedWeights(ctx: *const Context, s: Shape) Error!*const PackedWeights {
    const form = formFor(s.geo.outCount());
    if (ctx.prepared(PreparedWeights)) |prepared| if (prepared.forms[@intFromEnum(form)]) |*weights| return weights;
    // W is not a constant, or this run's extents differ from those inference settled on.
    const made = ctx.arena.create(PackedWeights) catch return outOfMemory();
    const w = try common.floats(f32, ctx, try ctx.require(1));
    made.* = try PackedWeights.init(ctx.arena, null, s.group, s.mg(), s.depth(), w, form);
    return made;
}

/// The `.right` form: per image and group, im2col as a K x P matrix (X itself for 1x1
/// windows), packed once as the GEMM's A (read transposed: P x K), times W^T in channel blocks
/// spread over the threads. Each block's P x channels result is transposed into its channels'
/// rows of Y (with the fused residual and activation) by the thread that made it, while it is
/// in cache. P is small here, so the copies are too.
fn runRight(ctx: *const Context, s: Shape, x: []const f32, weights: *const PackedWeights, bias: ?[]const f32, fusion: fused.ConvFusion, y: []f32) Error!void {
    const g = s.geo;
    const k = s.depth();
    const p = g.outCount();
    const mg = s.mg();
    const pointwise = g.isPointwise();
    const tuning = im2col_module.hostTuning();
    const nr = gemm_kernels.shape(tuning.variant).nr;
    const col: []f32 = if (pointwise) &.{} else try ctx.alloc(f32, try common.mulChecked(ctx, k, p));
    const panels = std.math.divCeil(usize, mg, nr) catch unreachable;
    const threads = ctx.threadCount();
    // Blocks of whole panels, several per thread (see Plan.of), at least 2 panels each; each
    // block reads all of the packed A, so only two per thread when A is beyond L2 (ResNet's
    // 7x7 3x3 convolution: 49 x 4608).
    const per_thread: usize = if (p * k > large_w_floats) 2 else blocks_per_thread;
    const per_block = if (threads > 1) @max(2, std.math.divCeil(usize, panels, per_thread * threads) catch unreachable) else panels;
    const blocks = std.math.divCeil(usize, panels, per_block) catch unreachable;
    const slots = @min(threads, blocks);
    const result = try ctx.alloc(f32, try common.mulChecked(ctx, p, per_block * nr * slots));
    for (0..s.n) |image| for (0..s.group) |group| {
        const xg = x[(image * s.c + group * s.cg()) * g.inCount() ..][0 .. s.cg() * g.inCount()];
        const a: []const f32 = if (pointwise) xg else blk: {
            im2col_module.im2col(f32, g, xg, s.cg(), col);
            break :blk col;
        };
        // op(A) = a^T (P x K): packed once here, shared read-only by every block.
        const packed_a = try gemm.PackedA.initTransposed(ctx.arena, tuning.variant, a, p, p, k);
        const first = (image * s.m + group * mg) * p;
        var job: RightJob = .{
            .a = &packed_a,
            .b = &weights.right[group],
            .bias = if (bias) |b| b[group * mg ..][0..mg] else null,
            .y = y[first..][0 .. mg * p],
            .residual = if (fusion.residual) |r| r[first..][0 .. mg * p] else null,
            .activation = fusion.activation,
            .result = result,
            .per_block = per_block,
            .nr = nr,
        };
        common.runUnits(ctx, blocks, slots, &job, RightJob.block);
        if (job.failed.load(.monotonic)) return ctx.fail("the convolution's GEMM failed", .{});
    };
}

/// One image and group of the `.right` form: channel blocks of W^T, each multiplied and
/// transposed into Y by one thread.
const RightJob = struct {
    a: *const gemm.PackedA,
    b: *const gemm.PackedB,
    bias: ?[]const f32,
    /// M/g rows of P positions.
    y: []f32,
    residual: ?[]const f32,
    activation: fused.Activation,
    /// P x (per_block * nr) floats per slot.
    result: []f32,
    per_block: usize,
    nr: usize,
    failed: std.atomic.Value(bool) = .init(false),

    fn block(self: *RightJob, slot: usize, index: usize) void {
        const p = self.a.m;
        const k = self.a.k;
        const mg = self.b.n;
        const c0 = index * self.per_block * self.nr;
        const cols = @min(self.per_block * self.nr, mg - c0);
        // The block's panels of the packed W^T, as a PackedB of its own.
        const panel_floats = k * self.nr;
        const first_panel = c0 / self.nr;
        const panel_count = std.math.divCeil(usize, cols, self.nr) catch unreachable;
        const view: gemm.PackedB = .{
            .allocator = undefined, // a view: never freed
            .data = @alignCast(self.b.data[first_panel * panel_floats ..][0 .. panel_count * panel_floats]),
            .tuning = self.b.tuning,
            .k = k,
            .n = cols,
        };
        const out = self.result[slot * p * self.per_block * self.nr ..][0 .. p * cols];
        // Shapes were checked before the job started, so the GEMM's own checks cannot fail.
        gemm.gemmPacked(.{
            .m = p,
            .n = cols,
            .k = k,
            .a = &.{},
            .lda = k,
            .c = out,
            .ldc = cols,
            .epilogue = .{ .bias = if (self.bias) |b| b[c0..][0..cols] else null },
        }, self.a, &view, null) catch {
            self.failed.store(true, .monotonic);
            return;
        };
        for (0..cols) |j| {
            const row = self.y[(c0 + j) * p ..][0..p];
            for (row, 0..) |*o, i| o.* = out[i * cols + j];
            // The fused Add and activation, in the order the graph had them.
            if (self.residual) |r| for (row, r[(c0 + j) * p ..][0..p]) |*o, v| {
                o.* += v;
            };
            self.activation.applySlice(row);
        }
    }
};

/// Column blocks per thread on more than one thread (see Plan.of).
const blocks_per_thread = 4;
/// Fewer panels per block cost more in per-block packing and GEMM set-up (profiled: packing
/// doubled at 2 panels) than the finer split gains.
const min_block_panels = 4;
/// An operand above this many floats (512 KiB, an L2) is not re-read per small block.
const large_w_floats = 128 * 1024;

/// How the positions of one GEMM are cut: into column blocks each packed and multiplied by one
/// thread, or (too few for the threads) one block over all positions with the GEMM threaded.
const Plan = struct {
    panels: usize,
    blocks: usize,
    /// Columns per panel: the host kernel's NR.
    width: usize,
    /// One block packed by all threads, then a threaded GEMM.
    whole: bool,
    slots: usize,
    positions: usize,

    fn of(s: Shape, threads: usize) Plan {
        const width = gemm_kernels.shape(im2col_module.hostTuning().variant).nr;
        const positions = s.geo.outCount();
        const panels = std.math.divCeil(usize, positions, width) catch unreachable;
        var plan: Plan = .{ .panels = panels, .blocks = 1, .width = width, .whole = false, .slots = 1, .positions = positions };
        // Too few panels for two blocks per thread, or few panels and a W too large for
        // L2 (ResNet's 14x14 stage: 2.4 MB), which every block would stream again: one block,
        // packed by all threads, and a GEMM that splits W's rows between them.
        const large_w = s.mg() * s.depth() > large_w_floats;
        if (threads > 1 and (panels < 2 * min_block_panels * threads or (large_w and panels < 8 * threads))) {
            plan.whole = true;
            // Waking threads costs microseconds: not for packing a few thousand values.
            plan.slots = if (s.depth() * positions < 1 << 15) 1 else threads;
            return plan;
        }
        // A block of B around 256 KiB stays in L2 while every row block of W passes over it;
        // at least 8 panels, so that each packed row block of W is reused enough.
        const budget_floats = 64 * 1024;
        var per_block = @min(@max(budget_floats / (@max(1, s.depth()) * width), 8), panels);
        if (threads > 1) {
            // Several blocks per thread, taken from a shared counter, so that a thread that
            // starts late (a wake-up, a busy core) or runs slower takes fewer instead of
            // holding everyone up: whole halves of the work would make the others wait for
            // it. W is re-read per block, but from L2, and a block of 4 panels still reuses
            // each packed tile of W 4 x 16 times.
            // A W beyond L2 streams from L3 per block: then only two blocks per thread.
            const wanted = @as(usize, if (large_w) 2 else blocks_per_thread) * threads;
            per_block = @max(@min(per_block, std.math.divCeil(usize, panels, wanted) catch unreachable), min_block_panels);
        }
        plan.blocks = std.math.divCeil(usize, panels, per_block) catch unreachable;
        plan.slots = @min(threads, plan.blocks);
        return plan;
    }

    /// Panels [first, last) of block `index`: as even as whole panels allow.
    fn blockPanels(self: Plan, index: usize) [2]usize {
        return .{ index * self.panels / self.blocks, (index + 1) * self.panels / self.blocks };
    }

    fn blockFloats(self: Plan, k: usize) usize {
        const most = std.math.divCeil(usize, self.panels, self.blocks) catch unreachable;
        return std.mem.alignForward(usize, k * most * self.width, 16);
    }

    fn rowFloats(self: Plan) usize {
        const most = std.math.divCeil(usize, self.panels, self.blocks) catch unreachable;
        return std.mem.alignForward(usize, most * self.width, 16);
    }

    /// Whole: one block and a row per slot. Columns: a block and a row per slot.
    fn bufferFloats(self: Plan, ctx: *const Context, k: usize) Error!usize {
        const rows = try common.mulChecked(ctx, self.rowFloats(), self.slots);
        const blocks = try common.mulChecked(ctx, self.blockFloats(k), if (self.whole) 1 else self.slots);
        return blocks + rows;
    }
};

/// One image and group: positions cut by `plan`, the packing buffers shared out by slot.
const Job = struct {
    g: Geometry,
    x: []const f32,
    channels: usize,
    weights: *const gemm.PackedA,
    bias: ?[]const f32,
    y: []f32,
    /// Laid out like `y`: added in the GEMM's store, then `activation` (fused.zig).
    residual: ?[]const f32,
    activation: fused.Activation,
    plan: Plan,
    buffers: []align(64) f32,
    failed: std.atomic.Value(bool) = .init(false),

    fn run(self: *Job, ctx: *const Context) Error!void {
        if (self.plan.whole) {
            const n = self.plan.positions;
            var packer: Packer = .{ .job = self, .first = 0, .cols = n, .block = self.block(0) };
            common.runUnits(ctx, self.channels, self.plan.slots, &packer, Packer.channel);
            return self.multiply(packer.block, 0, n, ctx.pool);
        }
        common.runUnits(ctx, self.plan.blocks, self.plan.slots, self, columnBlock);
        if (self.failed.load(.monotonic)) return ctx.fail("the convolution's GEMM failed", .{});
    }

    /// Slot `slot`'s packed block (whole: the one block).
    fn block(self: *const Job, slot: usize) []align(64) f32 {
        const len = self.plan.blockFloats(self.weights.k);
        return @alignCast(self.buffers[slot * len ..][0..len]);
    }

    /// Slot `slot`'s im2col row, after the blocks.
    fn row(self: *const Job, slot: usize) []f32 {
        const blocks = if (self.plan.whole) 1 else self.plan.slots;
        const start = blocks * self.plan.blockFloats(self.weights.k);
        return self.buffers[start + slot * self.plan.rowFloats() ..][0..self.plan.rowFloats()];
    }

    /// Packs and multiplies the columns of block `index` on the calling thread.
    fn columnBlock(self: *Job, slot: usize, index: usize) void {
        const panels = self.plan.blockPanels(index);
        const first = panels[0] * self.plan.width;
        const cols = @min(panels[1] * self.plan.width, self.plan.positions) - first;
        var packer: Packer = .{ .job = self, .first = first, .cols = cols, .block = self.block(slot) };
        for (0..self.channels) |c| packer.channel(slot, c);
        // Shapes were checked before the job started, so the GEMM's own checks cannot fail.
        self.multiply(packer.block, first, cols, null) catch self.failed.store(true, .monotonic);
    }

    fn multiply(self: *const Job, packed_block: []align(64) f32, first: usize, cols: usize, pool: ?*ThreadPool) Error!void {
        const k = self.weights.k;
        const m = self.weights.m;
        const packed_b: gemm.PackedB = .{
            .allocator = undefined, // never freed: the block lives in the call's arena
            .data = packed_block,
            .tuning = im2col_module.hostTuning(),
            .k = k,
            .n = cols,
        };
        const ld = self.plan.positions;
        try gemm.gemmPacked(.{
            .m = m,
            .n = cols,
            .k = k,
            .a = &.{},
            .lda = k,
            .c = self.y[first..][0 .. (m - 1) * ld + cols],
            .ldc = ld,
            .epilogue = .{
                .row_bias = self.bias,
                .residual = if (self.residual) |r| r[first..][0 .. (m - 1) * ld + cols] else null,
                .residual_ld = ld,
                .activation = self.activation,
            },
        }, self.weights, &packed_b, pool);
    }
};

/// Writes the K rows of one input channel (its taps) for columns [first, first + cols) into a
/// packed block: panel p holds K x NR values, k-major, zero past the last column.
const Packer = struct {
    job: *const Job,
    first: usize,
    cols: usize,
    block: []align(64) f32,

    fn channel(self: *const Packer, slot: usize, c: usize) void {
        const job = self.job;
        const g = job.g;
        const taps = g.kernelCount();
        const plane = job.x[c * g.inCount() ..][0..g.inCount()];
        const pointwise = g.isPointwise();
        const row = job.row(slot);
        for (0..taps) |tap| {
            const kk = c * taps + tap;
            const line: []const f32 = if (pointwise) plane[self.first..][0..self.cols] else blk: {
                const kw = tap % g.kernel[2];
                const kh = (tap / g.kernel[2]) % g.kernel[1];
                const kd = tap / (g.kernel[2] * g.kernel[1]);
                im2col_module.tapSpan(g, .{ kd, kh, kw }, plane, self.first, row[0..self.cols]);
                break :blk row[0..self.cols];
            };
            self.store(kk, line);
        }
    }

    fn store(self: *const Packer, kk: usize, line: []const f32) void {
        const width = self.job.plan.width;
        switch (width) {
            inline 8, 16, 32 => |w| self.storeAs(w, kk, line),
            else => unreachable,
        }
    }

    fn storeAs(self: *const Packer, comptime width: usize, kk: usize, line: []const f32) void {
        const k = self.job.weights.k;
        const full = line.len / width;
        for (0..full) |p| self.block[(p * k + kk) * width ..][0..width].* = line[p * width ..][0..width].*;
        const tail = line.len - full * width;
        if (tail > 0) {
            const dst = self.block[(full * k + kk) * width ..][0..width];
            @memcpy(dst[0..tail], line[full * width ..][0..tail]);
            @memset(dst[tail..], 0);
        }
    }
};
