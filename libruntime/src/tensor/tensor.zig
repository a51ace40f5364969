//! A tensor: an element type, a shape, and memory that is either owned (allocated here, 64-byte
//! aligned) or wrapped (the caller's, never copied and never freed here).
const std = @import("std");
const memory = @import("../core/memory.zig");
const registry = @import("../core/registry.zig");
const status = @import("../core/status.zig");
const dtype_module = @import("dtype.zig");

pub const DType = dtype_module.DType;
pub const StringElement = dtype_module.StringElement;

/// The most dimensions a tensor may have (ONNX sets no limit; real models stay far below).
pub const max_rank = 32;
/// SIMD kernels want cache-line aligned buffers.
pub const data_alignment = 64;

/// A validated shape with its element count and byte size.
pub const Layout = struct {
    dtype: DType,
    rank: u32,
    dims: [max_rank]i64,
    count: u64,
    byte_size: u64,

    /// Checks the dims (non-negative, count and bytes without overflow) for `dtype`.
    pub fn init(dtype: DType, dims: []const i64) status.Error!Layout {
        if (dims.len > max_rank) {
            return status.fail(error.ShapeError, "rank {d} exceeds the maximum of {d}", .{ dims.len, max_rank });
        }
        var layout = Layout{ .dtype = dtype, .rank = @intCast(dims.len), .dims = undefined, .count = 1, .byte_size = 0 };
        for (dims, 0..) |dim, axis| {
            if (dim < 0) return status.fail(error.ShapeError, "dim {d} of the shape is negative ({d})", .{ axis, dim });
            layout.dims[axis] = dim;
            layout.count = std.math.mul(u64, layout.count, @intCast(dim)) catch
                return status.fail(error.ShapeError, "shape overflows: the element count exceeds 2^64", .{});
        }
        const bytes = dtype.byteSize(layout.count) orelse
            return status.fail(error.ShapeError, "shape overflows: {d} elements of {s} exceed 2^64 bytes", .{ layout.count, @tagName(dtype) });
        if (bytes > std.math.maxInt(isize)) {
            return status.fail(error.ShapeError, "shape needs {d} bytes, more than any address space holds", .{bytes});
        }
        layout.byte_size = bytes;
        return layout;
    }

    pub fn shape(self: *const Layout) []const i64 {
        return self.dims[0..self.rank];
    }
};

