//! Constant tensors of a model (initializers, Constant nodes, tensor attributes), turned from their
//! TensorProto into the runtime's layout: little-endian elements exactly as a Tensor stores them.
//! raw_data and external data are used in place (they may be memory-mapped weights); only the typed
//! protobuf fields (float_data, int32_data, ...) are converted into new memory.
const std = @import("std");
const status = @import("../core/status.zig");
const dtype_module = @import("../tensor/dtype.zig");
const tensor_module = @import("../tensor/tensor.zig");
const onnx = @import("proto/onnx.zig");

const DType = dtype_module.DType;

pub const Constant = struct {
    dtype: DType,
    dims: []const i64,
    count: u64,
    /// The elements, little-endian, packed types packed; empty for strings.
    bytes: []const u8,
    /// One entry per element for string tensors; empty otherwise.
    strings: []const []const u8 = &.{},

    /// Element `i` widened to i64, for integer constants that drive shapes (Reshape, Slice, ...).
    pub fn int(self: *const Constant, i: usize) ?i64 {
        return switch (self.dtype) {
            .int64 => std.mem.readInt(i64, self.bytes[i * 8 ..][0..8], .little),
            .int32 => std.mem.readInt(i32, self.bytes[i * 4 ..][0..4], .little),
            .int16 => std.mem.readInt(i16, self.bytes[i * 2 ..][0..2], .little),
            .int8 => @as(i8, @bitCast(self.bytes[i])),
            .uint8, .bool => self.bytes[i],
            .uint16 => std.mem.readInt(u16, self.bytes[i * 2 ..][0..2], .little),
            .uint32 => std.mem.readInt(u32, self.bytes[i * 4 ..][0..4], .little),
            .uint64 => std.math.cast(i64, std.mem.readInt(u64, self.bytes[i * 8 ..][0..8], .little)),
            else => null,
        };
    }

    /// Element `i` as f64, for float constants read by shape rules (e.g. Resize scales).
    pub fn float(self: *const Constant, i: usize) ?f64 {
        return switch (self.dtype) {
            .float32 => @as(f32, @bitCast(std.mem.readInt(u32, self.bytes[i * 4 ..][0..4], .little))),
            .float64 => @as(f64, @bitCast(std.mem.readInt(u64, self.bytes[i * 8 ..][0..8], .little))),
            .float16 => @as(f16, @bitCast(std.mem.readInt(u16, self.bytes[i * 2 ..][0..2], .little))),
            else => if (self.int(i)) |v| @floatFromInt(v) else null,
        };
    }
};

/// Kernels read constants as typed slices, which must be aligned to the element size. Bytes
/// inside a protobuf sit at any offset, so those that are not aligned are copied once, at load;
/// aligned ones (external data, typically) stay memory-mapped.
pub fn ensureAligned(arena: std.mem.Allocator, constant: *Constant) status.Error!void {
    const element_bytes = @max(1, constant.dtype.bits() / 8);
    const need = @min(element_bytes, 8);
    if (constant.bytes.len == 0 or @intFromPtr(constant.bytes.ptr) % need == 0) return;
    const copy = arena.alignedAlloc(u8, .@"64", constant.bytes.len) catch
        return status.fail(error.OutOfResource, "out of memory aligning a {d}-byte constant", .{constant.bytes.len});
    @memcpy(copy, constant.bytes);
    constant.bytes = copy;
}

/// Finds the bytes of external data: `location` relative to the model, `offset` and `length`
/// (null: to the end of the file). Implemented by the loader, which memory-maps the files.
pub const ExternalResolver = struct {
    context: *anyopaque,
    resolve: *const fn (context: *anyopaque, location: []const u8, offset: u64, length: ?u64) status.Error![]const u8,
};

