//! One backend extension: a shared library opened from a path (dlopen; LoadLibrary on Windows),
//! its entry point called once, and the vtable it returned checked and copied. Each is
//! reference-counted: its handle holds one reference and every device opened from it for a model
//! holds one, so the library stays mapped while any model can still call into it, and is closed
//! (after its `unload`) when the last of them goes.
const std = @import("std");
const builtin = @import("builtin");
const status = @import("../../core/status.zig");
const memory = @import("../../core/memory.zig");
const files = @import("../../core/files.zig");
const options_module = @import("../../model/options.zig");
const host = @import("host.zig");

const c = host.c;

pub const Extension = struct {
    references: std.atomic.Value(u32) = .init(1),
    library: SharedLibrary,
    /// The extension's vtable, copied; fields past the size it declared are zero (absent).
    vtable: c.tsr_backend,
    /// Its device kind ("myext"), its device ("myext:0"), its absolute path and its description,
    /// owned here: model.operations points at `device` for as long as a model uses the extension.
    name: [:0]const u8,
    device: [:0]const u8,
    path: [:0]const u8,
    description: [:0]const u8,
    /// Taken around every call into a device of an extension that is not TSR_BACKEND_THREAD_SAFE.
    serial: std.Thread.Mutex = .{},

    pub fn retain(self: *Extension) void {
        _ = self.references.fetchAdd(1, .monotonic);
    }

    /// Drops one reference; the last unloads the library and frees the record.
    pub fn release(self: *Extension) void {
        if (self.references.fetchSub(1, .acq_rel) != 1) return;
        if (self.vtable.unload) |unload| unload();
        self.library.close();
        for ([_][:0]const u8{ self.name, self.device, self.path, self.description }) |text| memory.allocator.free(text);
        memory.allocator.destroy(self);
    }

    pub fn threadSafe(self: *const Extension) bool {
        return self.vtable.flags & c.TSR_BACKEND_THREAD_SAFE != 0;
    }
};

/// The smallest vtable version 1 describes: every field up to `unload`.
const version_1_size = @offsetOf(c.tsr_backend, "unload") + @sizeOf(@FieldType(c.tsr_backend, "unload"));

/// Opens the extension at `path`. A missing file, a library without the entry point, a failed
/// registration and a vtable of another ABI version are each an ExtensionError saying which.
pub fn load(path: []const u8) status.Error!*Extension {
    if (path.len == 0) return status.fail(error.InvalidArgument, "the extension's path is empty", .{});
    try checkFile(path);
    const absolute = std.fs.cwd().realpathAlloc(memory.allocator, path) catch |e|
        return status.fail(error.ExtensionError, "cannot resolve the extension path '{s}': {s}", .{ path, @errorName(e) });
    defer memory.allocator.free(absolute);
    var library = try open(absolute);
    errdefer library.close();
    const register = library.lookup(c.tsr_backend_register_fn, c.TSR_BACKEND_ENTRY_POINT) orelse
        return status.fail(error.ExtensionError, "'{s}' is not a Tessera backend extension: it does not export {s}", .{ path, c.TSR_BACKEND_ENTRY_POINT });
    var returned: [*c]const c.tsr_backend = null;
    host.clearMessage();
    const code = register.?(&host.table, &returned);
    if (code != c.TSR_OK) {
        return status.fail(error.ExtensionError, "{s} of '{s}' failed with status {d}: {s}", .{ c.TSR_BACKEND_ENTRY_POINT, path, code, host.message() });
    }
    const given: *const c.tsr_backend = returned orelse
        return status.fail(error.ExtensionError, "{s} of '{s}' returned TSR_OK but no vtable", .{ c.TSR_BACKEND_ENTRY_POINT, path });
    const vtable = try copyVTable(given, path);
    return create(library, vtable, absolute);
}

/// A regular file: a folder, a FIFO or a device is refused before dlopen sees it.
fn checkFile(path: []const u8) status.Error!void {
    const stat = files.stat(path) catch |e| switch (e) {
        error.FileNotFound => return status.fail(error.ExtensionError, "no extension at '{s}': the file does not exist", .{path}),
        else => return status.fail(error.ExtensionError, "cannot read the extension '{s}': {s}", .{ path, @errorName(e) }),
    };
    if (stat.kind != .file) return status.fail(error.ExtensionError, "the extension '{s}' is not a regular file ({s})", .{ path, @tagName(stat.kind) });
}

