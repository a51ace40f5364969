//! The CPU backend's kernel thread pool. Threads start once and park between jobs (a short spin,
//! then a futex), so a kernel call costs one atomic counter per chunk and at most one futex wake,
//! never a thread start: the spike measured millisecond p99 latencies with a thread per call.
//!
//! Contract of `parallelFor(count, context, func)`:
//! - [0, count) is cut into chunks handed out through one atomic counter; the calling thread works
//!   too, and the call returns once every chunk has finished (all their writes are then visible);
//! - calls from different threads are serialized: one job runs at a time (a mutex);
//! - a nested call (from inside a job, on this pool or any other) is not parallelized: it runs
//!   the whole range inline on the calling thread. That cannot deadlock and gives the same result;
//! - `func` cannot fail: a kernel keeps its errors in its context, and the pool never panics.
//!
//! Why there is no data race on the job descriptor: the submitter writes it only while no worker
//! is "inside" (the `inside` counter is 0) and the chunk counter reads `closed`. A worker enters
//! (inside += 1), then reads the chunk counter: `closed` means "nothing for you"; anything else
//! means the descriptor is published and stays fixed until the worker leaves. Both sides use
//! seq_cst on `inside` and `next_chunk` (a Dekker pair), so a worker that enters after the
//! submitter saw inside == 0 sees either `closed` or the next job, already fully written.
const std = @import("std");
const builtin = @import("builtin");
const status = @import("../../core/status.zig");
const cpu = @import("../../device/cpu.zig");
const profile = @import("../../core/profile.zig");
const win32 = @import("../../core/win32.zig");

const Atomic = std.atomic.Value;
const Futex = std.Thread.Futex;
const cache_line = std.atomic.cache_line;

pub const Options = struct {
    /// Threads that work on a job, the caller included; 0 = the machine's physical cores.
    threads: u32 = 0,
    /// Core ids for pinning: pool thread i (1 ≤ i < threads) runs on cores[i % cores.len]. Entry 0
    /// stands for the calling thread, which the pool does not own and does not pin (see
    /// `pinCurrentThread`). Empty = no pinning. Linux and Windows; elsewhere pinning is a no-op.
    cores: []const u16 = &.{},
    /// Flush denormals to zero (x86_64 MXCSR FTZ+DAZ, aarch64 FPCR.FZ) on pool threads, and on
    /// the calling thread while it works on a job (its previous mode is restored afterwards).
    flush_denormals: bool = false,
    /// Pause rounds a parked thread spins before it sleeps: back-to-back kernels then cost no
    /// syscalls, while an idle pool stops burning a core shared with others after ~0.1 ms.
    spin_rounds: u32 = 1 << 13,
    stack_size_bytes: usize = 1 << 20,
};

/// The most threads one pool may start; far above any core count we target.
pub const max_threads = 1024;

const Erased = *const fn (context: *const anyopaque, begin: usize, end: usize) void;

/// True on pool threads for their whole life, and on a submitting thread while it runs chunks:
/// a parallelFor made there runs inline instead of waiting on a pool that is busy with its caller.
threadlocal var inside_job: bool = false;

/// `next_chunk` at rest: larger than any chunk count, so a late worker's claim always fails.
const closed: usize = std.math.maxInt(usize) / 2;
/// Chunks are counted in a u32 (the futex word), so a job has at most this many.
const max_chunks: usize = std.math.maxInt(u32) / 2;

/// One thread's part of a profiled job; each on its own cache line (the workers write them).
const ThreadShare = struct {
    ran: bool = false,
    thread_id: u32 = 0,
    begin_ns: u64 = 0,
    end_ns: u64 = 0,
    _: void align(cache_line) = {},
};

