//! Decoders for the leaf messages: TensorProto (initializers, constant attributes, and the .pb
//! tensors of ONNX test data), SparseTensorProto, and StringStringEntryProto. None of them nests
//! back into graphs, so they need no depth accounting.
const std = @import("std");
const status = @import("../../core/status.zig");
const wire = @import("wire.zig");
const onnx_fields = @import("onnx_fields.zig");
const types = @import("onnx_types.zig");

const Decoder = onnx_fields.Decoder;
const Fields = onnx_fields.Fields;
const TensorProto = types.TensorProto;
const SparseTensorProto = types.SparseTensorProto;
const StringStringEntryProto = types.StringStringEntryProto;

pub fn decodeEntry(reader: wire.Reader) status.Error!StringStringEntryProto {
    var entry: StringStringEntryProto = .{};
    var fields = Fields.init(reader, "StringStringEntryProto");
    while (try fields.next()) |field| switch (field.number) {
        1 => entry.key = try fields.bytes(field, "key"),
        2 => entry.value = try fields.bytes(field, "value"),
        else => try fields.skip(field),
    };
    return entry;
}

pub fn decodeTensor(decoder: *Decoder, reader: wire.Reader) status.Error!TensorProto {
    var tensor: TensorProto = .{};
    var dims: std.ArrayList(i64) = .empty;
    var float_data: std.ArrayList(f32) = .empty;
    var int32_data: std.ArrayList(i32) = .empty;
    var string_data: std.ArrayList([]const u8) = .empty;
    var int64_data: std.ArrayList(i64) = .empty;
    var double_data: std.ArrayList(f64) = .empty;
    var uint64_data: std.ArrayList(u64) = .empty;
    var external_data: std.ArrayList(StringStringEntryProto) = .empty;
    var metadata_props: std.ArrayList(StringStringEntryProto) = .empty;
    var fields = Fields.init(reader, "TensorProto");
    while (try fields.next()) |field| switch (field.number) {
        1 => try fields.repeated(decoder, i64, field, "dims", &dims),
        2 => tensor.data_type = try fields.scalar(i32, field, "data_type"),
        3 => tensor.segment = try decodeSegment(try fields.single(field, "segment", tensor.segment != null)),
        4 => try fields.repeated(decoder, f32, field, "float_data", &float_data),
        5 => try fields.repeated(decoder, i32, field, "int32_data", &int32_data),
        6 => try decoder.append(&string_data, try fields.bytes(field, "string_data")),
        7 => try fields.repeated(decoder, i64, field, "int64_data", &int64_data),
        8 => tensor.name = try fields.bytes(field, "name"),
        9 => tensor.raw_data = try fields.bytes(field, "raw_data"),
        10 => try fields.repeated(decoder, f64, field, "double_data", &double_data),
        11 => try fields.repeated(decoder, u64, field, "uint64_data", &uint64_data),
        12 => tensor.doc_string = try fields.bytes(field, "doc_string"),
        13 => try decoder.append(&external_data, try decodeEntry(try fields.nested(field, "external_data"))),
        14 => tensor.data_location = @enumFromInt(try fields.scalar(i32, field, "data_location")),
        16 => try decoder.append(&metadata_props, try decodeEntry(try fields.nested(field, "metadata_props"))),
        else => try fields.skip(field),
    };
    tensor.dims = dims.items;
    tensor.float_data = float_data.items;
    tensor.int32_data = int32_data.items;
    tensor.string_data = string_data.items;
    tensor.int64_data = int64_data.items;
    tensor.double_data = double_data.items;
    tensor.uint64_data = uint64_data.items;
    tensor.external_data = external_data.items;
    tensor.metadata_props = metadata_props.items;
    return tensor;
}

fn decodeSegment(reader: wire.Reader) status.Error!TensorProto.Segment {
    var segment: TensorProto.Segment = .{};
    var fields = Fields.init(reader, "TensorProto.Segment");
    while (try fields.next()) |field| switch (field.number) {
        1 => segment.begin = try fields.scalar(i64, field, "begin"),
        2 => segment.end = try fields.scalar(i64, field, "end"),
        else => try fields.skip(field),
    };
    return segment;
}

