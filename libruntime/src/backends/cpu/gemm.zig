//! Single-precision GEMM for the CPU backend, the engine under MatMul, Gemm and Conv (as im2col or
//! 1x1): C = relu?(alpha * op(A) * op(B) + beta * C + bias[col] + residual[row, col]), row-major,
//! with leading dimensions and optional transposes.
//!
//! B is the weight: `PackedB` lays it out once, at model load, as NR-wide column panels (K x NR
//! each, k-major, zero-padded), and is then read-only and shared by every call and request. A is
//! the activation: one MC x KC block at a time is packed into a per-thread `Workspace` slot that
//! the caller owns (planned once, so no call allocates), or read in place when too few B panels
//! would reuse the pack (see pack_a_min_panels). Loop nest, in BLIS order:
//!   task (rows x panel range) -> K block (KC) -> B panel (NR) -> micro-tile (MR rows).
//! The KC x NR micro-panel of B stays in L1 while the MC x KC block of A streams from L2.
//! Tasks split M (and N when M is short) so that every thread gets equal work; threads take them
//! from an atomic counter, so a thread slowed by a noisy neighbour takes fewer.
const std = @import("std");
const status = @import("../../core/status.zig");
const cpu = @import("../../device/cpu.zig");
const kernels = @import("gemm_kernels.zig");
const ThreadPool = @import("thread_pool.zig").ThreadPool;
const SharedPack = @import("shared_pack.zig").SharedPack;

pub const Variant = kernels.Variant;

/// Cache blocking and the kernel variant, fixed when weights are packed.
pub const Tuning = struct {
    variant: Variant,
    /// Rows of A per packed block, a multiple of MR: the MC x KC block lives in L2.
    mc: usize,
    /// K per block: the KC x NR micro-panel of B lives in L1 next to the A micro-panel.
    kc: usize,
    /// Columns per task before splitting for threads, a multiple of NR.
    nc: usize,
    /// Fewer threads when each would get fewer multiply-adds than this: waking one costs µs.
    min_macs_per_thread: usize = 1 << 16,

    /// The widest kernel this build and CPU support, blocked for the CPU's own caches.
    pub fn host() Tuning {
        const info = cpu.detect();
        return forVariant(kernels.select(info.features), info.cache_l1d_bytes, info.cache_l2_bytes);
    }

    /// Blocking for given cache sizes (0 = unknown: 32 KiB L1, 512 KiB L2).
    pub fn forVariant(variant: Variant, l1_bytes: u64, l2_bytes: u64) Tuning {
        const s = kernels.shape(variant);
        const l1: usize = @intCast(if (l1_bytes == 0) 32 * 1024 else @min(l1_bytes, 1 << 20));
        const l2: usize = @intCast(if (l2_bytes == 0) 512 * 1024 else @min(l2_bytes, 1 << 24));
        // Half of L1 for the B micro-panel leaves room for the A micro-panel and C lines.
        const kc = std.math.clamp(l1 / 2 / (s.nr * @sizeOf(f32)), 64, 512) / 8 * 8;
        // A third of L2 for the A block (BLIS picks MC 168 for 6x16 on 256 KiB-L2 Haswell
        // with KC 256); the rest holds B panels on their way to L1 and the lines of C.
        const mc_rows = std.math.clamp(l2 / 3 / (kc * @sizeOf(f32)), s.mr, 480);
        const mc = mc_rows / s.mr * s.mr;
        return .{ .variant = variant, .mc = mc, .kc = kc, .nc = 4096 / s.nr * s.nr };
    }
};

