//! The int8 GEMM against a plain triple loop, bit for bit: every variant this CPU runs, every
//! pairing of u8 and s8, zero points per tensor, per row and per column, odd sizes (edges of
//! tiles, panels and packed words), both layouts of B, int32 and requantized stores.
const std = @import("std");
const qgemm = @import("qgemm.zig");
const ThreadPool = @import("thread_pool.zig").ThreadPool;

const testing = std.testing;

const Case = struct {
    m: usize,
    n: usize,
    k: usize,
    a_signed: bool,
    b_signed: bool,
    per_line_zero: bool,
    b_transposed: bool,
};

fn randomBytes(random: std.Random, bytes: []u8) void {
    random.bytes(bytes);
}

fn value(byte: u8, signed: bool) i32 {
    return if (signed) @as(i8, @bitCast(byte)) else byte;
}

fn zeros(allocator: std.mem.Allocator, random: std.Random, count: usize, signed: bool) ![]i32 {
    const out = try allocator.alloc(i32, count);
    for (out) |*z| z.* = value(random.int(u8), signed);
    return out;
}

fn reference(c: Case, a: []const u8, b: []const u8, za: []const i32, zb: []const i32, out: []i32) void {
    for (0..c.m) |i| for (0..c.n) |j| {
        var sum: i32 = 0;
        for (0..c.k) |kk| {
            const bv = if (c.b_transposed) b[j * c.k + kk] else b[kk * c.n + j];
            const x = value(a[i * c.k + kk], c.a_signed) - za[if (za.len == 1) 0 else i];
            const y = value(bv, c.b_signed) - zb[if (zb.len == 1) 0 else j];
            sum +%= x *% y;
        }
        out[i * c.n + j] = sum;
    };
}

fn runCase(allocator: std.mem.Allocator, variant: qgemm.Variant, c: Case, seed: u64, pool: ?*ThreadPool) !void {
    var prng = std.Random.DefaultPrng.init(seed);
    const random = prng.random();
    const a = try allocator.alloc(u8, c.m * c.k);
    const b = try allocator.alloc(u8, c.k * c.n);
    randomBytes(random, a);
    randomBytes(random, b);
    const za = try zeros(allocator, random, if (c.per_line_zero) c.m else 1, c.a_signed);
    const zb = try zeros(allocator, random, if (c.per_line_zero) c.n else 1, c.b_signed);
    const side = qgemm.sideOfA(c.a_signed, c.b_signed, true);
    const other: qgemm.Side = if (side == .signed) .unsigned else .signed;
    const packed_a = try qgemm.packA(allocator, variant, side, .{ .data = a, .signed = c.a_signed, .lines = c.m, .k = c.k, .line_stride = c.k, .k_stride = 1 });
    const b_source: qgemm.Source = if (c.b_transposed)
        .{ .data = b, .signed = c.b_signed, .lines = c.n, .k = c.k, .line_stride = c.k, .k_stride = 1 }
    else
        .{ .data = b, .signed = c.b_signed, .lines = c.n, .k = c.k, .line_stride = 1, .k_stride = c.n };
    const packed_b = try qgemm.packB(allocator, variant, other, b_source);
    const expected = try allocator.alloc(i32, c.m * c.n);
    reference(c, a, b, za, zb, expected);

    const got = try allocator.alloc(i32, c.m * c.n);
    const out: qgemm.Output = .{ .dtype = .int32, .c = @ptrCast(got.ptr), .ldc = c.n, .a_zero = za, .b_zero = zb };
    try qgemm.multiply(allocator, &packed_a, &packed_b, out, pool);
    try testing.expectEqualSlices(i32, expected, got);

    // Requantized to u8 and s8, scales per row and per column, against the scalar formula.
    const a_scale = try allocator.alloc(f32, c.m);
    const b_scale = try allocator.alloc(f32, c.n);
    for (a_scale) |*s| s.* = 0.001 + random.float(f32) * 0.01;
    for (b_scale) |*s| s.* = 0.001 + random.float(f32) * 0.01;
    const y_scale: f32 = 0.05 + random.float(f32);
    inline for (.{ u8, i8 }) |T| {
        const y_zero: i32 = value(random.int(u8), T == i8);
        const y = try allocator.alloc(T, c.m * c.n);
        const requant: qgemm.Requant = .{ .a_scale = a_scale, .b_scale = b_scale, .y_scale = y_scale, .y_zero = y_zero };
        const q_out: qgemm.Output = .{
            .dtype = if (T == u8) .uint8 else .int8,
            .c = @ptrCast(y.ptr),
            .ldc = c.n,
            .a_zero = za,
            .b_zero = zb,
            .requant = requant,
        };
        try qgemm.multiply(allocator, &packed_a, &packed_b, q_out, pool);
        for (0..c.m) |i| for (0..c.n) |j| {
            const multiplier: f32 = a_scale[i] * b_scale[j] / y_scale;
            const v = @as(f64, @floatFromInt(expected[i * c.n + j])) * multiplier + @as(f64, @floatFromInt(y_zero));
            try testing.expectEqual(saturate(T, v), y[i * c.n + j]);
        };
    }
}