/// An opened library: LoadLibrary through std.DynLib on Windows, the C library's dlopen elsewhere
/// (std.DynLib is Zig's own ELF loader in a static musl build, which has no dlopen handle).
const SharedLibrary = if (builtin.os.tag == .windows) std.DynLib else struct {
    handle: *anyopaque,

    fn lookup(self: *SharedLibrary, comptime T: type, name: [:0]const u8) ?T {
        const symbol = std.c.dlsym(self.handle, name) orelse return null;
        return @as(T, @ptrCast(@alignCast(symbol)));
    }

    fn close(self: *SharedLibrary) void {
        _ = std.c.dlclose(self.handle);
        self.* = undefined;
    }
};

/// Binds every symbol at once (RTLD_NOW), so a library with an unresolved symbol fails here
/// rather than in the middle of a run; its symbols stay local to it (the default).
fn open(absolute: []const u8) status.Error!SharedLibrary {
    if (builtin.os.tag == .windows) {
        return std.DynLib.open(absolute) catch |e|
            status.fail(error.ExtensionError, "cannot open '{s}' as a shared library: {s}", .{ absolute, @errorName(e) });
    }
    const path_z = memory.allocator.dupeZ(u8, absolute) catch return oom();
    defer memory.allocator.free(path_z);
    const handle = std.c.dlopen(path_z, .{ .NOW = true }) orelse {
        const reason: []const u8 = if (std.c.dlerror()) |text| std.mem.span(text) else "unknown reason";
        return status.fail(error.ExtensionError, "cannot open '{s}' as a shared library: {s}", .{ absolute, reason });
    };
    return .{ .handle = handle };
}

fn copyVTable(given: *const c.tsr_backend, path: []const u8) status.Error!c.tsr_backend {
    if (given.abi_version != c.TSR_BACKEND_ABI_VERSION) {
        return status.fail(error.ExtensionError, "'{s}' was built for backend ABI version {d}; this Tessera loads version {d} (rebuild it against this tessera_backend.h)", .{ path, given.abi_version, c.TSR_BACKEND_ABI_VERSION });
    }
    if (given.size < version_1_size) {
        return status.fail(error.ExtensionError, "'{s}' declares a {d}-byte vtable; version {d}'s has {d}", .{ path, given.size, c.TSR_BACKEND_ABI_VERSION, version_1_size });
    }
    var vtable = std.mem.zeroes(c.tsr_backend);
    const bytes = @min(given.size, @sizeOf(c.tsr_backend));
    @memcpy(std.mem.asBytes(&vtable)[0..bytes], std.mem.asBytes(given)[0..bytes]);
    if (vtable.supports == null or vtable.compile == null or vtable.run == null) {
        return status.fail(error.ExtensionError, "'{s}' leaves supports, compile or run NULL: all three are required", .{path});
    }
    const name: []const u8 = if (vtable.name) |n| std.mem.span(n) else "";
    if (!options_module.isDeviceKind(name)) {
        return status.fail(error.ExtensionError, "'{s}' names its device '{s}': a name is [a-z][a-z0-9_]*, up to {d} characters", .{ path, name, options_module.max_device_kind });
    }
    for ([_][]const u8{ "cpu", "vulkan", "auto" }) |reserved| if (std.mem.eql(u8, name, reserved)) {
        return status.fail(error.ExtensionError, "'{s}' names its device '{s}', which is Tessera's own", .{ path, name });
    };
    if (vtable.device_kind < c.TSR_DEVICE_KIND_CPU or vtable.device_kind > c.TSR_DEVICE_KIND_OTHER) {
        return status.fail(error.ExtensionError, "'{s}' gives device kind {d}, not a TSR_DEVICE_KIND_*", .{ path, vtable.device_kind });
    }
    return vtable;
}

fn create(library: SharedLibrary, vtable: c.tsr_backend, absolute: []const u8) status.Error!*Extension {
    const name = memory.allocator.dupeZ(u8, std.mem.span(vtable.name.?)) catch return oom();
    errdefer memory.allocator.free(name);
    const device = std.fmt.allocPrintSentinel(memory.allocator, "{s}:0", .{name}, 0) catch return oom();
    errdefer memory.allocator.free(device);
    const path = memory.allocator.dupeZ(u8, absolute) catch return oom();
    errdefer memory.allocator.free(path);
    const description = memory.allocator.dupeZ(u8, if (vtable.description) |d| std.mem.span(d) else "") catch return oom();
    errdefer memory.allocator.free(description);
    const self = memory.allocator.create(Extension) catch return oom();
    self.* = .{ .library = library, .vtable = vtable, .name = name, .device = device, .path = path, .description = description };
    return self;
}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory loading an extension", .{});
}
