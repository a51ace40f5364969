//! int8 GEMM micro-kernels: an MR x NR tile of int32 sums over the whole of K, from packed
//! operands (qgemm.zig packs them). Both operands are packed as 32-bit words: a word of A holds
//! one row's next `k_step` values, a word of B one column's. One operand is the unsigned side
//! (u8) and the other the signed side (s8); qgemm.zig maps u8 x u8 and s8 x s8 onto that by
//! flipping the sign bit of one operand and correcting its zero point.
//!
//! Variants, chosen at run time by `select`:
//! - vnni512: `vpdpbusd` on zmm, 4 k per word (u8 x s8 quads summed into int32 in one
//!   instruction), 12x32 tile. Zig 0.15 has no per-function target attributes and the avx512
//!   level (x86-64-v4) lacks VNNI, so this kernel is compiled apart, in a small object built for
//!   x86-64-v4 + AVX512-VNNI (qgemm_vnni.zig, linked into the library by build.zig). The avx512
//!   copy calls it through two C functions, and only when CPUID reports VNNI. Builds for this
//!   machine (tests) compile it in directly.
//! - avx512, avx2, portable: `pmaddwd` on zmm, ymm or xmm (16-, 8- or 4-lane int32), 2 k per
//!   word, each value widened to int16 when packed. pmaddwd sums two int16 x int16 products
//!   into int32 exactly, where `vpmaddubsw` would saturate its int16 pair sums (255 x 127 x 2
//!   does not fit), so the result is exact for every input. It costs the same instructions per
//!   multiply-add as vpmaddubsw + vpmaddwd + vpaddd. On other architectures the same code is
//!   plain widening vector arithmetic.
const std = @import("std");
const builtin = @import("builtin");
const build_options = @import("build_options");
const cpu = @import("../../device/cpu.zig");
const vnni = @import("qgemm_vnni.zig");

pub const Variant = enum { vnni512, avx512, avx2, portable };

pub const Shape = struct {
    mr: usize,
    nr: usize,
    /// int32 lanes per vector.
    width: usize,
    /// K values per packed word: 4 bytes (VNNI) or 2 int16 (pmaddwd).
    k_step: usize,
};

