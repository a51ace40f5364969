//! The plaintext of an encrypted container: a model folder's files in one buffer
//! (docs/encrypted-models.md). A table of names and lengths, then each file's bytes at the next
//! 64-byte boundary, so weights stored in them can be read in place as external data. A single
//! .onnx file is an archive of one file, model.onnx.
const std = @import("std");
const status = @import("../core/status.zig");
const memory = @import("../core/memory.zig");
const container = @import("container.zig");

pub const model_name = "model.onnx";
pub const manifest_name = "tessera.json";
pub const data_alignment = 64;
const max_files = 65536;
const max_name_bytes = 4096;
const entry_fixed_bytes = 4 + 8;

pub const File = struct { name: []const u8, bytes: []const u8 };

/// Files found in a plaintext: slices of it, valid while it is.
pub const Archive = struct {
    files: []File = &.{},

    pub fn deinit(self: *Archive) void {
        memory.allocator.free(self.files);
        self.* = .{};
    }

    /// A file by its location as external data names it ("weights.bin", "./sub/w.bin").
    pub fn find(self: *const Archive, location: []const u8) ?[]const u8 {
        var buffer: [max_name_bytes]u8 = undefined;
        const name = normalize(location, &buffer) orelse return null;
        for (self.files) |file| if (std.mem.eql(u8, file.name, name)) return file.bytes;
        return null;
    }
};

/// A location with '/' separators and no empty or "." parts; null when it does not fit.
fn normalize(location: []const u8, buffer: *[max_name_bytes]u8) ?[]const u8 {
    var len: usize = 0;
    var parts = std.mem.tokenizeAny(u8, location, "/\\");
    while (parts.next()) |part| {
        if (std.mem.eql(u8, part, ".")) continue;
        const separator: usize = @intFromBool(len > 0);
        if (len + separator + part.len > buffer.len) return null;
        if (separator == 1) buffer[len] = '/';
        @memcpy(buffer[len + separator ..][0..part.len], part);
        len += separator + part.len;
    }
    return buffer[0..len];
}

fn validName(name: []const u8) bool {
    if (name.len == 0 or name.len > max_name_bytes or name[0] == '/') return false;
    var parts = std.mem.splitScalar(u8, name, '/');
    while (parts.next()) |part| {
        if (part.len == 0 or std.mem.eql(u8, part, ".") or std.mem.eql(u8, part, "..")) return false;
        if (std.mem.indexOfAny(u8, part, "\\:\x00") != null) return false;
    }
    return true;
}

fn malformed(comptime why: []const u8, args: anytype) status.Error {
    return status.fail(error.ContainerError, "the encrypted model's file table is malformed: " ++ why, args);
}

/// Reads the table; every file must lie inside the plaintext, in order, and model.onnx be there.
pub fn parse(plaintext: []const u8) status.Error!Archive {
    if (plaintext.len < 4) return malformed("{d} bytes", .{plaintext.len});
    const count = std.mem.readInt(u32, plaintext[0..4], .little);
    if (count == 0 or count > max_files or count > (plaintext.len - 4) / entry_fixed_bytes) return malformed("{d} files", .{count});
    const files = memory.allocator.alloc(File, count) catch return status.fail(error.OutOfResource, "out of memory", .{});
    errdefer memory.allocator.free(files);
    var at: usize = 4;
    const lengths = memory.allocator.alloc(u64, count) catch return status.fail(error.OutOfResource, "out of memory", .{});
    defer memory.allocator.free(lengths);
    for (files, lengths, 0..) |*file, *length, i| {
        if (plaintext.len - at < entry_fixed_bytes) return malformed("entry {d} is cut off", .{i});
        const name_len = std.mem.readInt(u32, plaintext[at..][0..4], .little);
        length.* = std.mem.readInt(u64, plaintext[at + 4 ..][0..8], .little);
        at += entry_fixed_bytes;
        if (name_len > plaintext.len - at) return malformed("entry {d}'s name is cut off", .{i});
        file.name = plaintext[at..][0..name_len];
        at += name_len;
        if (!validName(file.name)) return malformed("entry {d} has an invalid name", .{i});
        for (files[0..i]) |earlier| if (std.mem.eql(u8, earlier.name, file.name)) return malformed("'{s}' appears twice", .{file.name});
    }
    for (files, lengths) |*file, length| {
        at = std.mem.alignForward(usize, at, data_alignment);
        if (at > plaintext.len or length > plaintext.len - at) return malformed("'{s}' runs past the end", .{file.name});
        file.bytes = plaintext[at..][0..@intCast(length)];
        at += @intCast(length);
    }
    if (at != plaintext.len) return malformed("{d} bytes follow the last file", .{plaintext.len - at});
    var archive: Archive = .{ .files = files };
    if (archive.find(model_name) == null) return malformed("it has no {s}", .{model_name});
    return archive;
}

