//! The backend extensions loaded in this process, by name: the compile stage offers each as a
//! backend beside the library's own, so that the `devices` option can name its device. A load
//! takes a snapshot that holds a reference to each, so an extension unloaded meanwhile stays
//! mapped until the models that opened it are gone.
const std = @import("std");
const status = @import("../../core/status.zig");
const memory = @import("../../core/memory.zig");
const backend = @import("../../exec/backend.zig");
const library = @import("library.zig");
const device = @import("device.zig");

const Extension = library.Extension;

/// How many extensions may be loaded at once.
pub const max_loaded = 16;

var mutex: std.Thread.Mutex = .{};
var list: std.ArrayList(*Extension) = .empty;

/// Adds `extension`, whose name no loaded one may have.
pub fn add(extension: *Extension) status.Error!void {
    mutex.lock();
    defer mutex.unlock();
    for (list.items) |other| if (std.mem.eql(u8, other.name, extension.name)) {
        return status.fail(error.ExtensionError, "an extension named '{s}' is already loaded (from '{s}'); unload it first", .{ other.name, other.path });
    };
    if (list.items.len == max_loaded) return status.fail(error.ExtensionError, "{d} extensions are loaded already, the most there may be", .{max_loaded});
    list.append(memory.allocator, extension) catch return status.fail(error.OutOfResource, "out of memory", .{});
}

/// Takes `extension` off the list: models loaded later cannot name its device. False when it was
/// not on it.
pub fn remove(extension: *Extension) bool {
    mutex.lock();
    defer mutex.unlock();
    for (list.items, 0..) |other, i| if (other == extension) {
        _ = list.orderedRemove(i);
        return true;
    };
    return false;
}

/// Takes every extension off the list and drops the references the list's owners held (the last
/// finalize of the library). Models are gone by then, so each is unloaded.
pub fn removeAll() void {
    mutex.lock();
    var taken = list;
    list = .empty;
    mutex.unlock();
    defer taken.deinit(memory.allocator);
    for (taken.items) |extension| extension.release();
}

/// The backends of a model load: `builtin`, then every loaded extension, each held until deinit.
pub const Snapshot = struct {
    backends: [builtin_max + max_loaded]backend.Backend = undefined,
    count: usize = 0,
    held: [max_loaded]*Extension = undefined,
    held_count: usize = 0,

    const builtin_max = 4;

    pub fn take(builtin: []const backend.Backend) Snapshot {
        std.debug.assert(builtin.len <= builtin_max);
        var self: Snapshot = .{};
        for (builtin) |b| self.push(b);
        mutex.lock();
        defer mutex.unlock();
        for (list.items) |extension| {
            extension.retain();
            self.held[self.held_count] = extension;
            self.held_count += 1;
            self.push(device.backendOf(extension));
        }
        return self;
    }

    fn push(self: *Snapshot, b: backend.Backend) void {
        self.backends[self.count] = b;
        self.count += 1;
    }

    pub fn slice(self: *const Snapshot) []const backend.Backend {
        return self.backends[0..self.count];
    }

    pub fn deinit(self: *Snapshot) void {
        for (self.held[0..self.held_count]) |extension| extension.release();
        self.held_count = 0;
    }
};
