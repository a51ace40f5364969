//! One entry of the compiled-model cache on disk (docs/model-cache.md): what a load compiled that
//! is costly to make again (weights packed for the GEMM), so that a later load of the same model
//! with the same key maps it instead. The layout, little-endian:
//!   header   (Header: magic, format version, key digest, section count, sizes, checksum)
//!   key      (the key's text: what it covers, for a person reading the file)
//!   table    (one Section per packed operand: owner device, recipe, offset, length)
//!   data     (each section starts on a 64-byte boundary, as the kernels read them in place)
//! The checksum is BLAKE3 over the whole file with its own field zeroed: a flipped byte or a
//! truncated file is refused, never used. An entry is written under a temporary name in the same
//! folder and renamed into place, so a reader sees a whole entry or none; it is then mapped
//! read-only and shared by the models that use it (reference counted: the mapping goes when
//! the last packed operand from it does).
const std = @import("std");
const files = @import("../core/files.zig");
const folders = @import("../core/folders.zig");
const memory = @import("../core/memory.zig");
const os_error = @import("../core/os_error.zig");
const status = @import("../core/status.zig");

/// Bumped whenever the layout of the file or of any packed operand changes.
pub const format_version: u32 = 1;
pub const Digest = [32]u8;
const Hash = std.crypto.hash.Blake3;

const magic = "TSRMODEL".*;
/// Entries are `<prefix><key digest in hex><suffix>`; clear() removes these and nothing else.
pub const file_prefix = "compiled-";
pub const file_suffix = ".tsm";
const temporary_suffix = ".tmp";
pub const section_alignment = 64;

pub const Header = extern struct {
    magic: [8]u8,
    version: u32,
    section_count: u32,
    key_digest: Digest,
    key_bytes: u64,
    file_bytes: u64,
    checksum: Digest,
};

/// What a backend recognises a section by: its own description of the packing (opaque here).
pub const Recipe = [40]u8;

pub const Section = extern struct {
    /// The index of the device that wrote it in the model's device list.
    device: u32,
    reserved: u32 = 0,
    recipe: Recipe,
    offset: u64,
    bytes: u64,
};

comptime {
    std.debug.assert(@sizeOf(Header) == 96);
    std.debug.assert(@sizeOf(Section) == 64);
}

/// An entry mapped from disk and checked; shared by the packed operands read from it.
pub const Entry = struct {
    refs: std.atomic.Value(u32) = .init(1),
    mapping: files.Mapping,
    sections: []align(1) const Section,
    key_text: []const u8,

    pub fn retain(self: *Entry) void {
        _ = self.refs.fetchAdd(1, .monotonic);
    }

    pub fn release(self: *Entry) void {
        if (self.refs.fetchSub(1, .acq_rel) != 1) return;
        files.unmap(self.mapping);
        memory.allocator.destroy(self);
    }

    /// Section `i`'s bytes, 64-byte aligned inside the page-aligned mapping.
    pub fn data(self: *const Entry, i: usize) []align(section_alignment) const u8 {
        const s = self.sections[i];
        return @alignCast(self.mapping[@intCast(s.offset)..][0..@intCast(s.bytes)]);
    }
};

/// Why a file in the cache was not used.
pub const Rejection = enum {
    missing,
    unreadable,
    truncated,
    not_an_entry,
    other_version,
    other_key,
    bad_table,
    checksum,

    pub fn text(self: Rejection) []const u8 {
        return switch (self) {
            .missing => "no entry",
            .unreadable => "cannot be read",
            .truncated => "truncated or padded",
            .not_an_entry => "not a Tessera compiled-model entry",
            .other_version => "written by another format version",
            .other_key => "made for another key",
            .bad_table => "its section table points outside the file",
            .checksum => "its checksum does not match its contents",
        };
    }
};

pub const Opened = union(enum) { entry: *Entry, rejected: Rejection };

/// The entry file's path for `digest` inside `folder`, in `buffer`.
pub fn entryPath(buffer: []u8, folder: []const u8, digest: Digest) status.Error![]const u8 {
    const hex = std.fmt.bytesToHex(digest, .lower);
    return std.fmt.bufPrint(buffer, "{s}{c}" ++ file_prefix ++ "{s}" ++ file_suffix, .{ folder, std.fs.path.sep, hex }) catch
        status.fail(error.InvalidArgument, "the cache folder's path is too long", .{});
}

