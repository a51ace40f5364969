//! int8 GEMM, the engine under MatMulInteger, QLinearMatMul, ConvInteger and QLinearConv:
//!   C[i, j] = sum_k (A[i, k] - za[i]) * (B[k, j] - zb[j])          (int32, wrapping)
//! stored as int32, or requantized in the store (the QLinear ops):
//!   Y[i, j] = saturate(round_half_even(float64(C[i, j] + bias[i]) * multiplier[i, j] + zy))
//! with the multiplier formed in float32 from the scales as the ONNX reference forms it.
//!
//! Both operands are packed (qgemm_pack.zig): the constant one once at load, the other per call.
//! The micro-kernel (qgemm_kernels.zig) sums raw packed values over the whole of K in registers;
//! the zero points are applied after, from each line's sum:
//!   C = S - za[i] * colsum[j] - zb[j] * (rowsum[i] - K * za[i])
//! which is exact in wrapping int32 arithmetic, so every zero point (per tensor, per row of A,
//! per column of B) and every pairing of u8 and s8 costs the same.
//! Tasks are blocks of rows (sized for L2) times ranges of B panels, taken from an atomic counter.
const std = @import("std");
const status = @import("../../core/status.zig");
const cpu = @import("../../device/cpu.zig");
const kernels = @import("qgemm_kernels.zig");
const pack = @import("qgemm_pack.zig");
const ThreadPool = @import("thread_pool.zig").ThreadPool;

pub const Variant = kernels.Variant;
pub const shapeOf = kernels.shape;
pub const Packed = pack.Packed;
pub const Source = pack.Source;
pub const Side = pack.Side;

var variant_once = std.once(initVariant);
var host_variant: Variant = undefined;
/// Set only by tests, to run every variant this CPU allows.
var variant_override: ?Variant = null;

fn initVariant() void {
    host_variant = kernels.select(cpu.features());
}

/// The kernel variant for this CPU (or the one a test chose).
pub fn hostVariant() Variant {
    if (@import("builtin").is_test) if (variant_override) |v| return v;
    variant_once.call();
    return host_variant;
}

pub fn overrideVariantForTests(variant: ?Variant) void {
    variant_override = variant;
}

/// The variants this build and CPU can run, widest first (for tests).
pub fn runnableVariants(buffer: *[4]Variant) []const Variant {
    var n: usize = 0;
    for (std.enums.values(Variant)) |v| if (kernels.runnable(v, cpu.features())) {
        buffer[n] = v;
        n += 1;
    };
    return buffer[0..n];
}

/// Packs A (M x K, `source.lines` = M) for `variant`, on the given side.
pub fn packA(allocator: std.mem.Allocator, variant: Variant, side: Side, source: Source) status.Error!Packed {
    return Packed.init(allocator, variant, side, kernels.shape(variant).mr, source);
}

/// Packs B (K x N, `source.lines` = N) for `variant`, on the given side.
pub fn packB(allocator: std.mem.Allocator, variant: Variant, side: Side, source: Source) status.Error!Packed {
    return Packed.init(allocator, variant, side, kernels.shape(variant).nr, source);
}

/// The side of A's pack for operands of these signednesses: the kernels multiply u8 by s8, and
/// when both are the same the one flipped is B (`constant_b`, packed once) or else A.
pub fn sideOfA(a_signed: bool, b_signed: bool, constant_b: bool) Side {
    if (a_signed != b_signed) return if (a_signed) .signed else .unsigned;
    const flip_b = constant_b;
    // Flipping an operand moves it to the other side; the unflipped one keeps its own.
    return if (flip_b == a_signed) .signed else .unsigned;
}

pub const OutputType = enum { int32, uint8, int8 };

/// The QLinear store: scales (1 or one per row / column), the output's scale and zero point.
pub const Requant = struct {
    a_scale: []const f32,
    b_scale: []const f32,
    y_scale: f32,
    y_zero: i32,
    /// The scales were float16: the multiplier is rounded to float16 after each step.
    half: bool = false,
    /// Added to C before scaling, one value per row (a convolution's channel bias).
    row_bias: ?[]const i32 = null,
};

