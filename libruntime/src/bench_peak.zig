//! The CPU's float32 peak (`zig build bench-peak`, always ReleaseFast, built for this machine
//! with its widest vectors): GFLOP/s of a loop of fused multiply-adds with 16 independent
//! accumulators (enough to keep two FMA pipes of 4-cycle latency busy), on each of N threads at
//! once, best of 7 runs. It is what an SGEMM's GFLOP/s is measured against (bench/sgemm.ts).
//! A program, not a test: nothing asserts a rate.
//!
//! Two rates: by the wall clock (what a benchmark timed the same way can reach on the machine
//! as loaded right now) and by each thread's CPU time (the core's own rate while it ran, which
//! other processes sharing the cores do not lower).
//!
//!   tessera-bench-peak [--json] [THREADS...]     (threads default to 1 2)
//!
//! --json prints one object per thread count: {"threads":N,"gflops":X,"cpu_gflops":Y,"lanes":W}.
const std = @import("std");

/// float32 lanes per vector: 16 where the build targets AVX-512, 8 for AVX2, 4 for SSE and NEON.
const lanes = std.simd.suggestVectorLength(f32) orelse 4;
const Vector = @Vector(lanes, f32);
const chains = 16;
const flop_per_iteration = chains * lanes * 2;
const runs = 7;
/// About 0.1 s per run at 150 GFLOP/s per thread.
const iterations = 30_000_000;

const Spin = struct { result: f32 = 0, cpu_seconds: f64 = 0 };

/// `count` iterations of `chains` independent multiply-adds; the result depends on every one, so
/// none can be dropped, and floats have no closed form for the loop that LLVM could use.
fn spin(count: usize, seed: f32, out: *Spin) void {
    const start = threadCpuSeconds();
    var acc: [chains]Vector = undefined;
    for (&acc, 0..) |*a, i| a.* = @splat(seed + @as(f32, @floatFromInt(i)));
    const scale: Vector = @splat(0.9999999);
    const offset: Vector = @splat(1e-7);
    for (0..count) |_| {
        inline for (&acc) |*a| a.* = @mulAdd(Vector, a.*, scale, offset);
    }
    var sum: Vector = @splat(0);
    for (acc) |a| sum += a;
    out.* = .{ .result = @reduce(.Add, sum), .cpu_seconds = threadCpuSeconds() - start };
}

fn threadCpuSeconds() f64 {
    const now = std.posix.clock_gettime(.THREAD_CPUTIME_ID) catch return 0;
    return @as(f64, @floatFromInt(now.sec)) + @as(f64, @floatFromInt(now.nsec)) / 1e9;
}

const Rate = struct { wall: f64, cpu: f64 };

/// GFLOP/s of `threads` threads spinning at once: by the wall clock from the first start to the
/// last end, and the sum of each thread's rate over its own CPU time.
fn measure(allocator: std.mem.Allocator, threads: usize, seed: f32) !Rate {
    const handles = try allocator.alloc(std.Thread, threads);
    defer allocator.free(handles);
    const spins = try allocator.alloc(Spin, threads);
    defer allocator.free(spins);
    var timer = try std.time.Timer.start();
    for (handles, spins) |*handle, *out| handle.* = try std.Thread.spawn(.{}, spin, .{ iterations, seed, out });
    for (handles) |handle| handle.join();
    const seconds = @as(f64, @floatFromInt(timer.read())) / 1e9;
    const per_thread = @as(f64, @floatFromInt(flop_per_iteration * iterations));
    var cpu: f64 = 0;
    for (spins) |s| {
        std.mem.doNotOptimizeAway(s.result);
        cpu += per_thread / s.cpu_seconds / 1e9;
    }
    return .{ .wall = per_thread * @as(f64, @floatFromInt(threads)) / seconds / 1e9, .cpu = cpu };
}

pub fn main() !void {
    const allocator = std.heap.c_allocator;
    var buffer: [1024]u8 = undefined;
    var writer = std.fs.File.stdout().writer(&buffer);
    const out = &writer.interface;

    var thread_counts: std.ArrayList(usize) = .empty;
    defer thread_counts.deinit(allocator);
    var json = false;
    const args = try std.process.argsAlloc(allocator);
    defer std.process.argsFree(allocator, args);
    for (args[1..]) |arg| {
        if (std.mem.eql(u8, arg, "--json")) {
            json = true;
        } else {
            const count = std.fmt.parseInt(usize, arg, 10) catch {
                std.debug.print("usage: tessera-bench-peak [--json] [THREADS...]; '{s}' is not a thread count\n", .{arg});
                std.process.exit(2);
            };
            if (count == 0) {
                std.debug.print("tessera-bench-peak: a thread count is at least 1\n", .{});
                std.process.exit(2);
            }
            try thread_counts.append(allocator, count);
        }
    }
    if (thread_counts.items.len == 0) try thread_counts.appendSlice(allocator, &.{ 1, 2 });

    // A seed the compiler cannot know, so the loop is not evaluated at compile time.
    const seed: f32 = @floatFromInt(@as(u8, @truncate(@as(u64, @bitCast(std.time.milliTimestamp())))));
    if (!json) {
        try out.print("float32 FMA peak, {d}-lane vectors, {d} chains; GFLOP/s, best of {d}\n", .{ lanes, chains, runs });
        try out.flush();
    }
    for (thread_counts.items) |threads| {
        var best: Rate = .{ .wall = 0, .cpu = 0 };
        for (0..runs) |_| {
            const rate = try measure(allocator, threads, seed);
            best = .{ .wall = @max(best.wall, rate.wall), .cpu = @max(best.cpu, rate.cpu) };
        }
        if (json) {
            try out.print("{{\"threads\":{d},\"gflops\":{d:.1},\"cpu_gflops\":{d:.1},\"lanes\":{d}}}\n", .{ threads, best.wall, best.cpu, lanes });
        } else {
            try out.print("{d:>3} threads {d:>8.1} GFLOP/s by the wall clock, {d:.1} by CPU time\n", .{ threads, best.wall, best.cpu });
        }
        try out.flush();
    }
}
