//! Facts about the host machine: a stable id, its name, architecture and operating system.
const std = @import("std");
const text = @import("text.zig");
const builtin = @import("builtin");
const status = @import("status.zig");

/// TSR_HOST_* keys of tsr_host_get_string.
pub const Key = enum(i32) { id = 0, name = 1, arch = 2, os = 3 };

pub const Info = struct {
    id: [64]u8 = [_]u8{0} ** 64,
    name: [256]u8 = [_]u8{0} ** 256,
    arch: [32]u8 = [_]u8{0} ** 32,
    os: [256]u8 = [_]u8{0} ** 256,

    pub fn get(self: *const Info, key: i32) status.Error![*:0]const u8 {
        const k = std.meta.intToEnum(Key, key) catch
            return status.fail(error.InvalidArgument, "unknown host key {d}", .{key});
        return switch (k) {
            .id => @ptrCast(&self.id),
            .name => @ptrCast(&self.name),
            .arch => @ptrCast(&self.arch),
            .os => @ptrCast(&self.os),
        };
    }
};

pub fn detect() Info {
    var info: Info = .{};
    var hostname_buffer: [std.posix.HOST_NAME_MAX]u8 = undefined;
    const hostname = std.posix.gethostname(&hostname_buffer) catch "unknown";
    text.copyZ(&info.name, hostname);
    text.copyZ(&info.arch, @tagName(builtin.cpu.arch));
    var id_buffer: [128]u8 = undefined;
    if (readTrimmed("/etc/machine-id", &id_buffer)) |machine_id| {
        text.copyZ(&info.id, machine_id);
    } else {
        // No machine-id: a hash of the hostname is stable enough to tell hosts apart.
        var hash_buffer: [32]u8 = undefined;
        text.copyZ(&info.id, std.fmt.bufPrint(&hash_buffer, "{x:0>16}", .{std.hash.Wyhash.hash(0, hostname)}) catch "");
    }
    var os_buffer: [256]u8 = undefined;
    text.copyZ(&info.os, describeOs(&os_buffer));
    return info;
}

/// "Linux 6.1.0-28-amd64 (Debian GNU/Linux 12 (bookworm))"
fn describeOs(buffer: []u8) []const u8 {
    const uts = std.posix.uname();
    const sysname = std.mem.sliceTo(&uts.sysname, 0);
    const release = std.mem.sliceTo(&uts.release, 0);
    var release_buffer: [4096]u8 = undefined;
    const pretty = prettyName(&release_buffer);
    if (pretty) |name| return std.fmt.bufPrint(buffer, "{s} {s} ({s})", .{ sysname, release, name }) catch sysname;
    return std.fmt.bufPrint(buffer, "{s} {s}", .{ sysname, release }) catch sysname;
}

fn prettyName(buffer: []u8) ?[]const u8 {
    const release = readTrimmed("/etc/os-release", buffer) orelse return null;
    var lines = std.mem.splitScalar(u8, release, '\n');
    while (lines.next()) |line| {
        if (!std.mem.startsWith(u8, line, "PRETTY_NAME=")) continue;
        return std.mem.trim(u8, line["PRETTY_NAME=".len..], "\"");
    }
    return null;
}

fn readTrimmed(path: []const u8, buffer: []u8) ?[]const u8 {
    const file = std.fs.cwd().openFile(path, .{}) catch return null;
    defer file.close();
    const len = file.readAll(buffer) catch return null;
    const trimmed = std.mem.trim(u8, buffer[0..len], " \t\r\n");
    return if (trimmed.len == 0) null else trimmed;
}


test "host facts are filled" {
    const info = detect();
    try std.testing.expect(std.mem.span(try info.get(0)).len > 0);
    try std.testing.expectEqualStrings(@tagName(builtin.cpu.arch), std.mem.span(try info.get(2)));
    try std.testing.expectError(error.InvalidArgument, info.get(42));
}
