//! Where model bytes come from: a .onnx file, a model folder (model.onnx, external-data files and
//! an optional tessera.json), or bytes in memory. Files are memory-mapped, so weights in raw_data
//! and external data are never copied; external files are opened once each and checked to stay
//! inside the model's folder. An encrypted container (container.zig) is decrypted into memory
//! by `unseal`, and its files then stand in for the folder's: nothing is read beside it.
const std = @import("std");
const builtin = @import("builtin");
const files = @import("../core/files.zig");
const status = @import("../core/status.zig");
const memory = @import("../core/memory.zig");
const constant_module = @import("constant.zig");
const os_error = @import("../core/os_error.zig");
const archive_module = @import("archive.zig");
const container = @import("container.zig");

const Mapping = files.Mapping;

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
    /// A decrypted container: its plaintext, zeroed when the source goes, and the files in it.
    plaintext: ?container.Plaintext = null,
    archive: archive_module.Archive = .{},

    pub fn deinit(self: *Source) void {
        self.releaseBytes();
        if (self.plaintext) |p| {
            self.archive.deinit();
            container.release(p);
            if (self.manifest) |m| std.crypto.secureZero(u8, m);
        }
        var external = self.external.iterator();
        while (external.next()) |entry| {
            memory.allocator.free(entry.key_ptr.*);
            if (entry.value_ptr.len > 0) files.unmap(entry.value_ptr.*);
        }
        self.external.deinit(memory.allocator);
        memory.allocator.free(self.folder);
        if (self.manifest) |m| memory.allocator.free(m);
    }

    fn releaseBytes(self: *Source) void {
        if (self.mapping) |m| files.unmap(m);
        if (self.owned) |o| memory.allocator.free(o);
        self.mapping = null;
        self.owned = null;
    }

    /// Decrypts a container with `passphrase` (empty: none given) and serves the model and its
    /// external data from the plaintext; a plain model is left as it is.
    pub fn unseal(self: *Source, passphrase: []const u8) status.Error!void {
        std.debug.assert(self.plaintext == null);
        if (!container.looksSealed(self.bytes)) {
            if (passphrase.len == 0) return;
            return status.fail(error.ContainerError, "a passphrase was given, but the model is not encrypted", .{});
        }
        if (passphrase.len == 0) return status.fail(error.ContainerError, "the model is encrypted: give its passphrase", .{});
        const plaintext = try container.open(self.bytes, passphrase);
        var archive = archive_module.Archive{};
        errdefer {
            archive.deinit();
            container.release(plaintext);
        }
        archive = try archive_module.parse(plaintext);
        var manifest: ?[]u8 = null;
        if (archive.find(archive_module.manifest_name)) |text| {
            manifest = memory.allocator.dupe(u8, text) catch return status.fail(error.OutOfResource, "out of memory", .{});
        }
        if (self.manifest) |m| memory.allocator.free(m);
        self.manifest = manifest;
        self.releaseBytes();
        self.plaintext = plaintext;
        self.archive = archive;
        self.bytes = archive.find(archive_module.model_name).?;
    }

    pub fn fromBytes(bytes: []const u8) status.Error!Source {
        // The caller may free its buffer once loading returns; the model keeps its own copy.
        const copy = memory.allocator.dupe(u8, bytes) catch return status.fail(error.OutOfResource, "out of memory copying {d} model bytes", .{bytes.len});
        return .{ .bytes = copy, .owned = copy };
    }

    /// A .onnx file, or a folder holding model.onnx (or exactly one .onnx file).
    pub fn fromPath(path: []const u8) status.Error!Source {
        const stat = files.stat(path) catch |e| return status.fail(error.IOError, "cannot open model '{s}': {s}", .{ path, errorText(e) });
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
        if (self.folder.len == 0 and self.plaintext == null) return null;
        return .{ .context = self, .resolve = resolveExternal };
    }
};

fn dupe(text: []const u8) error{OutOfMemory}![]u8 {
    return memory.allocator.dupe(u8, text);
}

const errorText = os_error.describe;

fn modelFileIn(folder: []const u8) status.Error![]const u8 {
    var dir = std.fs.cwd().openDir(folder, .{ .iterate = true }) catch |e|
        return status.fail(error.IOError, "cannot open model folder '{s}': {s}", .{ folder, errorText(e) });
    defer dir.close();
    if (dir.access("model.onnx", .{})) |_| return "model.onnx" else |_| {}
    return status.fail(error.ContainerError, "model folder '{s}' has no model.onnx", .{folder});
}

