//! Packing for the int8 GEMM (qgemm.zig): an operand is cut into groups of lines (MR rows of A,
//! or NR columns of B), each group stored k-major as 32-bit words (qgemm_kernels.zig), and the
//! sum of every line is kept for the zero-point compensation.
//!
//! The kernels multiply an unsigned side (u8) by a signed side (s8). An operand of the other
//! signedness has its sign bit flipped as it is packed: s8 x + 128 is u8, u8 x - 128 is s8. Its
//! zero point moves by the same `delta`, so (x - zero) is unchanged and the product is exact.
const std = @import("std");
const status = @import("../../core/status.zig");
const kernels = @import("qgemm_kernels.zig");

const Variant = kernels.Variant;

/// Which side of the kernel's product an operand is packed for.
pub const Side = enum { unsigned, signed };

/// A quantized matrix as `lines` lines of `k` bytes: element (line, kk) is at
/// `data[line * line_stride + kk * k_stride]` (u8, or s8 when `signed`).
pub const Source = struct {
    data: []const u8,
    signed: bool,
    lines: usize,
    k: usize,
    line_stride: usize,
    k_stride: usize,

    fn check(self: Source) status.Error!void {
        if (self.lines == 0 or self.k == 0) return;
        const last = (self.lines - 1) * self.line_stride + (self.k - 1) * self.k_stride;
        if (last >= self.data.len) return status.fail(
            error.InvalidArgument,
            "qgemm: the operand holds {d} bytes, {d} needed",
            .{ self.data.len, last + 1 },
        );
    }
};

/// An operand packed for one kernel variant and side. Immutable once made.
pub const Packed = struct {
    data: []align(64) u32,
    /// Per line: the sum of its packed (flipped) values, wrapping.
    sums: []i32,
    variant: Variant,
    side: Side,
    /// Lines per group: MR for A, NR for B.
    group: usize,
    /// What the flip added to every value (and must be added to the zero points).
    delta: i32,
    lines: usize,
    k: usize,

    pub fn kq(self: *const Packed) usize {
        return words(self.variant, self.k);
    }

    pub fn groups(self: *const Packed) usize {
        return std.math.divCeil(usize, self.lines, self.group) catch unreachable;
    }

    /// Group `g`'s kq x group words.
    pub fn groupData(self: *const Packed, g: usize) [*]const u32 {
        return self.data.ptr + g * self.kq() * self.group;
    }

    /// Packs `source` into memory from `allocator`; `group` is the variant's MR or NR.
    pub fn init(allocator: std.mem.Allocator, variant: Variant, side: Side, group: usize, source: Source) status.Error!Packed {
        try source.check();
        const self = try allocate(allocator, variant, side, group, source.lines, source.k, source.signed);
        self.packGroups(source, 0, self.groups());
        return self;
    }

    /// Memory for `lines` x `k` values, packed later with packGroups (by several threads).
    pub fn allocate(allocator: std.mem.Allocator, variant: Variant, side: Side, group: usize, lines: usize, k: usize, signed: bool) status.Error!Packed {
        const group_count = std.math.divCeil(usize, lines, group) catch unreachable;
        const len = std.math.mul(usize, group_count * group, words(variant, k)) catch
            return status.fail(error.InvalidArgument, "qgemm: matrix size overflows", .{});
        const data = allocator.alignedAlloc(u32, .@"64", len) catch return outOfMemory();
        errdefer allocator.free(data);
        const sums = allocator.alloc(i32, group_count * group) catch return outOfMemory();
        const delta: i32 = if (signed == (side == .signed)) 0 else if (signed) 128 else -128;
        return .{ .data = data, .sums = sums, .variant = variant, .side = side, .group = group, .delta = delta, .lines = lines, .k = k };
    }

    pub fn deinit(self: *Packed, allocator: std.mem.Allocator) void {
        allocator.free(self.data);
        allocator.free(self.sums);
        self.* = undefined;
    }

    /// Packs groups [first, last) of `source` (the same shape as `allocate` was given).
    pub fn packGroups(self: *const Packed, source: Source, first: usize, last: usize) void {
        std.debug.assert(source.lines == self.lines and source.k == self.k);
        const flip: u8 = if (self.delta == 0) 0 else 0x80;
        for (first..last) |g| {
            const lines = @min(self.group, self.lines - g * self.group);
            const dst = self.data.ptr + g * self.kq() * self.group;
            const sums = self.sums[g * self.group ..][0..self.group];
            const src = source.data.ptr + g * self.group * source.line_stride;
            switch (self.variant) {
                inline else => |variant| {
                    const P = Packer(variant);
                    if (source.line_stride == 1 and lines == self.group and self.group == P.vector_lines) {
                        P.contiguousLines(self.side, dst, sums, src, source.k_stride, self.k, flip);
                    } else {
                        P.anyLines(self.side, dst, sums, self.group, src, source, lines, flip);
                    }
                },
            }
        }
    }
};

