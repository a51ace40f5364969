//! Run values leaving the executor: copied into caller-owned tensors (request outputs and
//! getTensor), or written to a folder as tensor files (the intermediateSavePath option).
const std = @import("std");
const builtin = @import("builtin");
const status = @import("../core/status.zig");
const tensor_module = @import("../tensor/tensor.zig");
const file = @import("../tensor/file.zig");
const value = @import("value.zig");

/// A new tensor the caller owns, holding a copy of `source`.
pub fn copyOut(source: *const value.Tensor) status.Error!*tensor_module.Tensor {
    const copy = try tensor_module.Tensor.create(try tensor_module.Layout.init(source.dtype, source.shape));
    errdefer copy.destroy();
    try copyInto(source, copy);
    return copy;
}

/// Fills the caller's `target` with `source`: element type and shape must match.
pub fn copyInto(source: *const value.Tensor, target: *tensor_module.Tensor) status.Error!void {
    if (source.dtype == .string) {
        for (source.strings, 0..) |s, i| try target.setString(i, s);
    } else {
        @memcpy(target.data[0..source.data.len], source.data);
    }
}

/// Writes `tensor` to `folder`/`name`.tsr, the name made safe for a file system.
pub fn save(tensor: *const value.Tensor, folder: []const u8, name: []const u8) status.Error!void {
    var file_name: [200]u8 = undefined;
    const stem_length = @min(name.len, file_name.len - 4);
    for (name[0..stem_length], file_name[0..stem_length]) |c, *out| {
        out.* = if (std.ascii.isAlphanumeric(c) or c == '-' or c == '_' or c == '.') c else '_';
    }
    const device_name = builtin.os.tag == .windows and isWindowsDeviceName(file_name[0..stem_length]);
    if (stem_length == 0 or file_name[0] == '.' or device_name) file_name[0] = '_';
    @memcpy(file_name[stem_length..][0..4], ".tsr");
    var path_buffer: [std.fs.max_path_bytes]u8 = undefined;
    const path = std.fmt.bufPrint(&path_buffer, "{s}/{s}", .{ folder, file_name[0 .. stem_length + 4] }) catch
        return status.fail(error.InvalidArgument, "intermediate save path '{s}' is too long", .{folder});
    const copy = try copyOut(tensor);
    defer copy.destroy();
    try file.save(copy, path);
}

/// Whether Windows would open a device for `stem`.tsr: CON, PRN, AUX, NUL, COM0-9 and LPT0-9
/// name devices in any folder, in any case, whatever extension follows (up to Windows 10).
fn isWindowsDeviceName(stem: []const u8) bool {
    const base = stem[0 .. std.mem.indexOfScalar(u8, stem, '.') orelse stem.len];
    for ([_][]const u8{ "con", "prn", "aux", "nul" }) |device| {
        if (std.ascii.eqlIgnoreCase(base, device)) return true;
    }
    if (base.len != 4 or !std.ascii.isDigit(base[3])) return false;
    return std.ascii.eqlIgnoreCase(base[0..3], "com") or std.ascii.eqlIgnoreCase(base[0..3], "lpt");
}

test "Windows device names are recognized whatever their case and extension" {
    try std.testing.expect(isWindowsDeviceName("aux"));
    try std.testing.expect(isWindowsDeviceName("Con.output"));
    try std.testing.expect(isWindowsDeviceName("LPT1"));
    try std.testing.expect(!isWindowsDeviceName("auxiliary"));
    try std.testing.expect(!isWindowsDeviceName("com"));
    try std.testing.expect(!isWindowsDeviceName("comx"));
}
