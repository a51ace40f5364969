//! The host's memory now, from the OS: the total, what is available to allocate (Linux's
//! MemAvailable, which counts reclaimable caches), and this process's resident set.
const std = @import("std");
const builtin = @import("builtin");
const status = @import("../core/status.zig");

pub const Figures = struct { total_bytes: u64, available_bytes: u64, process_bytes: u64 };

pub fn read() status.Error!Figures {
    if (builtin.os.tag != .linux) {
        return status.fail(error.NotImplemented, "free host memory is read on Linux only so far", .{});
    }
    var buffer: [4096]u8 = undefined;
    const meminfo = readFile("/proc/meminfo", &buffer) orelse
        return status.fail(error.OSError, "cannot read /proc/meminfo", .{});
    const total = field(meminfo, "MemTotal:") orelse return status.fail(error.OSError, "/proc/meminfo has no MemTotal", .{});
    const available = field(meminfo, "MemAvailable:") orelse field(meminfo, "MemFree:") orelse 0;
    var statm_buffer: [256]u8 = undefined;
    const statm = readFile("/proc/self/statm", &statm_buffer) orelse "";
    var words = std.mem.tokenizeScalar(u8, statm, ' ');
    _ = words.next(); // the virtual size; the resident pages follow
    const resident_pages = std.fmt.parseInt(u64, words.next() orelse "0", 10) catch 0;
    return .{ .total_bytes = total * 1024, .available_bytes = available * 1024, .process_bytes = resident_pages * std.heap.pageSize() };
}

fn readFile(path: []const u8, buffer: []u8) ?[]const u8 {
    const file = std.fs.openFileAbsolute(path, .{}) catch return null;
    defer file.close();
    const len = file.readAll(buffer) catch return null;
    return buffer[0..len];
}

/// The kB figure of a /proc/meminfo line ("MemTotal:       16302744 kB").
fn field(text: []const u8, name: []const u8) ?u64 {
    var lines = std.mem.splitScalar(u8, text, '\n');
    while (lines.next()) |line| {
        if (!std.mem.startsWith(u8, line, name)) continue;
        var words = std.mem.tokenizeScalar(u8, line[name.len..], ' ');
        return std.fmt.parseInt(u64, words.next() orelse return null, 10) catch null;
    }
    return null;
}

test "meminfo fields are read in kB" {
    const text = "MemTotal:       16302744 kB\nMemFree:          802412 kB\nMemAvailable:    9000000 kB\n";
    try std.testing.expectEqual(@as(?u64, 16302744), field(text, "MemTotal:"));
    try std.testing.expectEqual(@as(?u64, 9000000), field(text, "MemAvailable:"));
    try std.testing.expectEqual(@as(?u64, null), field(text, "SwapTotal:"));
    if (builtin.os.tag == .linux) {
        const figures = try read();
        try std.testing.expect(figures.available_bytes <= figures.total_bytes and figures.process_bytes > 0);
    }
}