pub const Output = struct {
    dtype: OutputType,
    /// Row-major M x N elements of `dtype`, rows `ldc` elements apart.
    c: [*]u8,
    ldc: usize,
    /// The operands' zero points as stored (before any flip): 1 or one per row / column.
    a_zero: []const i32,
    b_zero: []const i32,
    requant: ?Requant = null,
};

/// C = A * B with the zero points, stored as `out` says. `scratch` holds per-line arrays for
/// the call (M + N words); `pool` runs the tasks.
pub fn multiply(scratch: std.mem.Allocator, a: *const Packed, b: *const Packed, out: Output, pool: ?*ThreadPool) status.Error!void {
    try check(a, b, out);
    const m = a.lines;
    const n = b.lines;
    if (m == 0 or n == 0) return;
    const za = scratch.alloc(i32, m) catch return outOfMemory();
    const row_term = scratch.alloc(i32, m) catch return outOfMemory();
    const zb = scratch.alloc(i32, n) catch return outOfMemory();
    const k: i32 = @truncate(@as(i64, @intCast(a.k)));
    for (za, row_term, 0..) |*z, *t, i| {
        z.* = out.a_zero[if (out.a_zero.len == 1) 0 else i] +% a.delta;
        t.* = a.sums[i] -% k *% z.*;
    }
    for (zb, 0..) |*z, j| z.* = out.b_zero[if (out.b_zero.len == 1) 0 else j] +% b.delta;
    switch (a.variant) {
        inline else => |variant| {
            var job: Job(variant) = .{
                .a = a,
                .b = b,
                .out = out,
                .za = za,
                .row_term = row_term,
                .zb = zb,
                .grid = Grid.of(variant, m, n, a.kq(), if (pool) |p| p.threadCount() else 1),
            };
            const threads = @min(if (pool) |p| p.threadCount() else 1, job.grid.tasks(), @max(1, m *| n *| a.k / min_macs_per_thread));
            if (threads <= 1) return job.runSlots(0, 1);
            pool.?.parallelForGrain(threads, 1, &job, Job(variant).runSlots);
        },
    }
}

/// Fewer threads when each would get fewer multiply-adds than this: waking one costs µs.
const min_macs_per_thread = 1 << 17;

fn outOfMemory() status.Error {
    return status.fail(error.OutOfResource, "qgemm: out of memory", .{});
}

fn check(a: *const Packed, b: *const Packed, out: Output) status.Error!void {
    const fail = struct {
        fn call(comptime fmt: []const u8, args: anytype) status.Error {
            return status.fail(error.InvalidArgument, "qgemm: " ++ fmt, args);
        }
    }.call;
    if (a.k != b.k) return fail("A has K {d}, B {d}", .{ a.k, b.k });
    if (a.variant != b.variant or a.side == b.side) return fail("A and B were packed for different kernels", .{});
    if (a.group != kernels.shape(a.variant).mr or b.group != kernels.shape(b.variant).nr) return fail("A and B are packed as each other", .{});
    if (out.a_zero.len != 1 and out.a_zero.len != a.lines) return fail("A has {d} zero points for {d} rows", .{ out.a_zero.len, a.lines });
    if (out.b_zero.len != 1 and out.b_zero.len != b.lines) return fail("B has {d} zero points for {d} columns", .{ out.b_zero.len, b.lines });
    if (out.ldc < b.lines) return fail("ldc {d} is less than N {d}", .{ out.ldc, b.lines });
    const r = out.requant orelse return;
    if (out.dtype == .int32) return fail("an int32 output is not requantized", .{});
    if (r.a_scale.len != 1 and r.a_scale.len != a.lines) return fail("A has {d} scales for {d} rows", .{ r.a_scale.len, a.lines });
    if (r.b_scale.len != 1 and r.b_scale.len != b.lines) return fail("B has {d} scales for {d} columns", .{ r.b_scale.len, b.lines });
    if (r.row_bias) |bias| if (bias.len != a.lines) return fail("the bias has {d} values for {d} rows", .{ bias.len, a.lines });
}

