//! The pipeline cache on disk, so that a model's pipelines compile once per driver rather than
//! once per load. One file per device and shader set:
//!   <cache folder>/vulkan-pipelines-<vendor>-<device>-<shader hash>.bin
//! holding a header of ours (the driver version, the device's pipelineCacheUUID, the shader hash)
//! and then the driver's own blob, whose VkPipelineCacheHeaderVersionOne must name the same
//! vendor, device and UUID. A file that fails any check (another driver, a newer shader set, a
//! truncated or corrupted write) is ignored and rebuilt, never handed to the driver. It is
//! rewritten whole, under a temporary name and then renamed, so a reader never sees half of it.
//! The cache folder is TESSERA_CACHE_DIR, else $XDG_CACHE_HOME/tessera, else
//! $HOME/.cache/tessera (%LOCALAPPDATA%\tessera on Windows); with none, nothing persists.
const std = @import("std");
const builtin = @import("builtin");
const env = @import("../../core/env.zig");
const folders = @import("../../core/folders.zig");
const log = @import("../../core/log.zig");

/// What a cache file must match to be used.
pub const Identity = struct {
    vendor_id: u32,
    device_id: u32,
    driver_version: u32,
    uuid: [16]u8,
    shader_hash: u64,
};

const magic = "TSRVKPC1".*;

/// Our header, little-endian, before the driver's blob.
const Header = extern struct {
    magic: [8]u8,
    vendor_id: u32,
    device_id: u32,
    driver_version: u32,
    blob_bytes: u32,
    shader_hash: u64,
    uuid: [16]u8,
};

/// The size of Vulkan's VkPipelineCacheHeaderVersionOne.
const vulkan_header_bytes = 32;

/// The driver's blob inside `file` if the file is a cache for `identity`; otherwise why not.
pub fn validate(identity: Identity, file: []const u8) union(enum) { blob: []const u8, rejected: []const u8 } {
    if (file.len < @sizeOf(Header)) return .{ .rejected = "shorter than its header" };
    const header = std.mem.bytesToValue(Header, file[0..@sizeOf(Header)]);
    if (!std.mem.eql(u8, &header.magic, &magic)) return .{ .rejected = "not a Tessera pipeline cache" };
    if (header.vendor_id != identity.vendor_id or header.device_id != identity.device_id) return .{ .rejected = "made for another device" };
    if (header.driver_version != identity.driver_version) return .{ .rejected = "made by another driver version" };
    if (!std.mem.eql(u8, &header.uuid, &identity.uuid)) return .{ .rejected = "made for another pipelineCacheUUID" };
    if (header.shader_hash != identity.shader_hash) return .{ .rejected = "made for other shaders" };
    const blob = file[@sizeOf(Header)..];
    if (blob.len != header.blob_bytes) return .{ .rejected = "truncated or padded" };
    // VkPipelineCacheHeaderVersionOne: headerSize, headerVersion, vendorID, deviceID, UUID.
    if (blob.len < vulkan_header_bytes) return .{ .rejected = "the driver's blob has no header" };
    const words = [_]u32{ readU32(blob, 0), readU32(blob, 4), readU32(blob, 8), readU32(blob, 12) };
    if (words[0] < vulkan_header_bytes or words[1] != 1) return .{ .rejected = "the driver's header is not VkPipelineCacheHeaderVersionOne" };
    if (words[2] != identity.vendor_id or words[3] != identity.device_id) return .{ .rejected = "the driver's header names another device" };
    if (!std.mem.eql(u8, blob[16..32], &identity.uuid)) return .{ .rejected = "the driver's header names another pipelineCacheUUID" };
    return .{ .blob = blob };
}

fn readU32(bytes: []const u8, at: usize) u32 {
    return std.mem.readInt(u32, bytes[at..][0..4], .little);
}

/// The file's bytes for `blob`, from `allocator`.
pub fn encode(allocator: std.mem.Allocator, identity: Identity, blob: []const u8) ![]u8 {
    const header: Header = .{
        .magic = magic,
        .vendor_id = identity.vendor_id,
        .device_id = identity.device_id,
        .driver_version = identity.driver_version,
        .blob_bytes = @intCast(blob.len),
        .shader_hash = identity.shader_hash,
        .uuid = identity.uuid,
    };
    const out = try allocator.alloc(u8, @sizeOf(Header) + blob.len);
    @memcpy(out[0..@sizeOf(Header)], std.mem.asBytes(&header));
    @memcpy(out[@sizeOf(Header)..], blob);
    return out;
}

/// The cache file's path for `identity` in `buffer`, or null when no cache folder is known.
pub fn path(buffer: []u8, identity: Identity) ?[]const u8 {
    var folder_buffer: [std.fs.max_path_bytes]u8 = undefined;
    const folder = cacheFolder(&folder_buffer) orelse return null;
    return std.fmt.bufPrint(buffer, "{s}{c}vulkan-pipelines-{x:0>4}-{x:0>4}-{x:0>16}.bin", .{
        folder, std.fs.path.sep, identity.vendor_id, identity.device_id, identity.shader_hash,
    }) catch null;
}

fn cacheFolder(buffer: []u8) ?[]const u8 {
    var env_buffer: env.Buffer = undefined;
    if (env.get("TESSERA_CACHE_DIR", &env_buffer)) |dir| if (dir.len > 0) return copy(buffer, "{s}", dir);
    if (builtin.os.tag == .windows) {
        if (env.get("LOCALAPPDATA", &env_buffer)) |dir| if (dir.len > 0) return copy(buffer, "{s}\\tessera", dir);
        return null;
    }
    if (env.get("XDG_CACHE_HOME", &env_buffer)) |dir| if (dir.len > 0) return copy(buffer, "{s}/tessera", dir);
    if (env.get("HOME", &env_buffer)) |dir| if (dir.len > 0) return copy(buffer, "{s}/.cache/tessera", dir);
    return null;
}

