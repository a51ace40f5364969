//! SGEMM micro-kernels and the packing they read. A micro-kernel keeps an MR x NR tile of C in
//! vector registers and walks K once: per step it loads NR/W vectors of packed B, broadcasts MR
//! values of A (packed, or read in place), and issues MR*NR/W fused multiply-adds. Each row count
//! 1..MR has its own unrolled kernel, so bottom edges cost no padding work, and short tiles split
//! K over several accumulator sets to keep the FMA pipes full. The epilogue (alpha, beta, bias,
//! residual, ReLU) is applied in the store, so C is written once per K block and never re-read
//! by a separate pass.
//!
//! Variants (the same code at three widths, chosen at run time by `select`):
//! - avx512: 16 lanes, 12x32 tile, 24 accumulators of 32 zmm registers (MLAS's shape);
//! - avx2: 8 lanes, 6x16 tile, 12 accumulators of 16 ymm (the BLIS Haswell/Zen shape);
//! - portable: 4 lanes, 4x8 tile, fits 16 SSE/NEON registers without FMA.
//! Zig 0.15 has no per-function target attributes (ziglang/zig#1018), so a variant's
//! instructions come from the build's target: `select` only returns a variant that this build
//! encodes *and* the running CPU reports. A native build gets its own widest kernel; a portable
//! release needs this file built once per ISA level as separate objects (a later build change).
const std = @import("std");
const builtin = @import("builtin");
const cpu = @import("../../device/cpu.zig");
const activation_module = @import("kernels/activation.zig");

pub const Activation = activation_module.Activation;

pub const Variant = enum { avx512, avx2, portable };

pub const Shape = struct { mr: usize, nr: usize, width: usize };

pub fn shapeOf(comptime variant: Variant) Shape {
    return switch (variant) {
        .avx512 => .{ .mr = 12, .nr = 32, .width = 16 },
        .avx2 => .{ .mr = 6, .nr = 16, .width = 8 },
        .portable => .{ .mr = 4, .nr = 8, .width = 4 },
    };
}

pub fn shape(variant: Variant) Shape {
    return switch (variant) {
        inline else => |v| comptime shapeOf(v),
    };
}

fn targetHas(comptime feature: std.Target.x86.Feature) bool {
    return builtin.cpu.arch == .x86_64 and std.Target.x86.featureSetHas(builtin.cpu.features, feature);
}

/// Whether this build's target encodes the variant's instructions.
pub fn compiled(variant: Variant) bool {
    return switch (variant) {
        .avx512 => targetHas(.avx512f) and targetHas(.fma),
        .avx2 => targetHas(.avx2) and targetHas(.fma),
        .portable => true,
    };
}

/// The widest variant that both this build and the running CPU (cpu.detect's features) support.
pub fn select(features: u64) Variant {
    const has = struct {
        fn all(set: u64, wanted: []const cpu.Feature) bool {
            for (wanted) |f| if (set & cpu.bit(f) == 0) return false;
            return true;
        }
    };
    if (compiled(.avx512) and has.all(features, &.{ .avx512f, .fma })) return .avx512;
    if (compiled(.avx2) and has.all(features, &.{ .avx2, .fma })) return .avx2;
    return .portable;
}

/// Fused multiply-add only where the target has it: elsewhere @mulAdd becomes a libm call.
pub const fused = targetHas(.fma) or builtin.cpu.arch == .aarch64;

/// Where a tile's results go and what the store applies.
/// C = act(relu?(alpha * A*B + beta * C + bias[col] + residual[row, col])).
pub const Output = struct {
    c: [*]f32,
    ldc: usize,
    alpha: f32,
    beta: f32,
    bias: ?[*]const f32,
    /// One value per row, added like `bias` (a convolution's per-channel bias when C is NCHW).
    row_bias: ?[*]const f32 = null,
    residual: ?[*]const f32,
    residual_ld: usize,
    relu: bool,
    /// Applied last, in the store of the last K block (a fused Relu, Clip, Sigmoid or SiLU).
    activation: Activation = .none,
    /// Whether a short tile may split K over several accumulator sets. Only when the whole
    /// product is one short tile (a GEMV-like call): otherwise its edge rows would sum in
    /// another order than the full tiles' rows, and outputs that are equal in exact arithmetic
    /// (a network of identical channels) would differ by a rounding, which an ill-conditioned
    /// softmax turns into different answers on CPUs whose MR leaves a short last tile.
    split_short: bool = true,
};

/// Where a micro-kernel reads A. `.rows` is a row-major A read in place (row r of the tile at
/// a + r * lda): no packing, which matters when N is short and a pack would be reused by few
/// panels. `.panel` is a micro-panel made by packA (mr values per k): contiguous, for a
/// transposed A or a block that many panels reuse.
pub const ALayout = enum { panel, rows };

