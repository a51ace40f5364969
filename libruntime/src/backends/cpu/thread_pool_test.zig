//! Tests of the kernel thread pool: coverage of every index for many counts, grains and thread
//! counts; persistence over 10k jobs; nested and concurrent callers; denormal flushing; pinning.
const std = @import("std");
const builtin = @import("builtin");
const pool_module = @import("thread_pool.zig");

const ThreadPool = pool_module.ThreadPool;
const Atomic = std.atomic.Value;
const testing = std.testing;

/// Each index belongs to exactly one chunk, so `hits` is written without atomics; a chunk that
/// overlapped another (or a lost chunk) shows up as a count other than 1.
const Coverage = struct {
    hits: []u8,
    sum: Atomic(u64) = .init(0),

    fn visit(self: *Coverage, begin: usize, end: usize) void {
        var local: u64 = 0;
        for (begin..end) |i| {
            self.hits[i] += 1;
            local += i;
        }
        _ = self.sum.fetchAdd(local, .monotonic);
    }

    fn expectAllOnce(self: *Coverage) !void {
        for (self.hits) |hit| try testing.expectEqual(@as(u8, 1), hit);
        const n: u64 = self.hits.len;
        try testing.expectEqual(if (n == 0) 0 else n * (n - 1) / 2, self.sum.load(.monotonic));
    }
};

test "parallelFor covers every index once for many counts, grains and thread counts" {
    const counts = [_]usize{ 0, 1, 2, 3, 7, 64, 1000, 4099 };
    const grains = [_]usize{ 0, 1, 2, 3, 16, 1000, 5000 };
    for (1..5) |threads| {
        const pool = try ThreadPool.init(testing.allocator, .{ .threads = @intCast(threads) });
        defer pool.deinit();
        try testing.expectEqual(threads, pool.threadCount());
        for (counts) |count| {
            const hits = try testing.allocator.alloc(u8, count);
            defer testing.allocator.free(hits);
            for (grains) |grain| {
                @memset(hits, 0);
                var coverage: Coverage = .{ .hits = hits };
                pool.parallelForGrain(count, grain, &coverage, Coverage.visit);
                try coverage.expectAllOnce();
            }
            @memset(hits, 0);
            var coverage: Coverage = .{ .hits = hits };
            pool.parallelFor(count, &coverage, Coverage.visit);
            try coverage.expectAllOnce();
        }
    }
}

/// Records which threads ran chunks: a persistent pool never shows more ids than threads.
const Census = struct {
    mutex: std.Thread.Mutex = .{},
    ids: [16]std.Thread.Id = undefined,
    len: usize = 0,
    sum: Atomic(u64) = .init(0),

    fn visit(self: *Census, begin: usize, end: usize) void {
        var local: u64 = 0;
        for (begin..end) |i| local += i;
        _ = self.sum.fetchAdd(local, .monotonic);
        const id = std.Thread.getCurrentId();
        self.mutex.lock();
        defer self.mutex.unlock();
        if (std.mem.indexOfScalar(std.Thread.Id, self.ids[0..self.len], id) != null) return;
        if (self.len < self.ids.len) {
            self.ids[self.len] = id;
            self.len += 1;
        }
    }
};

test "10k small jobs reuse the same threads" {
    const pool = try ThreadPool.init(testing.allocator, .{ .threads = 4 });
    defer pool.deinit();
    var census: Census = .{};
    var expected: u64 = 0;
    for (0..10_000) |job| {
        const count = job % 97 + 1;
        expected += count * (count - 1) / 2;
        pool.parallelForGrain(count, 1 + job % 3, &census, Census.visit);
    }
    try testing.expectEqual(expected, census.sum.load(.monotonic));
    try testing.expect(census.len >= 1 and census.len <= 4);
}

/// A job whose chunks start a nested parallelFor on the same pool.
const Nested = struct {
    pool: *ThreadPool,
    inner_calls: Atomic(u32) = .init(0),
    inner_sum: Atomic(u64) = .init(0),

    fn outer(self: *Nested, begin: usize, end: usize) void {
        for (begin..end) |_| self.pool.parallelForGrain(100, 1, self, inner);
    }

    fn inner(self: *Nested, begin: usize, end: usize) void {
        // Nested calls run inline: one call with the whole range.
        _ = self.inner_calls.fetchAdd(1, .monotonic);
        var local: u64 = 0;
        for (begin..end) |i| local += i;
        _ = self.inner_sum.fetchAdd(local, .monotonic);
    }
};

test "nested calls run inline on the calling thread" {
    const pool = try ThreadPool.init(testing.allocator, .{ .threads = 3 });
    defer pool.deinit();
    var nested: Nested = .{ .pool = pool };
    pool.parallelForGrain(40, 1, &nested, Nested.outer);
    try testing.expectEqual(@as(u32, 40), nested.inner_calls.load(.monotonic));
    try testing.expectEqual(@as(u64, 40 * 4950), nested.inner_sum.load(.monotonic));
}

fn submitMany(pool: *ThreadPool, result: *u64) void {
    var total: u64 = 0;
    for (0..300) |job| {
        var census: Census = .{};
        const count = 50 + job % 13;
        pool.parallelForGrain(count, 2, &census, Census.visit);
        total += census.sum.load(.monotonic);
    }
    result.* = total;
}