/// op(B) (K x N) packed into NR-wide panels for one kernel variant. Immutable once made.
pub const PackedB = struct {
    allocator: std.mem.Allocator,
    data: []align(64) f32,
    tuning: Tuning,
    k: usize,
    n: usize,
    /// Set when `data` is a packing shared with other models or mapped from the compiled-model
    /// cache (weight_store.zig): deinit drops a reference instead of freeing.
    shared: ?*SharedPack = null,

    /// `b` is K x N row-major (trans = false) or N x K row-major (trans = true), leading dim `ldb`.
    pub fn init(
        allocator: std.mem.Allocator,
        tuning: Tuning,
        b: []const f32,
        ldb: usize,
        trans: bool,
        k: usize,
        n: usize,
    ) status.Error!PackedB {
        try checkTuning(tuning);
        try checkMatrix("B", b, if (trans) n else k, if (trans) k else n, ldb);
        const nr = kernels.shape(tuning.variant).nr;
        const panels = std.math.divCeil(usize, n, nr) catch unreachable;
        const len = std.math.mul(usize, panels * nr, k) catch return tooLarge();
        const data = allocator.alignedAlloc(f32, .@"64", len) catch
            return status.fail(error.OutOfResource, "gemm: out of memory packing B ({d} floats)", .{len});
        for (0..panels) |p| {
            const dst = data[p * k * nr ..][0 .. k * nr];
            const j0 = p * nr;
            const cols = @min(nr, n - j0);
            if (trans) {
                for (0..cols) |c| {
                    const src = b[(j0 + c) * ldb ..];
                    for (0..k) |kk| dst[kk * nr + c] = src[kk];
                }
            } else {
                for (0..k) |kk| @memcpy(dst[kk * nr ..][0..cols], b[kk * ldb + j0 ..][0..cols]);
            }
            if (cols < nr) for (0..k) |kk| @memset(dst[kk * nr + cols ..][0 .. nr - cols], 0);
        }
        return .{ .allocator = allocator, .data = data, .tuning = tuning, .k = k, .n = n };
    }

    /// B packed earlier for K x N with `tuning`'s variant: takes one reference on `shared`.
    pub fn fromShared(shared: *SharedPack, tuning: Tuning, k: usize, n: usize) PackedB {
        const nr = kernels.shape(tuning.variant).nr;
        std.debug.assert(shared.data.len == (std.math.divCeil(usize, n, nr) catch unreachable) * nr * k);
        shared.retain();
        return .{ .allocator = undefined, .data = shared.data, .tuning = tuning, .k = k, .n = n, .shared = shared };
    }

    pub fn deinit(self: *PackedB) void {
        if (self.shared) |shared| shared.release() else self.allocator.free(self.data);
        self.* = undefined;
    }
};

/// op(A) (M x K) packed once into MR-row micro-panels over the whole of K (k-major, MR values
/// per k, rows past M zero): the constant weights of a convolution, whose output C = W * im2col
/// keeps the NCHW layout. A call then never packs A, whatever its K blocking. Immutable once made.
pub const PackedA = struct {
    allocator: std.mem.Allocator,
    data: []align(64) f32,
    variant: Variant,
    m: usize,
    k: usize,
    /// As PackedB.shared.
    shared: ?*SharedPack = null,

    /// `a` is M x K row-major with leading dimension `lda`.
    pub fn init(allocator: std.mem.Allocator, variant: Variant, a: []const f32, lda: usize, m: usize, k: usize) status.Error!PackedA {
        try checkMatrix("A", a, m, k, lda);
        const self = try allocate(allocator, variant, m, k);
        const mr = kernels.shape(variant).mr;
        for (0..self.tiles()) |t| {
            const dst = self.data[t * mr * k ..][0 .. mr * k];
            for (0..mr) |r| {
                const row = t * mr + r;
                if (row >= m) {
                    for (0..k) |kk| dst[kk * mr + r] = 0;
                } else for (a[row * lda ..][0..k], 0..) |v, kk| {
                    dst[kk * mr + r] = v;
                }
            }
        }
        return self;
    }

    /// Like init, from `a` stored transposed: K x M row-major with leading dimension `lda` (a
    /// convolution's im2col matrix, whose rows are taps and columns are output positions).
    pub fn initTransposed(allocator: std.mem.Allocator, variant: Variant, a: []const f32, lda: usize, m: usize, k: usize) status.Error!PackedA {
        try checkMatrix("A", a, k, m, lda);
        const self = try allocate(allocator, variant, m, k);
        const mr = kernels.shape(variant).mr;
        for (0..self.tiles()) |t| {
            const dst = self.data[t * mr * k ..][0 .. mr * k];
            const rows = @min(mr, m - t * mr);
            for (0..k) |kk| {
                const src = a[kk * lda + t * mr ..];
                @memcpy(dst[kk * mr ..][0..rows], src[0..rows]);
                @memset(dst[kk * mr + rows ..][0 .. mr - rows], 0);
            }
        }
        return self;
    }

    /// Uninitialized panels for an M x K matrix.
    fn allocate(allocator: std.mem.Allocator, variant: Variant, m: usize, k: usize) status.Error!PackedA {
        const mr = kernels.shape(variant).mr;
        const tile_count = std.math.divCeil(usize, m, mr) catch unreachable;
        const len = std.math.mul(usize, tile_count * mr, k) catch return tooLarge();
        const data = allocator.alignedAlloc(f32, .@"64", len) catch
            return status.fail(error.OutOfResource, "gemm: out of memory packing A ({d} floats)", .{len});
        return .{ .allocator = allocator, .data = data, .variant = variant, .m = m, .k = k };
    }

    /// MR-row panels, the last one padded with zero rows.
    fn tiles(self: *const PackedA) usize {
        return std.math.divCeil(usize, self.m, kernels.shape(self.variant).mr) catch unreachable;
    }

    /// A packed earlier for M x K with `variant`: takes one reference on `shared`.
    pub fn fromShared(shared: *SharedPack, variant: Variant, m: usize, k: usize) PackedA {
        const mr = kernels.shape(variant).mr;
        std.debug.assert(shared.data.len == (std.math.divCeil(usize, m, mr) catch unreachable) * mr * k);
        shared.retain();
        return .{ .allocator = undefined, .data = shared.data, .variant = variant, .m = m, .k = k, .shared = shared };
    }

    pub fn deinit(self: *PackedA) void {
        if (self.shared) |shared| shared.release() else self.allocator.free(self.data);
        self.* = undefined;
    }
};

