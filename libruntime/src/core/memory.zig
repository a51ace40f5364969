//! The library's allocator: libc's malloc with atomic counters on top, so that tests and users can
//! see the runtime's own live and peak bytes (tsr_stats_get), and leaks show up as numbers.
const std = @import("std");

var live_bytes = std.atomic.Value(u64).init(0);
var peak_bytes = std.atomic.Value(u64).init(0);
var allocations_total = std.atomic.Value(u64).init(0);

pub const allocator: std.mem.Allocator = .{
    .ptr = undefined,
    .vtable = &.{ .alloc = alloc, .resize = resize, .remap = remap, .free = free },
};

pub fn liveBytes() u64 {
    return live_bytes.load(.monotonic);
}

pub fn peakBytes() u64 {
    return peak_bytes.load(.monotonic);
}

pub fn allocationsTotal() u64 {
    return allocations_total.load(.monotonic);
}

fn grow(len: usize) void {
    const now = live_bytes.fetchAdd(len, .monotonic) + len;
    _ = allocations_total.fetchAdd(1, .monotonic);
    var peak = peak_bytes.load(.monotonic);
    while (now > peak) {
        peak = peak_bytes.cmpxchgWeak(peak, now, .monotonic, .monotonic) orelse break;
    }
}

fn shrink(len: usize) void {
    _ = live_bytes.fetchSub(len, .monotonic);
}

const backing = std.heap.c_allocator;

fn alloc(_: *anyopaque, len: usize, alignment: std.mem.Alignment, ret_addr: usize) ?[*]u8 {
    const memory = backing.vtable.alloc(backing.ptr, len, alignment, ret_addr) orelse return null;
    grow(len);
    return memory;
}

fn resize(_: *anyopaque, memory: []u8, alignment: std.mem.Alignment, new_len: usize, ret_addr: usize) bool {
    if (!backing.vtable.resize(backing.ptr, memory, alignment, new_len, ret_addr)) return false;
    shrink(memory.len);
    grow(new_len);
    return true;
}

fn remap(_: *anyopaque, memory: []u8, alignment: std.mem.Alignment, new_len: usize, ret_addr: usize) ?[*]u8 {
    const moved = backing.vtable.remap(backing.ptr, memory, alignment, new_len, ret_addr) orelse return null;
    shrink(memory.len);
    grow(new_len);
    return moved;
}

fn free(_: *anyopaque, memory: []u8, alignment: std.mem.Alignment, ret_addr: usize) void {
    backing.vtable.free(backing.ptr, memory, alignment, ret_addr);
    shrink(memory.len);
}

test "live bytes return to where they started" {
    const before = liveBytes();
    const block = try allocator.alloc(u8, 4096);
    try std.testing.expectEqual(before + 4096, liveBytes());
    try std.testing.expect(peakBytes() >= before + 4096);
    allocator.free(block);
    try std.testing.expectEqual(before, liveBytes());
}
