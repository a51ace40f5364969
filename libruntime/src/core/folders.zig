//! Creating a folder and its parents, one component at a time. std.fs.Dir.makePath retries
//! while mkdir says a parent is missing, which on /proc (mkdir gives ENOENT under an existing
//! folder) never ends; here each component is tried once.
const std = @import("std");
const files = @import("files.zig");
const status = @import("status.zig");
const os_error = @import("os_error.zig");

pub fn make(path: []const u8) status.Error!void {
    if (path.len == 0) return status.fail(error.InvalidArgument, "the folder path is empty", .{});
    // Components after the root ("/", and on Windows "C:\", "\\server\share\"), with either
    // separator on Windows. Windows namespace paths (\\?\...) are refused as BadPathName.
    var components = std.fs.path.componentIterator(path) catch |e| return failed(path, path, e);
    while (components.next()) |component| {
        const prefix = component.path;
        std.fs.cwd().makeDir(prefix) catch |e| switch (e) {
            error.PathAlreadyExists => {
                const stat = files.stat(prefix) catch |se| return failed(path, prefix, se);
                if (stat.kind != .directory) {
                    return status.fail(error.IOError, "cannot create folder '{s}': '{s}' exists and is not a folder", .{ path, prefix });
                }
            },
            else => return failed(path, prefix, e),
        };
    }
}

fn failed(path: []const u8, prefix: []const u8, e: anyerror) status.Error {
    return status.fail(error.IOError, "cannot create folder '{s}' ('{s}': {s})", .{ path, prefix, os_error.describe(e) });
}

test "makes nested folders once, and refuses a file in the way or /proc" {
    var tmp = std.testing.tmpDir(.{});
    defer tmp.cleanup();
    var buffer: [std.fs.max_path_bytes]u8 = undefined;
    const root = try tmp.dir.realpath(".", &buffer);
    var path_buffer: [std.fs.max_path_bytes]u8 = undefined;
    const nested = try std.fmt.bufPrint(&path_buffer, "{s}/a/b/c", .{root});
    try make(nested);
    try make(nested); // already there
    try tmp.dir.writeFile(.{ .sub_path = "file", .data = "x" });
    var file_buffer: [std.fs.max_path_bytes]u8 = undefined;
    try std.testing.expectError(error.IOError, make(try std.fmt.bufPrint(&file_buffer, "{s}/file/d", .{root})));
    if (@import("builtin").os.tag == .linux) {
        var proc_buffer: [64]u8 = undefined;
        const proc = try std.fmt.bufPrint(&proc_buffer, "/proc/{d}/tessera-test/x", .{std.os.linux.getpid()});
        try std.testing.expectError(error.IOError, make(proc));
    }
}
