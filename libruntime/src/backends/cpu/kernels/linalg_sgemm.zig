//! How the linalg kernels drive the float32 GEMM in ../gemm.zig: one-off products, B packed at
//! load for the model's life when it is a constant (a weight), and batches of independent
//! products (attention's per-head Q*K^T and P*V) spread over the model's thread pool.
//!
//! Threads: a single product hands the pool to gemm.gemm, which splits its rows and columns.
//! A batch of products with their own B each is split by product instead: every thread packs its
//! own B and runs whole products, which needs no synchronisation inside a product and keeps each
//! B panel in the cache of the thread that packed it.
const std = @import("std");
const status = @import("../../../core/status.zig");
const memory = @import("../../../core/memory.zig");
const kernel = @import("../kernel.zig");
const gemm = @import("../gemm.zig");
const gemm_kernels = @import("../gemm_kernels.zig");

const Context = kernel.Context;
const Prepared = @import("../prepare.zig").Prepared;
const Store = @import("../weight_store.zig").Store;
const ThreadPool = @import("../thread_pool.zig").ThreadPool;

/// Blocking and kernel variant for this CPU, detected once (detection reads /proc and /sys).
var tuning_once = std.once(initTuning);
var host_tuning: gemm.Tuning = undefined;

fn initTuning() void {
    host_tuning = gemm.Tuning.host();
}

pub fn tuning() gemm.Tuning {
    tuning_once.call();
    return host_tuning;
}

/// Scratch for packing goes to the C heap and is freed at once: the run's arena would keep one
/// packed copy of B per call alive until the run ends.
const scratch_allocator = std.heap.c_allocator;

/// Fewer threads than this many multiply-adds each are not worth waking (a wake costs µs).
const min_macs_per_thread = 1 << 16;

/// One float32 product C = alpha * op(A) * op(B) + beta * C (+ bias per column).
pub const Sgemm = struct {
    m: usize,
    n: usize,
    k: usize,
    trans_a: bool = false,
    trans_b: bool = false,
    alpha: f32 = 1,
    beta: f32 = 0,
    bias: ?[]const f32 = null,

    /// `a` and `b` are dense row-major op inputs; `c` is M x N. On the calling thread.
    pub fn run(self: Sgemm, a: []const f32, b: []const f32, c: []f32) status.Error!void {
        try self.runOn(a, b, c, null);
    }

    /// Packs B for this call only, and runs on `pool`'s threads when the product is big enough.
    pub fn runOn(self: Sgemm, a: []const f32, b: []const f32, c: []f32, pool: ?*ThreadPool) status.Error!void {
        var packed_b = try gemm.PackedB.init(
            scratch_allocator,
            tuning(),
            b,
            if (self.trans_b) self.k else self.n,
            self.trans_b,
            self.k,
            self.n,
        );
        defer packed_b.deinit();
        try self.runShared(a, &packed_b, c, pool);
    }

    /// With a B packed earlier (kept across runs, or shared by several calls), on `pool`'s
    /// threads: the workspace for A is made for this call, since concurrent requests may run the
    /// same node at once and each needs its own.
    pub fn runShared(self: Sgemm, a: []const f32, b: *const gemm.PackedB, c: []f32, pool: ?*ThreadPool) status.Error!void {
        const threads = if (pool) |p| p.threadCount() else 1;
        var workspace = try gemm.Workspace.init(scratch_allocator, b.tuning, @min(threads, self.usefulThreads()));
        defer workspace.deinit();
        try self.runPacked(a, b, &workspace, c, pool);
    }

    fn usefulThreads(self: Sgemm) usize {
        return @max(1, (self.m *| self.n *| self.k) / min_macs_per_thread);
    }

    pub fn runPacked(
        self: Sgemm,
        a: []const f32,
        b: *const gemm.PackedB,
        ws: *const gemm.Workspace,
        c: []f32,
        pool: ?*ThreadPool,
    ) status.Error!void {
        const params: gemm.Params = .{
            .m = self.m,
            .n = self.n,
            .k = self.k,
            .a = a,
            .lda = if (self.trans_a) self.m else self.k,
            .trans_a = self.trans_a,
            .c = c,
            .ldc = self.n,
            .alpha = self.alpha,
            .beta = self.beta,
            .epilogue = .{ .bias = self.bias },
        };
        try gemm.gemm(params, b, ws, if (ws.slots() > 1) pool else null);
    }
};