/// The plaintext size of an archive of these files.
pub fn packedLen(files: []const File) usize {
    var at: usize = 4;
    for (files) |file| at += entry_fixed_bytes + file.name.len;
    for (files) |file| at = std.mem.alignForward(usize, at, data_alignment) + file.bytes.len;
    return at;
}

/// Writes the archive into `out` (packedLen bytes); names must already be valid and unique.
pub fn pack(out: []u8, files: []const File) void {
    std.debug.assert(out.len == packedLen(files));
    std.debug.assert(files.len > 0 and files.len <= max_files);
    @memset(out, 0);
    std.mem.writeInt(u32, out[0..4], @intCast(files.len), .little);
    var at: usize = 4;
    for (files) |file| {
        std.debug.assert(validName(file.name));
        std.mem.writeInt(u32, out[at..][0..4], @intCast(file.name.len), .little);
        std.mem.writeInt(u64, out[at + 4 ..][0..8], file.bytes.len, .little);
        @memcpy(out[at + entry_fixed_bytes ..][0..file.name.len], file.name);
        at += entry_fixed_bytes + file.name.len;
    }
    for (files) |file| {
        at = std.mem.alignForward(usize, at, data_alignment);
        @memcpy(out[at..][0..file.bytes.len], file.bytes);
        at += file.bytes.len;
    }
}

/// Packs and encrypts, zeroing the packed plaintext before it is freed.
pub fn sealFiles(files: []const File, passphrase: []const u8, params: container.KdfParams) status.Error![]u8 {
    for (files) |file| {
        if (!validName(file.name)) return status.fail(error.InvalidArgument, "cannot pack a file named '{s}'", .{file.name});
    }
    if (files.len == 0 or files.len > max_files) return status.fail(error.InvalidArgument, "cannot pack {d} files", .{files.len});
    const plain_len = packedLen(files);
    const plaintext = memory.allocator.alignedAlloc(u8, container.plaintext_alignment, plain_len) catch
        return status.fail(error.OutOfResource, "out of memory packing {d} bytes", .{plain_len});
    defer container.release(plaintext);
    pack(plaintext, files);
    const out = memory.allocator.alloc(u8, container.sealedLen(plain_len)) catch
        return status.fail(error.OutOfResource, "out of memory encrypting {d} bytes", .{plain_len});
    errdefer memory.allocator.free(out);
    try container.seal(out, plaintext, passphrase, params);
    return out;
}

/// A name for a file found under a model folder, with '/' separators whatever the OS uses.
pub fn nameFromPath(path: []const u8, buffer: *[max_name_bytes]u8) status.Error![]const u8 {
    const name = normalize(path, buffer) orelse return status.fail(error.InvalidArgument, "the path '{s}' is too long to pack", .{path});
    if (!validName(name)) return status.fail(error.InvalidArgument, "cannot pack a file named '{s}'", .{path});
    return name;
}

test "archive round trip, aligned files, lookup by location" {
    const files = [_]File{
        .{ .name = "model.onnx", .bytes = "graph" },
        .{ .name = "sub/weights.bin", .bytes = "0123456789" },
        .{ .name = "empty", .bytes = "" },
    };
    const out = try std.testing.allocator.alignedAlloc(u8, .@"64", packedLen(&files));
    defer std.testing.allocator.free(out);
    pack(out, &files);
    var archive = try parse(out);
    defer archive.deinit();
    try std.testing.expectEqualStrings("graph", archive.find("model.onnx").?);
    try std.testing.expectEqualStrings("0123456789", archive.find("./sub//weights.bin").?);
    try std.testing.expectEqualStrings("0123456789", archive.find("sub\\weights.bin").?);
    try std.testing.expectEqual(@as(usize, 0), @intFromPtr(archive.find("sub/weights.bin").?.ptr) % data_alignment);
    try std.testing.expect(archive.find("missing") == null);
}

test "archive: malformed tables are ContainerError, never a read past the end" {
    const files = [_]File{ .{ .name = "model.onnx", .bytes = "graph" }, .{ .name = "w", .bytes = "abc" } };
    const good = try std.testing.allocator.alloc(u8, packedLen(&files));
    defer std.testing.allocator.free(good);
    pack(good, &files);
    for (0..good.len) |len| try std.testing.expectError(error.ContainerError, parse(good[0..len]));
    const bad = try std.testing.allocator.dupe(u8, good);
    defer std.testing.allocator.free(bad);
    for (0..4 + 2 * entry_fixed_bytes + 11) |at| {
        for ([_]u8{ 0, 0xFF, '.', '/' }) |value| {
            const kept = bad[at];
            bad[at] = value;
            if (parse(bad)) |archive| {
                var parsed = archive;
                parsed.deinit();
            } else |e| try std.testing.expectEqual(error.ContainerError, e);
            bad[at] = kept;
        }
    }
    const unsafe = [_][]const u8{ "", "/etc/passwd", "../x", "a/../b", "a//b", "c:w", "a\\b" };
    for (unsafe) |name| try std.testing.expect(!validName(name));
}