pub const ThreadPool = struct {
    allocator: std.mem.Allocator,
    workers: []std.Thread,
    /// Per thread (the submitter is 0): when it ran chunks of the current job, for profiling.
    shares: []ThreadShare,
    flush_denormals: bool,
    spin_rounds: u32,
    submit: std.Thread.Mutex = .{},

    // The job descriptor: plain memory, protected by the protocol in the file header.
    job_func: Erased = undefined,
    job_context: *const anyopaque = undefined,
    job_count: usize = 0,
    job_grain: usize = 1,
    job_chunks: usize = 0,
    /// The submitting node's profile scope: each thread records the share of the job it ran.
    job_profile: ?profile.Scope = null,

    // Each hot counter on its own cache line, so claiming chunks does not slow the parking word.
    next_chunk: Atomic(usize) align(cache_line) = .init(closed),
    inside: Atomic(u32) align(cache_line) = .init(0),
    chunks_done: Atomic(u32) align(cache_line) = .init(0),
    caller_sleeping: Atomic(u32) = .init(0),
    generation: Atomic(u32) align(cache_line) = .init(0),
    sleepers: Atomic(u32) = .init(0),
    stopping: Atomic(bool) = .init(false),
    started: Atomic(u32) = .init(0),
    start_failures: Atomic(u32) = .init(0),
    /// Threads that work on jobs now, the caller included (setActiveThreads): workers beyond
    /// them stay parked. At most threadCapacity().
    active: Atomic(u32) = .init(1),

    /// Starts threads-1 workers and waits until all are parked (and pinned, when asked).
    pub fn init(allocator: std.mem.Allocator, options: Options) status.Error!*ThreadPool {
        const threads = if (options.threads == 0) defaultThreadCount() else options.threads;
        if (threads > max_threads) {
            return status.fail(
                error.InvalidArgument,
                "thread pool: {d} threads (at most {d})",
                .{ threads, max_threads },
            );
        }
        for (options.cores) |core| {
            if (core >= cpu_set_bits) return status.fail(
                error.InvalidArgument,
                "thread pool: core id {d} is out of range",
                .{core},
            );
        }
        const self = allocator.create(ThreadPool) catch return outOfMemory();
        errdefer allocator.destroy(self);
        const workers = allocator.alloc(std.Thread, threads - 1) catch return outOfMemory();
        errdefer allocator.free(workers);
        const shares = allocator.alloc(ThreadShare, threads) catch return outOfMemory();
        errdefer allocator.free(shares);
        @memset(shares, .{});
        self.* = .{
            .allocator = allocator,
            .workers = workers,
            .shares = shares,
            .flush_denormals = options.flush_denormals,
            .spin_rounds = options.spin_rounds,
            .active = .init(threads),
        };
        for (workers, 1..) |*worker, index| {
            const core: ?u16 = if (options.cores.len == 0) null else options.cores[index % options.cores.len];
            const config: std.Thread.SpawnConfig = .{ .stack_size = options.stack_size_bytes };
            worker.* = std.Thread.spawn(config, workerMain, .{ self, core, @as(u32, @intCast(index)) }) catch {
                self.stopWorkers(index - 1);
                return status.fail(
                    error.OutOfResource,
                    "thread pool: could not start thread {d} of {d}",
                    .{ index, threads },
                );
            };
        }
        self.waitStarted(@intCast(workers.len));
        if (self.start_failures.load(.acquire) != 0) {
            self.stopWorkers(workers.len);
            return status.fail(
                error.OSError,
                "thread pool: could not pin threads to the requested cores",
                .{},
            );
        }
        return self;
    }

    /// Joins every worker and frees the pool. Waits for a job another thread has in flight.
    pub fn deinit(self: *ThreadPool) void {
        self.submit.lock();
        self.stopWorkers(self.workers.len);
        self.submit.unlock();
        const allocator = self.allocator;
        allocator.free(self.workers);
        allocator.free(self.shares);
        allocator.destroy(self);
    }

    /// Threads that work on a job, the caller included.
    pub fn threadCount(self: *const ThreadPool) usize {
        return self.active.load(.monotonic);
    }

    /// Threads the pool started, the caller included: the most setActiveThreads allows.
    pub fn threadCapacity(self: *const ThreadPool) u32 {
        return @intCast(self.workers.len + 1);
    }

    /// Later jobs use `threads` of the pool's threads (clamped to 1..threadCapacity(), which it
    /// returns); the others stay parked. A job in flight finishes with the threads it had.
    pub fn setActiveThreads(self: *ThreadPool, threads: u32) u32 {
        const applied = std.math.clamp(threads, 1, self.threadCapacity());
        self.active.store(applied, .monotonic);
        return applied;
    }

    /// Runs func(context, begin, end) over chunks covering [0, count), about 4 chunks per thread.
    /// `context` is a pointer; func runs on several threads at once, so it must only write what
    /// its range owns (or use atomics).
    pub fn parallelFor(
        self: *ThreadPool,
        count: usize,
        context: anytype,
        comptime func: fn (@TypeOf(context), usize, usize) void,
    ) void {
        const target_chunks = 4 * self.threadCount();
        self.parallelForGrain(count, std.math.divCeil(usize, count, target_chunks) catch 1, context, func);
    }

    /// Like parallelFor, with chunks of `grain` items (the last may be shorter).
    pub fn parallelForGrain(
        self: *ThreadPool,
        count: usize,
        grain: usize,
        context: anytype,
        comptime func: fn (@TypeOf(context), usize, usize) void,
    ) void {
        const Context = @TypeOf(context);
        comptime std.debug.assert(@typeInfo(Context) == .pointer);
        const Adapter = struct {
            fn call(erased: *const anyopaque, begin: usize, end: usize) void {
                func(@ptrCast(@alignCast(@constCast(erased))), begin, end);
            }
        };
        self.run(count, grain, @ptrCast(context), Adapter.call);
    }

    fn run(
        self: *ThreadPool,
        count: usize,
        grain_asked: usize,
        context: *const anyopaque,
        func: Erased,
    ) void {
        if (count == 0) return;
        const grain = @max(grain_asked, 1, std.math.divCeil(usize, count, max_chunks) catch 1);
        const chunks = std.math.divCeil(usize, count, grain) catch 1;
        const helpers = self.active.load(.monotonic) - 1;
        if (chunks == 1 or helpers == 0 or inside_job) {
            const saved = enterJob(self.flush_denormals);
            defer leaveJob(saved);
            return func(context, 0, count);
        }

        const scope = profile.current;
        const launch = if (scope) |s| s.ring.begin(.launch, .{ .op_index = s.op_index, .depth = s.depth }) else null;
        defer profile.maybeEnd(launch);
        self.submit.lock();
        defer self.submit.unlock();
        self.waitForStragglers();
        self.job_profile = scope;
        if (scope != null) for (self.shares) |*share| {
            share.ran = false;
        };
        self.job_func = func;
        self.job_context = context;
        self.job_count = count;
        self.job_grain = grain;
        self.job_chunks = chunks;
        self.chunks_done.store(0, .monotonic);
        self.next_chunk.store(0, .seq_cst); // publishes the descriptor
        _ = self.generation.fetchAdd(1, .seq_cst);
        if (self.sleepers.load(.seq_cst) != 0) {
            Futex.wake(&self.generation, @intCast(@min(chunks - 1, helpers)));
        }
        const saved = enterJob(self.flush_denormals);
        self.runChunks(&self.shares[0]);
        leaveJob(saved);
        const wait = if (scope) |s| if (self.chunks_done.load(.acquire) != chunks) s.ring.begin(.wait, .{ .op_index = s.op_index, .depth = s.depth }) else null else null;
        self.waitForChunks(@intCast(chunks));
        profile.maybeEnd(wait);
        if (scope) |s| self.recordShares(s);
        self.next_chunk.store(closed, .seq_cst);
    }

    fn runChunks(self: *ThreadPool, share: *ThreadShare) void {
        const chunks = self.job_chunks;
        const timed = self.job_profile != null;
        while (true) {
            const chunk = self.next_chunk.fetchAdd(1, .monotonic);
            if (chunk >= chunks) return;
            if (timed and !share.ran) share.* = .{ .ran = true, .thread_id = profile.threadId(), .begin_ns = profile.now() };
            const begin = chunk * self.job_grain;
            self.job_func(self.job_context, begin, @min(self.job_count, begin + self.job_grain));
            // Written before the chunk counts as done, so the submitter reads it after the join.
            if (timed) share.end_ns = profile.now();
            const done = self.chunks_done.fetchAdd(1, .seq_cst) + 1;
            if (done == chunks and self.caller_sleeping.load(.seq_cst) != 0) Futex.wake(&self.chunks_done, 1);
        }
    }

    /// One device-execute span per thread that ran chunks of the job, from its first chunk's
    /// start to its last one's end. Workers only note the times (before their chunks count as
    /// done); the submitter records the events, so nothing touches the ring after the join.
    fn recordShares(self: *ThreadPool, scope: profile.Scope) void {
        for (self.shares) |share| if (share.ran) {
            const detail: profile.Detail = .{ .op_index = scope.op_index, .depth = scope.depth, .src_device = profile.cpu_device, .dst_device = profile.cpu_device };
            scope.ring.recordFor(share.thread_id, share.begin_ns, .device_execute, .begin, detail);
            scope.ring.recordFor(share.thread_id, share.end_ns, .device_execute, .end, detail);
        };
    }

    /// Workers still inside the previous job are between their last claim and leaving: moments.
    fn waitForStragglers(self: *ThreadPool) void {
        var rounds: u32 = 0;
        while (self.inside.load(.seq_cst) != 0) : (rounds +%= 1) {
            // A straggler preempted by the OS would make a pure spin burn a whole time slice.
            if (rounds % 256 == 255) std.Thread.yield() catch {} else std.atomic.spinLoopHint();
        }
    }

    fn waitForChunks(self: *ThreadPool, chunks: u32) void {
        var rounds: u32 = 0;
        while (self.chunks_done.load(.acquire) != chunks) : (rounds += 1) {
            if (rounds < self.spin_rounds) {
                std.atomic.spinLoopHint();
                continue;
            }
            self.caller_sleeping.store(1, .seq_cst);
            while (true) {
                const done = self.chunks_done.load(.seq_cst);
                if (done == chunks) break;
                Futex.wait(&self.chunks_done, done);
            }
            self.caller_sleeping.store(0, .seq_cst);
            return;
        }
    }

    fn waitStarted(self: *ThreadPool, expected: u32) void {
        while (true) {
            const now = self.started.load(.acquire);
            if (now == expected) return;
            Futex.wait(&self.started, now);
        }
    }

    fn stopWorkers(self: *ThreadPool, spawned: usize) void {
        self.stopping.store(true, .release);
        _ = self.generation.fetchAdd(1, .seq_cst);
        Futex.wake(&self.generation, std.math.maxInt(u32));
        for (self.workers[0..spawned]) |worker| worker.join();
    }

    /// Returns false when the pool is stopping; otherwise a new job was announced.
    fn waitForJob(self: *ThreadPool, seen: *u32) bool {
        var rounds: u32 = 0;
        while (true) {
            const now = self.generation.load(.acquire);
            if (now != seen.*) {
                seen.* = now;
                return !self.stopping.load(.acquire);
            }
            if (rounds < self.spin_rounds) {
                rounds += 1;
                std.atomic.spinLoopHint();
                continue;
            }
            _ = self.sleepers.fetchAdd(1, .seq_cst);
            Futex.wait(&self.generation, seen.*);
            _ = self.sleepers.fetchSub(1, .seq_cst);
        }
    }

    fn workerMain(self: *ThreadPool, core: ?u16, index: u32) void {
        const share = &self.shares[index];
        inside_job = true;
        const pinned = if (core) |id| setAffinity(id) else true;
        if (self.flush_denormals) writeFloatControl(readFloatControl() | flush_denormal_bits);
        var seen = self.generation.load(.acquire);
        if (!pinned) _ = self.start_failures.fetchAdd(1, .release);
        _ = self.started.fetchAdd(1, .release);
        Futex.wake(&self.started, 1);
        while (self.waitForJob(&seen)) {
            _ = self.inside.fetchAdd(1, .seq_cst);
            // A worker beyond the active threads wakes (a broadcast, a spin) but takes no chunk.
            const active = index < self.active.load(.monotonic);
            if (active and self.next_chunk.load(.seq_cst) < closed) self.runChunks(share);
            _ = self.inside.fetchSub(1, .seq_cst);
        }
    }
};

