//! The tensor file format (docs/tensor-file-format.md): a checked 64-byte header, the dims, and
//! the data at a 64-byte aligned offset. Every field is validated on load, so a truncated, foreign
//! or corrupted file is a ContainerError, never a crash or a wrong tensor.
const std = @import("std");
const os_error = @import("../core/os_error.zig");
const memory = @import("../core/memory.zig");
const status = @import("../core/status.zig");
const tensor_module = @import("tensor.zig");

const Tensor = tensor_module.Tensor;
const Layout = tensor_module.Layout;
const DType = tensor_module.DType;

pub const magic = "TSRTENS\x00";
pub const format_version: u16 = 1;
const fixed_header_size = 64;
const data_alignment = 64;
const flag_quantized: u32 = 1;

/// The fixed part of the header, little-endian on disk.
const Header = extern struct {
    magic: [8]u8,
    version: u16,
    header_size: u16,
    dtype: i32,
    rank: u32,
    flags: u32,
    count: u64,
    data_size: u64,
    data_offset: u64,
    scale: f32,
    zero_point: i32,
    data_crc: u32,
    header_crc: u32,
};

comptime {
    std.debug.assert(@sizeOf(Header) == fixed_header_size);
    std.debug.assert(@import("builtin").cpu.arch.endian() == .little);
}

pub fn save(tensor: *Tensor, path: []const u8) status.Error!void {
    const layout = &tensor.layout;
    var data_crc = std.hash.Crc32.init();
    const data_size = if (layout.dtype == .string) stringDataSize(tensor, &data_crc) else blk: {
        data_crc.update(tensor.data);
        break :blk tensor.data.len;
    };
    const header_size = fixed_header_size + 8 * layout.rank;
    var header = Header{
        .magic = magic.*,
        .version = format_version,
        .header_size = @intCast(header_size),
        .dtype = @intFromEnum(layout.dtype),
        .rank = layout.rank,
        .flags = if (layout.dtype.isQuantized()) flag_quantized else 0,
        .count = layout.count,
        .data_size = data_size,
        .data_offset = std.mem.alignForward(u64, header_size, data_alignment),
        .scale = tensor.scale,
        .zero_point = tensor.zero_point,
        .data_crc = data_crc.final(),
        .header_crc = 0,
    };
    header.header_crc = headerCrc(&header, layout.shape());

    const file = std.fs.cwd().createFile(path, .{}) catch |e|
        return status.fail(error.IOError, "cannot create '{s}': {s}", .{ path, os_error.describe(e) });
    defer file.close();
    writeAll(file, path, tensor, &header) catch |e| {
        std.fs.cwd().deleteFile(path) catch {};
        return e;
    };
}

fn writeAll(file: std.fs.File, path: []const u8, tensor: *Tensor, header: *const Header) status.Error!void {
    var buffer: [64 * 1024]u8 = undefined;
    var file_writer = file.writer(&buffer);
    const writer = &file_writer.interface;
    writeParts(writer, tensor, header) catch
        return status.fail(error.IOError, "cannot write '{s}': {s}", .{ path, os_error.describe(file_writer.err orelse error.WriteFailed) });
}

fn writeParts(writer: *std.Io.Writer, tensor: *Tensor, header: *const Header) !void {
    try writer.writeAll(std.mem.asBytes(header));
    try writer.writeAll(std.mem.sliceAsBytes(tensor.layout.shape()));
    try writer.splatByteAll(0, header.data_offset - header.header_size);
    if (tensor.layout.dtype == .string) {
        for (0..tensor.strings().len) |i| {
            const bytes = tensor.getString(i) catch unreachable;
            try writer.writeInt(u32, @intCast(bytes.len), .little);
            try writer.writeAll(bytes);
        }
    } else {
        try writer.writeAll(tensor.data);
    }
    try writer.flush();
}

fn stringDataSize(tensor: *Tensor, crc: *std.hash.Crc32) u64 {
    var size: u64 = 0;
    for (0..tensor.strings().len) |i| {
        const bytes = tensor.getString(i) catch unreachable;
        var length: [4]u8 = undefined;
        std.mem.writeInt(u32, &length, @intCast(bytes.len), .little);
        crc.update(&length);
        crc.update(bytes);
        size += 4 + bytes.len;
    }
    return size;
}