/// Which K block a store finishes: the first one applies beta (and reads C only if beta != 0),
/// later ones accumulate into C, and the last one applies the epilogue.
pub const Pass = struct { first: bool, last: bool };

pub fn Kernel(comptime variant: Variant) type {
    const s = comptime shapeOf(variant);
    return struct {
        pub const mr = s.mr;
        pub const nr = s.nr;
        const width = s.width;
        const vectors = nr / width;
        const V = @Vector(width, f32);
        fn Tile(comptime rows: usize) type {
            return [rows][vectors]V;
        }

        /// C[i..i+rows, j..j+cols] from an A micro-panel (see ALayout; `lda` is used by .rows)
        /// and a packed B micro-panel (kc x nr, k-major). Columns past the edge are padding.
        pub fn tile(
            comptime layout: ALayout,
            rows: usize,
            cols: usize,
            kc: usize,
            a: [*]const f32,
            lda: usize,
            b: [*]const f32,
            out: *const Output,
            i: usize,
            j: usize,
            pass: Pass,
        ) void {
            std.debug.assert(cols >= 1 and cols <= nr);
            // Every row count gets its own unrolled kernel: more comptime loop steps than default.
            @setEvalBranchQuota(20_000);
            switch (rows) {
                inline 1...mr => |r| {
                    prefetchTile(r, out, i, j);
                    const acc = if (out.split_short) accumulate(r, true, layout, kc, a, lda, b) else accumulate(r, false, layout, kc, a, lda, b);
                    if (cols == nr) {
                        // The activation's kind is fixed per call: one store loop per kind.
                        switch (if (pass.last) out.activation.kind else .none) {
                            inline else => |kind| storeFull(r, kind, &acc, out, i, j, pass),
                        }
                    } else {
                        storePartial(r, &acc, cols, out, i, j, pass);
                    }
                },
                else => unreachable,
            }
        }

        /// Starts loading the C tile now, so that the store at the end of the K loop does not
        /// wait on memory: one tile row is one or two cache lines, each row a different page.
        inline fn prefetchTile(comptime rows: usize, out: *const Output, i: usize, j: usize) void {
            inline for (0..rows) |r| {
                const row = out.c + (i + r) * out.ldc + j;
                @prefetch(row, .{ .rw = .write });
                @prefetch(row + nr - 1, .{ .rw = .write });
            }
        }

        /// Independent accumulator sets for a short tile: FMA latency (4-5 cycles) times two
        /// ports needs about 8-10 chains in flight, and a 1-row tile only has 2 per K step.
        fn chains(comptime rows: usize) usize {
            return @min(4, @max(1, mr / rows));
        }

        inline fn accumulate(
            comptime rows: usize,
            comptime split: bool,
            comptime layout: ALayout,
            kc: usize,
            a: [*]const f32,
            lda: usize,
            b: [*]const f32,
        ) Tile(rows) {
            const a_step = if (layout == .panel) mr else 1;
            const sets = comptime if (split) chains(rows) else 1;
            const unroll = if (sets == 1) 4 else sets;
            var acc: [sets]Tile(rows) = @splat(@splat(@splat(@splat(0))));
            // Bumped pointers rather than an index: the loads then use constant offsets.
            var ap = a;
            var bp = b;
            var left = kc;
            while (left >= unroll) : (left -= unroll) {
                inline for (0..unroll) |u| step(rows, layout, &acc[u % sets], ap + u * a_step, lda, bp + u * nr);
                ap += unroll * a_step;
                bp += unroll * nr;
            }
            while (left > 0) : (left -= 1) {
                step(rows, layout, &acc[0], ap, lda, bp);
                ap += a_step;
                bp += nr;
            }
            inline for (1..sets) |set| {
                inline for (0..rows) |r| {
                    inline for (0..vectors) |v| acc[0][r][v] += acc[set][r][v];
                }
            }
            return acc[0];
        }

        /// One k: NR/W vectors of B, then per row one broadcast of A and NR/W multiply-adds.
        inline fn step(
            comptime rows: usize,
            comptime layout: ALayout,
            acc: *Tile(rows),
            a: [*]const f32,
            lda: usize,
            b: [*]const f32,
        ) void {
            var bv: [vectors]V = undefined;
            inline for (0..vectors) |v| bv[v] = b[v * width ..][0..width].*;
            inline for (0..rows) |r| {
                const av: V = @splat(if (layout == .panel) a[r] else a[r * lda]);
                inline for (0..vectors) |v| {
                    acc[r][v] = if (fused) @mulAdd(V, av, bv[v], acc[r][v]) else av * bv[v] + acc[r][v];
                }
            }
        }

        fn storeFull(
            comptime rows: usize,
            comptime kind: activation_module.Kind,
            acc: *const Tile(rows),
            out: *const Output,
            i: usize,
            j: usize,
            pass: Pass,
        ) void {
            const alpha: V = @splat(out.alpha);
            const beta: V = @splat(out.beta);
            const read_c = !pass.first or out.beta != 0;
            inline for (0..rows) |r| {
                const row = out.c + (i + r) * out.ldc + j;
                inline for (0..vectors) |v| {
                    const p = row + v * width;
                    var x = acc[r][v] * alpha;
                    if (read_c) {
                        const old: V = p[0..width].*;
                        x += if (pass.first) old * beta else old;
                    }
                    if (pass.last) {
                        const col = j + v * width;
                        if (out.bias) |bias| x += @as(V, bias[col..][0..width].*);
                        if (out.row_bias) |rb| x += @as(V, @splat(rb[i + r]));
                        if (out.residual) |res| x += @as(V, res[(i + r) * out.residual_ld + col ..][0..width].*);
                        if (out.relu) x = @max(x, @as(V, @splat(0)));
                        x = out.activation.applyAs(kind, width, x);
                    }
                    p[0..width].* = x;
                }
            }
        }

        /// The right edge: spill the tile and finish the valid columns one by one.
        fn storePartial(
            comptime rows: usize,
            acc: *const Tile(rows),
            cols: usize,
            out: *const Output,
            i: usize,
            j: usize,
            pass: Pass,
        ) void {
            var spill: [rows][nr]f32 = undefined;
            inline for (0..rows) |r| {
                inline for (0..vectors) |v| spill[r][v * width ..][0..width].* = acc[r][v];
            }
            for (0..rows) |r| {
                for (0..cols) |col| storeOne(out, i + r, j + col, spill[r][col], pass);
            }
        }
    };
}