fn outOfMemory() status.Error {
    return status.fail(error.OutOfResource, "thread pool: out of memory", .{});
}

/// Physical cores the process may run on: SMT siblings share the FMA units, so they add no
/// GEMM throughput, and cores outside the affinity mask (containers, taskset) add nothing.
pub fn defaultThreadCount() u32 {
    const info = cpu.detect();
    const allowed: u32 = @intCast(@min(std.Thread.getCpuCount() catch 1, max_threads));
    return @max(1, @min(info.cores_physical, allowed));
}

const cpu_set_bits = if (builtin.os.tag == .linux) @bitSizeOf(std.os.linux.cpu_set_t) else 1024;

/// Pins the calling thread to one core. A no-op returning success outside Linux and Windows.
pub fn pinCurrentThread(core: u16) status.Error!void {
    if (core >= cpu_set_bits) return status.fail(
        error.InvalidArgument,
        "core id {d} is out of range",
        .{core},
    );
    if (!setAffinity(core)) return status.fail(
        error.OSError,
        "could not pin the thread to core {d}",
        .{core},
    );
}

fn setAffinity(core: u16) bool {
    if (builtin.os.tag == .windows) return setWindowsAffinity(core);
    if (builtin.os.tag != .linux) return true;
    if (core >= cpu_set_bits) return false;
    var set = std.mem.zeroes(std.os.linux.cpu_set_t);
    const word_bits = @bitSizeOf(usize);
    set[core / word_bits] |= @as(usize, 1) << @intCast(core % word_bits);
    // The raw call: std's wrapper dumps a stack trace on errnos it did not expect (EINVAL here).
    const linux = std.os.linux;
    const rc = linux.syscall3(.sched_setaffinity, 0, @sizeOf(linux.cpu_set_t), @intFromPtr(&set));
    return linux.E.init(rc) == .SUCCESS;
}

