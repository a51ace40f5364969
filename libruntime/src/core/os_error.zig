//! System errors in words, for messages: a user reads "too many levels of symbolic links", not
//! Zig's error name "SymLinkLoop".
const std = @import("std");

pub fn describe(err: anyerror) []const u8 {
    return switch (err) {
        error.FileNotFound => "no such file",
        error.AccessDenied, error.PermissionDenied => "permission denied",
        error.IsDir => "it is a folder",
        error.NotDir => "a part of the path is not a folder",
        error.SymLinkLoop => "too many levels of symbolic links",
        error.NameTooLong => "the path is too long",
        error.BadPathName, error.InvalidUtf8, error.InvalidWtf8 => "the path is not valid",
        error.NoSpaceLeft => "no space left on the device",
        error.DiskQuota => "the disk quota is exceeded",
        error.FileTooBig => "the file is too large",
        error.FileBusy, error.DeviceBusy => "the file or device is busy",
        error.ReadOnlyFileSystem => "the file system is read-only",
        error.PathAlreadyExists => "it already exists",
        error.MemoryMappingNotSupported => "it cannot be memory-mapped (not a regular file)",
        error.ProcessFdQuotaExceeded, error.SystemFdQuotaExceeded => "too many open files",
        error.SystemResources, error.OutOfMemory => "the system is out of resources",
        error.InputOutput => "an input/output error",
        error.WouldBlock => "it would block (a pipe or device with nothing to read)",
        error.NoDevice => "no such device",
        error.BrokenPipe => "the pipe is closed",
        error.WriteFailed, error.ReadFailed => "an input/output error",
        error.LockViolation => "the file is locked",
        error.Unexpected => "an unexpected system error",
        else => words(@errorName(err)),
    };
}

threadlocal var words_buffer: [96]u8 = undefined;

/// An error this table lacks, in lower-case words ("VulkanLoaderMissing": "vulkan loader missing").
fn words(name: []const u8) []const u8 {
    var len: usize = 0;
    for (name, 0..) |c, i| {
        if (len + 2 > words_buffer.len) break;
        if (std.ascii.isUpper(c) and i > 0) {
            words_buffer[len] = ' ';
            len += 1;
        }
        words_buffer[len] = std.ascii.toLower(c);
        len += 1;
    }
    return words_buffer[0..len];
}

test "error names become words" {
    try std.testing.expectEqualStrings("too many levels of symbolic links", describe(error.SymLinkLoop));
    try std.testing.expectEqualStrings("something new", describe(error.SomethingNew));
}