/// Tasks: row blocks of whole tiles (an A block stays in L2 while panels stream past it) times
/// panel ranges (enough of them that every thread gets several tasks).
const Grid = struct {
    tiles: usize,
    tiles_per_block: usize,
    panels: usize,
    panels_per_block: usize,

    fn of(comptime variant: Variant, m: usize, n: usize, kq: usize, threads: usize) Grid {
        const s = comptime kernels.shapeOf(variant);
        const tiles = std.math.divCeil(usize, m, s.mr) catch unreachable;
        const panels = std.math.divCeil(usize, n, s.nr) catch unreachable;
        const tile_bytes = @max(1, s.mr * kq * 4);
        const tiles_per_block = std.math.clamp((512 * 1024) / tile_bytes, 1, tiles);
        const row_blocks = std.math.divCeil(usize, tiles, tiles_per_block) catch unreachable;
        const wanted = std.math.divCeil(usize, 4 * threads, row_blocks) catch unreachable;
        const panel_blocks = std.math.clamp(wanted, 1, panels);
        return .{
            .tiles = tiles,
            .tiles_per_block = tiles_per_block,
            .panels = panels,
            .panels_per_block = std.math.divCeil(usize, panels, panel_blocks) catch unreachable,
        };
    }

    fn rowBlocks(self: Grid) usize {
        return std.math.divCeil(usize, self.tiles, self.tiles_per_block) catch unreachable;
    }

    fn panelBlocks(self: Grid) usize {
        return std.math.divCeil(usize, self.panels, self.panels_per_block) catch unreachable;
    }

    fn tasks(self: Grid) usize {
        return self.rowBlocks() * self.panelBlocks();
    }
};

fn Job(comptime variant: Variant) type {
    const s = kernels.shapeOf(variant);
    return struct {
        const Self = @This();

        a: *const Packed,
        b: *const Packed,
        out: Output,
        za: []const i32,
        row_term: []const i32,
        zb: []const i32,
        grid: Grid,
        next_task: std.atomic.Value(usize) = .init(0),

        fn runSlots(self: *Self, begin: usize, end: usize) void {
            for (begin..end) |_| {
                while (true) {
                    const task = self.next_task.fetchAdd(1, .monotonic);
                    if (task >= self.grid.tasks()) break;
                    self.runTask(task);
                }
            }
        }

        fn runTask(self: *Self, task: usize) void {
            const g = self.grid;
            const row_block = task / g.panelBlocks();
            const panel_block = task % g.panelBlocks();
            const first_tile = row_block * g.tiles_per_block;
            const last_tile = @min(g.tiles, first_tile + g.tiles_per_block);
            const first_panel = panel_block * g.panels_per_block;
            const last_panel = @min(g.panels, first_panel + g.panels_per_block);
            const unsigned_side: kernels.UnsignedSide = if (self.a.side == .unsigned) .a else .b;
            var acc: [s.mr * s.nr]i32 align(64) = undefined;
            for (first_panel..last_panel) |panel| {
                const j = panel * s.nr;
                const cols = @min(s.nr, self.b.lines - j);
                for (first_tile..last_tile) |t| {
                    const i = t * s.mr;
                    const rows = @min(s.mr, self.a.lines - i);
                    kernels.tile(variant, unsigned_side, rows, self.a.kq(), self.a.groupData(t), self.b.groupData(panel), &acc);
                    for (0..rows) |r| self.storeRow(acc[r * s.nr ..][0..cols], i + r, j);
                }
            }
        }

        /// Row i's columns [j, j + sums.len): compensation, then the store `out` asks for.
        fn storeRow(self: *const Self, sums: []const i32, i: usize, j: usize) void {
            const out = &self.out;
            const row: Row = .{
                .za = self.za[i],
                .row_term = self.row_term[i],
                .bias = if (out.requant) |r| (if (r.row_bias) |bias| bias[i] else 0) else 0,
                .colsum = self.b.sums[j..],
                .zb = self.zb[j..],
                .a_scale = if (out.requant) |r| r.a_scale[if (r.a_scale.len == 1) 0 else i] else 0,
            };
            const at = i * out.ldc + j;
            switch (out.dtype) {
                .int32 => row.storeInt32(sums, @as([*]i32, @ptrCast(@alignCast(out.c))) + at),
                inline .uint8, .int8 => |dtype| {
                    const T = if (dtype == .uint8) u8 else i8;
                    const r = out.requant.?;
                    const b_scale = if (r.b_scale.len == 1) r.b_scale else r.b_scale[j..];
                    row.storeRequantized(T, sums, r, b_scale, @as([*]T, @ptrCast(out.c)) + at);
                },
            }
        }
    };
}