/// Windows numbers processors within processor groups of up to 64. Core id n is the n-th active
/// processor counting group after group, which on a machine with one group (up to 64 logical
/// processors) is the processor's own number, as on Linux.
fn setWindowsAffinity(core: u16) bool {
    var records = win32.Records.read(std.heap.page_allocator, .group) orelse return false;
    defer records.deinit();
    const record = records.next() orelse return false;
    if (record.relationship != .group) return false;
    var remaining: usize = core;
    for (record.body(win32.GroupRelationship).groups(), 0..) |group, index| {
        const active: usize = @popCount(group.active_processor_mask);
        if (remaining >= active) {
            remaining -= active;
            continue;
        }
        var mask = group.active_processor_mask;
        for (0..remaining) |_| mask &= mask - 1; // drop the lowest active processors before ours
        const affinity: win32.GroupAffinity = .{ .mask = mask & (~mask +% 1), .group = @intCast(index) };
        return win32.SetThreadGroupAffinity(win32.GetCurrentThread(), &affinity, null) != 0;
    }
    return false;
}

// ---- Denormal flushing: per-thread floating-point control ----

/// FTZ (bit 15) and DAZ (bit 6) of MXCSR; FZ (bit 24) of FPCR.
pub const flush_denormal_bits: usize = switch (builtin.cpu.arch) {
    .x86_64 => (1 << 15) | (1 << 6),
    .aarch64 => 1 << 24,
    else => 0,
};

