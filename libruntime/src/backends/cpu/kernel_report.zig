//! What the CPU backend chose in this copy of the library, as one line for `tessera devices` and
//! getLocalInfo(): the GEMM variant and its blocking for this CPU's caches, and the int8 GEMM's.
const std = @import("std");
const gemm = @import("gemm.zig");
const gemm_kernels = @import("gemm_kernels.zig");
const qgemm = @import("qgemm.zig");

var line: [224:0]u8 = undefined;
var once = std.once(fill);

fn fill() void {
    const tuning = gemm.Tuning.host();
    const s = gemm_kernels.shape(tuning.variant);
    const int8 = qgemm.hostVariant();
    const q = qgemm.shapeOf(int8);
    const text = std.fmt.bufPrint(&line, "gemm {s} {d}x{d} (MC {d}, KC {d}), {d}-lane vectors, {s} multiply-add; int8 gemm {s} {d}x{d}", .{
        @tagName(tuning.variant),
        s.mr,
        s.nr,
        tuning.mc,
        tuning.kc,
        s.width,
        if (gemm_kernels.fused) "fused" else "separate",
        @tagName(int8),
        q.mr,
        q.nr,
    }) catch unreachable;
    line[text.len] = 0;
}

pub fn describe() [*:0]const u8 {
    once.call();
    return &line;
}
