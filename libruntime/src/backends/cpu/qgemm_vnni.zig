//! The AVX512-VNNI int8 micro-kernel: `vpdpbusd` adds four u8 x s8 products into each int32
//! lane. Only code built for a target with VNNI may reference `tile`; the library's own levels
//! lack it, so build.zig compiles this file once more, for x86-64-v4 + AVX512-VNNI, into a small
//! object whose two C functions (../../level_vnni.zig) the avx512 copy calls after CPUID reported
//! VNNI (qgemm_kernels.zig). Builds for a VNNI machine (the unit tests here) call `tile` directly.
//! It imports nothing of the library, so the object holds this kernel and nothing else.
const std = @import("std");

pub const mr = 12;
pub const nr = 32;
const W = 16;
const vectors = nr / W;
const V = @Vector(W, i32);

/// The C signature of the object's functions: rows x NR int32 sums of the A tile (kq x MR words
/// of 4 bytes) against the B panel (kq x NR words), row-major into `out`.
pub const TileFn = fn (rows: usize, kq: usize, a: [*]const u32, b: [*]const u32, out: [*]i32) callconv(.c) void;

/// `a_unsigned`: A's bytes are the u8 operand and B's the s8 one (else the other way round).
pub fn tile(a_unsigned: bool, rows: usize, kq: usize, a: [*]const u32, b: [*]const u32, out: [*]i32) void {
    @setEvalBranchQuota(20_000);
    switch (rows) {
        inline 1...mr => |r| if (a_unsigned) tileRows(r, true, kq, a, b, out) else tileRows(r, false, kq, a, b, out),
        else => unreachable,
    }
}

fn tileRows(comptime rows: usize, comptime a_unsigned: bool, kq: usize, a: [*]const u32, b: [*]const u32, out: [*]i32) void {
    var acc: [rows][vectors]V = @splat(@splat(@splat(0)));
    var ap = a;
    var bp = b;
    for (0..kq) |_| {
        var bv: [vectors]V = undefined;
        inline for (0..vectors) |v| bv[v] = @bitCast(@as(@Vector(W, u32), bp[v * W ..][0..W].*));
        inline for (0..rows) |r| {
            const av: V = @bitCast(@as(@Vector(W, u32), @splat(ap[r])));
            inline for (0..vectors) |v| {
                // The first source is read as u8, the second as s8.
                acc[r][v] = if (a_unsigned) dpbusd(acc[r][v], av, bv[v]) else dpbusd(acc[r][v], bv[v], av);
            }
        }
        ap += mr;
        bp += nr;
    }
    inline for (0..rows) |r| {
        inline for (0..vectors) |v| out[r * nr + v * W ..][0..W].* = acc[r][v];
    }
}

inline fn dpbusd(acc: V, unsigned_bytes: V, signed_bytes: V) V {
    return @"llvm.x86.avx512.vpdpbusd.512"(acc, unsigned_bytes, signed_bytes);
}

extern fn @"llvm.x86.avx512.vpdpbusd.512"(V, V, V) V;