/// Per-thread scratch for packing A: one slot per thread that may run a call. A workspace serves
/// one call at a time; concurrent calls (separate requests) each need their own.
pub const Workspace = struct {
    allocator: std.mem.Allocator,
    data: []align(64) f32,
    slot_len: usize,

    pub fn init(
        allocator: std.mem.Allocator,
        tuning: Tuning,
        slot_count: usize,
    ) status.Error!Workspace {
        try checkTuning(tuning);
        // Slots start on their own cache lines, so neighbours never share one.
        const slot_len = std.mem.alignForward(usize, blockRows(tuning) * tuning.kc, 16);
        const len = std.math.mul(usize, slot_len, @max(slot_count, 1)) catch return tooLarge();
        const data = allocator.alignedAlloc(f32, .@"64", len) catch
            return status.fail(error.OutOfResource, "gemm: out of memory for the workspace", .{});
        return .{ .allocator = allocator, .data = data, .slot_len = slot_len };
    }

    pub fn deinit(self: *Workspace) void {
        self.allocator.free(self.data);
        self.* = undefined;
    }

    pub fn slots(self: *const Workspace) usize {
        return self.data.len / self.slot_len;
    }

    fn slot(self: *const Workspace, index: usize) [*]f32 {
        return self.data.ptr + index * self.slot_len;
    }
};

/// Rows per A block: MC rounded to whole micro-tiles (at least one).
fn blockRows(tuning: Tuning) usize {
    const mr = kernels.shape(tuning.variant).mr;
    return @max(1, tuning.mc / mr) * mr;
}

/// Applied in the store of the last K block, after alpha and beta.
pub const Epilogue = struct {
    /// Added to every row: one value per column (N of them).
    bias: ?[]const f32 = null,
    /// Added to every column: one value per row (M of them), e.g. a convolution's channel bias.
    row_bias: ?[]const f32 = null,
    /// Added elementwise: an M x N matrix with its own leading dimension. It must not overlap
    /// C (earlier K blocks have already written there); for C += A * B use beta = 1.
    residual: ?[]const f32 = null,
    residual_ld: usize = 0,
    relu: bool = false,
    /// Applied after everything else (a Relu, Clip, Sigmoid or SiLU fused into the producer).
    activation: kernels.Activation = .none,
};

pub const Params = struct {
    m: usize,
    n: usize,
    k: usize,
    /// op(A) is M x K: A is M x K (trans_a = false) or K x M (trans_a = true), row-major.
    a: []const f32,
    lda: usize,
    trans_a: bool = false,
    c: []f32,
    ldc: usize,
    alpha: f32 = 1,
    /// 0 means C is not read (it may hold garbage or NaN), as in BLAS.
    beta: f32 = 0,
    epilogue: Epilogue = .{},
};

/// C = relu?(alpha * op(A) * B + beta * C + bias + residual), on the pool's threads when given.
pub fn gemm(
    params: Params,
    b: *const PackedB,
    workspace: *const Workspace,
    pool: ?*ThreadPool,
) status.Error!void {
    try checkParams(params, b, workspace);
    if (degenerate(params)) return;
    switch (b.tuning.variant) {
        inline else => |variant| runJob(variant, params, .{ .b = b, .workspace = workspace }, pool),
    }
}

