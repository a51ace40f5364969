//! The glue between wire.zig and the ONNX message decoders: reads typed fields, checks their wire
//! types, and turns wire errors into ModelError messages that name the message, the field and the
//! byte ("TensorProto.dims: truncated varint at byte 1234"), so a bad model can be diagnosed.
const std = @import("std");
const status = @import("../../core/status.zig");
const wire = @import("wire.zig");

/// How deep graphs (in attributes of nodes of graphs) and TypeProtos may nest. Every recursion in
/// the schema passes through one of the two, so this bounds the decoder's stack; real models nest a
/// handful of levels.
pub const max_depth = 64;

/// State shared by one decode: the allocator every list and pointer comes from, and the depth.
/// Lists are returned as `items` without shrinking, so the allocator must be an arena (or similar)
/// that frees everything at once: nothing here frees memory.
pub const Decoder = struct {
    arena: std.mem.Allocator,
    depth: u32 = 0,

    pub fn enter(self: *Decoder, message: []const u8, reader: *const wire.Reader) status.Error!void {
        if (self.depth >= max_depth) {
            return status.fail(error.ModelError, "{s}: nested more than {d} levels deep at byte {d}", .{
                message, max_depth, reader.base,
            });
        }
        self.depth += 1;
    }

    pub fn leave(self: *Decoder) void {
        std.debug.assert(self.depth > 0);
        self.depth -= 1;
    }

    pub fn append(self: *Decoder, list: anytype, item: anytype) status.Error!void {
        list.append(self.arena, item) catch return outOfMemory();
    }

    pub fn create(self: *Decoder, value: anytype) status.Error!*const @TypeOf(value) {
        const pointer = self.arena.create(@TypeOf(value)) catch return outOfMemory();
        pointer.* = value;
        return pointer;
    }
};

fn outOfMemory() status.Error {
    return status.fail(error.OutOfResource, "out of memory decoding an ONNX model", .{});
}

/// The fields of one message, read in order. `message` names it in errors ("GraphProto").
pub const Fields = struct {
    reader: wire.Reader,
    message: []const u8,

    pub fn init(reader: wire.Reader, message: []const u8) Fields {
        return .{ .reader = reader, .message = message };
    }

    pub fn next(self: *Fields) status.Error!?wire.Field {
        return self.reader.next() catch |err| self.failKey(err);
    }

    /// Steps over a field this decoder does not read (unknown, or of no use to the runtime).
    pub fn skip(self: *Fields, field: wire.Field) status.Error!void {
        self.reader.skip(field.wire_type) catch |err| {
            return status.fail(error.ModelError, "{s} field {d}: {s} at byte {d}", .{
                self.message, field.number, wire.describe(err), self.reader.fault,
            });
        };
    }

    /// A singular scalar; protobuf keeps the last of repeated occurrences, and so do the callers.
    pub fn scalar(self: *Fields, comptime T: type, field: wire.Field, name: []const u8) status.Error!T {
        try self.expect(field, name, wire.scalarWireType(T));
        return self.reader.readScalar(T) catch |err| self.fail(name, err, self.reader.fault);
    }

    /// A string or bytes field, as a slice of the input.
    pub fn bytes(self: *Fields, field: wire.Field, name: []const u8) status.Error![]const u8 {
        try self.expect(field, name, .len);
        return self.reader.readBytes() catch |err| self.fail(name, err, self.reader.fault);
    }

    /// An embedded message, as a reader over its bytes.
    pub fn nested(self: *Fields, field: wire.Field, name: []const u8) status.Error!wire.Reader {
        try self.expect(field, name, .len);
        return self.reader.readNested() catch |err| self.fail(name, err, self.reader.fault);
    }

    /// A singular embedded message. Protobuf merges a second occurrence into the first; no ONNX
    /// writer emits one, and merging does not fit a zero-copy decoder, so it is refused instead.
    pub fn single(self: *Fields, field: wire.Field, name: []const u8, present: bool) status.Error!wire.Reader {
        if (present) {
            const fmt = "{s}.{s}: a second occurrence at byte {d} (merging is not supported)";
            return status.fail(error.ModelError, fmt, .{ self.message, name, field.offset });
        }
        return self.nested(field, name);
    }

    /// One occurrence of a repeated scalar: a single unpacked element, or a packed run of them.
    /// Parsers must accept both, whatever the schema declares.
    pub fn repeated(
        self: *Fields,
        decoder: *Decoder,
        comptime T: type,
        field: wire.Field,
        name: []const u8,
        list: *std.ArrayList(T),
    ) status.Error!void {
        const element_type = comptime wire.scalarWireType(T);
        if (field.wire_type == element_type) return decoder.append(list, try self.scalar(T, field, name));
        if (field.wire_type != .len) return self.wrongType(field, name, @tagName(element_type) ++ " or packed");
        var payload = try self.nested(field, name);
        const count = wire.packedCount(T, &payload) catch |err| return self.fail(name, err, payload.fault);
        list.ensureUnusedCapacity(decoder.arena, count) catch return outOfMemory();
        // `count` is exact for a well-formed payload, and no fewer than what decodes before an error.
        while (!payload.atEnd()) {
            const value = payload.readScalar(T) catch |err| return self.fail(name, err, payload.fault);
            list.appendAssumeCapacity(value);
        }
    }

    fn expect(self: *Fields, field: wire.Field, name: []const u8, wanted: wire.WireType) status.Error!void {
        if (field.wire_type != wanted) return self.wrongType(field, name, @tagName(wanted));
    }

    fn wrongType(self: *Fields, field: wire.Field, name: []const u8, wanted: []const u8) status.Error {
        return status.fail(error.ModelError, "{s}.{s}: wire type {s} where {s} is expected, at byte {d}", .{
            self.message, name, @tagName(field.wire_type), wanted, field.offset,
        });
    }

    fn fail(self: *Fields, name: []const u8, err: wire.Error, offset: usize) status.Error {
        return status.fail(error.ModelError, "{s}.{s}: {s} at byte {d}", .{
            self.message, name, wire.describe(err), offset,
        });
    }

    fn failKey(self: *Fields, err: wire.Error) status.Error {
        return status.fail(error.ModelError, "{s}: field key at byte {d}: {s}", .{
            self.message, self.reader.fault, wire.describe(err),
        });
    }
};

