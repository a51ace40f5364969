//! Tests of the SGEMM against a naive float64 reference: random shapes, transposes, leading
//! dimensions, alpha/beta and epilogues, for every kernel variant (the vector code is correct on
//! any target, just slower where the target is narrower), with default and tiny cache blocking
//! (tiny blocks put many K, M and N blocks into shapes small enough for a Debug test), on 1 and 2
//! threads. Tolerance: 1e-4 of the magnitude sum |alpha| Σ|a||b| + |beta c| + |bias| + |residual|.
const std = @import("std");
const gemm = @import("gemm.zig");
const kernels = @import("gemm_kernels.zig");
const ThreadPool = @import("thread_pool.zig").ThreadPool;

const testing = std.testing;
const allocator = testing.allocator;

const Case = struct {
    m: usize,
    n: usize,
    k: usize,
    trans_a: bool = false,
    trans_b: bool = false,
    pad_a: usize = 0,
    pad_b: usize = 0,
    pad_c: usize = 0,
    alpha: f32 = 1,
    beta: f32 = 0,
    bias: bool = false,
    residual: bool = false,
    relu: bool = false,
};

/// Inputs of one case and the expected result, made once and checked against many runs.
const Operands = struct {
    case: Case,
    a: []f32,
    b: []f32,
    c_init: []f32,
    bias: []f32,
    residual: []f32,
    lda: usize,
    ldb: usize,
    ldc: usize,
    expected: []f64,
    magnitude: []f64,

    fn init(case: Case, random: std.Random) !Operands {
        const lda = (if (case.trans_a) case.m else case.k) + case.pad_a;
        const ldb = (if (case.trans_b) case.k else case.n) + case.pad_b;
        const ldc = case.n + case.pad_c;
        var self: Operands = .{
            .case = case,
            .a = try filled((if (case.trans_a) case.k else case.m) * lda, random),
            .b = try filled((if (case.trans_b) case.n else case.k) * ldb, random),
            .c_init = try filled(case.m * ldc, random),
            .bias = try filled(case.n, random),
            .residual = try filled(case.m * ldc, random),
            .lda = lda,
            .ldb = ldb,
            .ldc = ldc,
            .expected = try allocator.alloc(f64, case.m * case.n),
            .magnitude = try allocator.alloc(f64, case.m * case.n),
        };
        // beta = 0 must not read C: garbage there has to stay out of the result.
        if (case.beta == 0) @memset(self.c_init, std.math.nan(f32));
        self.computeExpected();
        return self;
    }

    fn deinit(self: *Operands) void {
        for ([_][]f32{ self.a, self.b, self.c_init, self.bias, self.residual }) |slice| allocator.free(slice);
        allocator.free(self.expected);
        allocator.free(self.magnitude);
    }

    fn computeExpected(self: *Operands) void {
        const case = self.case;
        for (0..case.m) |i| {
            for (0..case.n) |j| {
                var sum: f64 = 0;
                var size: f64 = 0;
                for (0..case.k) |p| {
                    const a: f64 = if (case.trans_a) self.a[p * self.lda + i] else self.a[i * self.lda + p];
                    const b: f64 = if (case.trans_b) self.b[j * self.ldb + p] else self.b[p * self.ldb + j];
                    sum += a * b;
                    size += @abs(a * b);
                }
                var x = case.alpha * sum;
                size *= @abs(case.alpha);
                if (case.beta != 0) {
                    x += case.beta * self.c_init[i * self.ldc + j];
                    size += @abs(case.beta * self.c_init[i * self.ldc + j]);
                }
                if (case.bias) {
                    x += self.bias[j];
                    size += @abs(self.bias[j]);
                }
                if (case.residual) {
                    x += self.residual[i * self.ldc + j];
                    size += @abs(self.residual[i * self.ldc + j]);
                }
                if (case.relu) x = @max(x, 0);
                self.expected[i * case.n + j] = x;
                self.magnitude[i * case.n + j] = size;
            }
        }
    }

    fn params(self: *const Operands, c: []f32) gemm.Params {
        const case = self.case;
        return .{
            .m = case.m,
            .n = case.n,
            .k = case.k,
            .a = self.a,
            .lda = self.lda,
            .trans_a = case.trans_a,
            .c = c,
            .ldc = self.ldc,
            .alpha = case.alpha,
            .beta = case.beta,
            .epilogue = .{
                .bias = if (case.bias) self.bias else null,
                .residual = if (case.residual) self.residual else null,
                .residual_ld = self.ldc,
                .relu = case.relu,
            },
        };
    }

    /// Checks the M x N result, and that the padding columns of C kept what they held.
    fn expectMatches(self: *const Operands, c: []const f32) !void {
        const case = self.case;
        for (0..case.m) |i| {
            for (0..self.ldc) |j| {
                const got = c[i * self.ldc + j];
                if (j >= case.n) {
                    const before = self.c_init[i * self.ldc + j];
                    if (!(got == before or (std.math.isNan(got) and std.math.isNan(before)))) return error.PaddingWritten;
                    continue;
                }
                const want = self.expected[i * case.n + j];
                const tolerance = 1e-4 * self.magnitude[i * case.n + j] + 1e-30;
                if (!(@abs(got - want) <= tolerance)) {
                    std.debug.print("mismatch at ({d},{d}) of {any}: got {d}, want {d}\n", .{ i, j, case, got, want });
                    return error.TestExpectedApproxEqRel;
                }
            }
        }
    }

    fn run(self: *const Operands, tuning: gemm.Tuning, pool: ?*ThreadPool) !void {
        const c = try allocator.dupe(f32, self.c_init);
        defer allocator.free(c);
        try gemm.gemmOnce(allocator, tuning, self.params(c), self.b, self.ldb, self.case.trans_b, pool);
        try self.expectMatches(c);
    }
};