/// The calling thread's floating-point control register (0 where the pool does not manage one).
pub fn readFloatControl() usize {
    switch (builtin.cpu.arch) {
        .x86_64 => {
            var csr: u32 = 0;
            asm volatile ("stmxcsr %[csr]"
                : [csr] "=m" (csr),
            );
            return csr;
        },
        .aarch64 => return asm volatile ("mrs %[fpcr], fpcr"
            : [fpcr] "=r" (-> usize),
        ),
        else => return 0,
    }
}

pub fn writeFloatControl(value: usize) void {
    switch (builtin.cpu.arch) {
        .x86_64 => {
            var csr: u32 = @truncate(value);
            // The LLVM and the self-hosted backends disagree on "m" inputs: each gets the form
            // it accepts (LLVM crashes on a value "m", the other cannot parse "(%reg)").
            if (builtin.zig_backend == .stage2_llvm) {
                asm volatile ("ldmxcsr (%[csr])"
                    :
                    : [csr] "r" (&csr),
                    : .{ .memory = true, .mxcsr = true });
            } else {
                asm volatile ("ldmxcsr %[csr]"
                    :
                    : [csr] "m" (csr),
                    : .{ .memory = true, .mxcsr = true });
            }
            std.mem.doNotOptimizeAway(&csr);
        },
        .aarch64 => asm volatile ("msr fpcr, %[fpcr]"
            :
            : [fpcr] "r" (value),
            : .{ .fpcr = true }),
        else => {},
    }
}

const Saved = struct { was_inside: bool, control: ?usize };

fn enterJob(flush_denormals: bool) Saved {
    const saved: Saved = .{ .was_inside = inside_job, .control = if (flush_denormals) readFloatControl() else null };
    inside_job = true;
    if (saved.control) |control| writeFloatControl(control | flush_denormal_bits);
    return saved;
}

fn leaveJob(saved: Saved) void {
    inside_job = saved.was_inside;
    if (saved.control) |control| writeFloatControl(control);
}

test {
    _ = @import("thread_pool_test.zig");
}
