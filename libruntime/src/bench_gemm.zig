//! SGEMM benchmark (`zig build bench-gemm`, always ReleaseFast): GFLOP/s, best and median of 7
//! runs after one warm-up, for a square product and inference-like shapes, on 1 and 2 threads.
//! B is packed once outside the timing, as a model's weights are at load. A program, not a test:
//! nothing asserts a time. Optional arguments: thread counts (default "1 2").
const std = @import("std");
const gemm = @import("backends/cpu/gemm.zig");
const ThreadPool = @import("backends/cpu/thread_pool.zig").ThreadPool;

const Shape = struct { m: usize, n: usize, k: usize, note: []const u8 };

const shapes = [_]Shape{
    .{ .m = 2048, .n = 2048, .k = 2048, .note = "square" },
    .{ .m = 1, .n = 1000, .k = 2048, .note = "classifier head, batch 1" },
    .{ .m = 196, .n = 512, .k = 4608, .note = "ResNet-50 3x3 conv, 14x14 (im2col)" },
    .{ .m = 3136, .n = 64, .k = 576, .note = "ResNet-50 3x3 conv, 56x56 (im2col)" },
    .{ .m = 128, .n = 768, .k = 768, .note = "transformer projection, seq 128" },
};

const runs = 7;

pub fn main() !void {
    const allocator = std.heap.c_allocator;
    var buffer: [4096]u8 = undefined;
    var writer = std.fs.File.stdout().writer(&buffer);
    const out = &writer.interface;

    var thread_counts: [8]u32 = .{ 1, 2, 0, 0, 0, 0, 0, 0 };
    var thread_counts_len: usize = 2;
    var args = try std.process.argsWithAllocator(allocator);
    defer args.deinit();
    _ = args.skip();
    var custom: usize = 0;
    while (args.next()) |arg| : (custom += 1) {
        if (custom == thread_counts.len) break;
        thread_counts[custom] = try std.fmt.parseInt(u32, arg, 10);
        thread_counts_len = custom + 1;
    }

    var tuning = gemm.Tuning.host();
    if (std.posix.getenv("TMC")) |v| tuning.mc = try std.fmt.parseInt(usize, v, 10);
    if (std.posix.getenv("TKC")) |v| tuning.kc = try std.fmt.parseInt(usize, v, 10);
    if (std.posix.getenv("TPACK")) |v| gemm.pack_a_min_panels = try std.fmt.parseInt(usize, v, 10);
    if (std.posix.getenv("TNC")) |v| tuning.nc = try std.fmt.parseInt(usize, v, 10);
    try out.print("kernel {s}, MC {d}, KC {d}, NC {d}\n", .{ @tagName(tuning.variant), tuning.mc, tuning.kc, tuning.nc });
    try out.print("{s:>18} {s:>7} {s:>10} {s:>10}  {s}\n", .{ "M x N x K", "threads", "best", "median", "GFLOP/s" });
    try out.flush();
    for (thread_counts[0..thread_counts_len]) |threads| {
        const pool = try ThreadPool.init(allocator, .{ .threads = threads });
        defer pool.deinit();
        for (shapes, 0..) |shape, shape_index| {
            if (std.posix.getenv("TSHAPE")) |v| if (shape_index != try std.fmt.parseInt(usize, v, 10)) continue;
            const result = try measure(allocator, tuning, shape, pool);
            var label: [32]u8 = undefined;
            const text = try std.fmt.bufPrint(&label, "{d}x{d}x{d}", .{ shape.m, shape.n, shape.k });
            try out.print("{s:>18} {d:>7} {d:>10.1} {d:>10.1}  {s}\n", .{ text, threads, result.best, result.median, shape.note });
            try out.flush();
        }
    }
}

const Result = struct { best: f64, median: f64 };

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
    const params: gemm.Params = .{ .m = shape.m, .n = shape.n, .k = shape.k, .a = a, .lda = shape.k, .c = c, .ldc = shape.n };

    const flop = 2.0 * @as(f64, @floatFromInt(shape.m * shape.n * shape.k));
    // Short shapes run many times per sample, so each sample lasts about 20 ms at 100 GFLOP/s.
    const repeats: usize = @max(1, @as(usize, @intFromFloat(2e9 / flop)));
    try gemm.gemm(params, &packed_b, &workspace, pool);
    var rates: [runs]f64 = undefined;
    for (&rates) |*rate| {
        const use_cpu = std.posix.getenv("TCPU") != null;
        const t0 = try std.posix.clock_gettime(if (use_cpu) .PROCESS_CPUTIME_ID else .MONOTONIC);
        for (0..repeats) |_| try gemm.gemm(params, &packed_b, &workspace, pool);
        const t1 = try std.posix.clock_gettime(if (use_cpu) .PROCESS_CPUTIME_ID else .MONOTONIC);
        const seconds = @as(f64, @floatFromInt(t1.sec - t0.sec)) + @as(f64, @floatFromInt(t1.nsec - t0.nsec)) / 1e9;
        rate.* = flop * @as(f64, @floatFromInt(repeats)) / seconds / 1e9;
    }
    std.mem.sort(f64, &rates, {}, std.sort.desc(f64));
    return .{ .best = rates[0], .median = rates[runs / 2] };
}