fn filled(len: usize, random: std.Random) ![]f32 {
    const data = try allocator.alloc(f32, len);
    for (data) |*x| x.* = random.float(f32) * 2 - 1;
    return data;
}

/// Default blocking, and a tiny one whose K, M and N blocks all split shapes below 200.
fn tunings(variant: gemm.Variant) [2]gemm.Tuning {
    const s = kernels.shape(variant);
    var tiny: gemm.Tuning = .{ .variant = variant, .mc = 2 * s.mr, .kc = 7, .nc = 2 * s.nr, .min_macs_per_thread = 1 };
    _ = &tiny;
    var default = gemm.Tuning.forVariant(variant, 0, 0);
    default.min_macs_per_thread = 1;
    return .{ default, tiny };
}

const all_variants = [_]gemm.Variant{ .avx2, .portable, .avx512 };

/// Runs a case on every variant, both blockings, and 1 and 2 threads.
fn checkEverywhere(case: Case, random: std.Random, pool: *ThreadPool) !void {
    var operands = try Operands.init(case, random);
    defer operands.deinit();
    for (all_variants) |variant| {
        for (tunings(variant)) |tuning| {
            try operands.run(tuning, null);
            try operands.run(tuning, pool);
        }
    }
}

test "matches the reference on random shapes, transposes, strides, alpha/beta and epilogues" {
    const pool = try ThreadPool.init(allocator, .{ .threads = 2 });
    defer pool.deinit();
    var prng = std.Random.DefaultPrng.init(0x7e55e7a);
    const random = prng.random();
    const alphas = [_]f32{ 1, 0.5, -2 };
    const betas = [_]f32{ 0, 1, 0.25 };
    for (0..24) |_| {
        const case: Case = .{
            .m = random.intRangeAtMost(usize, 1, 200),
            .n = random.intRangeAtMost(usize, 1, 200),
            .k = random.intRangeAtMost(usize, 1, 200),
            .trans_a = random.boolean(),
            .trans_b = random.boolean(),
            .pad_a = random.uintLessThan(usize, 3),
            .pad_b = random.uintLessThan(usize, 3),
            .pad_c = random.uintLessThan(usize, 3),
            .alpha = alphas[random.uintLessThan(usize, alphas.len)],
            .beta = betas[random.uintLessThan(usize, betas.len)],
            .bias = random.boolean(),
            .residual = random.boolean(),
            .relu = random.boolean(),
        };
        try checkEverywhere(case, random, pool);
    }
}

test "edge sizes: M, N and K of 0, 1 and just past a tile" {
    const pool = try ThreadPool.init(allocator, .{ .threads = 2 });
    defer pool.deinit();
    var prng = std.Random.DefaultPrng.init(1);
    const cases = [_]Case{
        .{ .m = 0, .n = 5, .k = 3 },
        .{ .m = 4, .n = 0, .k = 3 },
        .{ .m = 3, .n = 5, .k = 0, .beta = 0.5, .bias = true, .relu = true },
        .{ .m = 3, .n = 5, .k = 0, .residual = true },
        .{ .m = 5, .n = 7, .k = 6, .alpha = 0, .beta = 2, .bias = true },
        .{ .m = 1, .n = 1, .k = 1 },
        .{ .m = 1, .n = 1, .k = 1, .trans_a = true, .trans_b = true, .beta = 1 },
        .{ .m = 1, .n = 33, .k = 17, .bias = true },
        .{ .m = 13, .n = 1, .k = 9, .trans_a = true },
        .{ .m = 7, .n = 17, .k = 1, .residual = true, .relu = true },
        .{ .m = 13, .n = 33, .k = 65, .trans_b = true, .pad_c = 5, .beta = 0.25 },
        .{ .m = 25, .n = 65, .k = 257, .pad_a = 1 },
    };
    for (cases) |case| try checkEverywhere(case, prng.random(), pool);
}

