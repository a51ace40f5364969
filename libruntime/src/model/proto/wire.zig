//! The protobuf wire format, read from a byte slice with every step bounds-checked. Model files come
//! from users, so a malformed one must end in an error, never in a panic, an out-of-bounds read or an
//! endless loop: every read either consumes at least one byte or fails.
//! This layer knows nothing of ONNX; onnx_fields.zig turns its errors into precise status messages.
const std = @import("std");

/// A varint never needs more than 10 bytes to hold 64 bits.
pub const max_varint_bytes = 10;
/// Field numbers are 29 bits wide.
pub const max_field_number: u32 = (1 << 29) - 1;

/// The wire types that can appear in a valid message. Groups (3 and 4) are deprecated and no ONNX
/// writer emits them, so they are rejected with 6 and 7 instead of being half supported.
pub const WireType = enum(u3) {
    varint = 0,
    fixed64 = 1,
    len = 2,
    fixed32 = 5,
};

pub const Error = error{
    TruncatedVarint,
    VarintTooLong,
    VarintOverflow,
    TruncatedFixed,
    LengthPastEnd,
    FieldNumberZero,
    FieldNumberTooLarge,
    GroupWireType,
    InvalidWireType,
    PackedLengthMismatch,
};

/// A short phrase for messages like "TensorProto.dims: truncated varint at byte 12".
pub fn describe(err: Error) []const u8 {
    return switch (err) {
        error.TruncatedVarint => "truncated varint",
        error.VarintTooLong => "varint longer than 10 bytes",
        error.VarintOverflow => "varint overflows 64 bits",
        error.TruncatedFixed => "truncated fixed-width value",
        error.LengthPastEnd => "length past the end of its message",
        error.FieldNumberZero => "field number 0",
        error.FieldNumberTooLarge => "field number above 2^29-1",
        error.GroupWireType => "group wire type 3 or 4 (unsupported)",
        error.InvalidWireType => "invalid wire type (6 or 7)",
        error.PackedLengthMismatch => "packed length is not a multiple of the element size",
    };
}

/// One field key: its number, its wire type, and the absolute offset of the key for messages.
pub const Field = struct {
    number: u32,
    wire_type: WireType,
    offset: usize,
};

