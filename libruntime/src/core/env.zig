//! Reading the library's environment variables (TESSERA_*), one way for every OS.
//!
//! On Linux and macOS the value is the C environment's (what setenv changed), read in place as
//! std.posix.getenv does. Windows keeps its environment in UTF-16, so there is nothing to point
//! into: std.posix.getenv does not exist there, and the C runtime's getenv reads a copy made at
//! startup, which misses variables a host sets later with SetEnvironmentVariableW (Node, Deno and
//! Bun all do). So on Windows the value comes from GetEnvironmentVariableW and is converted to
//! WTF-8, the encoding std.fs takes for paths there, into a buffer the caller provides.
const std = @import("std");
const builtin = @import("builtin");
const win32 = @import("win32.zig");

const on_windows = builtin.os.tag == .windows;

/// The longest value Windows allows: 32767 UTF-16 units counting the terminator.
const max_windows_units = 32767;

/// Where `get` puts a value on Windows: room for the longest one in WTF-8 (3 bytes a unit at
/// most). Empty elsewhere, where the value stays in the environment.
pub const Buffer = [if (on_windows) max_windows_units * 3 else 0]u8;

/// The value of `name`, or null when it is not set. It lives in `buffer` on Windows and in the
/// environment elsewhere: use it before either changes.
pub fn get(comptime name: []const u8, buffer: *Buffer) ?[]const u8 {
    if (!on_windows) return std.posix.getenv(name);
    return getWindows(std.unicode.utf8ToUtf16LeStringLiteral(name), buffer);
}

fn getWindows(name: [*:0]const u16, buffer: *Buffer) ?[]const u8 {
    const windows = std.os.windows;
    var wide: [max_windows_units]u16 = undefined;
    // 0 is returned both for a missing variable (with ERROR_ENVVAR_NOT_FOUND) and for an empty
    // one (leaving the last error alone), so the last error is cleared first to tell them apart.
    windows.kernel32.SetLastError(.SUCCESS);
    const length = win32.GetEnvironmentVariableW(name, &wide, wide.len);
    if (length == 0) return if (windows.GetLastError() == .SUCCESS) "" else null;
    // A larger result is the size the value needs: longer than Windows lets a variable be.
    if (length >= wide.len) return null;
    return win32.toUtf8(buffer, wide[0..length]);
}

test "a variable that is not set reads as null" {
    var buffer: Buffer = undefined;
    try std.testing.expect(get("TESSERA_TEST_SURELY_UNSET_VARIABLE", &buffer) == null);
}

test "a set variable reads as its value" {
    if (on_windows or !builtin.link_libc) return error.SkipZigTest;
    const name = "TESSERA_TEST_ENV_VALUE";
    if (setenv(name, "a value", 1) != 0) return error.SkipZigTest;
    defer _ = unsetenv(name);
    var buffer: Buffer = undefined;
    try std.testing.expectEqualStrings("a value", get(name, &buffer).?);
}

extern "c" fn setenv(name: [*:0]const u8, value: [*:0]const u8, overwrite: c_int) c_int;
extern "c" fn unsetenv(name: [*:0]const u8) c_int;