test "large K" {
    const pool = try ThreadPool.init(allocator, .{ .threads = 2 });
    defer pool.deinit();
    var prng = std.Random.DefaultPrng.init(2);
    try checkEverywhere(.{ .m = 3, .n = 5, .k = 3001, .beta = 1 }, prng.random(), pool);
    try checkEverywhere(.{ .m = 17, .n = 33, .k = 1500, .trans_a = true, .bias = true, .relu = true }, prng.random(), pool);
}

fn runShared(
    operands: *const Operands,
    packed_b: *const gemm.PackedB,
    failures: *std.atomic.Value(u32),
) void {
    runSharedChecked(operands, packed_b) catch {
        _ = failures.fetchAdd(1, .monotonic);
    };
}

fn runSharedChecked(operands: *const Operands, packed_b: *const gemm.PackedB) !void {
    var workspace = try gemm.Workspace.init(allocator, packed_b.tuning, 1);
    defer workspace.deinit();
    const c = try allocator.dupe(f32, operands.c_init);
    defer allocator.free(c);
    for (0..3) |_| {
        @memcpy(c, operands.c_init);
        try gemm.gemm(operands.params(c), packed_b, &workspace, null);
        try operands.expectMatches(c);
    }
}

test "a packed B is reused across calls, threads and concurrent callers" {
    const pool = try ThreadPool.init(allocator, .{ .threads = 2 });
    defer pool.deinit();
    var prng = std.Random.DefaultPrng.init(3);
    const random = prng.random();
    const k = 70;
    const n = 45;
    var first = try Operands.init(.{ .m = 31, .n = n, .k = k, .bias = true }, random);
    defer first.deinit();
    var tuning = gemm.Tuning.host();
    tuning.min_macs_per_thread = 1;
    var packed_b = try gemm.PackedB.init(allocator, tuning, first.b, first.ldb, false, k, n);
    defer packed_b.deinit();
    var workspace = try gemm.Workspace.init(allocator, tuning, pool.threadCount());
    defer workspace.deinit();

    // Other A, C and epilogues against the same weights.
    const cases = [_]Case{
        .{ .m = 31, .n = n, .k = k, .bias = true },
        .{ .m = 1, .n = n, .k = k, .relu = true },
        .{ .m = 64, .n = n, .k = k, .trans_a = true, .beta = 1, .residual = true },
        .{ .m = 7, .n = n, .k = k, .alpha = -1, .beta = 0.5, .pad_c = 3 },
    };
    for (cases) |case| {
        var operands = try Operands.init(case, random);
        defer operands.deinit();
        @memcpy(operands.b, first.b);
        operands.computeExpected();
        const c = try allocator.dupe(f32, operands.c_init);
        defer allocator.free(c);
        for ([_]?*ThreadPool{ null, pool }) |maybe_pool| {
            @memcpy(c, operands.c_init);
            try gemm.gemm(operands.params(c), &packed_b, &workspace, maybe_pool);
            try operands.expectMatches(c);
        }
    }

    // Two requests at once: one PackedB, a workspace each.
    var failures = std.atomic.Value(u32).init(0);
    var callers: [2]std.Thread = undefined;
    for (&callers) |*caller| caller.* = try std.Thread.spawn(.{}, runShared, .{ &first, &packed_b, &failures });
    for (callers) |caller| caller.join();
    try testing.expectEqual(@as(u32, 0), failures.load(.monotonic));
}