/// Reads one message (or one packed payload). `base` is the absolute offset of `bytes[0]` in the
/// outermost buffer, so that errors deep inside nested messages still name a byte of the file.
/// After an error the reader's position is unspecified; `fault` holds where the bad data began.
pub const Reader = struct {
    bytes: []const u8,
    pos: usize = 0,
    base: usize = 0,
    fault: usize = 0,

    pub fn init(bytes: []const u8) Reader {
        return .{ .bytes = bytes };
    }

    pub fn atEnd(self: *const Reader) bool {
        return self.pos >= self.bytes.len;
    }

    /// Absolute offset of the next byte to read.
    pub fn offset(self: *const Reader) usize {
        return self.base + self.pos;
    }

    fn failAt(self: *Reader, err: Error, pos: usize) Error {
        self.fault = self.base + pos;
        return err;
    }

    pub fn readVarint(self: *Reader) Error!u64 {
        const start = self.pos;
        var result: u64 = 0;
        for (0..max_varint_bytes) |i| {
            if (self.pos >= self.bytes.len) return self.failAt(error.TruncatedVarint, start);
            const byte = self.bytes[self.pos];
            self.pos += 1;
            if (i == max_varint_bytes - 1 and byte > 1) {
                // The 10th byte carries bit 63 only; anything more is too long or too large.
                const err: Error = if (byte & 0x80 != 0) error.VarintTooLong else error.VarintOverflow;
                return self.failAt(err, start);
            }
            result |= @as(u64, byte & 0x7f) << @intCast(7 * i);
            if (byte & 0x80 == 0) return result;
        }
        unreachable; // the 10th byte either ends the varint or fails above
    }

    pub fn readFixed32(self: *Reader) Error!u32 {
        const raw = try self.take(4);
        return std.mem.readInt(u32, raw[0..4], .little);
    }

    pub fn readFixed64(self: *Reader) Error!u64 {
        const raw = try self.take(8);
        return std.mem.readInt(u64, raw[0..8], .little);
    }

    fn take(self: *Reader, count: usize) Error![]const u8 {
        if (self.bytes.len - self.pos < count) return self.failAt(error.TruncatedFixed, self.pos);
        defer self.pos += count;
        return self.bytes[self.pos..][0..count];
    }

    /// A length-delimited payload, as a slice of the input (no copy).
    pub fn readBytes(self: *Reader) Error![]const u8 {
        const start = self.pos;
        const length = try self.readVarint();
        if (length > self.bytes.len - self.pos) return self.failAt(error.LengthPastEnd, start);
        const count: usize = @intCast(length);
        defer self.pos += count;
        return self.bytes[self.pos..][0..count];
    }

    /// A length-delimited payload as a reader of its own that keeps absolute offsets.
    pub fn readNested(self: *Reader) Error!Reader {
        const payload = try self.readBytes();
        return .{ .bytes = payload, .base = self.offset() - payload.len };
    }

    /// The next field key, or null at the end of the message.
    pub fn next(self: *Reader) Error!?Field {
        if (self.atEnd()) return null;
        const start = self.pos;
        const key = try self.readVarint();
        const number = key >> 3;
        if (number == 0) return self.failAt(error.FieldNumberZero, start);
        if (number > max_field_number) return self.failAt(error.FieldNumberTooLarge, start);
        const wire_type: WireType = switch (@as(u3, @truncate(key))) {
            0 => .varint,
            1 => .fixed64,
            2 => .len,
            5 => .fixed32,
            3, 4 => return self.failAt(error.GroupWireType, start),
            6, 7 => return self.failAt(error.InvalidWireType, start),
        };
        return .{ .number = @intCast(number), .wire_type = wire_type, .offset = self.base + start };
    }

    /// Steps over the value of a field this decoder does not know.
    pub fn skip(self: *Reader, wire_type: WireType) Error!void {
        switch (wire_type) {
            .varint => _ = try self.readVarint(),
            .fixed64 => _ = try self.take(8),
            .len => _ = try self.readBytes(),
            .fixed32 => _ = try self.take(4),
        }
    }

    /// One scalar in the encoding protobuf uses for `T`: integers and bool as varints (int32 is
    /// truncated from the 64-bit varint, as protobuf does), floats as fixed32 and fixed64.
    pub fn readScalar(self: *Reader, comptime T: type) Error!T {
        return switch (T) {
            u64 => self.readVarint(),
            i64 => @bitCast(try self.readVarint()),
            u32 => @truncate(try self.readVarint()),
            i32 => @bitCast(@as(u32, @truncate(try self.readVarint()))),
            bool => (try self.readVarint()) != 0,
            f32 => @bitCast(try self.readFixed32()),
            f64 => @bitCast(try self.readFixed64()),
            else => @compileError("no protobuf scalar encoding for " ++ @typeName(T)),
        };
    }
};

/// The wire type that an unpacked element of `T` uses (see `Reader.readScalar`).
pub fn scalarWireType(comptime T: type) WireType {
    return switch (T) {
        u64, i64, u32, i32, bool => .varint,
        f32 => .fixed32,
        f64 => .fixed64,
        else => @compileError("no protobuf scalar encoding for " ++ @typeName(T)),
    };
}

/// How many elements of `T` a packed payload holds, checked before anything is decoded, so that
/// the caller can reserve room once. Fails if the payload cannot be whole elements.
pub fn packedCount(comptime T: type, payload: *Reader) Error!usize {
    const bytes = payload.bytes[payload.pos..];
    switch (scalarWireType(T)) {
        .varint => {
            // Every varint ends with exactly one byte below 0x80.
            var count: usize = 0;
            var complete: usize = 0; // bytes up to the end of the last whole varint
            for (bytes, 1..) |byte, end| {
                if (byte >= 0x80) continue;
                count += 1;
                complete = end;
            }
            if (complete != bytes.len) return payload.failAt(error.TruncatedVarint, payload.pos + complete);
            return count;
        },
        .fixed32, .fixed64 => {
            const size: usize = if (scalarWireType(T) == .fixed32) 4 else 8;
            if (bytes.len % size != 0) return payload.failAt(error.PackedLengthMismatch, payload.pos);
            return bytes.len / size;
        },
        .len => unreachable,
    }
}