fn headerCrc(header: *const Header, dims: []const i64) u32 {
    var crc = std.hash.Crc32.init();
    crc.update(std.mem.asBytes(header)[0 .. fixed_header_size - 4]);
    crc.update(std.mem.sliceAsBytes(dims));
    return crc.final();
}

pub fn load(path: []const u8) status.Error!*Tensor {
    const file = std.fs.cwd().openFile(path, .{}) catch |e|
        return status.fail(error.IOError, "cannot open '{s}': {s}", .{ path, os_error.describe(e) });
    defer file.close();
    const file_size = file.getEndPos() catch |e|
        return status.fail(error.IOError, "cannot read '{s}': {s}", .{ path, os_error.describe(e) });

    var header: Header = std.mem.zeroes(Header);
    const read = file.preadAll(std.mem.asBytes(&header), 0) catch |e|
        return status.fail(error.IOError, "cannot read '{s}': {s}", .{ path, os_error.describe(e) });
    if (read < magic.len or !std.mem.eql(u8, &header.magic, magic)) {
        return status.fail(error.ContainerError, "'{s}' is not a Tessera tensor file (bad magic)", .{path});
    }
    if (read < fixed_header_size) {
        return status.fail(error.ContainerError, "'{s}' is truncated: its header ends early", .{path});
    }
    var dims_buffer: [tensor_module.max_rank]i64 = undefined;
    const layout = try checkHeader(file, path, &header, file_size, &dims_buffer);

    const tensor = try Tensor.create(layout);
    errdefer tensor.destroy();
    if (layout.dtype.isQuantized()) try tensor.setQuantization(header.scale, header.zero_point);
    if (layout.dtype == .string) {
        try loadStrings(file, path, tensor, &header);
    } else {
        try readExact(file, path, tensor.data, header.data_offset, "data");
        if (std.hash.Crc32.hash(tensor.data) != header.data_crc) {
            return status.fail(error.ContainerError, "'{s}': data checksum mismatch (corrupted file)", .{path});
        }
    }
    return tensor;
}

fn checkHeader(file: std.fs.File, path: []const u8, header: *const Header, file_size: u64, dims: *[tensor_module.max_rank]i64) status.Error!Layout {
    if (header.version != format_version) {
        return status.fail(error.ContainerError, "'{s}' has format version {d}; this library reads {d}", .{ path, header.version, format_version });
    }
    if (header.rank > tensor_module.max_rank or header.header_size != fixed_header_size + 8 * header.rank) {
        return status.fail(error.ContainerError, "'{s}': corrupted header (rank {d}, header size {d})", .{ path, header.rank, header.header_size });
    }
    try readExact(file, path, std.mem.sliceAsBytes(dims[0..header.rank]), fixed_header_size, "dims");
    if (headerCrc(header, dims[0..header.rank]) != header.header_crc) {
        return status.fail(error.ContainerError, "'{s}': header checksum mismatch (corrupted file)", .{path});
    }
    const dtype = DType.fromInt(header.dtype) catch
        return status.fail(error.ContainerError, "'{s}': unknown element type {d}", .{ path, header.dtype });
    const layout = Layout.init(dtype, dims[0..header.rank]) catch
        return status.fail(error.ContainerError, "'{s}': invalid shape: {s}", .{ path, std.mem.span(status.lastMessage()) });
    const data_size_ok = if (dtype == .string) header.data_size >= 4 * layout.count else header.data_size == layout.byte_size;
    if (layout.count != header.count or !data_size_ok) {
        return status.fail(error.ContainerError, "'{s}': header sizes disagree with the shape", .{path});
    }
    if (header.data_offset != std.mem.alignForward(u64, header.header_size, data_alignment)) {
        return status.fail(error.ContainerError, "'{s}': bad data offset {d}", .{ path, header.data_offset });
    }
    // The padding before the data is zero bytes: anything else is a file this format did not write.
    var padding: [data_alignment]u8 = undefined;
    const padding_len: usize = @intCast(header.data_offset - header.header_size);
    try readExact(file, path, padding[0..padding_len], header.header_size, "padding");
    if (std.mem.indexOfNone(u8, padding[0..padding_len], &.{0}) != null) {
        return status.fail(error.ContainerError, "'{s}': the padding before the data is not zero (corrupted file)", .{path});
    }
    const end = std.math.add(u64, header.data_offset, header.data_size) catch std.math.maxInt(u64);
    if (end != file_size) {
        return status.fail(error.ContainerError, "'{s}' is {d} bytes; its header says {d} (truncated or padded)", .{ path, file_size, end });
    }
    return layout;
}

