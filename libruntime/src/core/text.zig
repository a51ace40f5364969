//! Fixed-size, NUL-terminated text fields, as handed out through the C ABI.
const std = @import("std");

/// Copies `source` into `destination`, truncating to fit, and terminates it with NUL.
pub fn copyZ(destination: []u8, source: []const u8) void {
    std.debug.assert(destination.len > 0);
    const len = @min(source.len, destination.len - 1);
    @memcpy(destination[0..len], source[0..len]);
    destination[len] = 0;
}

test "copyZ truncates and terminates" {
    var buffer: [4]u8 = undefined;
    copyZ(&buffer, "abcdef");
    try std.testing.expectEqualStrings("abc", std.mem.sliceTo(&buffer, 0));
}