/// Many products with one float32 B (recurrent weights, one per time step): B packed once, here
/// or at load (`borrow`), and one workspace for all of them. `allocator` holds the workspace
/// (and B when `init` packs it): a run's arena, whose memory later runs reuse.
pub const Prepacked = struct {
    allocator: std.mem.Allocator,
    b: *const gemm.PackedB,
    /// B when `init` packed it; null when it is borrowed from a node's prepared data.
    owned: ?*gemm.PackedB,
    ws: gemm.Workspace,
    n: usize,
    k: usize,

    /// `b` is K x N row-major, or N x K when `trans`; products may use `threads` threads.
    pub fn init(allocator: std.mem.Allocator, b: []const f32, k: usize, n: usize, trans: bool, threads: usize) status.Error!Prepacked {
        const owned = allocator.create(gemm.PackedB) catch
            return status.fail(error.OutOfResource, "out of memory packing a weight", .{});
        errdefer allocator.destroy(owned);
        owned.* = try gemm.PackedB.init(allocator, tuning(), b, if (trans) k else n, trans, k, n);
        errdefer owned.deinit();
        var self = try borrow(allocator, owned, k, n, threads);
        self.owned = owned;
        return self;
    }

    /// Products with `b`, which was packed for K x N and outlives this.
    pub fn borrow(allocator: std.mem.Allocator, b: *const gemm.PackedB, k: usize, n: usize, threads: usize) status.Error!Prepacked {
        const ws = try gemm.Workspace.init(allocator, b.tuning, threads);
        return .{ .allocator = allocator, .b = b, .owned = null, .ws = ws, .n = n, .k = k };
    }

    pub fn deinit(self: *Prepacked) void {
        self.ws.deinit();
        if (self.owned) |owned| {
            owned.deinit();
            self.allocator.destroy(owned);
        }
    }

    /// c (m x N) = a (m x K) * B, on `pool`'s threads when the product is worth splitting.
    pub fn run(self: *const Prepacked, a: []const f32, m: usize, c: []f32, pool: ?*ThreadPool) status.Error!void {
        const s: Sgemm = .{ .m = m, .n = self.n, .k = self.k };
        try s.runPacked(a, self.b, &self.ws, c, pool);
    }
};

/// B packed for the model's life through its store (shared or cached where it can be), as load
/// packs constant weights; `b` is K x N row-major, or N x K when `trans`.
pub fn packForModel(store: *Store, b: []const f32, k: usize, n: usize, trans: bool) status.Error!gemm.PackedB {
    return store.packB(tuning(), b, trans, k, n);
}

/// A constant B (a weight) packed when its node is compiled at load, for the model's life. The
/// packing depends on K, N and the host's GEMM tuning (fixed for the process), never on M or the
/// thread count, so load knows all it needs.
pub const PackedWeight = struct {
    b: gemm.PackedB,

    /// `b` is K x N row-major, or N x K when `trans`.
    pub fn prepare(store: *Store, b: []const f32, k: usize, n: usize, trans: bool) status.Error!Prepared {
        const self = memory.allocator.create(PackedWeight) catch
            return status.fail(error.OutOfResource, "out of memory packing a weight", .{});
        errdefer memory.allocator.destroy(self);
        self.b = try packForModel(store, b, k, n, trans);
        return .of(PackedWeight, self, release);
    }

    fn release(self: *PackedWeight) void {
        self.b.deinit();
        memory.allocator.destroy(self);
    }
};

/// `count` independent products c[i] = a[a_index[i]] * b[b_index[i]] (all M x K by K x N).
pub const Batch = struct {
    m: usize,
    n: usize,
    k: usize,
    a: []const f32,
    b: []const f32,
    c: []f32,
    a_index: []const usize,
    b_index: []const usize,

    /// Runs of consecutive products that share one B pack it once; with at least as many runs as
    /// threads, threads take whole runs, else each run's product is split across the threads.
    pub fn run(self: Batch, pool: ?*ThreadPool) status.Error!void {
        const threads = if (pool) |p| p.threadCount() else 1;
        const macs = (self.m *| self.n *| self.k) *| self.a_index.len;
        const useful = @min(threads, @max(1, macs / min_macs_per_thread));
        if (useful > 1 and self.groups() >= useful) return self.runSplit(pool.?, useful);
        const s: Sgemm = .{ .m = self.m, .n = self.n, .k = self.k };
        var i: usize = 0;
        while (i < self.a_index.len) {
            const bi = self.b_index[i];
            var packed_b = try gemm.PackedB.init(scratch_allocator, tuning(), self.bMatrix(bi), self.n, false, self.k, self.n);
            defer packed_b.deinit();
            var workspace = try gemm.Workspace.init(scratch_allocator, tuning(), @min(threads, s.usefulThreads()));
            defer workspace.deinit();
            while (i < self.a_index.len and self.b_index[i] == bi) : (i += 1) {
                try s.runPacked(self.aMatrix(self.a_index[i]), &packed_b, &workspace, self.cMatrix(i), pool);
            }
        }
    }

    fn groups(self: Batch) usize {
        var count: usize = 0;
        for (self.b_index, 0..) |bi, i| count += @intFromBool(i == 0 or self.b_index[i - 1] != bi);
        return count;
    }

    fn aMatrix(self: Batch, index: usize) []const f32 {
        return self.a[index * self.m * self.k ..][0 .. self.m * self.k];
    }

    fn bMatrix(self: Batch, index: usize) []const f32 {
        return self.b[index * self.k * self.n ..][0 .. self.k * self.n];
    }

    fn cMatrix(self: Batch, index: usize) []f32 {
        return self.c[index * self.m * self.n ..][0 .. self.m * self.n];
    }

    /// One slot per thread, each with its own B buffer and A workspace, all allocated up front
    /// so that no thread allocates or fails; the slots take runs of products from a counter.
    fn runSplit(self: Batch, pool: *ThreadPool, threads: usize) status.Error!void {
        const t = tuning();
        const nr = gemm_kernels.shape(t.variant).nr;
        const panels = std.math.divCeil(usize, self.n, nr) catch unreachable;
        // PackedB.init asks for panels * NR * K floats, 64-byte aligned: room for it plus padding.
        const slot_bytes = std.mem.alignForward(usize, panels * nr * self.k * @sizeOf(f32), 64) + 64;
        const buffers = scratch_allocator.alignedAlloc(u8, .@"64", slot_bytes * threads) catch
            return status.fail(error.OutOfResource, "out of memory for batched products", .{});
        defer scratch_allocator.free(buffers);
        const workspaces = scratch_allocator.alloc(gemm.Workspace, threads) catch
            return status.fail(error.OutOfResource, "out of memory for batched products", .{});
        defer scratch_allocator.free(workspaces);
        var made: usize = 0;
        defer for (workspaces[0..made]) |*w| w.deinit();
        while (made < threads) : (made += 1) workspaces[made] = try gemm.Workspace.init(scratch_allocator, t, 1);
        var job: SplitJob = .{ .batch = self, .buffers = buffers, .slot_bytes = slot_bytes, .workspaces = workspaces };
        pool.parallelForGrain(threads, 1, &job, SplitJob.runSlots);
        if (job.failed.load(.acquire)) return status.fail(error.InferError, "a batched product failed", .{});
    }
};

