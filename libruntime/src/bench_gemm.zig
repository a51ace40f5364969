//! SGEMM benchmark (`zig build bench-gemm`, always ReleaseFast): GFLOP/s, best and median of 7
//! runs after a warm-up, for a square product and inference-like shapes, on 1 and 2 threads.
//! B is packed once outside the timing, as a model's weights are at load. A program, not a test:
//! nothing asserts a time.
//!
//!   tessera-bench-gemm [--numpy PYTHON] [THREADS...]     (threads default to 1 2)
//!
//! With --numpy, the same shape is timed right after in numpy (OpenBLAS, pinned to the same
//! thread count) and the ratio printed: on a shared machine only side-by-side ratios mean much.
const std = @import("std");
const gemm = @import("backends/cpu/gemm.zig");
const ThreadPool = @import("backends/cpu/thread_pool.zig").ThreadPool;

const Shape = struct { m: usize, n: usize, k: usize, note: []const u8 };

const shapes = [_]Shape{
    .{ .m = 2048, .n = 2048, .k = 2048, .note = "square" },
    .{ .m = 1, .n = 1000, .k = 2048, .note = "classifier head, batch 1" },
    .{ .m = 196, .n = 512, .k = 4608, .note = "ResNet-50 3x3 conv at 14x14 (im2col)" },
    .{ .m = 3136, .n = 64, .k = 576, .note = "ResNet-50 3x3 conv at 56x56 (im2col)" },
    .{ .m = 128, .n = 768, .k = 768, .note = "transformer projection, seq 128" },
};

const runs = 7;
/// Each sample repeats a short product until it is about 2 GFLOP (20 ms at 100 GFLOP/s).
const flop_per_sample = 2e9;

/// The peer, timed the same way: best and median GFLOP/s of 7 samples.
const numpy_script =
    \\import sys, time, numpy as np
    \\m, n, k = map(int, sys.argv[1:4])
    \\a = np.random.rand(m, k).astype(np.float32) - 0.5
    \\b = np.random.rand(k, n).astype(np.float32) - 0.5
    \\flop = 2.0 * m * n * k
    \\repeats = max(1, int(2e9 / flop))
    \\a @ b
    \\rates = []
    \\for _ in range(7):
    \\    start = time.perf_counter()
    \\    for _ in range(repeats): a @ b
    \\    rates.append(flop * repeats / (time.perf_counter() - start) / 1e9)
    \\rates.sort()
    \\print(rates[-1], rates[3])
;

const Result = struct { best: f64, median: f64 };

pub fn main() !void {
    const allocator = std.heap.c_allocator;
    var buffer: [4096]u8 = undefined;
    var writer = std.fs.File.stdout().writer(&buffer);
    const out = &writer.interface;

    var thread_counts: std.ArrayList(u32) = .empty;
    defer thread_counts.deinit(allocator);
    var python: ?[]const u8 = null;
    const args = try std.process.argsAlloc(allocator);
    defer std.process.argsFree(allocator, args);
    var index: usize = 1;
    while (index < args.len) : (index += 1) {
        if (std.mem.eql(u8, args[index], "--numpy") and index + 1 < args.len) {
            index += 1;
            python = args[index];
        } else {
            try thread_counts.append(allocator, try std.fmt.parseInt(u32, args[index], 10));
        }
    }
    if (thread_counts.items.len == 0) try thread_counts.appendSlice(allocator, &.{ 1, 2 });

    const tuning = gemm.Tuning.host();
    try out.print("kernel {s}, MC {d}, KC {d}, NC {d}; GFLOP/s, best and median of {d}\n", .{
        @tagName(tuning.variant), tuning.mc, tuning.kc, tuning.nc, runs,
    });
    try out.print("{s:>16} {s:>7} {s:>7} {s:>7}", .{ "M x N x K", "threads", "best", "median" });
    if (python != null) try out.print(" {s:>7} {s:>7} {s:>6}", .{ "numpy", "median", "ratio" });
    try out.print("  {s}\n", .{"shape"});
    try out.flush();
    for (thread_counts.items) |threads| {
        const pool = try ThreadPool.init(allocator, .{ .threads = threads });
        defer pool.deinit();
        for (shapes) |shape| {
            const ours = try measure(allocator, tuning, shape, pool);
            var label: [32]u8 = undefined;
            const text = try std.fmt.bufPrint(&label, "{d}x{d}x{d}", .{ shape.m, shape.n, shape.k });
            try out.print("{s:>16} {d:>7} {d:>7.1} {d:>7.1}", .{ text, threads, ours.best, ours.median });
            if (python) |path| {
                const peer = try measureNumpy(allocator, path, shape, threads);
                try out.print(" {d:>7.1} {d:>7.1} {d:>6.2}", .{ peer.best, peer.median, ours.median / peer.median });
            }
            try out.print("  {s}\n", .{shape.note});
            try out.flush();
        }
    }
}