pub const Tensor = struct {
    layout: Layout,
    data: []align(1) u8,
    owned: bool,
    scale: f32 = 1.0,
    zero_point: i32 = 0,

    /// A tensor with fresh, uninitialized memory (string elements start empty).
    pub fn create(layout: Layout) status.Error!*Tensor {
        const allocation = memory.allocator.alignedAlloc(u8, .fromByteUnits(data_alignment), @intCast(layout.byte_size)) catch
            return status.fail(error.OutOfResource, "cannot allocate {d} bytes for a tensor", .{layout.byte_size});
        errdefer memory.allocator.free(allocation);
        if (layout.dtype == .string) @memset(allocation, 0);
        return register(.{ .layout = layout, .data = allocation, .owned = true });
    }

    /// A tensor over the caller's memory, which must outlive it.
    pub fn wrap(layout: Layout, data: ?[*]u8, byte_length: u64) status.Error!*Tensor {
        if (layout.dtype == .string) {
            return status.fail(error.InvalidOperation, "string tensors own their memory and cannot wrap a buffer", .{});
        }
        if (byte_length < layout.byte_size) {
            return status.fail(error.InvalidArgument, "buffer too small: the shape needs {d} bytes, the buffer has {d}", .{ layout.byte_size, byte_length });
        }
        const pointer = data orelse {
            if (layout.byte_size == 0) return register(.{ .layout = layout, .data = &.{}, .owned = false });
            return status.fail(error.InvalidArgument, "buffer is NULL", .{});
        };
        const alignment = layout.dtype.alignment();
        if (@intFromPtr(pointer) % alignment != 0) {
            return status.fail(error.InvalidArgument, "buffer is not aligned to {d} bytes, as {s} needs", .{ alignment, @tagName(layout.dtype) });
        }
        return register(.{ .layout = layout, .data = pointer[0..@intCast(layout.byte_size)], .owned = false });
    }

    fn register(value: Tensor) status.Error!*Tensor {
        const self = memory.allocator.create(Tensor) catch
            return status.fail(error.OutOfResource, "cannot allocate a tensor", .{});
        self.* = value;
        registry.add(self, .tensor) catch |e| {
            memory.allocator.destroy(self);
            return e;
        };
        return self;
    }

    pub fn destroy(self: *Tensor) void {
        if (!registry.remove(self, .tensor)) return;
        if (self.layout.dtype == .string) {
            for (self.strings()) |element| freeString(element);
        }
        if (self.owned) memory.allocator.free(@as([]align(data_alignment) u8, @alignCast(self.data)));
        memory.allocator.destroy(self);
    }

    pub fn strings(self: *Tensor) []StringElement {
        std.debug.assert(self.layout.dtype == .string);
        const elements: [*]StringElement = @ptrCast(@alignCast(self.data.ptr));
        return elements[0..@intCast(self.layout.count)];
    }

    /// Sets every element to `value`: one element's bytes (for packed types, one byte holding the
    /// element in its low bits; for strings, the UTF-8 bytes).
    pub fn fill(self: *Tensor, value: []const u8) status.Error!void {
        const dtype = self.layout.dtype;
        if (dtype == .string) {
            for (0..self.strings().len) |i| try self.setString(i, value);
            return;
        }
        if (dtype.isPacked()) return self.fillPacked(value);
        const element_size = dtype.bits() / 8;
        if (value.len != element_size) {
            return status.fail(error.InvalidArgument, "fill value has {d} bytes, {s} elements have {d}", .{ value.len, @tagName(dtype), element_size });
        }
        if (element_size == 1) return @memset(self.data, value[0]);
        var offset: usize = 0;
        while (offset < self.data.len) : (offset += element_size) {
            @memcpy(self.data[offset .. offset + element_size], value);
        }
    }

    fn fillPacked(self: *Tensor, value: []const u8) status.Error!void {
        const bits: u3 = @intCast(self.layout.dtype.bits());
        if (value.len != 1) {
            return status.fail(error.InvalidArgument, "fill value for {s} is one byte, got {d}", .{ @tagName(self.layout.dtype), value.len });
        }
        const mask: u8 = (@as(u8, 1) << bits) - 1;
        const element = value[0] & mask;
        var pattern: u8 = 0;
        var shift: u4 = 0;
        while (shift < 8) : (shift += bits) pattern |= element << @intCast(shift);
        @memset(self.data, pattern);
        // Bits past the last element stay zero, so files and comparisons are canonical.
        const used_bits: u64 = (self.layout.count * bits) % 8;
        if (used_bits != 0) self.data[self.data.len - 1] &= (@as(u8, 1) << @intCast(used_bits)) - 1;
    }

    pub fn setString(self: *Tensor, index: u64, bytes: []const u8) status.Error!void {
        const element = try self.stringAt(index);
        const copy = memory.allocator.dupe(u8, bytes) catch
            return status.fail(error.OutOfResource, "cannot allocate a {d}-byte string", .{bytes.len});
        freeString(element.*);
        element.* = .{ .bytes = if (copy.len == 0) null else copy.ptr, .len = copy.len };
        if (copy.len == 0) memory.allocator.free(copy);
    }

    pub fn getString(self: *Tensor, index: u64) status.Error![]const u8 {
        const element = try self.stringAt(index);
        const bytes = element.bytes orelse return "";
        return bytes[0..@intCast(element.len)];
    }

    fn stringAt(self: *Tensor, index: u64) status.Error!*StringElement {
        if (self.layout.dtype != .string) {
            return status.fail(error.TypeError, "tensor holds {s}, not strings", .{@tagName(self.layout.dtype)});
        }
        if (index >= self.layout.count) {
            return status.fail(error.InvalidArgument, "string index {d} out of range: tensor has {d} elements", .{ index, self.layout.count });
        }
        return &self.strings()[@intCast(index)];
    }

    pub fn setQuantization(self: *Tensor, scale: f32, zero_point: i32) status.Error!void {
        if (!self.layout.dtype.isQuantized()) {
            return status.fail(error.InvalidOperation, "{s} is not a quantized type", .{@tagName(self.layout.dtype)});
        }
        if (!std.math.isFinite(scale) or scale <= 0) {
            return status.fail(error.InvalidArgument, "quantization scale must be finite and positive, got {d}", .{scale});
        }
        self.scale = scale;
        self.zero_point = zero_point;
    }
};