/// Maps and checks the entry at `path` for `digest`.
pub fn open(path: []const u8, digest: Digest) Opened {
    const file = std.fs.cwd().openFile(path, .{}) catch |e|
        return .{ .rejected = if (e == error.FileNotFound) .missing else .unreadable };
    defer file.close();
    const size = file.getEndPos() catch return .{ .rejected = .unreadable };
    if (size < @sizeOf(Header)) return .{ .rejected = .truncated };
    const mapping = files.map(file, size) catch return .{ .rejected = .unreadable };
    const checked = check(mapping, digest) catch |rejection| {
        files.unmap(mapping);
        return .{ .rejected = switch (rejection) {
            error.truncated => .truncated,
            error.not_an_entry => .not_an_entry,
            error.other_version => .other_version,
            error.other_key => .other_key,
            error.bad_table => .bad_table,
            error.checksum => .checksum,
        } };
    };
    const entry = memory.allocator.create(Entry) catch {
        files.unmap(mapping);
        return .{ .rejected = .unreadable };
    };
    entry.* = .{ .mapping = mapping, .sections = checked.sections, .key_text = checked.key_text };
    return .{ .entry = entry };
}

const Checked = struct { sections: []align(1) const Section, key_text: []const u8 };

/// The file's table and key when everything in it holds.
fn check(bytes: []const u8, digest: Digest) error{ truncated, not_an_entry, other_version, other_key, bad_table, checksum }!Checked {
    const header = std.mem.bytesToValue(Header, bytes[0..@sizeOf(Header)]);
    if (!std.mem.eql(u8, &header.magic, &magic)) return error.not_an_entry;
    if (header.version != format_version) return error.other_version;
    if (header.file_bytes != bytes.len) return error.truncated;
    if (!std.mem.eql(u8, &header.key_digest, &digest)) return error.other_key;
    const table_at = std.math.add(u64, @sizeOf(Header), header.key_bytes) catch return error.bad_table;
    const table_bytes = std.math.mul(u64, header.section_count, @sizeOf(Section)) catch return error.bad_table;
    const table_end = std.math.add(u64, table_at, table_bytes) catch return error.bad_table;
    if (table_end > bytes.len) return error.bad_table;
    const sections = std.mem.bytesAsSlice(Section, bytes[@intCast(table_at)..@intCast(table_end)]);
    for (sections) |s| {
        const end = std.math.add(u64, s.offset, s.bytes) catch return error.bad_table;
        if (s.offset < table_end or end > bytes.len or s.offset % section_alignment != 0) return error.bad_table;
    }
    if (!std.mem.eql(u8, &checksumOf(bytes), &header.checksum)) return error.checksum;
    return .{ .sections = sections, .key_text = bytes[@sizeOf(Header)..@intCast(table_at)] };
}

/// BLAKE3 over the file, its checksum field read as zeros.
fn checksumOf(bytes: []const u8) Digest {
    var hash = Hash.init(.{});
    const field = @offsetOf(Header, "checksum");
    hash.update(bytes[0..field]);
    hash.update(&[_]u8{0} ** @sizeOf(Digest));
    hash.update(bytes[field + @sizeOf(Digest) ..]);
    var out: Digest = undefined;
    hash.final(&out);
    return out;
}

/// A section to write: its owner and recipe, and the bytes (any alignment).
pub const Outgoing = struct { device: u32, recipe: Recipe, bytes: []const u8 };

/// Writes an entry for `digest` at `path` with the given key text and sections: a temporary file
/// in the same folder, then a rename over whatever was there.
pub fn write(path: []const u8, digest: Digest, key_text: []const u8, sections: []const Outgoing) status.Error!void {
    const folder = std.fs.path.dirname(path) orelse ".";
    try folders.make(folder);
    var temporary_buffer: [std.fs.max_path_bytes]u8 = undefined;
    const temporary = std.fmt.bufPrint(&temporary_buffer, "{s}.{x:0>16}" ++ temporary_suffix, .{ path, std.crypto.random.int(u64) }) catch
        return status.fail(error.InvalidArgument, "the cache folder's path is too long", .{});
    const file = std.fs.cwd().createFile(temporary, .{ .read = true, .exclusive = true }) catch |e| return writeFailed(temporary, e);
    var renamed = false;
    defer if (!renamed) std.fs.cwd().deleteFile(temporary) catch {};
    {
        defer file.close();
        writeContents(file, digest, key_text, sections) catch |e| return writeFailed(temporary, e);
    }
    std.fs.cwd().rename(temporary, path) catch |e| return writeFailed(path, e);
    renamed = true;
}