pub fn decodeSparseTensor(decoder: *Decoder, reader: wire.Reader) status.Error!SparseTensorProto {
    var sparse: SparseTensorProto = .{};
    var dims: std.ArrayList(i64) = .empty;
    var fields = Fields.init(reader, "SparseTensorProto");
    while (try fields.next()) |field| switch (field.number) {
        1 => sparse.values = try decodeTensor(decoder, try fields.single(field, "values", sparse.values != null)),
        2 => sparse.indices = try decodeTensor(decoder, try fields.single(field, "indices", sparse.indices != null)),
        3 => try fields.repeated(decoder, i64, field, "dims", &dims),
        else => try fields.skip(field),
    };
    sparse.dims = dims.items;
    return sparse;
}

const testing = std.testing;

test "a hand-encoded tensor: packed and unpacked dims, raw data, external data, segment" {
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    var decoder: Decoder = .{ .arena = arena.allocator() };
    const bytes = [_]u8{
        0x08, 0x02, // dims: 2 (unpacked)
        0x0a, 0x02, 0x03, 0x04, // dims: {3, 4} (packed)
        0x10, 0x01, // data_type FLOAT
        0x1a, 0x04, 0x08, 0x01, 0x10, 0x05, // segment {1, 5}
        0x42, 0x01, 'w', // name "w"
        0x4a, 0x02, 0xaa, 0xbb, // raw_data
        0x6a, 0x06, 0x0a, 0x01, 'k', 0x12, 0x01, 'v', // external_data {k: v}
        0x70, 0x01, // data_location EXTERNAL
        0x22, 0x04, 0x00, 0x00, 0x80, 0x3f, // float_data: {1.0} (packed)
        0xf8, 0x07, 0x01, // unknown field 127, skipped
    };
    const tensor = try decodeTensor(&decoder, wire.Reader.init(&bytes));
    try testing.expectEqualSlices(i64, &.{ 2, 3, 4 }, tensor.dims);
    try testing.expectEqual(@as(i32, 1), tensor.data_type);
    try testing.expectEqual(TensorProto.Segment{ .begin = 1, .end = 5 }, tensor.segment.?);
    try testing.expectEqualStrings("w", tensor.name);
    try testing.expectEqualSlices(u8, &.{ 0xaa, 0xbb }, tensor.raw_data.?);
    try testing.expectEqualStrings("v", tensor.externalValue("k").?);
    try testing.expectEqual(types.DataLocation.external, tensor.data_location);
    try testing.expectEqualSlices(f32, &.{1.0}, tensor.float_data);
}

test "malformed tensors fail with the field named" {
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    var decoder: Decoder = .{ .arena = arena.allocator() };
    const cases = [_]struct { bytes: []const u8, message: []const u8 }{
        .{
            .bytes = &.{ 0x08, 0x80 },
            .message = "TensorProto.dims: truncated varint at byte 1",
        },
        .{
            .bytes = &.{ 0x4a, 0x05, 0x00 },
            .message = "TensorProto.raw_data: length past the end of its message at byte 1",
        },
        .{
            .bytes = &.{ 0x42, 0x01, 'a', 0x00 },
            .message = "TensorProto: field key at byte 3: field number 0",
        },
        .{
            .bytes = &.{0x13},
            .message = "TensorProto: field key at byte 0: group wire type 3 or 4 (unsupported)",
        },
        .{
            .bytes = &.{ 0x15, 0, 0, 0, 0 },
            .message = "TensorProto.data_type: wire type fixed32 where varint is expected, at byte 0",
        },
        .{
            .bytes = &.{ 0x1a, 0x00, 0x1a, 0x00 },
            .message = "TensorProto.segment: a second occurrence at byte 2 (merging is not supported)",
        },
        .{
            .bytes = &.{ 0x1a, 0x01, 0x08 },
            .message = "TensorProto.Segment.begin: truncated varint at byte 3",
        },
        .{
            .bytes = &.{ 0x52, 0x03, 0, 0, 0 },
            .message = "TensorProto.double_data: packed length is not a multiple of the element size at byte 2",
        },
        .{
            .bytes = &.{ 0x6a, 0x02, 0x0a, 0x05 },
            .message = "StringStringEntryProto.key: length past the end of its message at byte 3",
        },
    };
    for (cases) |case| {
        try testing.expectError(error.ModelError, decodeTensor(&decoder, wire.Reader.init(case.bytes)));
        try testing.expectEqualStrings(case.message, std.mem.span(status.lastMessage()));
    }
}