fn copy(buffer: []u8, comptime format: []const u8, dir: []const u8) ?[]const u8 {
    return std.fmt.bufPrint(buffer, format, .{dir}) catch null;
}

/// The driver's blob from the file at `file_path` if it is valid for `identity`, from
/// `allocator`; null (and a log line saying why) otherwise.
pub fn load(allocator: std.mem.Allocator, file_path: []const u8, identity: Identity) ?[]u8 {
    const bytes = std.fs.cwd().readFileAlloc(allocator, file_path, 256 << 20) catch |e| {
        if (e != error.FileNotFound) log.write(.info, "Vulkan pipeline cache {s} unreadable ({s}): rebuilding it", .{ file_path, @errorName(e) });
        return null;
    };
    switch (validate(identity, bytes)) {
        .blob => |blob| {
            std.mem.copyForwards(u8, bytes, blob);
            return allocator.realloc(bytes, blob.len) catch bytes[0..blob.len];
        },
        .rejected => |why| {
            log.write(.info, "Vulkan pipeline cache {s} rejected ({s}): rebuilding it", .{ file_path, why });
            allocator.free(bytes);
            return null;
        },
    }
}

/// Writes the file atomically: a temporary file in the same folder, then a rename over the old.
pub fn save(allocator: std.mem.Allocator, file_path: []const u8, identity: Identity, blob: []const u8) !void {
    const bytes = try encode(allocator, identity, blob);
    defer allocator.free(bytes);
    if (std.fs.path.dirname(file_path)) |dir| try folders.make(dir);
    var temporary_buffer: [std.fs.max_path_bytes]u8 = undefined;
    const temporary = try std.fmt.bufPrint(&temporary_buffer, "{s}.{x}.tmp", .{ file_path, std.crypto.random.int(u64) });
    try std.fs.cwd().writeFile(.{ .sub_path = temporary, .data = bytes });
    std.fs.cwd().rename(temporary, file_path) catch |e| {
        std.fs.cwd().deleteFile(temporary) catch {};
        return e;
    };
}

fn testIdentity() Identity {
    return .{ .vendor_id = 0x10005, .device_id = 0, .driver_version = 42, .uuid = "0123456789abcdef".*, .shader_hash = 0xfeed };
}

fn testBlob(identity: Identity) [40]u8 {
    var blob: [40]u8 = undefined;
    std.mem.writeInt(u32, blob[0..4], 32, .little);
    std.mem.writeInt(u32, blob[4..8], 1, .little);
    std.mem.writeInt(u32, blob[8..12], identity.vendor_id, .little);
    std.mem.writeInt(u32, blob[12..16], identity.device_id, .little);
    @memcpy(blob[16..32], &identity.uuid);
    @memset(blob[32..], 0xAB);
    return blob;
}

test "a cache file is accepted only by the device, driver and shaders that wrote it" {
    const a = std.testing.allocator;
    const identity = testIdentity();
    const blob = testBlob(identity);
    const file = try encode(a, identity, &blob);
    defer a.free(file);
    try std.testing.expectEqualSlices(u8, &blob, validate(identity, file).blob);
    var other = identity;
    other.driver_version += 1;
    try std.testing.expectEqualStrings("made by another driver version", validate(other, file).rejected);
    other = identity;
    other.shader_hash ^= 1;
    try std.testing.expectEqualStrings("made for other shaders", validate(other, file).rejected);
    other = identity;
    other.uuid[3] ^= 1;
    try std.testing.expectEqualStrings("made for another pipelineCacheUUID", validate(other, file).rejected);
    try std.testing.expectEqualStrings("truncated or padded", validate(identity, file[0 .. file.len - 1]).rejected);
    // A blob whose own Vulkan header disagrees with ours is refused too.
    var corrupted = try a.dupe(u8, file);
    defer a.free(corrupted);
    corrupted[@sizeOf(Header) + 8] ^= 0xFF;
    try std.testing.expectEqualStrings("the driver's header names another device", validate(identity, corrupted).rejected);
    try std.testing.expectEqualStrings("not a Tessera pipeline cache", validate(identity, "garbage that is long enough to hold a header!!!!!!").rejected);
}

test "save writes atomically, load returns the blob, and a corrupted file is rejected" {
    const a = std.testing.allocator;
    var tmp = std.testing.tmpDir(.{});
    defer tmp.cleanup();
    var root_buffer: [std.fs.max_path_bytes]u8 = undefined;
    const root = try tmp.dir.realpath(".", &root_buffer);
    var path_buffer: [std.fs.max_path_bytes]u8 = undefined;
    const file_path = try std.fmt.bufPrint(&path_buffer, "{s}/nested/cache.bin", .{root});
    const identity = testIdentity();
    const blob = testBlob(identity);
    try save(a, file_path, identity, &blob);
    const loaded = load(a, file_path, identity).?;
    defer a.free(loaded);
    try std.testing.expectEqualSlices(u8, &blob, loaded);
    // Only the file itself is left: the temporary was renamed.
    var nested = try tmp.dir.openDir("nested", .{ .iterate = true });
    defer nested.close();
    var it = nested.iterate();
    var count: usize = 0;
    while (try it.next()) |_| count += 1;
    try std.testing.expectEqual(@as(usize, 1), count);
    try tmp.dir.writeFile(.{ .sub_path = "nested/cache.bin", .data = "TSRVKPC1 but then nothing sensible at all, long enough" });
    try std.testing.expect(load(a, file_path, identity) == null);
}