fn freeString(element: StringElement) void {
    if (element.bytes) |bytes| memory.allocator.free(bytes[0..@intCast(element.len)]);
}

test "layouts reject bad shapes" {
    try std.testing.expectError(error.ShapeError, Layout.init(.float32, &.{ 2, -1 }));
    try std.testing.expectError(error.ShapeError, Layout.init(.float32, &.{ 1 << 62, 1 << 62 }));
    try std.testing.expectError(error.ShapeError, Layout.init(.float64, &.{ 1 << 40, 1 << 22 }));
    const layout = try Layout.init(.int4, &.{ 3, 3 });
    try std.testing.expectEqual(@as(u64, 9), layout.count);
    try std.testing.expectEqual(@as(u64, 5), layout.byte_size);
}

test "create, fill and destroy return the memory" {
    // The first tensor grows the handle registry, which stays; measure from the second.
    (try Tensor.create(try Layout.init(.float32, &.{1}))).destroy();
    const before = memory.liveBytes();
    const tensor = try Tensor.create(try Layout.init(.float32, &.{ 2, 3 }));
    try tensor.fill(std.mem.asBytes(&@as(f32, 1.5)));
    const values: [*]align(1) const f32 = @ptrCast(tensor.data.ptr);
    try std.testing.expectEqual(@as(f32, 1.5), values[5]);
    tensor.destroy();
    try std.testing.expectEqual(before, memory.liveBytes());
}

test "packed fill keeps the padding bits zero" {
    const tensor = try Tensor.create(try Layout.init(.int4, &.{3}));
    defer tensor.destroy();
    try tensor.fill(&.{0xFD});
    try std.testing.expectEqualSlices(u8, &.{ 0xDD, 0x0D }, tensor.data);
}

test "wrap checks size and alignment" {
    var buffer: [4]f32 align(8) = .{ 1, 2, 3, 4 };
    const bytes: [*]u8 = @ptrCast(&buffer);
    const layout = try Layout.init(.float32, &.{ 2, 2 });
    try std.testing.expectError(error.InvalidArgument, Tensor.wrap(layout, bytes, 8));
    try std.testing.expectError(error.InvalidArgument, Tensor.wrap(layout, bytes + 1, 15));
    const tensor = try Tensor.wrap(layout, bytes, 16);
    tensor.destroy();
}

test "strings are owned copies" {
    (try Tensor.create(try Layout.init(.string, &.{1}))).destroy();
    const before = memory.liveBytes();
    const tensor = try Tensor.create(try Layout.init(.string, &.{2}));
    try tensor.fill("abc");
    try tensor.setString(1, "hello");
    try std.testing.expectEqualStrings("abc", try tensor.getString(0));
    try std.testing.expectEqualStrings("hello", try tensor.getString(1));
    try std.testing.expectError(error.InvalidArgument, tensor.getString(2));
    tensor.destroy();
    try std.testing.expectEqual(before, memory.liveBytes());
}
