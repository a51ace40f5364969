//! Root of the VNNI object (build.zig): the AVX512-VNNI int8 micro-kernel of
//! backends/cpu/qgemm_vnni.zig, compiled for x86-64-v4 + AVX512-VNNI, as two hidden C functions
//! that the avx512 copy of the library calls only when the CPU reports VNNI.
const vnni = @import("backends/cpu/qgemm_vnni.zig");

fn unsignedA(rows: usize, kq: usize, a: [*]const u32, b: [*]const u32, out: [*]i32) callconv(.c) void {
    vnni.tile(true, rows, kq, a, b, out);
}

fn unsignedB(rows: usize, kq: usize, a: [*]const u32, b: [*]const u32, out: [*]i32) callconv(.c) void {
    vnni.tile(false, rows, kq, a, b, out);
}

comptime {
    @export(&unsignedA, .{ .name = "tsr_qgemm_vnni_tile_unsigned_a", .visibility = .hidden });
    @export(&unsignedB, .{ .name = "tsr_qgemm_vnni_tile_unsigned_b", .visibility = .hidden });
}
