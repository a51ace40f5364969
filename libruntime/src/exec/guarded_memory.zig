//! Buffers fenced by guard bytes, for the backend test harness (backends/testing/harness.zig):
//! every buffer sits between two runs of a known byte pattern, so a kernel that writes before
//! the start or past the end of a buffer changes the pattern, and `check` finds it after the
//! node ran. Outputs get such memory through memory_plan.Planning.guarded; the harness fences
//! a node's inputs the same way. As ggml's test-backend-ops puts sentinel tensors between its
//! tensors.
const std = @import("std");
const tensor_module = @import("../tensor/tensor.zig");

/// Guard bytes on each side. A whole alignment unit, so that the data after the first guard keeps
/// the alignment tensors need; the second guard starts at the data's last byte + 1, not at the
/// next aligned address, so that a write one byte too far is caught.
pub const guard_bytes: usize = tensor_module.data_alignment;

/// The guard pattern's byte at position `i` of a guard. It varies from byte to byte, so that a
/// stray write of zeros, of ones or of a repeated value cannot leave it as it was.
fn pattern(i: usize) u8 {
    return @truncate(0xA5 ^ (i *% 29));
}

pub const Role = enum { input, output };

pub const Region = struct {
    role: Role,
    /// Which input or output of the node.
    index: usize,
    /// Guard, data, guard.
    block: []u8,
    bytes: usize,

    pub fn data(self: Region) []u8 {
        return self.block[guard_bytes..][0..self.bytes];
    }
};

/// The first overwritten guard byte of a region.
pub const Broken = struct {
    region: Region,
    /// Relative to the data's first byte: negative before it, `bytes` or more after it.
    offset: isize,
};

pub const Guards = struct {
    allocator: std.mem.Allocator,
    /// What every byte of a fresh buffer holds: a kernel that leaves an output element unwritten
    /// gives different results under two different fills.
    fill: u8 = 0,
    regions: std.ArrayList(Region) = .empty,

    /// A buffer of `bytes` between guards, aligned as tensor data, filled with `fill`, recorded.
    pub fn allocate(self: *Guards, role: Role, index: usize, bytes: usize) error{OutOfMemory}![]u8 {
        const block = try self.allocator.alignedAlloc(u8, .fromByteUnits(tensor_module.data_alignment), bytes + 2 * guard_bytes);
        for (block[0..guard_bytes], 0..) |*b, i| b.* = pattern(i);
        @memset(block[guard_bytes..][0..bytes], self.fill);
        for (block[guard_bytes + bytes ..], 0..) |*b, i| b.* = pattern(i);
        const region: Region = .{ .role = role, .index = index, .block = block, .bytes = bytes };
        try self.regions.append(self.allocator, region);
        return region.data();
    }

    /// The first region, in allocation order, with an overwritten guard byte; null if none.
    pub fn check(self: *const Guards) ?Broken {
        for (self.regions.items) |region| {
            // Nearest the data first: an overrun by one byte reports offset `bytes`, not the far end.
            var i: usize = guard_bytes;
            while (i > 0) {
                i -= 1;
                if (region.block[i] != pattern(i)) return .{ .region = region, .offset = @as(isize, @intCast(i)) - @as(isize, @intCast(guard_bytes)) };
            }
            for (region.block[guard_bytes + region.bytes ..], 0..) |b, k| {
                if (b != pattern(k)) return .{ .region = region, .offset = @intCast(region.bytes + k) };
            }
        }
        return null;
    }

    pub fn deinit(self: *Guards) void {
        for (self.regions.items) |region| self.allocator.free(@as([]align(tensor_module.data_alignment) u8, @alignCast(region.block)));
        self.regions.deinit(self.allocator);
    }
};

test "a write one byte past a buffer or one byte before it breaks its guard, at that offset" {
    var guards: Guards = .{ .allocator = std.testing.allocator, .fill = 0x11 };
    defer guards.deinit();
    const a = try guards.allocate(.input, 0, 13);
    const b = try guards.allocate(.output, 0, 7);
    try std.testing.expect(guards.check() == null);
    try std.testing.expectEqual(@as(usize, 0), @intFromPtr(a.ptr) % tensor_module.data_alignment);
    for (a) |byte| try std.testing.expectEqual(@as(u8, 0x11), byte);
    @memset(a, 0xFF); // a whole buffer rewritten, nothing outside it
    try std.testing.expect(guards.check() == null);

    b.ptr[b.len] ^= 1;
    const past = guards.check().?;
    try std.testing.expectEqual(Role.output, past.region.role);
    try std.testing.expectEqual(@as(isize, 7), past.offset);
    b.ptr[b.len] ^= 1;
    try std.testing.expect(guards.check() == null);

    (a.ptr - 1)[0] ^= 1;
    const before = guards.check().?;
    try std.testing.expectEqual(Role.input, before.region.role);
    try std.testing.expectEqual(@as(isize, -1), before.offset);
}