pub fn decodeZigZag64(value: u64) i64 {
    const magnitude: i64 = @bitCast(value >> 1);
    return magnitude ^ -@as(i64, @intCast(value & 1));
}

pub fn decodeZigZag32(value: u32) i32 {
    const magnitude: i32 = @bitCast(value >> 1);
    return magnitude ^ -@as(i32, @intCast(value & 1));
}

const testing = std.testing;

test "varints of every length, including the 10-byte maximum" {
    var r = Reader.init(&.{ 0x00, 0x7f, 0x96, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 });
    try testing.expectEqual(@as(u64, 0), try r.readVarint());
    try testing.expectEqual(@as(u64, 127), try r.readVarint());
    try testing.expectEqual(@as(u64, 150), try r.readVarint());
    try testing.expectEqual(@as(u64, std.math.maxInt(u64)), try r.readVarint());
    try testing.expect(r.atEnd());
    // Non-canonical padding is legal protobuf.
    var padded = Reader.init(&.{ 0x81, 0x80, 0x00 });
    try testing.expectEqual(@as(u64, 1), try padded.readVarint());
}

test "malformed varints fail with the offset where they began" {
    var truncated = Reader.init(&.{ 0x05, 0x80, 0x80 });
    _ = try truncated.readVarint();
    try testing.expectError(error.TruncatedVarint, truncated.readVarint());
    try testing.expectEqual(@as(usize, 1), truncated.fault);
    var too_long = Reader.init(&([_]u8{0x80} ** 10 ++ [_]u8{0x01}));
    try testing.expectError(error.VarintTooLong, too_long.readVarint());
    var overflow = Reader.init(&([_]u8{0xff} ** 9 ++ [_]u8{0x02}));
    try testing.expectError(error.VarintOverflow, overflow.readVarint());
    var empty = Reader.init(&.{});
    try testing.expectError(error.TruncatedVarint, empty.readVarint());
}

test "zigzag" {
    try testing.expectEqual(@as(i64, 0), decodeZigZag64(0));
    try testing.expectEqual(@as(i64, -1), decodeZigZag64(1));
    try testing.expectEqual(@as(i64, 1), decodeZigZag64(2));
    try testing.expectEqual(@as(i64, std.math.maxInt(i64)), decodeZigZag64(std.math.maxInt(u64) - 1));
    try testing.expectEqual(@as(i64, std.math.minInt(i64)), decodeZigZag64(std.math.maxInt(u64)));
    try testing.expectEqual(@as(i32, -2), decodeZigZag32(3));
    try testing.expectEqual(@as(i32, std.math.minInt(i32)), decodeZigZag32(std.math.maxInt(u32)));
}

test "fixed-width values are little-endian and bounds-checked" {
    var r = Reader.init(&.{ 0x00, 0x00, 0x80, 0x3f, 0x01, 0, 0, 0, 0, 0, 0, 0x80, 0xaa });
    try testing.expectEqual(@as(f32, 1.0), try r.readScalar(f32));
    try testing.expectEqual(@as(u64, 0x8000000000000001), try r.readFixed64());
    try testing.expectError(error.TruncatedFixed, r.readFixed32());
    try testing.expectEqual(@as(usize, 12), r.fault);
}

test "keys of each wire type, then skipping each" {
    // field 1 varint 150; field 2 fixed64; field 3 len "hi"; field 4 fixed32; field 5 varint.
    const bytes = [_]u8{ 0x08, 0x96, 0x01, 0x11 } ++ [_]u8{7} ** 8 ++
        [_]u8{ 0x1a, 0x02, 'h', 'i', 0x25 } ++ [_]u8{9} ** 4 ++ [_]u8{ 0x28, 0x03 };
    var r = Reader.init(&bytes);
    const expected = [_]WireType{ .varint, .fixed64, .len, .fixed32, .varint };
    for (expected, 1..) |wire_type, number| {
        const field = (try r.next()).?;
        try testing.expectEqual(@as(u32, @intCast(number)), field.number);
        try testing.expectEqual(wire_type, field.wire_type);
        try r.skip(field.wire_type);
    }
    try testing.expectEqual(@as(?Field, null), try r.next());
}

