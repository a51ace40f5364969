//! Facts about the host machine: a stable id, its name, architecture and operating system.
const std = @import("std");
const text = @import("text.zig");
const builtin = @import("builtin");
const status = @import("status.zig");
const win32 = @import("win32.zig");

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

const on_windows = builtin.os.tag == .windows;

pub fn detect() Info {
    var info: Info = .{};
    var hostname_buffer: [hostname_capacity]u8 = undefined;
    const hostname = hostName(&hostname_buffer) orelse "unknown";
    text.copyZ(&info.name, hostname);
    text.copyZ(&info.arch, @tagName(builtin.cpu.arch));
    var id_buffer: [128]u8 = undefined;
    if (machineId(&id_buffer)) |machine_id| {
        text.copyZ(&info.id, machine_id);
    } else {
        // No machine id: a hash of the hostname is stable enough to tell hosts apart.
        var hash_buffer: [32]u8 = undefined;
        text.copyZ(&info.id, std.fmt.bufPrint(&hash_buffer, "{x:0>16}", .{std.hash.Wyhash.hash(0, hostname)}) catch "");
    }
    var os_buffer: [256]u8 = undefined;
    text.copyZ(&info.os, describeOs(&os_buffer));
    return info;
}

/// Room for the host name: POSIX's limit, or on Windows a DNS name (at most 255 characters) in
/// UTF-8.
const hostname_capacity = if (on_windows) 255 * 3 else std.posix.HOST_NAME_MAX;

fn hostName(buffer: *[hostname_capacity]u8) ?[]const u8 {
    if (!on_windows) return std.posix.gethostname(buffer) catch null;
    // The DNS host name is what gethostname gives elsewhere (the NetBIOS name is upper-cased
    // and cut to 15 characters).
    var wide: [256]u16 = undefined;
    var size: u32 = wide.len;
    if (win32.GetComputerNameExW(.dns_hostname, &wide, &size) == 0) return null;
    return win32.toUtf8(buffer, wide[0..size]);
}

/// systemd's /etc/machine-id; on Windows the MachineGuid that setup writes to the registry,
/// which likewise stays for the life of the installation.
fn machineId(buffer: []u8) ?[]const u8 {
    if (!on_windows) return readTrimmed("/etc/machine-id", buffer);
    const id = win32.readMachineString("SOFTWARE\\Microsoft\\Cryptography", "MachineGuid", buffer) orelse return null;
    return if (id.len == 0) null else id;
}

/// "Linux 6.1.0-28-amd64 (Debian GNU/Linux 12 (bookworm))"; "Windows 10.0.22631".
fn describeOs(buffer: []u8) []const u8 {
    if (on_windows) return describeWindows(buffer);
    const uts = std.posix.uname();
    const sysname = std.mem.sliceTo(&uts.sysname, 0);
    const release = std.mem.sliceTo(&uts.release, 0);
    var release_buffer: [4096]u8 = undefined;
    const pretty = prettyName(&release_buffer);
    if (pretty) |name| return std.fmt.bufPrint(buffer, "{s} {s} ({s})", .{ sysname, release, name }) catch sysname;
    return std.fmt.bufPrint(buffer, "{s} {s}", .{ sysname, release }) catch sysname;
}

/// Windows' version and build number. RtlGetVersion tells the truth where GetVersionEx would
/// say 6.2 to a program without a compatibility manifest. The registry's ProductName is left
/// out: Windows 11 still calls itself "Windows 10" there.
fn describeWindows(buffer: []u8) []const u8 {
    const windows = std.os.windows;
    var version = std.mem.zeroes(windows.RTL_OSVERSIONINFOW);
    version.dwOSVersionInfoSize = @sizeOf(windows.RTL_OSVERSIONINFOW);
    if (windows.ntdll.RtlGetVersion(&version) != .SUCCESS) return "Windows";
    return std.fmt.bufPrint(buffer, "Windows {d}.{d}.{d}", .{ version.dwMajorVersion, version.dwMinorVersion, version.dwBuildNumber }) catch "Windows";
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