test "callers on different threads are serialized" {
    const pool = try ThreadPool.init(testing.allocator, .{ .threads = 2 });
    defer pool.deinit();
    var results = [_]u64{ 0, 0, 0 };
    var expected: u64 = 0;
    for (0..300) |job| {
        const count: u64 = 50 + job % 13;
        expected += count * (count - 1) / 2;
    }
    var callers: [2]std.Thread = undefined;
    for (&callers, 0..) |*caller, i| caller.* = try std.Thread.spawn(.{}, submitMany, .{ pool, &results[i] });
    submitMany(pool, &results[2]);
    for (callers) |caller| caller.join();
    for (results) |result| try testing.expectEqual(expected, result);
}

const DenormalProbe = struct {
    flushed: Atomic(u32) = .init(0),

    fn probe(self: *DenormalProbe, begin: usize, end: usize) void {
        for (begin..end) |_| {
            // A volatile read keeps the product at run time, where the control register applies.
            var smallest_normal: f32 = std.math.floatMin(f32);
            const source: *volatile f32 = &smallest_normal;
            if (source.* * 0.25 == 0) _ = self.flushed.fetchAdd(1, .monotonic);
        }
    }
};

test "flush-denormals mode applies to every thread of a job and is restored on the caller" {
    if (pool_module.flush_denormal_bits == 0) return error.SkipZigTest;
    const before = pool_module.readFloatControl();
    try testing.expect(before & pool_module.flush_denormal_bits == 0);
    const pool = try ThreadPool.init(testing.allocator, .{ .threads = 2, .flush_denormals = true });
    defer pool.deinit();
    var probe: DenormalProbe = .{};
    pool.parallelForGrain(64, 1, &probe, DenormalProbe.probe);
    try testing.expectEqual(@as(u32, 64), probe.flushed.load(.monotonic));
    try testing.expectEqual(before, pool_module.readFloatControl());

    const plain = try ThreadPool.init(testing.allocator, .{ .threads = 2 });
    defer plain.deinit();
    var unflushed: DenormalProbe = .{};
    plain.parallelForGrain(64, 1, &unflushed, DenormalProbe.probe);
    try testing.expectEqual(@as(u32, 0), unflushed.flushed.load(.monotonic));
}

const AffinityProbe = struct {
    caller: std.Thread.Id,
    worker_cores_max: Atomic(u32) = .init(0),

    fn probe(self: *AffinityProbe, begin: usize, end: usize) void {
        _ = begin;
        _ = end;
        if (std.Thread.getCurrentId() == self.caller) return;
        const cores = allowedCores() catch return;
        _ = self.worker_cores_max.fetchMax(@intCast(std.os.linux.CPU_COUNT(cores)), .monotonic);
        // Hold the chunk a moment so the worker gets some of them.
        std.Thread.sleep(100 * std.time.ns_per_us);
    }
};

fn allowedCores() !std.os.linux.cpu_set_t {
    var set: std.os.linux.cpu_set_t = undefined;
    const rc = std.os.linux.sched_getaffinity(0, @sizeOf(std.os.linux.cpu_set_t), &set);
    if (std.os.linux.E.init(rc) != .SUCCESS) return error.Unexpected;
    return set;
}

test "pinned pool threads run on the requested core; an unusable core fails cleanly" {
    if (builtin.os.tag != .linux) return error.SkipZigTest;
    const allowed = try allowedCores();
    const first: u16 = for (0..@bitSizeOf(std.os.linux.cpu_set_t)) |core| {
        const word_bits = @bitSizeOf(usize);
        if (allowed[core / word_bits] >> @intCast(core % word_bits) & 1 == 1) break @intCast(core);
    } else return error.SkipZigTest;

    const pool = try ThreadPool.init(testing.allocator, .{ .threads = 3, .cores = &.{ first, first } });
    defer pool.deinit();
    var probe: AffinityProbe = .{ .caller = std.Thread.getCurrentId() };
    pool.parallelForGrain(16, 1, &probe, AffinityProbe.probe);
    try testing.expect(probe.worker_cores_max.load(.monotonic) <= 1);

    const last: u16 = @bitSizeOf(std.os.linux.cpu_set_t) - 1;
    const last_allowed = allowed[last / @bitSizeOf(usize)] >> @intCast(last % @bitSizeOf(usize)) & 1 == 1;
    if (!last_allowed) {
        try testing.expectError(error.OSError, ThreadPool.init(testing.allocator, .{ .threads = 2, .cores = &.{ 0, last } }));
    }
    try testing.expectError(error.InvalidArgument, ThreadPool.init(testing.allocator, .{ .cores = &.{60000} }));
}

test "default thread count is at least one; single-thread pools run inline" {
    try testing.expect(pool_module.defaultThreadCount() >= 1);
    const pool = try ThreadPool.init(testing.allocator, .{ .threads = 1 });
    defer pool.deinit();
    const hits = try testing.allocator.alloc(u8, 33);
    defer testing.allocator.free(hits);
    @memset(hits, 0);
    var coverage: Coverage = .{ .hits = hits };
    pool.parallelFor(hits.len, &coverage, Coverage.visit);
    try coverage.expectAllOnce();
}