/// Empty C, or K = 0 or alpha = 0: A and B are not read, as in BLAS; only beta and the
/// epilogue remain. Returns whether it handled the call.
fn degenerate(params: Params) bool {
    if (params.m == 0 or params.n == 0) return true;
    if (params.k != 0 and params.alpha != 0) return false;
    var out = outputOf(params);
    out.alpha = 0;
    for (0..params.m) |i| {
        for (0..params.n) |j| kernels.storeOne(&out, i, j, 0, .{ .first = true, .last = true });
    }
    return true;
}

/// What a job reads: B always packed; A packed once (`a`) or per call into `workspace`.
const Operands = struct {
    b: *const PackedB,
    a: ?*const PackedA = null,
    workspace: ?*const Workspace = null,
};

/// C = relu?(alpha * A * B + beta * C + epilogue) with both operands packed: `params.a`, `lda`
/// and `trans_a` are not read, and no workspace is needed since nothing is packed per call.
pub fn gemmPacked(
    params: Params,
    a: *const PackedA,
    b: *const PackedB,
    pool: ?*ThreadPool,
) status.Error!void {
    if (a.m != params.m or a.k != params.k or a.variant != b.tuning.variant) {
        return status.fail(error.InvalidArgument, "gemm: packed A is {d}x{d} for another kernel or call", .{ a.m, a.k });
    }
    var checked = params;
    checked.alpha = 0; // A is packed: checkParams must not look for it in `params.a`
    try checkParams(checked, b, null);
    if (degenerate(params)) return;
    switch (b.tuning.variant) {
        inline else => |variant| runJob(variant, params, .{ .a = a, .b = b }, pool),
    }
}

/// Packs B, runs, frees: for one-off products and tests. Kernels with constant weights keep a
/// PackedB and a Workspace instead, so that no call allocates.
pub fn gemmOnce(
    allocator: std.mem.Allocator,
    tuning: Tuning,
    params: Params,
    b: []const f32,
    ldb: usize,
    trans_b: bool,
    pool: ?*ThreadPool,
) status.Error!void {
    var packed_b = try PackedB.init(allocator, tuning, b, ldb, trans_b, params.k, params.n);
    defer packed_b.deinit();
    var workspace = try Workspace.init(allocator, tuning, if (pool) |p| p.threadCount() else 1);
    defer workspace.deinit();
    try gemm(params, &packed_b, &workspace, pool);
}

fn outputOf(params: Params) kernels.Output {
    return .{
        .c = params.c.ptr,
        .ldc = params.ldc,
        .alpha = params.alpha,
        .beta = params.beta,
        .bias = if (params.epilogue.bias) |bias| bias.ptr else null,
        .row_bias = if (params.epilogue.row_bias) |bias| bias.ptr else null,
        .residual = if (params.epilogue.residual) |res| res.ptr else null,
        .residual_ld = params.epilogue.residual_ld,
        .relu = params.epilogue.relu,
        .activation = params.epilogue.activation,
    };
}

/// How the M x N output is cut into tasks: row blocks of whole micro-tiles and ranges of panels,
/// both as even as their units allow.
const Grid = struct {
    m: usize,
    mr: usize,
    units: usize,
    m_blocks: usize,
    panels: usize,
    n_blocks: usize,

    fn tasks(self: Grid) usize {
        return self.m_blocks * self.n_blocks;
    }

    fn rows(self: Grid, block: usize) [2]usize {
        const first = block * self.units / self.m_blocks;
        const last = (block + 1) * self.units / self.m_blocks;
        return .{ first * self.mr, @min(self.m, last * self.mr) };
    }

    fn panelRange(self: Grid, block: usize) [2]usize {
        return .{ block * self.panels / self.n_blocks, (block + 1) * self.panels / self.n_blocks };
    }
};

fn planGrid(m: usize, n: usize, tuning: Tuning, threads: usize) Grid {
    const s = kernels.shape(tuning.variant);
    const units = std.math.divCeil(usize, m, s.mr) catch unreachable;
    const panels = std.math.divCeil(usize, n, s.nr) catch unreachable;
    var m_blocks = std.math.divCeil(usize, units, blockRows(tuning) / s.mr) catch unreachable;
    var n_blocks = std.math.divCeil(usize, panels, @max(1, tuning.nc / s.nr)) catch unreachable;
    if (threads > 1 and (m_blocks * n_blocks) % threads != 0) {
        if (m_blocks >= threads or panels < threads) {
            // Enough rows: more row blocks, so that each thread reads B once per block it owns.
            m_blocks = @min(std.mem.alignForward(usize, m_blocks, threads), units);
        } else {
            // A short M (a GEMV, a small batch): split N so that each thread streams its own B.
            n_blocks = @min(std.mem.alignForward(usize, n_blocks, threads), panels);
        }
    }
    return .{
        .m = m,
        .mr = s.mr,
        .units = units,
        .m_blocks = m_blocks,
        .panels = panels,
        .n_blocks = n_blocks,
    };
}