const testing = std.testing;

fn expectMessage(expected: []const u8) !void {
    try testing.expectEqualStrings(expected, std.mem.span(status.lastMessage()));
}

test "typed fields check their wire types and name the field in errors" {
    // field 1 varint 7; field 2 fixed32 (wrong for a string); field 3 len "ab".
    var fields = Fields.init(wire.Reader.init(&.{ 0x08, 0x07, 0x15, 1, 2, 3, 4, 0x1a, 0x02, 'a', 'b' }), "Test");
    try testing.expectEqual(@as(i64, 7), try fields.scalar(i64, (try fields.next()).?, "one"));
    try testing.expectError(error.ModelError, fields.bytes((try fields.next()).?, "two"));
    try expectMessage("Test.two: wire type fixed32 where len is expected, at byte 2");
}

test "repeated scalars accept packed and unpacked occurrences in one list" {
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    var decoder: Decoder = .{ .arena = arena.allocator() };
    // field 1: unpacked 5, packed {1, 300}, unpacked 2.
    var fields = Fields.init(wire.Reader.init(&.{ 0x08, 0x05, 0x0a, 0x03, 0x01, 0xac, 0x02, 0x08, 0x02 }), "Test");
    var list: std.ArrayList(i64) = .empty;
    while (try fields.next()) |field| try fields.repeated(&decoder, i64, field, "ints", &list);
    try testing.expectEqualSlices(i64, &.{ 5, 1, 300, 2 }, list.items);

    var bad = Fields.init(wire.Reader.init(&.{ 0x0a, 0x02, 0x01, 0xac }), "Test");
    try testing.expectError(error.ModelError, bad.repeated(&decoder, i64, (try bad.next()).?, "ints", &list));
    try expectMessage("Test.ints: truncated varint at byte 3");
    var wrong = Fields.init(wire.Reader.init(&.{ 0x0d, 0, 0, 0, 0 }), "Test");
    try testing.expectError(error.ModelError, wrong.repeated(&decoder, i64, (try wrong.next()).?, "ints", &list));
    try expectMessage("Test.ints: wire type fixed32 where varint or packed is expected, at byte 0");
}

test "skipping a damaged unknown field names its number" {
    var fields = Fields.init(wire.Reader.init(&.{ 0xf8, 0x07, 0x80 }), "Test");
    try testing.expectError(error.ModelError, fields.skip((try fields.next()).?));
    try expectMessage("Test field 127: truncated varint at byte 2");
}

test "the depth limit holds" {
    var decoder: Decoder = .{ .arena = testing.allocator };
    const reader = wire.Reader.init(&.{});
    for (0..max_depth) |_| try decoder.enter("GraphProto", &reader);
    try testing.expectError(error.ModelError, decoder.enter("GraphProto", &reader));
    for (0..max_depth) |_| decoder.leave();
}
