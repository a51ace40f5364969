//! The set of live handles. Every handle that crosses the C ABI is registered here, so a call with
//! a destroyed, foreign or wrong-kind pointer gets TSR_INVALID_ARGUMENT instead of touching freed
//! memory, and finalize can tell exactly which objects are still alive.
const std = @import("std");
const memory = @import("memory.zig");
const status = @import("status.zig");

pub const Kind = enum(u8) { tensor, device, model, options, job, tensor_info, request, extension };

var mutex: std.Thread.Mutex = .{};
var handles: std.AutoHashMapUnmanaged(usize, Kind) = .empty;
var counts = std.EnumArray(Kind, u32).initFill(0);

pub fn add(pointer: *const anyopaque, kind: Kind) status.Error!void {
    mutex.lock();
    defer mutex.unlock();
    handles.put(memory.allocator, @intFromPtr(pointer), kind) catch
        return status.fail(error.OutOfResource, "out of memory registering a handle", .{});
    counts.getPtr(kind).* += 1;
}

/// Removes a handle; false when it was not registered (already destroyed or never created here).
pub fn remove(pointer: *const anyopaque, kind: Kind) bool {
    mutex.lock();
    defer mutex.unlock();
    const entry = handles.get(@intFromPtr(pointer)) orelse return false;
    if (entry != kind) return false;
    _ = handles.remove(@intFromPtr(pointer));
    counts.getPtr(kind).* -= 1;
    shrinkIfSparse();
    return true;
}

/// After a burst of handles dies, give the table's memory back so live bytes return to where
/// they were. Rebuilding costs O(live), paid at most once per halving: amortized O(1).
fn shrinkIfSparse() void {
    const capacity = handles.capacity();
    if (capacity <= 64 or handles.count() * 8 > capacity) return;
    var smaller: std.AutoHashMapUnmanaged(usize, Kind) = .empty;
    smaller.ensureTotalCapacity(memory.allocator, handles.count() * 2) catch return;
    var entries = handles.iterator();
    while (entries.next()) |entry| smaller.putAssumeCapacity(entry.key_ptr.*, entry.value_ptr.*);
    handles.deinit(memory.allocator);
    handles = smaller;
}

/// Checks that `pointer` is a live handle of `kind`, and returns it typed.
pub fn get(comptime T: type, pointer: ?*const T, kind: Kind) status.Error!*T {
    const p = pointer orelse return status.fail(error.InvalidArgument, "{s} handle is NULL", .{@tagName(kind)});
    mutex.lock();
    defer mutex.unlock();
    const entry = handles.get(@intFromPtr(p)) orelse
        return status.fail(error.InvalidArgument, "not a live {s} handle (destroyed or foreign)", .{@tagName(kind)});
    if (entry != kind) {
        return status.fail(error.InvalidArgument, "handle is a {s}, not a {s}", .{ @tagName(entry), @tagName(kind) });
    }
    return @constCast(p);
}

pub fn count(kind: Kind) u32 {
    mutex.lock();
    defer mutex.unlock();
    return counts.get(kind);
}

/// Frees the table itself once the library is finalized with nothing alive.
pub fn reset() void {
    mutex.lock();
    defer mutex.unlock();
    handles.deinit(memory.allocator);
    handles = .empty;
}

test "the table shrinks back after a burst" {
    var objects: [1000]u8 = undefined;
    const before = memory.liveBytes();
    for (&objects) |*object| try add(object, .tensor);
    try std.testing.expect(memory.liveBytes() > before);
    for (&objects) |*object| try std.testing.expect(remove(object, .tensor));
    try std.testing.expect(memory.liveBytes() <= before + 2048);
}

test "a removed handle is rejected" {
    var object: u64 = 7;
    try add(&object, .tensor);
    _ = try get(u64, &object, .tensor);
    try std.testing.expectError(error.InvalidArgument, get(u64, &object, .device));
    try std.testing.expect(remove(&object, .tensor));
    try std.testing.expect(!remove(&object, .tensor));
    try std.testing.expectError(error.InvalidArgument, get(u64, &object, .tensor));
}
