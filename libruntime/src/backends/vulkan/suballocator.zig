//! Placement of buffers inside one large memory block: a first-fit list of free ranges, sorted
//! by offset and merged with their neighbours when a range is given back. It only does the
//! arithmetic; memory.zig owns the Vulkan memory the offsets point into.
const std = @import("std");

pub const Range = struct { offset: u64, size: u64 };

pub const Ranges = struct {
    /// Free ranges, by offset, none touching another.
    free: std.ArrayList(Range) = .empty,
    size: u64,
    /// Bytes handed out.
    used: u64 = 0,

    pub fn init(allocator: std.mem.Allocator, size: u64) !Ranges {
        var self: Ranges = .{ .size = size };
        try self.free.append(allocator, .{ .offset = 0, .size = size });
        return self;
    }

    pub fn deinit(self: *Ranges, allocator: std.mem.Allocator) void {
        self.free.deinit(allocator);
    }

    /// The offset of `size` bytes aligned to `alignment` (a power of two), or null when no free
    /// range holds them.
    pub fn take(self: *Ranges, allocator: std.mem.Allocator, size: u64, alignment: u64) !?u64 {
        for (self.free.items, 0..) |range, i| {
            const start = std.mem.alignForward(u64, range.offset, alignment);
            const end = range.offset + range.size;
            if (start + size > end) continue;
            // The range splits into what lies before the buffer (alignment padding) and after it.
            const before: Range = .{ .offset = range.offset, .size = start - range.offset };
            const after: Range = .{ .offset = start + size, .size = end - start - size };
            if (before.size > 0 and after.size > 0) {
                self.free.items[i] = before;
                try self.free.insert(allocator, i + 1, after);
            } else if (before.size > 0) {
                self.free.items[i] = before;
            } else if (after.size > 0) {
                self.free.items[i] = after;
            } else {
                _ = self.free.orderedRemove(i);
            }
            self.used += size;
            return start;
        }
        return null;
    }

    /// Gives back what `take` returned at `offset`, `size` bytes long.
    pub fn give(self: *Ranges, allocator: std.mem.Allocator, offset: u64, size: u64) !void {
        self.used -= size;
        var i: usize = 0;
        while (i < self.free.items.len and self.free.items[i].offset < offset) i += 1;
        const touches_before = i > 0 and self.free.items[i - 1].offset + self.free.items[i - 1].size == offset;
        const touches_after = i < self.free.items.len and offset + size == self.free.items[i].offset;
        if (touches_before and touches_after) {
            self.free.items[i - 1].size += size + self.free.items[i].size;
            _ = self.free.orderedRemove(i);
        } else if (touches_before) {
            self.free.items[i - 1].size += size;
        } else if (touches_after) {
            self.free.items[i].offset = offset;
            self.free.items[i].size += size;
        } else {
            try self.free.insert(allocator, i, .{ .offset = offset, .size = size });
        }
    }

    /// True when nothing is handed out: one free range covers the block.
    pub fn empty(self: *const Ranges) bool {
        return self.used == 0;
    }
};

test "first fit, alignment, and merging back into one free range" {
    const a = std.testing.allocator;
    var ranges = try Ranges.init(a, 1024);
    defer ranges.deinit(a);
    const x = (try ranges.take(a, 100, 64)).?;
    const y = (try ranges.take(a, 100, 64)).?;
    const z = (try ranges.take(a, 100, 64)).?;
    try std.testing.expectEqual(@as(u64, 0), x);
    try std.testing.expectEqual(@as(u64, 128), y);
    try std.testing.expectEqual(@as(u64, 256), z);
    try std.testing.expectEqual(@as(?u64, null), try ranges.take(a, 800, 64));
    // The hole y leaves is reused by the first fit.
    try ranges.give(a, y, 100);
    try std.testing.expectEqual(@as(?u64, 128), try ranges.take(a, 64, 64));
    try ranges.give(a, 128, 64);
    try ranges.give(a, x, 100);
    try ranges.give(a, z, 100);
    try std.testing.expect(ranges.empty());
    try std.testing.expectEqual(@as(usize, 1), ranges.free.items.len);
    try std.testing.expectEqual(Range{ .offset = 0, .size = 1024 }, ranges.free.items[0]);
    try std.testing.expectEqual(@as(?u64, 0), try ranges.take(a, 1024, 256));
}

test "random takes and gives never overlap and always merge back" {
    const a = std.testing.allocator;
    var ranges = try Ranges.init(a, 1 << 16);
    defer ranges.deinit(a);
    var prng = std.Random.DefaultPrng.init(7);
    const random = prng.random();
    var live: std.ArrayList(Range) = .empty;
    defer live.deinit(a);
    for (0..2000) |_| {
        if (live.items.len > 0 and random.boolean()) {
            const r = live.swapRemove(random.uintLessThan(usize, live.items.len));
            try ranges.give(a, r.offset, r.size);
            continue;
        }
        const size = 1 + random.uintLessThan(u64, 900);
        const offset = try ranges.take(a, size, 16) orelse continue;
        try std.testing.expectEqual(@as(u64, 0), offset % 16);
        for (live.items) |other| try std.testing.expect(offset + size <= other.offset or other.offset + other.size <= offset);
        try live.append(a, .{ .offset = offset, .size = size });
    }
    for (live.items) |r| try ranges.give(a, r.offset, r.size);
    try std.testing.expect(ranges.empty());
    try std.testing.expectEqual(@as(usize, 1), ranges.free.items.len);
}