pub fn shapeOf(comptime variant: Variant) Shape {
    return switch (variant) {
        .vnni512 => .{ .mr = vnni.mr, .nr = vnni.nr, .width = 16, .k_step = 4 },
        .avx512 => .{ .mr = 12, .nr = 32, .width = 16, .k_step = 2 },
        .avx2 => .{ .mr = 6, .nr = 16, .width = 8, .k_step = 2 },
        .portable => .{ .mr = 4, .nr = 8, .width = 4, .k_step = 2 },
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

/// Where the VNNI kernel comes from in this build: compiled in (the target has VNNI: builds for
/// this machine), linked from the VNNI object (the avx512 copy of the library), or nowhere.
const VnniSource = enum { direct, object, none };

const vnni_source: VnniSource = if (targetHas(.avx512vnni) and targetHas(.avx512bw))
    .direct
else if (std.mem.eql(u8, build_options.cpu_level, "avx512"))
    .object
else
    .none;

/// Whether this build can run the variant (on a CPU that reports its features).
pub fn compiled(variant: Variant) bool {
    return switch (variant) {
        .vnni512 => vnni_source != .none,
        .avx512 => targetHas(.avx512bw),
        .avx2 => targetHas(.avx2),
        .portable => true,
    };
}

/// The CPU features a variant's instructions need.
fn needs(variant: Variant) []const cpu.Feature {
    return switch (variant) {
        .vnni512 => &.{ .avx512f, .avx512bw, .avx512vl, .avx512vnni },
        .avx512 => &.{ .avx512f, .avx512bw },
        .avx2 => &.{.avx2},
        .portable => &.{},
    };
}

/// The widest variant this build compiles and the running CPU (cpu.features) reports.
pub fn select(features: u64) Variant {
    for (std.enums.values(Variant)) |variant| {
        if (!compiled(variant)) continue;
        const reported = for (needs(variant)) |f| {
            if (features & cpu.bit(f) == 0) break false;
        } else true;
        if (reported) return variant;
    }
    return .portable;
}

/// Whether `variant` can run here: compiled in this build and reported by this CPU.
pub fn runnable(variant: Variant, features: u64) bool {
    if (!compiled(variant)) return false;
    for (needs(variant)) |f| if (features & cpu.bit(f) == 0) return false;
    return true;
}

/// Which operand is the unsigned side of the product (the other is the signed side).
pub const UnsignedSide = enum { a, b };

/// Sums of rows [0, rows) of the A tile against the B panel over `kq` packed words into `out`
/// (rows x NR int32, row-major). `a` is kq x MR words, `b` kq x NR words.
pub fn tile(
    comptime variant: Variant,
    unsigned_side: UnsignedSide,
    rows: usize,
    kq: usize,
    a: [*]const u32,
    b: [*]const u32,
    out: [*]i32,
) void {
    std.debug.assert(rows >= 1 and rows <= shapeOf(variant).mr);
    if (variant == .vnni512) return switch (vnni_source) {
        .direct => vnni.tile(unsigned_side == .a, rows, kq, a, b, out),
        .object => switch (unsigned_side) {
            .a => vnniObject("tsr_qgemm_vnni_tile_unsigned_a")(rows, kq, a, b, out),
            .b => vnniObject("tsr_qgemm_vnni_tile_unsigned_b")(rows, kq, a, b, out),
        },
        .none => unreachable, // select never picks it
    };
    @setEvalBranchQuota(20_000);
    switch (rows) {
        inline 1...shapeOf(variant).mr => |r| PairKernel(variant).tile(r, kq, a, b, out),
        else => unreachable,
    }
}

fn vnniObject(comptime name: []const u8) *const vnni.TileFn {
    return @extern(*const vnni.TileFn, .{ .name = name, .visibility = .hidden });
}

/// The pmaddwd kernel: each word is two int16, and one instruction adds a0*b0 + a1*b1 into
/// every int32 lane.
fn PairKernel(comptime variant: Variant) type {
    const s = shapeOf(variant);
    return struct {
        const W = s.width;
        const vectors = s.nr / W;
        const VI = @Vector(W, i32);
        const VH = @Vector(2 * W, i16);
        const VW = @Vector(W, u32);

        fn tile(comptime rows: usize, kq: usize, a: [*]const u32, b: [*]const u32, out: [*]i32) void {
            var acc: [rows][vectors]VI = @splat(@splat(@splat(0)));
            var ap = a;
            var bp = b;
            for (0..kq) |_| {
                var bv: [vectors]VH = undefined;
                inline for (0..vectors) |v| bv[v] = @bitCast(@as(VW, bp[v * W ..][0..W].*));
                inline for (0..rows) |r| {
                    const av: VH = @bitCast(@as(VW, @splat(ap[r])));
                    inline for (0..vectors) |v| acc[r][v] +%= madd(av, bv[v]);
                }
                ap += s.mr;
                bp += s.nr;
            }
            inline for (0..rows) |r| {
                inline for (0..vectors) |v| out[r * s.nr + v * W ..][0..W].* = acc[r][v];
            }
        }

        inline fn madd(x: VH, y: VH) VI {
            if (W == 16 and comptime targetHas(.avx512bw)) return @"llvm.x86.avx512.pmaddw.d.512"(x, y);
            if (W == 8 and comptime targetHas(.avx2)) return @"llvm.x86.avx2.pmadd.wd"(x, y);
            if (W == 4 and builtin.cpu.arch == .x86_64) return @"llvm.x86.sse2.pmadd.wd"(x, y);
            // Elsewhere: widen, multiply, add the even and odd products.
            const even = comptime evenOdd(0);
            const odd = comptime evenOdd(1);
            const xe: VI = @shuffle(i16, x, undefined, even);
            const xo: VI = @shuffle(i16, x, undefined, odd);
            const ye: VI = @shuffle(i16, y, undefined, even);
            const yo: VI = @shuffle(i16, y, undefined, odd);
            return xe *% ye +% xo *% yo;
        }

        fn evenOdd(comptime first: i32) [W]i32 {
            var mask: [W]i32 = undefined;
            for (&mask, 0..) |*m, i| m.* = 2 * @as(i32, @intCast(i)) + first;
            return mask;
        }
    };
}

extern fn @"llvm.x86.avx512.pmaddw.d.512"(@Vector(32, i16), @Vector(32, i16)) @Vector(16, i32);
extern fn @"llvm.x86.avx2.pmadd.wd"(@Vector(16, i16), @Vector(16, i16)) @Vector(8, i32);
extern fn @"llvm.x86.sse2.pmadd.wd"(@Vector(8, i16), @Vector(8, i16)) @Vector(4, i32);