pub fn fromProto(arena: std.mem.Allocator, proto: *const onnx.TensorProto, external: ?ExternalResolver) status.Error!Constant {
    const name = proto.name;
    const dtype = DType.fromInt(proto.data_type) catch
        return status.fail(error.ModelError, "tensor '{s}' has unknown element type {d}", .{ name, proto.data_type });
    const layout = tensor_module.Layout.init(dtype, proto.dims) catch
        return status.fail(error.ModelError, "tensor '{s}' has an invalid shape: {s}", .{ name, std.mem.span(status.lastMessage()) });
    if (proto.segment != null) {
        return status.fail(error.NotImplemented, "tensor '{s}' is segmented (TensorProto.segment), which Tessera does not read", .{name});
    }
    var constant = Constant{ .dtype = dtype, .dims = proto.dims, .count = layout.count, .bytes = &.{} };
    if (dtype == .string) {
        if (proto.string_data.len != layout.count) return countMismatch(name, layout.count, proto.string_data.len);
        constant.strings = proto.string_data;
        return constant;
    }
    const size: usize = @intCast(layout.byte_size);
    if (proto.data_location == .external) {
        constant.bytes = try externalBytes(proto, external, size);
    } else if (proto.raw_data) |raw| {
        if (raw.len != size) {
            return status.fail(error.ModelError, "tensor '{s}' has {d} bytes of raw_data; its shape needs {d}", .{ name, raw.len, size });
        }
        constant.bytes = raw;
    } else {
        constant.bytes = try typedFields(arena, proto, dtype, layout.count, size);
    }
    return constant;
}

fn countMismatch(name: []const u8, expected: u64, found: usize) status.Error {
    return status.fail(error.ModelError, "tensor '{s}' holds {d} values; its shape has {d} elements", .{ name, found, expected });
}

fn externalBytes(proto: *const onnx.TensorProto, external: ?ExternalResolver, size: usize) status.Error![]const u8 {
    const name = proto.name;
    const location = proto.externalValue("location") orelse
        return status.fail(error.ModelError, "tensor '{s}' is external but names no location", .{name});
    const offset = try parseExternalNumber(name, "offset", proto.externalValue("offset")) orelse 0;
    const length = try parseExternalNumber(name, "length", proto.externalValue("length"));
    const resolver = external orelse
        return status.fail(error.ModelError, "tensor '{s}' is stored in external file '{s}', but the model was given as bytes; load it from its folder", .{ name, location });
    const bytes = try resolver.resolve(resolver.context, location, offset, length);
    if (bytes.len < size) {
        return status.fail(error.ModelError, "tensor '{s}': external data in '{s}' has {d} bytes; its shape needs {d}", .{ name, location, bytes.len, size });
    }
    return bytes[0..size];
}

fn parseExternalNumber(name: []const u8, key: []const u8, text: ?[]const u8) status.Error!?u64 {
    const value = text orelse return null;
    return std.fmt.parseInt(u64, value, 10) catch
        status.fail(error.ModelError, "tensor '{s}': external data {s} '{s}' is not a number", .{ name, key, value });
}

/// Converts protobuf's typed fields into little-endian element bytes.
fn typedFields(arena: std.mem.Allocator, proto: *const onnx.TensorProto, dtype: DType, count: u64, size: usize) status.Error![]const u8 {
    // The values must all be there before the tensor is allocated: a 100-byte model may declare
    // 2^31 elements and hold one.
    if (typedFieldLength(proto, dtype)) |have| {
        const want = if (dtype.isPacked()) std.math.divCeil(u64, count, 8 / dtype.bits()) catch unreachable else if (dtype == .complex64 or dtype == .complex128) count * 2 else count;
        if (have != want) return countMismatch(proto.name, want, have);
    }
    const out = arena.alloc(u8, size) catch return status.fail(error.OutOfResource, "out of memory for tensor '{s}'", .{proto.name});
    @memset(out, 0);
    const name = proto.name;
    switch (dtype) {
        .float32 => try copyValues(f32, f32, name, proto.float_data, count, out),
        .complex64 => try copyValues(f32, f32, name, proto.float_data, count * 2, out),
        .float64 => try copyValues(f64, f64, name, proto.double_data, count, out),
        .complex128 => try copyValues(f64, f64, name, proto.double_data, count * 2, out),
        .int64 => try copyValues(i64, i64, name, proto.int64_data, count, out),
        .uint32 => try copyValues(u64, u32, name, proto.uint64_data, count, out),
        .uint64 => try copyValues(u64, u64, name, proto.uint64_data, count, out),
        .int32 => try copyValues(i32, i32, name, proto.int32_data, count, out),
        .int16 => try copyValues(i32, i16, name, proto.int32_data, count, out),
        .uint16, .float16, .bfloat16 => try copyValues(i32, u16, name, proto.int32_data, count, out),
        .int8, .uint8, .bool, .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0 => try copyValues(i32, u8, name, proto.int32_data, count, out),
        else => if (dtype.isPacked()) {
            try copyPacked(name, proto.int32_data, dtype, count, out);
        } else {
            return status.fail(error.NotImplemented, "tensor '{s}': {s} values in typed fields are not supported; use raw_data", .{ name, @tagName(dtype) });
        },
    }
    return out;
}