fn measure(allocator: std.mem.Allocator, tuning: gemm.Tuning, shape: Shape, pool: *ThreadPool) !Result {
    const a = try allocator.alloc(f32, shape.m * shape.k);
    defer allocator.free(a);
    const b = try allocator.alloc(f32, shape.k * shape.n);
    defer allocator.free(b);
    const c = try allocator.alloc(f32, shape.m * shape.n);
    defer allocator.free(c);
    var prng = std.Random.DefaultPrng.init(42);
    const random = prng.random();
    for (a) |*x| x.* = random.float(f32) - 0.5;
    for (b) |*x| x.* = random.float(f32) - 0.5;

    var packed_b = try gemm.PackedB.init(allocator, tuning, b, shape.n, false, shape.k, shape.n);
    defer packed_b.deinit();
    var workspace = try gemm.Workspace.init(allocator, tuning, pool.threadCount());
    defer workspace.deinit();
    const params: gemm.Params = .{
        .m = shape.m,
        .n = shape.n,
        .k = shape.k,
        .a = a,
        .lda = shape.k,
        .c = c,
        .ldc = shape.n,
    };

    const flop = 2.0 * @as(f64, @floatFromInt(shape.m * shape.n * shape.k));
    const repeats: usize = @max(1, @as(usize, @intFromFloat(flop_per_sample / flop)));
    try gemm.gemm(params, &packed_b, &workspace, pool);
    var rates: [runs]f64 = undefined;
    for (&rates) |*rate| {
        var timer = try std.time.Timer.start();
        for (0..repeats) |_| try gemm.gemm(params, &packed_b, &workspace, pool);
        const seconds = @as(f64, @floatFromInt(timer.read())) / 1e9;
        rate.* = flop * @as(f64, @floatFromInt(repeats)) / seconds / 1e9;
    }
    std.mem.sort(f64, &rates, {}, std.sort.desc(f64));
    return .{ .best = rates[0], .median = rates[runs / 2] };
}

fn measureNumpy(allocator: std.mem.Allocator, python: []const u8, shape: Shape, threads: u32) !Result {
    var env = try std.process.getEnvMap(allocator);
    defer env.deinit();
    var count_text: [16]u8 = undefined;
    const count = try std.fmt.bufPrint(&count_text, "{d}", .{threads});
    for ([_][]const u8{ "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS" }) |name| {
        try env.put(name, count);
    }
    var dims: [3][24]u8 = undefined;
    const m = try std.fmt.bufPrint(&dims[0], "{d}", .{shape.m});
    const n = try std.fmt.bufPrint(&dims[1], "{d}", .{shape.n});
    const k = try std.fmt.bufPrint(&dims[2], "{d}", .{shape.k});
    const result = try std.process.Child.run(.{
        .allocator = allocator,
        .argv = &.{ python, "-c", numpy_script, m, n, k },
        .env_map = &env,
    });
    defer allocator.free(result.stdout);
    defer allocator.free(result.stderr);
    var fields = std.mem.tokenizeAny(u8, result.stdout, " \r\n");
    const best = std.fmt.parseFloat(f64, fields.next() orelse return error.PeerFailed) catch return error.PeerFailed;
    const median = std.fmt.parseFloat(f64, fields.next() orelse return error.PeerFailed) catch return error.PeerFailed;
    return .{ .best = best, .median = median };
}