/// A row-major A is packed when a task reuses the block over this many B panels or more: the
/// pack costs about 0.7 cycle per element, against one cycle of FMAs per element and panel, and
/// packed rows are contiguous (rows in place at a power-of-two stride alias in L2's sets).
/// With fewer panels (N = 64 in early convolutions) reading A in place is faster.
const pack_a_min_panels = 16;

fn Job(comptime variant: Variant) type {
    return struct {
        const Self = @This();
        const Kernel = kernels.Kernel(variant);

        params: *const Params,
        b: *const PackedB,
        /// A packed once: tiles are read in place and `workspace` is not used.
        packed_a: ?*const PackedA,
        workspace: ?*const Workspace,
        out: kernels.Output,
        grid: Grid,
        kc: usize,
        /// M fits one micro-tile and A is row-major: A is read in place, and K is not blocked.
        short_m: bool,
        next_task: std.atomic.Value(usize) = .init(0),

        /// One call per thread slot: the slot index picks the A buffer, the counter the tasks.
        fn runSlots(self: *Self, begin: usize, end: usize) void {
            for (begin..end) |slot| {
                const scratch: [*]f32 = if (self.workspace) |w| w.slot(slot) else undefined;
                while (true) {
                    const task = self.next_task.fetchAdd(1, .monotonic);
                    if (task >= self.grid.tasks()) break;
                    self.runTask(task, scratch);
                }
            }
        }

        fn runTask(self: *Self, task: usize, scratch: [*]f32) void {
            const p = self.params;
            const rows = self.grid.rows(task / self.grid.n_blocks);
            const panels = self.grid.panelRange(task % self.grid.n_blocks);
            var k0: usize = 0;
            while (k0 < p.k) : (k0 += self.kc) {
                const kc = @min(self.kc, p.k - k0);
                const pass: kernels.Pass = .{ .first = k0 == 0, .last = k0 + kc == p.k };
                if (self.packed_a) |packed_a| {
                    // Tile t of rows is K x MR at t * MR * K; rows[0] is a whole number of tiles.
                    const a_block = packed_a.data.ptr + rows[0] * p.k + k0 * Kernel.mr;
                    self.runBlock(.panel, rows, panels, k0, kc, a_block, Kernel.mr * p.k, pass);
                } else if (p.trans_a or (!self.short_m and panels[1] - panels[0] >= pack_a_min_panels)) {
                    const a_block = if (p.trans_a) p.a.ptr + k0 * p.lda + rows[0] else p.a.ptr + rows[0] * p.lda + k0;
                    kernels.packA(Kernel.mr, scratch, a_block, p.lda, p.trans_a, rows[1] - rows[0], kc);
                    self.runBlock(.panel, rows, panels, k0, kc, scratch, Kernel.mr * kc, pass);
                } else {
                    const a_block = p.a.ptr + rows[0] * p.lda + k0;
                    self.runBlock(.rows, rows, panels, k0, kc, a_block, Kernel.mr * p.lda, pass);
                }
            }
        }

        /// One K block of a task: every B panel in range against every micro-tile of rows.
        fn runBlock(
            self: *Self,
            comptime layout: kernels.ALayout,
            rows: [2]usize,
            panels: [2]usize,
            k0: usize,
            kc: usize,
            a_block: [*]const f32,
            a_tile_stride: usize,
            pass: kernels.Pass,
        ) void {
            const p = self.params;
            for (panels[0]..panels[1]) |panel| {
                const b_panel = self.b.data.ptr + panel * p.k * Kernel.nr + k0 * Kernel.nr;
                const j = panel * Kernel.nr;
                const cols = @min(Kernel.nr, p.n - j);
                var a_tile = a_block;
                var i = rows[0];
                while (i < rows[1]) : (i += Kernel.mr) {
                    Kernel.tile(layout, @min(Kernel.mr, rows[1] - i), cols, kc, a_tile, p.lda, b_panel, &self.out, i, j, pass);
                    a_tile += a_tile_stride;
                }
            }
        }
    };
}