const SplitJob = struct {
    batch: Batch,
    buffers: []align(64) u8,
    slot_bytes: usize,
    workspaces: []gemm.Workspace,
    next: std.atomic.Value(usize) = .init(0),
    failed: std.atomic.Value(bool) = .init(false),

    fn runSlots(self: *SplitJob, begin: usize, end: usize) void {
        for (begin..end) |slot| {
            const buffer = self.buffers[slot * self.slot_bytes ..][0..self.slot_bytes];
            while (self.claim()) |range| self.runGroup(range, buffer, &self.workspaces[slot]) catch {
                self.failed.store(true, .release);
            };
        }
    }

    /// The next run of products that share a B: [first, last).
    fn claim(self: *SplitJob) ?[2]usize {
        const count = self.batch.b_index.len;
        while (true) {
            const first = self.next.load(.monotonic);
            if (first >= count) return null;
            var last = first + 1;
            while (last < count and self.batch.b_index[last] == self.batch.b_index[first]) last += 1;
            if (self.next.cmpxchgWeak(first, last, .monotonic, .monotonic) == null) return .{ first, last };
        }
    }

    fn runGroup(self: *SplitJob, range: [2]usize, buffer: []u8, ws: *const gemm.Workspace) status.Error!void {
        const batch = self.batch;
        var fixed = std.heap.FixedBufferAllocator.init(buffer);
        var packed_b = try gemm.PackedB.init(fixed.allocator(), tuning(), batch.bMatrix(batch.b_index[range[0]]), batch.n, false, batch.k, batch.n);
        defer packed_b.deinit();
        const s: Sgemm = .{ .m = batch.m, .n = batch.n, .k = batch.k };
        for (range[0]..range[1]) |i| try s.runPacked(batch.aMatrix(batch.a_index[i]), &packed_b, ws, batch.cMatrix(i), null);
    }
};

fn naiveProduct(a: []const f32, b: []const f32, c: []f32, m: usize, k: usize, n: usize) void {
    for (0..m) |i| for (0..n) |j| {
        var sum: f32 = 0;
        for (0..k) |p| sum += a[i * k + p] * b[p * n + j];
        c[i * n + j] = sum;
    };
}

test "a batch split across threads matches one product at a time" {
    const allocator = std.testing.allocator;
    const pool = try ThreadPool.init(allocator, .{ .threads = 2 });
    defer pool.deinit();
    const m = 37;
    const k = 70;
    const n = 45;
    const count = 5;
    var random = std.Random.DefaultPrng.init(7);
    const a = try allocator.alloc(f32, count * m * k);
    defer allocator.free(a);
    const b = try allocator.alloc(f32, 3 * k * n);
    defer allocator.free(b);
    for (a) |*v| v.* = random.random().float(f32) - 0.5;
    for (b) |*v| v.* = random.random().float(f32) - 0.5;
    // Products 1 and 2 share a B: they form one run, packed once.
    const a_index = [_]usize{ 0, 1, 2, 3, 4 };
    const b_index = [_]usize{ 0, 1, 1, 2, 0 };
    const c = try allocator.alloc(f32, count * m * n);
    defer allocator.free(c);
    const batch: Batch = .{ .m = m, .n = n, .k = k, .a = a, .b = b, .c = c, .a_index = &a_index, .b_index = &b_index };
    try batch.run(pool);
    var want: [m * n]f32 = undefined;
    for (0..count) |i| {
        naiveProduct(a[i * m * k ..][0 .. m * k], b[b_index[i] * k * n ..][0 .. k * n], &want, m, k, n);
        for (want, c[i * m * n ..][0 .. m * n]) |w, got| try std.testing.expectApproxEqAbs(w, got, 1e-4);
    }
}