fn writeContents(file: std.fs.File, digest: Digest, key_text: []const u8, sections: []const Outgoing) !void {
    const table = try memory.allocator.alloc(Section, sections.len);
    defer memory.allocator.free(table);
    var at: u64 = @sizeOf(Header) + key_text.len + sections.len * @sizeOf(Section);
    for (sections, table) |s, *row| {
        at = std.mem.alignForward(u64, at, section_alignment);
        row.* = .{ .device = s.device, .recipe = s.recipe, .offset = at, .bytes = s.bytes.len };
        at += s.bytes.len;
    }
    var header: Header = .{
        .magic = magic,
        .version = format_version,
        .section_count = @intCast(sections.len),
        .key_digest = digest,
        .key_bytes = key_text.len,
        .file_bytes = at,
        .checksum = [_]u8{0} ** @sizeOf(Digest),
    };
    var hash = Hash.init(.{});
    var buffer: [64 << 10]u8 = undefined;
    var writer = file.writer(&buffer);
    const out = &writer.interface;
    try put(out, &hash, std.mem.asBytes(&header));
    try put(out, &hash, key_text);
    try put(out, &hash, std.mem.sliceAsBytes(table));
    var written: u64 = @sizeOf(Header) + key_text.len + table.len * @sizeOf(Section);
    const zeros = [_]u8{0} ** section_alignment;
    for (sections, table) |s, row| {
        try put(out, &hash, zeros[0..@intCast(row.offset - written)]);
        try put(out, &hash, s.bytes);
        written = row.offset + s.bytes.len;
    }
    try out.flush();
    hash.final(&header.checksum);
    try file.pwriteAll(std.mem.asBytes(&header), 0);
    try file.sync();
}

fn put(out: *std.Io.Writer, hash: *Hash, bytes: []const u8) !void {
    hash.update(bytes);
    try out.writeAll(bytes);
}

fn writeFailed(path: []const u8, e: anyerror) status.Error {
    return status.fail(error.IOError, "cannot write the compiled-model cache entry '{s}': {s}", .{ path, os_error.describe(e) });
}

/// Removes every compiled-model entry in `folder`, and temporaries writers left behind; other
/// files (the Vulkan pipeline cache, anything of the user's) stay. Returns how many went. A
/// folder that does not exist holds none.
pub fn clear(folder: []const u8) status.Error!u32 {
    var dir = std.fs.cwd().openDir(folder, .{ .iterate = true }) catch |e| switch (e) {
        error.FileNotFound => return 0,
        else => return status.fail(error.IOError, "cannot open the cache folder '{s}': {s}", .{ folder, os_error.describe(e) }),
    };
    defer dir.close();
    var removed: u32 = 0;
    var it = dir.iterate();
    while (it.next() catch |e| return status.fail(error.IOError, "cannot list the cache folder '{s}': {s}", .{ folder, os_error.describe(e) })) |item| {
        if (item.kind != .file or !isOurs(item.name)) continue;
        dir.deleteFile(item.name) catch |e| switch (e) {
            error.FileNotFound => continue, // another process cleared it first
            else => return status.fail(error.IOError, "cannot remove '{s}' from the cache folder: {s}", .{ item.name, os_error.describe(e) }),
        };
        removed += 1;
    }
    return removed;
}

/// "compiled-<64 hex digits>.tsm", optionally followed by ".<16 hex digits>.tmp".
fn isOurs(name: []const u8) bool {
    const stem_bytes = file_prefix.len + 64 + file_suffix.len;
    if (name.len < stem_bytes or !std.mem.startsWith(u8, name, file_prefix)) return false;
    for (name[file_prefix.len..][0..64]) |c| if (!std.ascii.isHex(c)) return false;
    if (!std.mem.eql(u8, name[file_prefix.len + 64 ..][0..file_suffix.len], file_suffix)) return false;
    const rest = name[stem_bytes..];
    if (rest.len == 0) return true;
    if (rest.len != 1 + 16 + temporary_suffix.len or rest[0] != '.') return false;
    for (rest[1..17]) |c| if (!std.ascii.isHex(c)) return false;
    return std.mem.eql(u8, rest[17..], temporary_suffix);
}

