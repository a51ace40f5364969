//! Where model bytes come from: a .onnx file, a model folder (model.onnx, external-data files and
//! an optional tessera.json), or bytes in memory. Files are memory-mapped, so weights in raw_data
//! and external data are never copied; external files are opened once each and checked to stay
//! inside the model's folder.
const std = @import("std");
const status = @import("../core/status.zig");
const memory = @import("../core/memory.zig");
const constant_module = @import("constant.zig");

const Mapping = []align(std.heap.page_size_min) const u8;

pub const Source = struct {
    /// The model bytes: a mapping of the file, or an owned copy of caller bytes.
    bytes: []const u8 = &.{},
    mapping: ?Mapping = null,
    owned: ?[]u8 = null,
    /// The folder external data is relative to; empty for in-memory models.
    folder: []u8 = &.{},
    /// tessera.json's text, when the model came from a folder that has one.
    manifest: ?[]u8 = null,
    external: std.StringHashMapUnmanaged(Mapping) = .empty,

    pub fn deinit(self: *Source) void {
        if (self.mapping) |m| std.posix.munmap(m);
        if (self.owned) |o| memory.allocator.free(o);
        var files = self.external.iterator();
        while (files.next()) |entry| {
            memory.allocator.free(entry.key_ptr.*);
            if (entry.value_ptr.len > 0) std.posix.munmap(entry.value_ptr.*);
        }
        self.external.deinit(memory.allocator);
        memory.allocator.free(self.folder);
        if (self.manifest) |m| memory.allocator.free(m);
    }

    pub fn fromBytes(bytes: []const u8) status.Error!Source {
        // The caller may free its buffer once loading returns; the model keeps its own copy.
        const copy = memory.allocator.dupe(u8, bytes) catch return status.fail(error.OutOfResource, "out of memory copying {d} model bytes", .{bytes.len});
        return .{ .bytes = copy, .owned = copy };
    }

    /// A .onnx file, or a folder holding model.onnx (or exactly one .onnx file).
    pub fn fromPath(path: []const u8) status.Error!Source {
        const stat = std.fs.cwd().statFile(path) catch |e| return status.fail(error.IOError, "cannot open model '{s}': {s}", .{ path, errorText(e) });
        var source: Source = .{};
        errdefer source.deinit();
        if (stat.kind == .directory) {
            source.folder = dupe(path) catch return status.fail(error.OutOfResource, "out of memory", .{});
            const file_name = try modelFileIn(path);
            var buffer: [std.fs.max_path_bytes]u8 = undefined;
            const model_path = std.fmt.bufPrint(&buffer, "{s}/{s}", .{ path, file_name }) catch return status.fail(error.IOError, "path too long", .{});
            source.mapping = try mapFile(model_path, "model");
            source.manifest = try readManifest(path);
        } else {
            source.folder = dupe(std.fs.path.dirname(path) orelse ".") catch return status.fail(error.OutOfResource, "out of memory", .{});
            source.mapping = try mapFile(path, "model");
        }
        source.bytes = source.mapping.?;
        return source;
    }

    pub fn resolver(self: *Source) ?constant_module.ExternalResolver {
        if (self.folder.len == 0) return null;
        return .{ .context = self, .resolve = resolveExternal };
    }
};

fn dupe(text: []const u8) error{OutOfMemory}![]u8 {
    return memory.allocator.dupe(u8, text);
}

fn errorText(e: anyerror) []const u8 {
    return switch (e) {
        error.FileNotFound => "no such file",
        error.AccessDenied => "access denied",
        error.IsDir => "is a folder",
        else => @errorName(e),
    };
}

fn modelFileIn(folder: []const u8) status.Error![]const u8 {
    var dir = std.fs.cwd().openDir(folder, .{ .iterate = true }) catch |e|
        return status.fail(error.IOError, "cannot open model folder '{s}': {s}", .{ folder, errorText(e) });
    defer dir.close();
    if (dir.access("model.onnx", .{})) |_| return "model.onnx" else |_| {}
    return status.fail(error.ContainerError, "model folder '{s}' has no model.onnx", .{folder});
}