fn runJob(
    comptime variant: Variant,
    params: Params,
    operands: Operands,
    pool: ?*ThreadPool,
) void {
    const b = operands.b;
    const tuning = b.tuning;
    const macs = params.m *| params.n *| params.k;
    var threads: usize = if (pool) |p| p.threadCount() else 1;
    if (operands.workspace) |w| threads = @min(threads, w.slots());
    threads = @min(threads, @max(1, macs / @max(1, tuning.min_macs_per_thread)));
    const grid = planGrid(params.m, params.n, tuning, threads);
    // Even K blocks: 576 = 3 x 192 rather than 256 + 256 + 64, whose last pass would be mostly
    // loads and stores of C. A single row of tiles (a GEMV, batch 1) uses each B element once:
    // K blocks would buy no L1 reuse, only cut B's stream into short runs and add passes over C.
    const short_m = params.m <= kernels.shape(variant).mr and !params.trans_a and operands.a == null;
    const k_blocks = if (short_m) 1 else std.math.divCeil(usize, params.k, tuning.kc) catch unreachable;
    var out = outputOf(params);
    // Every row sums in one order unless the whole product is one short tile (kernels.Output).
    out.split_short = params.m < kernels.shape(variant).mr;
    var job: Job(variant) = .{
        .params = &params,
        .b = b,
        .packed_a = operands.a,
        .workspace = operands.workspace,
        .out = out,
        .grid = grid,
        .kc = std.math.divCeil(usize, params.k, k_blocks) catch unreachable,
        .short_m = short_m,
    };
    threads = @min(threads, grid.tasks());
    if (threads <= 1) return job.runSlots(0, 1);
    pool.?.parallelForGrain(threads, 1, &job, Job(variant).runSlots);
}

fn checkTuning(tuning: Tuning) status.Error!void {
    if (tuning.mc == 0 or tuning.kc == 0 or tuning.nc == 0) {
        return status.fail(
            error.InvalidArgument,
            "gemm: block sizes must be positive (MC {d}, KC {d}, NC {d})",
            .{ tuning.mc, tuning.kc, tuning.nc },
        );
    }
}

fn tooLarge() status.Error {
    return status.fail(error.InvalidArgument, "gemm: matrix size overflows", .{});
}

/// A rows x cols row-major matrix with leading dimension ld must fit in `data`.
fn checkMatrix(
    name: []const u8,
    data: []const f32,
    rows: usize,
    cols: usize,
    ld: usize,
) status.Error!void {
    if (rows == 0 or cols == 0) return;
    if (ld < cols) return status.fail(
        error.InvalidArgument,
        "gemm: leading dimension of {s} is {d}, less than its {d} columns",
        .{ name, ld, cols },
    );
    const needed = std.math.add(usize, std.math.mul(usize, rows - 1, ld) catch return tooLarge(), cols) catch return tooLarge();
    if (data.len < needed) return status.fail(
        error.InvalidArgument,
        "gemm: {s} holds {d} floats, {d} needed",
        .{ name, data.len, needed },
    );
}

fn checkParams(p: Params, b: *const PackedB, maybe_workspace: ?*const Workspace) status.Error!void {
    if (b.k != p.k or b.n != p.n) {
        return status.fail(
            error.InvalidArgument,
            "gemm: packed B is {d}x{d}, the call needs {d}x{d}",
            .{ b.k, b.n, p.k, p.n },
        );
    }
    if (maybe_workspace) |workspace| if (workspace.slot_len < blockRows(b.tuning) * b.tuning.kc) {
        return status.fail(error.InvalidArgument, "gemm: the workspace was made for a smaller blocking", .{});
    };
    if (p.k > 0 and p.alpha != 0) try checkMatrix("A", p.a, if (p.trans_a) p.k else p.m, if (p.trans_a) p.m else p.k, p.lda);
    try checkMatrix("C", p.c, p.m, p.n, p.ldc);
    if (p.epilogue.bias) |bias| {
        if (bias.len < p.n) return status.fail(
            error.InvalidArgument,
            "gemm: bias has {d} values, {d} needed",
            .{ bias.len, p.n },
        );
    }
    if (p.epilogue.row_bias) |bias| {
        if (bias.len < p.m) return status.fail(
            error.InvalidArgument,
            "gemm: the row bias has {d} values, {d} needed",
            .{ bias.len, p.m },
        );
    }
    if (p.epilogue.residual) |res| try checkMatrix("the residual", res, p.m, p.n, p.epilogue.residual_ld);
}

test {
    _ = @import("gemm_test.zig");
}