/// What one output row's store needs (columns from the tile's first).
const Row = struct {
    za: i32,
    row_term: i32,
    bias: i32,
    colsum: []const i32,
    zb: []const i32,
    a_scale: f32,

    const lanes = 8;
    const VI = @Vector(lanes, i32);

    fn compensated(self: Row, sums: []const i32, c: usize) VI {
        const za: VI = @splat(self.za);
        const t: VI = @splat(self.row_term);
        const colsum: VI = self.colsum[c..][0..lanes].*;
        const zb: VI = if (self.zb.len == 1) @splat(self.zb[0]) else self.zb[c..][0..lanes].*;
        const sum: VI = sums[c..][0..lanes].*;
        return sum -% za *% colsum -% zb *% t +% @as(VI, @splat(self.bias));
    }

    fn compensatedOne(self: Row, sums: []const i32, c: usize) i32 {
        const zb = if (self.zb.len == 1) self.zb[0] else self.zb[c];
        return sums[c] -% self.za *% self.colsum[c] -% zb *% self.row_term +% self.bias;
    }

    fn storeInt32(self: Row, sums: []const i32, dst: [*]i32) void {
        var c: usize = 0;
        while (c + lanes <= sums.len) : (c += lanes) dst[c..][0..lanes].* = self.compensated(sums, c);
        while (c < sums.len) : (c += 1) dst[c] = self.compensatedOne(sums, c);
    }

    fn storeRequantized(self: Row, comptime T: type, sums: []const i32, r: Requant, b_scale: []const f32, dst: [*]T) void {
        var c: usize = 0;
        while (c + lanes <= sums.len) : (c += lanes) {
            const scale: @Vector(lanes, f32) = if (b_scale.len == 1) @splat(b_scale[0]) else b_scale[c..][0..lanes].*;
            const y = requantize(T, lanes, self.compensated(sums, c), multiplier(lanes, self.a_scale, scale, r), r.y_zero);
            dst[c..][0..lanes].* = y;
        }
        while (c < sums.len) : (c += 1) {
            const scale: @Vector(1, f32) = @splat(b_scale[if (b_scale.len == 1) 0 else c]);
            const one: @Vector(1, i32) = @splat(self.compensatedOne(sums, c));
            dst[c] = requantize(T, 1, one, multiplier(1, self.a_scale, scale, r), r.y_zero)[0];
        }
    }
};

/// a_scale * b_scale / y_scale in float32, each step rounded to float16 when the scales were.
fn multiplier(comptime n: usize, a_scale: f32, b_scale: @Vector(n, f32), r: Requant) @Vector(n, f32) {
    var m = @as(@Vector(n, f32), @splat(a_scale)) * b_scale;
    if (r.half) m = @floatCast(@as(@Vector(n, f16), @floatCast(m)));
    m /= @as(@Vector(n, f32), @splat(r.y_scale));
    if (r.half) m = @floatCast(@as(@Vector(n, f16), @floatCast(m)));
    return m;
}

/// The reference's arithmetic, in float64 lanes: c * multiplier + zero point, rounded half to
/// even, saturated to T (NaN gives 0).
pub fn requantize(comptime T: type, comptime n: usize, c: @Vector(n, i32), m: @Vector(n, f32), y_zero: i32) @Vector(n, T) {
    const F = @Vector(n, f64);
    var x = @as(F, @floatFromInt(c)) * @as(F, @floatCast(m)) + @as(F, @splat(@floatFromInt(y_zero)));
    x = @select(f64, x != x, @as(F, @splat(0)), x);
    x = @min(@max(x, @as(F, @splat(std.math.minInt(T)))), @as(F, @splat(std.math.maxInt(T))));
    // Adding and removing 1.5 * 2^52 rounds to an integer, half to even (the default rounding
    // mode), for every |x| < 2^51; the clamp above keeps x far inside.
    const magic: F = @splat(6755399441055744.0);
    x = (x + magic) - magic;
    const wide: @Vector(n, i32) = @intFromFloat(x);
    return @intCast(wide);
}

test {
    _ = @import("qgemm_test.zig");
}