test "invalid arguments are rejected with InvalidArgument" {
    const tuning = gemm.Tuning.forVariant(.portable, 0, 0);
    const b = [_]f32{0} ** 12;
    var packed_b = try gemm.PackedB.init(allocator, tuning, &b, 4, false, 3, 4);
    defer packed_b.deinit();
    var workspace = try gemm.Workspace.init(allocator, tuning, 1);
    defer workspace.deinit();
    const a = [_]f32{0} ** 6;
    var c = [_]f32{0} ** 8;
    const good: gemm.Params = .{ .m = 2, .n = 4, .k = 3, .a = &a, .lda = 3, .c = &c, .ldc = 4 };
    try gemm.gemm(good, &packed_b, &workspace, null);

    var bad = good;
    bad.a = a[0..5];
    try testing.expectError(error.InvalidArgument, gemm.gemm(bad, &packed_b, &workspace, null));
    bad = good;
    bad.ldc = 3;
    try testing.expectError(error.InvalidArgument, gemm.gemm(bad, &packed_b, &workspace, null));
    bad = good;
    bad.k = 2;
    try testing.expectError(error.InvalidArgument, gemm.gemm(bad, &packed_b, &workspace, null));
    bad = good;
    bad.epilogue.bias = &.{ 1, 2 };
    try testing.expectError(error.InvalidArgument, gemm.gemm(bad, &packed_b, &workspace, null));
    bad = good;
    bad.epilogue.residual = c[0..7];
    bad.epilogue.residual_ld = 4;
    try testing.expectError(error.InvalidArgument, gemm.gemm(bad, &packed_b, &workspace, null));
    try testing.expectError(error.InvalidArgument, gemm.PackedB.init(allocator, tuning, b[0..11], 4, false, 3, 4));

    var zero_kc = tuning;
    zero_kc.kc = 0;
    try testing.expectError(error.InvalidArgument, gemm.Workspace.init(allocator, zero_kc, 1));

    var bigger = tuning;
    bigger.kc *= 2;
    var small_packed = try gemm.PackedB.init(allocator, bigger, &b, 4, false, 3, 4);
    defer small_packed.deinit();
    try testing.expectError(error.InvalidArgument, gemm.gemm(good, &small_packed, &workspace, null));
}

test "the host tuning picks a kernel this build encodes" {
    const tuning = gemm.Tuning.host();
    try testing.expect(kernels.compiled(tuning.variant));
    try testing.expect(tuning.mc % kernels.shape(tuning.variant).mr == 0 and tuning.mc > 0);
    try testing.expect(tuning.kc >= 64 and tuning.nc % kernels.shape(tuning.variant).nr == 0);
    try testing.expectEqual(gemm.Variant.portable, kernels.select(0));
    const widest: gemm.Variant = if (kernels.compiled(.avx512)) .avx512 else if (kernels.compiled(.avx2)) .avx2 else .portable;
    try testing.expectEqual(widest, kernels.select(std.math.maxInt(u64)));
}

test "a packed A (convolution weights) with a row bias matches the reference" {
    const pool = try ThreadPool.init(allocator, .{ .threads = 2 });
    defer pool.deinit();
    var prng = std.Random.DefaultPrng.init(0xc0417);
    const random = prng.random();
    for (0..12) |_| {
        const m = random.intRangeAtMost(usize, 1, 100);
        const n = random.intRangeAtMost(usize, 1, 100);
        const k = random.intRangeAtMost(usize, 1, 300);
        const ldc = n + random.uintLessThan(usize, 3);
        const a = try filled(m * k, random);
        defer allocator.free(a);
        const b = try filled(k * n, random);
        defer allocator.free(b);
        const row_bias = try filled(m, random);
        defer allocator.free(row_bias);
        const c = try allocator.alloc(f32, m * ldc);
        defer allocator.free(c);
        const relu = random.boolean();
        for (all_variants) |variant| for (tunings(variant)) |tuning| for ([_]?*ThreadPool{ null, pool }) |maybe_pool| {
            var packed_a = try gemm.PackedA.init(allocator, variant, a, k, m, k);
            defer packed_a.deinit();
            var packed_b = try gemm.PackedB.init(allocator, tuning, b, n, false, k, n);
            defer packed_b.deinit();
            @memset(c, std.math.nan(f32));
            try gemm.gemmPacked(.{
                .m = m,
                .n = n,
                .k = k,
                .a = &.{},
                .lda = k,
                .c = c,
                .ldc = ldc,
                .epilogue = .{ .row_bias = row_bias, .relu = relu },
            }, &packed_a, &packed_b, maybe_pool);
            for (0..m) |i| for (0..n) |j| {
                var sum: f64 = row_bias[i];
                var size: f64 = @abs(row_bias[i]);
                for (0..k) |p| {
                    sum += @as(f64, a[i * k + p]) * b[p * n + j];
                    size += @abs(@as(f64, a[i * k + p]) * b[p * n + j]);
                }
                if (relu) sum = @max(sum, 0);
                try testing.expectApproxEqAbs(sum, @as(f64, c[i * ldc + j]), 1e-4 * size + 1e-6);
            };
        };
    }
}
