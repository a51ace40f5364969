//! The compiled-model cache around the compile stage (docs/model-cache.md). Before the devices
//! compile, the load's key is computed and its entry, when the folder holds a valid one, is
//! mapped and handed to the devices that reuse compiled data (backend.Reuse); after, when the
//! entry was missing, damaged or did not serve everything, a new one is written.
//!
//! The key covers everything that decides what the devices compile: the model's bytes and its
//! external data (BLAKE3), the library version and build, the CPU level of this copy of the
//! library, each device's own identity (the GEMM kernel variant and blocking), and the load
//! options that change compilation (devices, strict, input shapes, memory optimization,
//! denormal flushing). Threads and cores are not in it: no packing depends on them. A changed key
//! names another file, so it is a miss, never a wrong answer.
//!
//! Encrypted models are not cached: an entry would put their weights on disk in the clear.
const std = @import("std");
const build_options = @import("build_options");
const env = @import("../core/env.zig");
const log = @import("../core/log.zig");
const memory = @import("../core/memory.zig");
const status = @import("../core/status.zig");
const model_module = @import("../model/model.zig");
const options_module = @import("../model/options.zig");
const backend = @import("backend.zig");
const cache_file = @import("cache_file.zig");
const partition = @import("partition.zig");

pub const environment_variable = "TESSERA_CACHE_DIR";

/// The folder the load caches in: the cacheDir option; unset, TESSERA_CACHE_DIR; empty
/// (either way): none.
pub fn folderOf(options: *const options_module.Options, buffer: *env.Buffer) ?[]const u8 {
    const folder = options.cache_dir orelse env.get(environment_variable, buffer) orelse return null;
    return if (folder.len == 0) null else folder;
}

pub const Session = struct {
    path_buffer: [std.fs.max_path_bytes]u8 = undefined,
    /// The entry's file; null when this load does not cache.
    path: ?[]const u8 = null,
    digest: cache_file.Digest = undefined,
    key_text: []u8 = &.{},
    entry: ?*cache_file.Entry = null,

    /// Computes the key, maps the entry, and starts every reusing device with it and with the
    /// same device of `donor` (the model a hot update replaces). `devices` must outlive the
    /// session.
    pub fn begin(self: *Session, model: *model_module.Model, devices: partition.Devices, donor: ?partition.Devices) status.Error!void {
        errdefer self.deinit();
        var env_buffer: env.Buffer = undefined;
        if (folderOf(&model.options, &env_buffer)) |folder| {
            if (model.source.plaintext != null) {
                log.write(.debug, "compiled-model cache: an encrypted model is never cached", .{});
            } else {
                try self.open(model, devices, folder);
            }
        }
        for (devices.list, 0..) |device, i| {
            const reuse = device.vtable.reuse orelse continue;
            reuse.begin(device.context, self.entry, @intCast(i), if (donor) |d| sameDevice(d, device) else null);
        }
    }

    fn open(self: *Session, model: *model_module.Model, devices: partition.Devices, folder: []const u8) status.Error!void {
        self.key_text = try keyText(model, devices);
        std.crypto.hash.Blake3.hash(self.key_text, &self.digest, .{});
        const path = try cache_file.entryPath(&self.path_buffer, folder, self.digest);
        self.path = path;
        switch (cache_file.open(path, self.digest)) {
            .entry => |entry| {
                self.entry = entry;
                log.write(.debug, "compiled-model cache: using {s}", .{path});
            },
            .rejected => |why| if (why == .missing) {
                log.write(.debug, "compiled-model cache: no entry yet at {s}", .{path});
            } else {
                log.write(.warn, "compiled-model cache: ignoring {s} ({s}); it will be rewritten", .{ path, why.text() });
            },
        }
    }

    /// After the compile: ends every device's reuse, and writes a new entry when one is due.
    /// A failed write is logged and the load goes on: the cache only saves time.
    pub fn finish(self: *Session, devices: partition.Devices) void {
        var stale = false;
        for (devices.list) |device| {
            const reuse = device.vtable.reuse orelse continue;
            if (reuse.end(device.context)) stale = true;
        }
        const path = self.path orelse return;
        if (!stale and self.entry != null) return;
        self.write(devices, path) catch log.write(.warn, "compiled-model cache: not written: {s}", .{std.mem.span(status.lastMessage())});
    }

    fn write(self: *Session, devices: partition.Devices, path: []const u8) status.Error!void {
        var sections: std.ArrayList(cache_file.Outgoing) = .empty;
        defer sections.deinit(memory.allocator);
        for (devices.list) |device| {
            const reuse = device.vtable.reuse orelse continue;
            try reuse.persist(device.context, &sections);
        }
        // A model with nothing packed has nothing worth keeping.
        if (sections.items.len == 0) return;
        try cache_file.write(path, self.digest, self.key_text, sections.items);
        log.write(.debug, "compiled-model cache: wrote {s} ({d} operands)", .{ path, sections.items.len });
    }

    pub fn deinit(self: *Session) void {
        if (self.entry) |entry| entry.release();
        self.entry = null;
        memory.allocator.free(self.key_text);
        self.key_text = &.{};
    }
};

/// The device of `donor` that has `device`'s backend, as compiled for the replaced model.
fn sameDevice(donor: partition.Devices, device: backend.Instance) ?*anyopaque {
    for (donor.list) |d| if (d.vtable == device.vtable) return d.context;
    return null;
}

/// What the key covers, as text: the entry keeps it for people to read, its digest names it.
pub fn keyText(model: *model_module.Model, devices: partition.Devices) status.Error![]u8 {
    var text: std.Io.Writer.Allocating = .init(memory.allocator);
    errdefer text.deinit();
    writeKey(&text.writer, model, devices) catch return status.fail(error.OutOfResource, "out of memory building the cache key", .{});
    return text.toOwnedSlice() catch status.fail(error.OutOfResource, "out of memory building the cache key", .{});
}

fn writeKey(out: *std.Io.Writer, model: *model_module.Model, devices: partition.Devices) !void {
    try out.print("tessera compiled model, format {d}\n", .{cache_file.format_version});
    try out.print("library {s} ({s}), cpu level {s}\n", .{ build_options.version, build_options.optimize, build_options.cpu_level });
    for (devices.list) |device| {
        try out.print("device {s}\n", .{device.vtable.device});
        if (device.vtable.reuse) |reuse| try reuse.identity(device.context, out);
    }
    const o = &model.options;
    try out.print("options devices={s} strict={} memory_optimization={} disable_denormals={} input_shapes={s}\n", .{
        o.devices, o.strict, o.memory_optimization, o.disable_denormals, o.input_shapes,
    });
    try out.print("model {s}\n", .{&digestHex(model.source.bytes)});
    // External files in name order, so the key does not depend on the order they were read in.
    const names = try memory.allocator.alloc([]const u8, model.source.external.count());
    defer memory.allocator.free(names);
    var it = model.source.external.keyIterator();
    var i: usize = 0;
    while (it.next()) |name| : (i += 1) names[i] = name.*;
    std.mem.sort([]const u8, names, {}, lessThan);
    for (names) |name| try out.print("external {s} {s}\n", .{ name, &digestHex(model.source.external.get(name).?) });
}

fn lessThan(_: void, a: []const u8, b: []const u8) bool {
    return std.mem.order(u8, a, b) == .lt;
}

fn digestHex(bytes: []const u8) [64]u8 {
    var digest: cache_file.Digest = undefined;
    std.crypto.hash.Blake3.hash(bytes, &digest, .{});
    return std.fmt.bytesToHex(digest, .lower);
}
