//! C exports: element types and tensors (create, wrap, inspect, fill, strings, save and load).
const std = @import("std");
const args = @import("args.zig");
const context = @import("context.zig");
const registry = @import("../core/registry.zig");
const status = @import("../core/status.zig");
const file = @import("../tensor/file.zig");
const tensor_module = @import("../tensor/tensor.zig");
const memory = @import("../core/memory.zig");
const onnx = @import("../model/proto/onnx.zig");
const constant_module = @import("../model/constant.zig");

const Tensor = tensor_module.Tensor;
const Layout = tensor_module.Layout;
const DType = tensor_module.DType;

fn layoutOf(dtype: i32, shape: ?[*]const i64, rank: u32) status.Error!Layout {
    const element = try DType.fromInt(dtype);
    return Layout.init(element, try args.slice(i64, shape, rank, "shape"));
}

fn tensorOf(handle: ?*const Tensor) status.Error!*Tensor {
    return registry.get(Tensor, handle, .tensor);
}

pub fn tsr_dtype_byte_size(dtype: i32, shape: ?[*]const i64, rank: u32, byte_size: ?*u64) callconv(.c) i32 {
    return status.report(dtypeByteSize(dtype, shape, rank, byte_size));
}

fn dtypeByteSize(dtype: i32, shape: ?[*]const i64, rank: u32, byte_size: ?*u64) status.Error!void {
    const out = try args.out(u64, byte_size, "byte_size");
    out.* = (try layoutOf(dtype, shape, rank)).byte_size;
}

pub fn tsr_dtype_bits(dtype: i32, bits: ?*u32) callconv(.c) i32 {
    return status.report(dtypeBits(dtype, bits));
}

fn dtypeBits(dtype: i32, bits: ?*u32) status.Error!void {
    const out = try args.out(u32, bits, "bits");
    out.* = (try DType.fromInt(dtype)).bits();
}

pub fn tsr_tensor_create(dtype: i32, shape: ?[*]const i64, rank: u32, tensor: ?*?*Tensor) callconv(.c) i32 {
    return status.report(create(dtype, shape, rank, tensor));
}

fn create(dtype: i32, shape: ?[*]const i64, rank: u32, tensor: ?*?*Tensor) status.Error!void {
    const out = try args.out(?*Tensor, tensor, "tensor");
    try context.require();
    out.* = try Tensor.create(try layoutOf(dtype, shape, rank));
}

pub fn tsr_tensor_wrap(
    dtype: i32,
    shape: ?[*]const i64,
    rank: u32,
    data: ?*anyopaque,
    byte_length: u64,
    tensor: ?*?*Tensor,
) callconv(.c) i32 {
    return status.report(wrap(dtype, shape, rank, data, byte_length, tensor));
}

fn wrap(dtype: i32, shape: ?[*]const i64, rank: u32, data: ?*anyopaque, byte_length: u64, tensor: ?*?*Tensor) status.Error!void {
    const out = try args.out(?*Tensor, tensor, "tensor");
    try context.require();
    out.* = try Tensor.wrap(try layoutOf(dtype, shape, rank), @ptrCast(data), byte_length);
}

/// NULL, and a handle that is already destroyed, are no-ops.
pub fn tsr_tensor_destroy(tensor: ?*Tensor) callconv(.c) void {
    if (tensor) |t| t.destroy();
}

pub fn tsr_tensor_dtype(tensor: ?*const Tensor, dtype: ?*i32) callconv(.c) i32 {
    return status.report(dtypeOf(tensor, dtype));
}

fn dtypeOf(tensor: ?*const Tensor, dtype: ?*i32) status.Error!void {
    const out = try args.out(i32, dtype, "dtype");
    out.* = @intFromEnum((try tensorOf(tensor)).layout.dtype);
}

pub fn tsr_tensor_rank(tensor: ?*const Tensor, rank: ?*u32) callconv(.c) i32 {
    return status.report(rankOf(tensor, rank));
}

fn rankOf(tensor: ?*const Tensor, rank: ?*u32) status.Error!void {
    const out = try args.out(u32, rank, "rank");
    out.* = (try tensorOf(tensor)).layout.rank;
}

/// Copies the dims into `dims`, which must hold at least rank entries (ask tsr_tensor_rank first).
pub fn tsr_tensor_shape(tensor: ?*const Tensor, dims: ?[*]i64, capacity: u32) callconv(.c) i32 {
    return status.report(shapeOf(tensor, dims, capacity));
}

fn shapeOf(tensor: ?*const Tensor, dims: ?[*]i64, capacity: u32) status.Error!void {
    const self = try tensorOf(tensor);
    const shape = self.layout.shape();
    if (capacity < shape.len) {
        return status.fail(error.InvalidArgument, "dims holds {d} entries; the tensor has rank {d}", .{ capacity, shape.len });
    }
    if (shape.len == 0) return;
    const out = dims orelse return status.fail(error.InvalidArgument, "dims is NULL", .{});
    @memcpy(out[0..shape.len], shape);
}

pub fn tsr_tensor_data(tensor: ?*const Tensor, data: ?*?*anyopaque) callconv(.c) i32 {
    return status.report(dataOf(tensor, data));
}

fn dataOf(tensor: ?*const Tensor, data: ?*?*anyopaque) status.Error!void {
    const out = try args.out(?*anyopaque, data, "data");
    const self = try tensorOf(tensor);
    out.* = if (self.data.len == 0) null else self.data.ptr;
}

