//! C exports: backend extensions (include/tessera_backend.h). Loading one opens the shared
//! library, registers its backend and adds its device ("name:0") to those the `devices` load
//! option may name; destroying the handle takes the device away from later loads, and the
//! library is closed once no model loaded with it is left. The last tsr_finalize unloads those
//! still loaded.
const std = @import("std");
const args = @import("args.zig");
const context = @import("context.zig");
const registry = @import("../core/registry.zig");
const status = @import("../core/status.zig");
const log = @import("../core/log.zig");
const library = @import("../backends/extension/library.zig");
const loaded = @import("../backends/extension/loaded.zig");

pub const Extension = library.Extension;

/// TSR_EXTENSION_* keys of tsr_extension_get_string.
pub const ExtensionStringKey = enum(i32) { name = 0, device = 1, path = 2, description = 3 };

pub fn tsr_extension_load(path: ?[*:0]const u8, extension: ?*?*Extension) callconv(.c) i32 {
    return status.report(extensionLoad(path, extension));
}

fn extensionLoad(path: ?[*:0]const u8, extension: ?*?*Extension) status.Error!void {
    const out = try args.out(?*Extension, extension, "extension");
    const text = try args.string(path, "path");
    try context.require();
    const self = try library.load(text);
    errdefer self.release();
    try loaded.add(self);
    errdefer _ = loaded.remove(self);
    try registry.add(self, .extension);
    log.write(.info, "loaded extension {s} ({s}) from {s}", .{ self.name, self.device, self.path });
    out.* = self;
}

pub fn tsr_extension_destroy(extension: ?*Extension) callconv(.c) void {
    const self = extension orelse return;
    if (!registry.remove(self, .extension)) return;
    _ = loaded.remove(self);
    self.release();
}

pub fn tsr_extension_get_string(extension: ?*const Extension, key: i32, value: ?*?[*:0]const u8) callconv(.c) i32 {
    return status.report(extensionString(extension, key, value));
}

fn extensionString(extension: ?*const Extension, key: i32, value: ?*?[*:0]const u8) status.Error!void {
    const out = try args.out(?[*:0]const u8, value, "value");
    const self = try registry.get(Extension, extension, .extension);
    const k = std.meta.intToEnum(ExtensionStringKey, key) catch
        return status.fail(error.InvalidArgument, "unknown extension string key {d}", .{key});
    out.* = switch (k) {
        .name => self.name,
        .device => self.device,
        .path => self.path,
        .description => self.description,
    };
}