pub fn mapFile(path: []const u8, what: []const u8) status.Error!Mapping {
    // Only regular files: opening a FIFO would block for ever, and a folder or device cannot be
    // mapped. Checked before opening, and again on the opened file (it may have been swapped).
    const stat = files.stat(path) catch |e| return openFailed(path, what, e);
    try requireRegular(path, what, stat.kind);
    const file = std.fs.cwd().openFile(path, .{}) catch |e| return openFailed(path, what, e);
    defer file.close();
    try requireRegular(path, what, files.kind(file) catch |e| return openFailed(path, what, e));
    const size = file.getEndPos() catch |e| return status.fail(error.IOError, "cannot read '{s}': {s}", .{ path, errorText(e) });
    if (size == 0) return &.{};
    return files.map(file, size) catch |e|
        status.fail(error.IOError, "cannot map '{s}': {s}", .{ path, errorText(e) });
}

fn openFailed(path: []const u8, what: []const u8, e: anyerror) status.Error {
    if (e == error.FileNotFound and std.mem.eql(u8, what, "external data")) {
        return status.fail(error.ModelError, "external data file '{s}' is missing", .{path});
    }
    return status.fail(error.IOError, "cannot open {s} file '{s}': {s}", .{ what, path, errorText(e) });
}

fn requireRegular(path: []const u8, what: []const u8, kind: std.fs.File.Kind) status.Error!void {
    if (kind == .file) return;
    const described = switch (kind) {
        .directory => "a folder",
        .named_pipe => "a named pipe (FIFO)",
        .character_device, .block_device => "a device",
        .unix_domain_socket => "a socket",
        else => "not a regular file",
    };
    return status.fail(error.IOError, "cannot open {s} file '{s}': it is {s}", .{ what, path, described });
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
    // On Windows a colon names a drive ("C:weights.bin" is relative to C:'s current folder, not
    // to the model's, yet isAbsolute says no) or an alternate data stream: never a plain file.
    if (builtin.os.tag == .windows and std.mem.indexOfScalar(u8, location, ':') != null) {
        return status.fail(error.ModelError, "external data location '{s}' must be a relative path", .{location});
    }
}

/// The location's text stays inside the folder (checkLocation); so must the file it names once
/// symbolic links are followed, or a link in the folder could expose any file the process can read.
fn checkInsideFolder(folder: []const u8, path: []const u8, location: []const u8) status.Error!void {
    var folder_buffer: [std.fs.max_path_bytes]u8 = undefined;
    var file_buffer: [std.fs.max_path_bytes]u8 = undefined;
    const real_folder = std.fs.cwd().realpath(folder, &folder_buffer) catch |e|
        return status.fail(error.IOError, "cannot resolve the model folder '{s}': {s}", .{ folder, errorText(e) });
    const real_file = std.fs.cwd().realpath(path, &file_buffer) catch |e| return openFailed(path, "external data", e);
    // Inside: the folder's path, then a separator, unless the folder's path ends with one (only
    // a root does: "/", "C:\").
    const folder_is_root = std.fs.path.isSep(real_folder[real_folder.len - 1]);
    const inside = real_file.len > real_folder.len and std.mem.startsWith(u8, real_file, real_folder) and
        (std.fs.path.isSep(real_file[real_folder.len]) or folder_is_root);
    if (!inside) {
        return status.fail(error.ModelError, "external data location '{s}' leaves the model's folder through a symbolic link", .{location});
    }
}

fn resolveExternal(context: *anyopaque, location: []const u8, offset: u64, length: ?u64) status.Error![]const u8 {
    const self: *Source = @ptrCast(@alignCast(context));
    try checkLocation(location);
    if (self.plaintext != null) {
        const file = self.archive.find(location) orelse
            return status.fail(error.ModelError, "external data file '{s}' is not in the encrypted model", .{location});
        return sliceOf(file, location, offset, length);
    }
    const mapping = self.external.get(location) orelse blk: {
        var buffer: [std.fs.max_path_bytes]u8 = undefined;
        const path = std.fmt.bufPrint(&buffer, "{s}/{s}", .{ self.folder, location }) catch return status.fail(error.ModelError, "external data path too long", .{});
        try checkInsideFolder(self.folder, path, location);
        const mapped = try mapFile(path, "external data");
        const key = dupe(location) catch return status.fail(error.OutOfResource, "out of memory", .{});
        self.external.put(memory.allocator, key, mapped) catch {
            memory.allocator.free(key);
            if (mapped.len > 0) files.unmap(mapped);
            return status.fail(error.OutOfResource, "out of memory", .{});
        };
        break :blk mapped;
    };
    return sliceOf(mapping, location, offset, length);
}

fn sliceOf(mapping: []const u8, location: []const u8, offset: u64, length: ?u64) status.Error![]const u8 {
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
    if (builtin.os.tag == .windows) {
        try std.testing.expectError(error.ModelError, checkLocation("C:weights.bin"));
        try std.testing.expectError(error.ModelError, checkLocation("weights.bin:stream"));
    }
}