fn mapFile(path: []const u8, what: []const u8) status.Error!Mapping {
    const file = std.fs.cwd().openFile(path, .{}) catch |e| {
        if (e == error.FileNotFound and std.mem.eql(u8, what, "external data")) {
            return status.fail(error.ModelError, "external data file '{s}' is missing", .{path});
        }
        return status.fail(error.IOError, "cannot open {s} file '{s}': {s}", .{ what, path, errorText(e) });
    };
    defer file.close();
    const size = file.getEndPos() catch |e| return status.fail(error.IOError, "cannot read '{s}': {s}", .{ path, errorText(e) });
    if (size == 0) return &.{};
    return std.posix.mmap(null, @intCast(size), std.posix.PROT.READ, .{ .TYPE = .PRIVATE }, file.handle, 0) catch |e|
        status.fail(error.IOError, "cannot map '{s}': {s}", .{ path, errorText(e) });
}

fn readManifest(folder: []const u8) status.Error!?[]u8 {
    var dir = std.fs.cwd().openDir(folder, .{}) catch return null;
    defer dir.close();
    return dir.readFileAlloc(memory.allocator, "tessera.json", 1 << 20) catch |e| switch (e) {
        error.FileNotFound => null,
        error.FileTooBig => status.fail(error.ContainerError, "'{s}/tessera.json' is larger than 1 MiB", .{folder}),
        else => status.fail(error.IOError, "cannot read '{s}/tessera.json': {s}", .{ folder, errorText(e) }),
    };
}

/// External data must stay inside the model's folder: a model file cannot read /etc/passwd.
fn checkLocation(location: []const u8) status.Error!void {
    if (location.len == 0 or std.fs.path.isAbsolute(location)) {
        return status.fail(error.ModelError, "external data location '{s}' must be a relative path", .{location});
    }
    var parts = std.mem.tokenizeAny(u8, location, "/\\");
    while (parts.next()) |part| {
        if (std.mem.eql(u8, part, "..")) return status.fail(error.ModelError, "external data location '{s}' leaves the model's folder", .{location});
    }
}

fn resolveExternal(context: *anyopaque, location: []const u8, offset: u64, length: ?u64) status.Error![]const u8 {
    const self: *Source = @ptrCast(@alignCast(context));
    try checkLocation(location);
    const mapping = self.external.get(location) orelse blk: {
        var buffer: [std.fs.max_path_bytes]u8 = undefined;
        const path = std.fmt.bufPrint(&buffer, "{s}/{s}", .{ self.folder, location }) catch return status.fail(error.ModelError, "external data path too long", .{});
        const mapped = try mapFile(path, "external data");
        const key = dupe(location) catch return status.fail(error.OutOfResource, "out of memory", .{});
        self.external.put(memory.allocator, key, mapped) catch {
            memory.allocator.free(key);
            if (mapped.len > 0) std.posix.munmap(mapped);
            return status.fail(error.OutOfResource, "out of memory", .{});
        };
        break :blk mapped;
    };
    if (offset > mapping.len) {
        return status.fail(error.ModelError, "external data offset {d} is past the end of '{s}' ({d} bytes)", .{ offset, location, mapping.len });
    }
    const available = mapping.len - offset;
    const take = length orelse available;
    if (take > available) {
        return status.fail(error.ModelError, "external data '{s}' has {d} bytes after offset {d}; {d} are needed", .{ location, available, offset, take });
    }
    return mapping[@intCast(offset)..][0..@intCast(take)];
}

test "external locations stay inside the folder" {
    try checkLocation("weights.bin");
    try checkLocation("sub/weights.bin");
    try std.testing.expectError(error.ModelError, checkLocation("/etc/passwd"));
    try std.testing.expectError(error.ModelError, checkLocation("../secret"));
    try std.testing.expectError(error.ModelError, checkLocation("a/../../b"));
}