/// The ONNX reference's rounding: half to even, then saturation.
fn saturate(comptime T: type, v: f64) T {
    const r = @round(v);
    const rounded = if (@abs(v - @trunc(v)) == 0.5) 2.0 * @round(v / 2.0) else r;
    return @intFromFloat(std.math.clamp(rounded, std.math.minInt(T), std.math.maxInt(T)));
}

test "qgemm matches the triple loop for every variant, signedness and zero point" {
    var arena_state = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena_state.deinit();
    const arena = arena_state.allocator();
    var buffer: [4]qgemm.Variant = undefined;
    const sizes = [_][3]usize{ .{ 1, 1, 1 }, .{ 13, 33, 7 }, .{ 25, 65, 130 }, .{ 3, 96, 257 }, .{ 40, 17, 64 } };
    var seed: u64 = 1;
    for (qgemm.runnableVariants(&buffer)) |variant| {
        for (sizes) |size| for ([_]bool{ false, true }) |a_signed| for ([_]bool{ false, true }) |b_signed| {
            const per_line = seed % 2 == 0;
            const c: Case = .{ .m = size[0], .n = size[1], .k = size[2], .a_signed = a_signed, .b_signed = b_signed, .per_line_zero = per_line, .b_transposed = seed % 3 == 0 };
            runCase(arena, variant, c, seed, null) catch |e| {
                std.debug.print("variant {s}, case {any}\n", .{ @tagName(variant), c });
                return e;
            };
            seed += 1;
        };
    }
}

test "qgemm splits tasks over threads with the same result" {
    var arena_state = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena_state.deinit();
    const pool = try ThreadPool.init(testing.allocator, .{ .threads = 3 });
    defer pool.deinit();
    var buffer: [4]qgemm.Variant = undefined;
    for (qgemm.runnableVariants(&buffer)) |variant| {
        const c: Case = .{ .m = 150, .n = 300, .k = 99, .a_signed = false, .b_signed = true, .per_line_zero = true, .b_transposed = false };
        try runCase(arena_state.allocator(), variant, c, 77, pool);
    }
}

test "qgemm refuses operands that do not fit each other" {
    var arena_state = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena_state.deinit();
    const arena = arena_state.allocator();
    const variant = qgemm.hostVariant();
    const bytes = [_]u8{0} ** 64;
    const a = try qgemm.packA(arena, variant, .unsigned, .{ .data = &bytes, .signed = false, .lines = 4, .k = 8, .line_stride = 8, .k_stride = 1 });
    const b = try qgemm.packB(arena, variant, .signed, .{ .data = &bytes, .signed = true, .lines = 4, .k = 7, .line_stride = 7, .k_stride = 1 });
    var c: [16]i32 = undefined;
    const out: qgemm.Output = .{ .dtype = .int32, .c = @ptrCast(&c), .ldc = 4, .a_zero = &.{0}, .b_zero = &.{0} };
    try testing.expectError(error.InvalidArgument, qgemm.multiply(arena, &a, &b, out, null));
    try testing.expectError(error.InvalidArgument, qgemm.packA(arena, variant, .unsigned, .{ .data = &bytes, .signed = false, .lines = 9, .k = 8, .line_stride = 8, .k_stride = 1 }));
}