fn testDigest(seed: u8) Digest {
    var d: Digest = undefined;
    Hash.hash(&[_]u8{seed}, &d, .{});
    return d;
}

fn testPath(buffer: []u8, tmp: *std.testing.TmpDir, digest: Digest) ![]const u8 {
    var root_buffer: [std.fs.max_path_bytes]u8 = undefined;
    const root = try tmp.dir.realpath(".", &root_buffer);
    return entryPath(buffer, root, digest);
}

test "an entry round-trips with aligned sections, and damage is refused" {
    var tmp = std.testing.tmpDir(.{});
    defer tmp.cleanup();
    const digest = testDigest(1);
    var path_buffer: [std.fs.max_path_bytes]u8 = undefined;
    const path = try testPath(&path_buffer, &tmp, digest);
    try std.testing.expectEqual(Rejection.missing, open(path, digest).rejected);
    const recipe: Recipe = @splat(7);
    const first = [_]u8{ 1, 2, 3 };
    const second = [_]u8{9} ** 100;
    try write(path, digest, "key text", &.{ .{ .device = 0, .recipe = recipe, .bytes = &first }, .{ .device = 1, .recipe = recipe, .bytes = &second } });
    const entry = open(path, digest).entry;
    try std.testing.expectEqual(@as(usize, 2), entry.sections.len);
    try std.testing.expectEqualSlices(u8, &first, entry.data(0));
    try std.testing.expectEqualSlices(u8, &second, entry.data(1));
    try std.testing.expect(std.mem.isAligned(@intFromPtr(entry.data(1).ptr), section_alignment));
    try std.testing.expectEqualStrings("key text", entry.key_text);
    try std.testing.expectEqual(Rejection.other_key, open(path, testDigest(2)).rejected);
    entry.release();
    // A byte flipped in the data, then the file cut short.
    const bytes = try tmp.dir.readFileAlloc(std.testing.allocator, path, 1 << 20);
    defer std.testing.allocator.free(bytes);
    bytes[bytes.len - 5] ^= 0x10;
    try tmp.dir.writeFile(.{ .sub_path = std.fs.path.basename(path), .data = bytes });
    try std.testing.expectEqual(Rejection.checksum, open(path, digest).rejected);
    try tmp.dir.writeFile(.{ .sub_path = std.fs.path.basename(path), .data = bytes[0 .. bytes.len - 1] });
    try std.testing.expectEqual(Rejection.truncated, open(path, digest).rejected);
}

test "clear removes entries and temporaries, and nothing else" {
    var tmp = std.testing.tmpDir(.{});
    defer tmp.cleanup();
    var path_buffer: [std.fs.max_path_bytes]u8 = undefined;
    const path = try testPath(&path_buffer, &tmp, testDigest(3));
    try write(path, testDigest(3), "k", &.{});
    var temporary_buffer: [std.fs.max_path_bytes]u8 = undefined;
    const temporary = try std.fmt.bufPrint(&temporary_buffer, "{s}.0123456789abcdef.tmp", .{std.fs.path.basename(path)});
    try tmp.dir.writeFile(.{ .sub_path = temporary, .data = "half" });
    try tmp.dir.writeFile(.{ .sub_path = "vulkan-pipelines-10005-0000-000000000000feed.bin", .data = "theirs" });
    try tmp.dir.writeFile(.{ .sub_path = "compiled-notahash.tsm", .data = "theirs" });
    var root_buffer: [std.fs.max_path_bytes]u8 = undefined;
    const root = try tmp.dir.realpath(".", &root_buffer);
    try std.testing.expectEqual(@as(u32, 2), try clear(root));
    try tmp.dir.access("vulkan-pipelines-10005-0000-000000000000feed.bin", .{});
    try tmp.dir.access("compiled-notahash.tsm", .{});
    try std.testing.expectEqual(@as(u32, 0), try clear(root));
}