test "bad keys: field 0, groups, wire types 6 and 7, numbers past 2^29" {
    const cases = [_]struct { bytes: []const u8, err: Error }{
        .{ .bytes = &.{0x00}, .err = error.FieldNumberZero },
        .{ .bytes = &.{0x05}, .err = error.FieldNumberZero },
        .{ .bytes = &.{0x0b}, .err = error.GroupWireType },
        .{ .bytes = &.{0x0c}, .err = error.GroupWireType },
        .{ .bytes = &.{0x0e}, .err = error.InvalidWireType },
        .{ .bytes = &.{0x0f}, .err = error.InvalidWireType },
        .{ .bytes = &.{ 0x80, 0x80, 0x80, 0x80, 0x10 }, .err = error.FieldNumberTooLarge },
        .{ .bytes = &.{0x88}, .err = error.TruncatedVarint },
    };
    for (cases) |case| {
        var r = Reader.init(case.bytes);
        try testing.expectError(case.err, r.next());
    }
    // The largest legal field number still reads.
    var r = Reader.init(&.{ 0xf8, 0xff, 0xff, 0xff, 0x0f });
    try testing.expectEqual(max_field_number, (try r.next()).?.number);
}

test "length-delimited payloads must fit, and nested readers keep absolute offsets" {
    var r = Reader.init(&.{ 0x00, 0x03, 0x08, 0x80, 0x80, 0x05 });
    _ = try r.readVarint();
    var nested = try r.readNested();
    try testing.expectEqual(@as(usize, 2), nested.base);
    try testing.expectEqual(@as(u32, 1), (try nested.next()).?.number);
    try testing.expectError(error.TruncatedVarint, nested.readVarint());
    try testing.expectEqual(@as(usize, 3), nested.fault);
    try testing.expectError(error.LengthPastEnd, r.readBytes()); // length 5, one byte left

    var huge = Reader.init(&.{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 });
    try testing.expectError(error.LengthPastEnd, huge.readBytes());
    var skip_len = Reader.init(&.{ 0x12, 0x04, 0x00 });
    const field = (try skip_len.next()).?;
    try testing.expectError(error.LengthPastEnd, skip_len.skip(field.wire_type));
    var skip_fixed = Reader.init(&.{ 0x11, 0x00 });
    try testing.expectError(error.TruncatedFixed, skip_fixed.skip((try skip_fixed.next()).?.wire_type));
}

test "packed scalars: counts, decoding, and malformed payloads" {
    var varints = Reader.init(&.{ 0x01, 0x96, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 });
    try testing.expectEqual(@as(usize, 3), try packedCount(i64, &varints));
    try testing.expectEqual(@as(i64, 1), try varints.readScalar(i64));
    try testing.expectEqual(@as(i64, 150), try varints.readScalar(i64));
    try testing.expectEqual(@as(i64, -1), try varints.readScalar(i64));

    var int32s = Reader.init(&.{ 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 });
    try testing.expectEqual(@as(i32, -2), try int32s.readScalar(i32));

    var doubles = Reader.init(std.mem.asBytes(&[_]f64{ 1.5, -2.25 }));
    try testing.expectEqual(@as(usize, 2), try packedCount(f64, &doubles));
    try testing.expectEqual(@as(f64, 1.5), try doubles.readScalar(f64));
    try testing.expectEqual(@as(f64, -2.25), try doubles.readScalar(f64));

    var cut_varint = Reader.init(&.{ 0x01, 0x96 });
    try testing.expectError(error.TruncatedVarint, packedCount(u64, &cut_varint));
    try testing.expectEqual(@as(usize, 1), cut_varint.fault);
    var odd_floats = Reader.init(&.{ 0, 0, 0, 0, 0 });
    try testing.expectError(error.PackedLengthMismatch, packedCount(f32, &odd_floats));
    var empty = Reader.init(&.{});
    try testing.expectEqual(@as(usize, 0), try packedCount(u64, &empty));
}
