//! Element types. Values 0..26 are ONNX's TensorProto.DataType, so models need no translation;
//! 100 and up are Tessera's own (tfloat32, packed uint1, and the quantized q-types).
const std = @import("std");
const status = @import("../core/status.zig");

pub const DType = enum(i32) {
    float32 = 1,
    uint8 = 2,
    int8 = 3,
    uint16 = 4,
    int16 = 5,
    int32 = 6,
    int64 = 7,
    string = 8,
    bool = 9,
    float16 = 10,
    float64 = 11,
    uint32 = 12,
    uint64 = 13,
    complex64 = 14,
    complex128 = 15,
    bfloat16 = 16,
    float8e4m3fn = 17,
    float8e4m3fnuz = 18,
    float8e5m2 = 19,
    float8e5m2fnuz = 20,
    uint4 = 21,
    int4 = 22,
    float4e2m1 = 23,
    float8e8m0 = 24,
    uint2 = 25,
    int2 = 26,
    tfloat32 = 100,
    uint1 = 101,
    qint8 = 102,
    quint8 = 103,
    qint16 = 104,
    quint16 = 105,
    qint32 = 106,
    qint4 = 107,
    quint4 = 108,

    pub fn fromInt(value: i32) status.Error!DType {
        return std.meta.intToEnum(DType, value) catch
            status.fail(error.TypeError, "unknown element type {d}", .{value});
    }

    /// Bits per element. Strings are stored as one (pointer, length) pair per element.
    pub fn bits(self: DType) u32 {
        return switch (self) {
            .uint1 => 1,
            .uint2, .int2 => 2,
            .uint4, .int4, .float4e2m1, .qint4, .quint4 => 4,
            .uint8, .int8, .bool, .qint8, .quint8 => 8,
            .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0 => 8,
            .uint16, .int16, .float16, .bfloat16, .qint16, .quint16 => 16,
            .float32, .int32, .uint32, .tfloat32, .qint32 => 32,
            .float64, .int64, .uint64, .complex64 => 64,
            .complex128, .string => 128,
        };
    }

    pub fn isQuantized(self: DType) bool {
        return switch (self) {
            .qint8, .quint8, .qint16, .quint16, .qint32, .qint4, .quint4 => true,
            else => false,
        };
    }

    /// Sub-byte types are packed, the first element in the lowest bits of the first byte.
    pub fn isPacked(self: DType) bool {
        return self.bits() < 8;
    }

    /// The alignment wrapped memory must have: the element size, capped at 8 bytes.
    pub fn alignment(self: DType) u32 {
        if (self == .string) return @alignOf(StringElement);
        return @max(1, @min(8, self.bits() / 8));
    }

    /// Bytes for `count` elements, rounded up for packed types; null on overflow.
    pub fn byteSize(self: DType, count: u64) ?u64 {
        const total_bits = std.math.mul(u64, count, self.bits()) catch return null;
        return std.math.divCeil(u64, total_bits, 8) catch unreachable;
    }
};

/// How a string tensor stores each element: bytes owned by the tensor.
pub const StringElement = extern struct { bytes: ?[*]u8, len: u64 };

comptime {
    std.debug.assert(@sizeOf(StringElement) * 8 == DType.string.bits());
}

test "packed sizes round up" {
    try std.testing.expectEqual(@as(?u64, 2), DType.int4.byteSize(3));
    try std.testing.expectEqual(@as(?u64, 1), DType.uint1.byteSize(8));
    try std.testing.expectEqual(@as(?u64, 2), DType.uint1.byteSize(9));
    try std.testing.expectEqual(@as(?u64, 12), DType.float32.byteSize(3));
    try std.testing.expectEqual(@as(?u64, null), DType.float64.byteSize(std.math.maxInt(u64) / 4));
}

test "unknown codes are type errors" {
    try std.testing.expectError(error.TypeError, DType.fromInt(0));
    try std.testing.expectError(error.TypeError, DType.fromInt(27));
    try std.testing.expectEqual(DType.qint8, try DType.fromInt(102));
}
