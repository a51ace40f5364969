//! Files one way for every OS: what a path names (folders included), what an open file is, and
//! read-only mappings of a file (mmap; CreateFileMappingW and MapViewOfFile on Windows).
const std = @import("std");
const builtin = @import("builtin");
const win32 = @import("win32.zig");

const on_windows = builtin.os.tag == .windows;

/// A read-only mapping of a file; release it with `unmap`.
pub const Mapping = []align(std.heap.page_size_min) const u8;

/// Stats the file or folder at `path`. On Windows std's statFile opens the path as a file, which
/// fails with IsDir for a folder; the folder is then opened as one and stat'ed.
pub fn stat(path: []const u8) !std.fs.File.Stat {
    return std.fs.cwd().statFile(path) catch |e| switch (e) {
        error.IsDir => {
            var dir = try std.fs.cwd().openDir(path, .{});
            defer dir.close();
            return dir.stat();
        },
        else => return e,
    };
}

/// What the open `file` is. On Windows std's stat tells only folders and links from "files", so
/// pipes and character devices (a console, NUL) are told apart by GetFileType first.
pub fn kind(file: std.fs.File) !std.fs.File.Kind {
    if (on_windows) {
        switch (win32.GetFileType(file.handle)) {
            win32.FILE_TYPE_DISK => {},
            win32.FILE_TYPE_CHAR => return .character_device,
            win32.FILE_TYPE_PIPE => return .named_pipe,
            else => return .unknown,
        }
    }
    return (try file.stat()).kind;
}

/// Maps the first `size` bytes (more than 0) of `file` read-only. The mapping outlives the file
/// handle, which may be closed at once.
pub fn map(file: std.fs.File, size: u64) !Mapping {
    if (on_windows) return mapWindows(file, size);
    return std.posix.mmap(null, @intCast(size), std.posix.PROT.READ, .{ .TYPE = .PRIVATE }, file.handle, 0);
}

pub fn unmap(mapping: Mapping) void {
    if (on_windows) {
        _ = win32.UnmapViewOfFile(mapping.ptr);
        return;
    }
    std.posix.munmap(mapping);
}

fn mapWindows(file: std.fs.File, size: u64) !Mapping {
    const windows = std.os.windows;
    const length = std.math.cast(usize, size) orelse return error.FileTooBig;
    // A read-only section of exactly `size` bytes: one cannot grow the file, so a file that has
    // shrunk since its size was read fails here instead of faulting when the bytes are read.
    const section = win32.CreateFileMappingW(file.handle, null, windows.PAGE_READONLY, @truncate(size >> 32), @truncate(size), null) orelse
        return mapError();
    // The view keeps the section (and the file) open; its handle is not needed past mapping.
    defer windows.CloseHandle(section);
    const view = win32.MapViewOfFile(section, win32.FILE_MAP_READ, 0, 0, length) orelse return mapError();
    // Views start on the allocation granularity (64 KiB), a multiple of the page size.
    const bytes: [*]align(std.heap.page_size_min) const u8 = @ptrCast(@alignCast(view));
    return bytes[0..length];
}

fn mapError() error{ AccessDenied, LockViolation, SystemResources, Unexpected } {
    return switch (std.os.windows.GetLastError()) {
        .ACCESS_DENIED => error.AccessDenied,
        .LOCK_VIOLATION => error.LockViolation,
        .NOT_ENOUGH_MEMORY, .OUTOFMEMORY, .COMMITMENT_LIMIT, .NO_SYSTEM_RESOURCES => error.SystemResources,
        else => error.Unexpected,
    };
}

test "a folder stats as a folder, and a mapped file reads back" {
    var tmp = std.testing.tmpDir(.{});
    defer tmp.cleanup();
    var buffer: [std.fs.max_path_bytes]u8 = undefined;
    const root = try tmp.dir.realpath(".", &buffer);
    try std.testing.expectEqual(std.fs.File.Kind.directory, (try stat(root)).kind);

    try tmp.dir.writeFile(.{ .sub_path = "bytes", .data = "mapped bytes" });
    const file = try tmp.dir.openFile("bytes", .{});
    const size = try file.getEndPos();
    try std.testing.expectEqual(std.fs.File.Kind.file, try kind(file));
    const mapping = try map(file, size);
    file.close();
    defer unmap(mapping);
    try std.testing.expectEqualStrings("mapped bytes", mapping);
}