fn loadStrings(file: std.fs.File, path: []const u8, tensor: *Tensor, header: *const Header) status.Error!void {
    var crc = std.hash.Crc32.init();
    var offset = header.data_offset;
    const end = header.data_offset + header.data_size;
    for (0..tensor.strings().len) |i| {
        var length_bytes: [4]u8 = undefined;
        if (end - offset < 4) return status.fail(error.ContainerError, "'{s}': string data ends early", .{path});
        try readExact(file, path, &length_bytes, offset, "string length");
        crc.update(&length_bytes);
        const length = std.mem.readInt(u32, &length_bytes, .little);
        offset += 4;
        if (end - offset < length) return status.fail(error.ContainerError, "'{s}': string {d} runs past the data", .{ path, i });
        const bytes = memory.allocator.alloc(u8, length) catch
            return status.fail(error.OutOfResource, "cannot allocate a {d}-byte string", .{length});
        defer memory.allocator.free(bytes);
        try readExact(file, path, bytes, offset, "string");
        crc.update(bytes);
        try tensor.setString(i, bytes);
        offset += length;
    }
    if (offset != end or crc.final() != header.data_crc) {
        return status.fail(error.ContainerError, "'{s}': string data checksum or size mismatch", .{path});
    }
}

fn readExact(file: std.fs.File, path: []const u8, buffer: []u8, offset: u64, what: []const u8) status.Error!void {
    const read = file.preadAll(buffer, offset) catch |e|
        return status.fail(error.IOError, "cannot read '{s}': {s}", .{ path, os_error.describe(e) });
    if (read != buffer.len) {
        return status.fail(error.ContainerError, "'{s}' is truncated: its {s} ends early", .{ path, what });
    }
}

test "save and load round-trip, and damage is detected" {
    var dir = std.testing.tmpDir(.{});
    defer dir.cleanup();
    var path_buffer: [std.fs.max_path_bytes]u8 = undefined;
    const dir_path = try dir.dir.realpath(".", &path_buffer);
    var name_buffer: [std.fs.max_path_bytes]u8 = undefined;
    const path = try std.fmt.bufPrint(&name_buffer, "{s}/t.tsr", .{dir_path});

    const original = try Tensor.create(try Layout.init(.int16, &.{ 3, 5 }));
    defer original.destroy();
    try original.fill(std.mem.asBytes(&@as(i16, -7)));
    try save(original, path);
    const loaded = try load(path);
    defer loaded.destroy();
    try std.testing.expectEqualSlices(i64, original.layout.shape(), loaded.layout.shape());
    try std.testing.expectEqualSlices(u8, original.data, loaded.data);

    const file = try std.fs.cwd().openFile(path, .{ .mode = .read_write });
    defer file.close();
    // A byte of the padding between the header (80 bytes for rank 2) and the data (at 128).
    try file.pwriteAll(&.{0x01}, 100);
    try std.testing.expectError(error.ContainerError, load(path));
    try file.pwriteAll(&.{0x00}, 100);
    const again = try load(path);
    again.destroy();
    try file.pwriteAll(&.{0x55}, 128 + 3); // inside the data, which starts at 128
    try std.testing.expectError(error.ContainerError, load(path));
    try file.setEndPos(40);
    try std.testing.expectError(error.ContainerError, load(path));
}