fn outOfMemory() status.Error {
    return status.fail(error.OutOfResource, "qgemm: out of memory packing an operand", .{});
}

/// Packed words per line for `k` values.
pub fn words(variant: Variant, k: usize) usize {
    return std.math.divCeil(usize, k, kernels.shape(variant).k_step) catch unreachable;
}

fn Packer(comptime variant: Variant) type {
    const s = kernels.shapeOf(variant);
    return struct {
        /// The group width the vector path handles: NR, B's panels, whose lines (columns of a
        /// row-major matrix, or output positions of an im2col) are contiguous.
        const vector_lines = s.nr;
        const G = s.nr;
        const VB = @Vector(G, u8);
        const VS = @Vector(G, i32);

        /// Lines next to each other in memory (line_stride 1), a whole group of them: k_step
        /// rows of G bytes per word row, interleaved with shuffles.
        fn contiguousLines(side: Side, dst: [*]u32, sums: []i32, src: [*]const u8, k_stride: usize, k: usize, flip: u8) void {
            var total: VS = @splat(0);
            const flips: VB = @splat(flip);
            for (0..words(variant, k)) |q| {
                var rows: [s.k_step]VB = undefined;
                inline for (0..s.k_step) |e| {
                    const kk = q * s.k_step + e;
                    // Past K: the packed zero of the side (a flipped value 0 is what adds nothing).
                    rows[e] = if (kk < k) @as(VB, src[kk * k_stride ..][0..G].*) ^ flips else @splat(0);
                    total +%= widen(side, rows[e]);
                }
                const out: @Vector(G, u32) = if (s.k_step == 4) interleave4(rows) else interleave2(side, rows);
                dst[q * G ..][0..G].* = out;
            }
            sums[0..G].* = total;
        }

        fn widen(side: Side, v: VB) VS {
            return if (side == .signed) @as(@Vector(G, i8), @bitCast(v)) else v;
        }

        /// Word j = bytes j of rows 0, 1, 2, 3 (VNNI's four k per int32 lane).
        fn interleave4(rows: [4]VB) @Vector(G, u32) {
            const pairs01: @Vector(G, u16) = @bitCast(@shuffle(u8, rows[0], rows[1], zip(G)));
            const pairs23: @Vector(G, u16) = @bitCast(@shuffle(u8, rows[2], rows[3], zip(G)));
            return @bitCast(@shuffle(u16, pairs01, pairs23, zip(G)));
        }

        /// Word j = rows 0 and 1 of column j as int16.
        fn interleave2(side: Side, rows: [2]VB) @Vector(G, u32) {
            const H = @Vector(G, i16);
            const r0: H = if (side == .signed) @as(@Vector(G, i8), @bitCast(rows[0])) else rows[0];
            const r1: H = if (side == .signed) @as(@Vector(G, i8), @bitCast(rows[1])) else rows[1];
            return @bitCast(@shuffle(i16, r0, r1, zip(G)));
        }

        /// Any layout, and groups with fewer lines than `group` (the rest are packed as zeros).
        fn anyLines(side: Side, dst: [*]u32, sums: []i32, group: usize, src: [*]const u8, source: Source, lines: usize, flip: u8) void {
            const kq = words(variant, source.k);
            for (0..group) |l| {
                if (l >= lines) {
                    for (0..kq) |q| dst[q * group + l] = 0;
                    sums[l] = 0;
                    continue;
                }
                const line = src + l * source.line_stride;
                var sum: i32 = 0;
                for (0..kq) |q| {
                    var word: u32 = 0;
                    inline for (0..s.k_step) |e| {
                        const kk = q * s.k_step + e;
                        if (kk < source.k) {
                            const byte = line[kk * source.k_stride] ^ flip;
                            const value: i32 = if (side == .signed) @as(i8, @bitCast(byte)) else byte;
                            sum +%= value;
                            word |= if (s.k_step == 4)
                                @as(u32, byte) << (8 * e)
                            else
                                @as(u32, @as(u16, @bitCast(@as(i16, @intCast(value))))) << (16 * e);
                        }
                    }
                    dst[q * group + l] = word;
                }
                sums[l] = sum;
            }
        }
    };
}

/// The shuffle mask that interleaves two n-lane vectors: a0 b0 a1 b1 ...
fn zip(comptime n: usize) [2 * n]i32 {
    var mask: [2 * n]i32 = undefined;
    for (0..n) |i| {
        mask[2 * i] = @intCast(i);
        mask[2 * i + 1] = ~@as(i32, @intCast(i));
    }
    return mask;
}