pub fn tsr_tensor_byte_size(tensor: ?*const Tensor, byte_size: ?*u64) callconv(.c) i32 {
    return status.report(byteSizeOf(tensor, byte_size));
}

fn byteSizeOf(tensor: ?*const Tensor, byte_size: ?*u64) status.Error!void {
    const out = try args.out(u64, byte_size, "byte_size");
    out.* = (try tensorOf(tensor)).layout.byte_size;
}

pub fn tsr_tensor_fill(tensor: ?*Tensor, value: ?*const anyopaque, value_size: u32) callconv(.c) i32 {
    return status.report(fill(tensor, value, value_size));
}

fn fill(tensor: ?*Tensor, value: ?*const anyopaque, value_size: u32) status.Error!void {
    const self = try tensorOf(tensor);
    try self.fill(try args.slice(u8, @ptrCast(value), value_size, "value"));
}

pub fn tsr_tensor_set_string(tensor: ?*Tensor, index: u32, bytes: ?*const anyopaque, len: u32) callconv(.c) i32 {
    return status.report(setString(tensor, index, bytes, len));
}

fn setString(tensor: ?*Tensor, index: u32, bytes: ?*const anyopaque, len: u32) status.Error!void {
    const self = try tensorOf(tensor);
    try self.setString(index, try args.slice(u8, @ptrCast(bytes), len, "bytes"));
}

/// The bytes stay valid until the element is set again or the tensor is destroyed.
pub fn tsr_tensor_get_string(tensor: ?*Tensor, index: u32, bytes: ?*?*const anyopaque, len: ?*u32) callconv(.c) i32 {
    return status.report(getString(tensor, index, bytes, len));
}

fn getString(tensor: ?*Tensor, index: u32, bytes: ?*?*const anyopaque, len: ?*u32) status.Error!void {
    const bytes_out = try args.out(?*const anyopaque, bytes, "bytes");
    const len_out = try args.out(u32, len, "len");
    const text = try (try tensorOf(tensor)).getString(index);
    bytes_out.* = if (text.len == 0) null else text.ptr;
    len_out.* = @intCast(text.len);
}

pub fn tsr_tensor_set_quantization(tensor: ?*Tensor, scale: f32, zero_point: i32) callconv(.c) i32 {
    return status.report(setQuantization(tensor, scale, zero_point));
}

fn setQuantization(tensor: ?*Tensor, scale: f32, zero_point: i32) status.Error!void {
    try (try tensorOf(tensor)).setQuantization(scale, zero_point);
}

pub fn tsr_tensor_get_quantization(tensor: ?*const Tensor, scale: ?*f32, zero_point: ?*i32) callconv(.c) i32 {
    return status.report(getQuantization(tensor, scale, zero_point));
}

fn getQuantization(tensor: ?*const Tensor, scale: ?*f32, zero_point: ?*i32) status.Error!void {
    const scale_out = try args.out(f32, scale, "scale");
    const zero_out = try args.out(i32, zero_point, "zero_point");
    const self = try tensorOf(tensor);
    if (!self.layout.dtype.isQuantized()) {
        return status.fail(error.InvalidOperation, "{s} is not a quantized type", .{@tagName(self.layout.dtype)});
    }
    scale_out.* = self.scale;
    zero_out.* = self.zero_point;
}

pub fn tsr_tensor_save(tensor: ?*Tensor, path: ?[*:0]const u8) callconv(.c) i32 {
    return status.report(save(tensor, path));
}

fn save(tensor: ?*Tensor, path: ?[*:0]const u8) status.Error!void {
    const self = try tensorOf(tensor);
    try file.save(self, try args.string(path, "path"));
}

pub fn tsr_tensor_load(path: ?[*:0]const u8, tensor: ?*?*Tensor) callconv(.c) i32 {
    return status.report(load(path, tensor));
}

fn load(path: ?[*:0]const u8, tensor: ?*?*Tensor) status.Error!void {
    const out = try args.out(?*Tensor, tensor, "tensor");
    try context.require();
    out.* = try file.load(try args.string(path, "path"));
}

/// A tensor from a serialized ONNX TensorProto (such as the .pb files of ONNX test data).
pub fn tsr_tensor_from_onnx(bytes: ?*const anyopaque, byte_length: u64, tensor: ?*?*Tensor) callconv(.c) i32 {
    return status.report(fromOnnx(bytes, byte_length, tensor));
}

fn fromOnnx(bytes: ?*const anyopaque, byte_length: u64, tensor: ?*?*Tensor) status.Error!void {
    const out = try args.out(?*Tensor, tensor, "tensor");
    try context.require();
    const data = try args.slice(u8, @ptrCast(bytes), byte_length, "bytes");
    var arena_state = std.heap.ArenaAllocator.init(memory.allocator);
    defer arena_state.deinit();
    const arena = arena_state.allocator();
    const proto = try onnx.decodeTensor(arena, data);
    const constant = try constant_module.fromProto(arena, &proto, null);
    const created = try Tensor.create(try Layout.init(constant.dtype, constant.dims));
    errdefer created.destroy();
    if (constant.dtype == .string) {
        for (constant.strings, 0..) |s, i| try created.setString(i, s);
    } else {
        @memcpy(created.data, constant.bytes);
    }
    out.* = created;
}

comptime {
    std.debug.assert(@sizeOf(?*Tensor) == @sizeOf(usize));
}