/// One element of the store, with the same arithmetic as the vector path.
pub fn storeOne(out: *const Output, row: usize, col: usize, sum: f32, pass: Pass) void {
    const p = &out.c[row * out.ldc + col];
    var x = sum * out.alpha;
    if (!pass.first) {
        x += p.*;
    } else if (out.beta != 0) {
        x += p.* * out.beta;
    }
    if (pass.last) {
        if (out.bias) |bias| x += bias[col];
        if (out.row_bias) |rb| x += rb[row];
        if (out.residual) |res| x += res[row * out.residual_ld + col];
        if (out.relu) x = @max(x, 0);
        x = out.activation.apply(1, @as(@Vector(1, f32), @splat(x)))[0];
    }
    p.* = x;
}

/// Packs rows [0, rows) x K range [0, kc) of op(A) into micro-panels of `mr` rows, k-major
/// (mr values per k). `a` points at op(A)[i0, p0]: a row-major A (trans = false) is read row by
/// row, a transposed one column by column. The slots of a last, short panel stay unwritten:
/// its tile runs the kernel made for that row count, which never reads them.
pub fn packA(
    comptime mr: usize,
    dst: [*]f32,
    a: [*]const f32,
    lda: usize,
    trans: bool,
    rows: usize,
    kc: usize,
) void {
    var out = dst;
    var r0: usize = 0;
    while (r0 < rows) : (r0 += mr) {
        const here = @min(mr, rows - r0);
        if (trans) {
            for (0..kc) |k| {
                const src = a + k * lda + r0;
                if (here == mr) {
                    out[k * mr ..][0..mr].* = src[0..mr].*;
                } else {
                    for (0..here) |r| out[k * mr + r] = src[r];
                }
            }
        } else if (here == mr) {
            packRowsFull(mr, out, a + r0 * lda, lda, kc);
        } else {
            for (0..here) |r| {
                const src = a + (r0 + r) * lda;
                for (0..kc) |k| out[k * mr + r] = src[k];
            }
        }
        out += mr * kc;
    }
}

/// A full micro-panel from row-major A: a small transpose, 8 k values at a time. The rows are
/// read as vectors and the mr x 8 block is written back k-major with one shuffle, so the writes
/// are whole vectors too (the scalar version costs about a cycle per element).
fn packRowsFull(comptime mr: usize, out: [*]f32, a: [*]const f32, lda: usize, kc: usize) void {
    const lanes = 8;
    const Block = @Vector(mr * lanes, f32);
    const transpose = comptime blk: {
        var mask: [mr * lanes]i32 = undefined;
        for (0..lanes) |kk| {
            for (0..mr) |r| mask[kk * mr + r] = @intCast(r * lanes + kk);
        }
        break :blk mask;
    };
    var k: usize = 0;
    while (k + lanes <= kc) : (k += lanes) {
        var rows: [mr * lanes]f32 = undefined;
        inline for (0..mr) |r| rows[r * lanes ..][0..lanes].* = a[r * lda + k ..][0..lanes].*;
        const block: Block = rows;
        out[k * mr ..][0 .. mr * lanes].* = @shuffle(f32, block, undefined, transpose);
    }
    while (k < kc) : (k += 1) {
        inline for (0..mr) |r| out[k * mr + r] = a[r * lda + k];
    }
}