/// How many values the typed field that holds `dtype` has (null: no typed field holds it).
fn typedFieldLength(proto: *const onnx.TensorProto, dtype: DType) ?usize {
    return switch (dtype) {
        .float32, .complex64 => proto.float_data.len,
        .float64, .complex128 => proto.double_data.len,
        .int64 => proto.int64_data.len,
        .uint32, .uint64 => proto.uint64_data.len,
        .int32, .int16, .uint16, .float16, .bfloat16, .int8, .uint8, .bool, .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0 => proto.int32_data.len,
        else => if (dtype.isPacked() and (dtype.bits() == 4 or dtype.bits() == 2)) proto.int32_data.len else null,
    };
}

/// Narrows protobuf values (stored widened, e.g. int8 in int32) into elements, bit for bit.
fn copyValues(comptime From: type, comptime To: type, name: []const u8, values: []const From, count: u64, out: []u8) status.Error!void {
    if (values.len != count) return countMismatch(name, count, values.len);
    const Bits = std.meta.Int(.unsigned, @bitSizeOf(To));
    for (values, 0..) |value, i| {
        const bits: Bits = switch (@typeInfo(To)) {
            .float => @bitCast(@as(To, @floatCast(value))),
            else => @truncate(@as(std.meta.Int(.unsigned, @bitSizeOf(From)), @bitCast(value))),
        };
        std.mem.writeInt(Bits, out[i * @sizeOf(To) ..][0..@sizeOf(To)], bits, .little);
    }
}

/// int4/uint4/float4 hold two elements per int32 entry, 2-bit types four, per onnx.proto.
fn copyPacked(name: []const u8, values: []const i32, dtype: DType, count: u64, out: []u8) status.Error!void {
    const per_entry: u64 = 8 / dtype.bits();
    if (dtype.bits() != 4 and dtype.bits() != 2) {
        return status.fail(error.NotImplemented, "tensor '{s}': {s} values in int32_data are not supported; use raw_data", .{ name, @tagName(dtype) });
    }
    const entries = std.math.divCeil(u64, count, per_entry) catch unreachable;
    if (values.len != entries) return countMismatch(name, entries, values.len);
    for (values, 0..) |value, i| out[i] = @truncate(@as(u32, @bitCast(value)));
}

test "typed fields are counted before the tensor is allocated" {
    // 2^31 float32 elements declared, one value held: refused without an 8 GiB allocation.
    var failing = std.testing.FailingAllocator.init(std.testing.allocator, .{ .fail_index = 0 });
    const proto = onnx.TensorProto{ .name = "w", .data_type = 1, .dims = &.{ 1 << 16, 1 << 15 }, .float_data = &.{1} };
    try std.testing.expectError(error.ModelError, typedFields(failing.allocator(), &proto, .float32, 1 << 31, 1 << 33));
    try std.testing.expectEqual(@as(usize, 0), failing.allocations);
}

test "typed fields narrow into elements" {
    var arena_state = std.heap.ArenaAllocator.init(std.testing.allocator);
    defer arena_state.deinit();
    const proto = onnx.TensorProto{ .name = "w", .data_type = 3, .dims = &.{3}, .int32_data = &.{ -1, 2, 127 } };
    const constant = try fromProto(arena_state.allocator(), &proto, null);
    try std.testing.expectEqualSlices(u8, &.{ 0xFF, 2, 127 }, constant.bytes);
    try std.testing.expectEqual(@as(?i64, -1), constant.int(0));
    const wrong = onnx.TensorProto{ .name = "w", .data_type = 1, .dims = &.{2}, .float_data = &.{1} };
    try std.testing.expectError(error.ModelError, fromProto(arena_state.allocator(), &wrong, null));
    const raw = onnx.TensorProto{ .name = "r", .data_type = 7, .dims = &.{1}, .raw_data = &.{ 5, 0, 0, 0, 0, 0, 0, 0 } };
    try std.testing.expectEqual(@as(?i64, 5), (try fromProto(arena_state.allocator(), &raw, null)).int(0));
    const external = onnx.TensorProto{ .name = "e", .data_type = 1, .dims = &.{1}, .data_location = .external };
    try std.testing.expectError(error.ModelError, fromProto(arena_state.allocator(), &external, null));
}
