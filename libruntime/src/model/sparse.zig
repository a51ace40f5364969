//! Sparse initializers (SparseTensorProto) are densified at load: kernels see ordinary constants.
//! Indices are either linear ([NNZ]) or coordinates ([NNZ, rank]), as ONNX allows; each is checked.
const std = @import("std");
const status = @import("../core/status.zig");
const tensor_module = @import("../tensor/tensor.zig");
const constant_module = @import("constant.zig");
const onnx = @import("proto/onnx.zig");

const Constant = constant_module.Constant;

pub fn densify(arena: std.mem.Allocator, proto: *const onnx.SparseTensorProto, external: ?constant_module.ExternalResolver) status.Error!Constant {
    const values_proto = proto.values orelse return status.fail(error.ModelError, "a sparse initializer has no values", .{});
    const indices_proto = proto.indices orelse return status.fail(error.ModelError, "sparse initializer '{s}' has no indices", .{values_proto.name});
    const name = values_proto.name;
    const values = try constant_module.fromProto(arena, &values_proto, external);
    const indices = try constant_module.fromProto(arena, &indices_proto, external);
    if (values.dtype == .string or values.dtype.isPacked()) {
        return status.fail(error.NotImplemented, "sparse initializer '{s}' holds {s}, which cannot be densified", .{ name, @tagName(values.dtype) });
    }
    const layout = tensor_module.Layout.init(values.dtype, proto.dims) catch
        return status.fail(error.ModelError, "sparse initializer '{s}' has an invalid shape: {s}", .{ name, std.mem.span(status.lastMessage()) });
    const element_size = values.dtype.bits() / 8;
    const dense = arena.alloc(u8, @intCast(layout.byte_size)) catch return status.fail(error.OutOfResource, "out of memory densifying '{s}'", .{name});
    @memset(dense, 0);
    const nnz = values.count;
    const rank = proto.dims.len;
    const coordinates = indices.dims.len == 2 and indices.dims[1] == @as(i64, @intCast(rank));
    if (indices.count != (if (coordinates) nnz * rank else nnz)) {
        return status.fail(error.ModelError, "sparse initializer '{s}': {d} indices for {d} values", .{ name, indices.count, nnz });
    }
    for (0..@intCast(nnz)) |k| {
        const offset = try linearIndex(&indices, proto.dims, k, coordinates, name);
        if (offset >= layout.count) return status.fail(error.ModelError, "sparse initializer '{s}': index {d} is out of range", .{ name, offset });
        const at: usize = @intCast(offset * element_size);
        @memcpy(dense[at..][0..element_size], values.bytes[k * element_size ..][0..element_size]);
    }
    return .{ .dtype = values.dtype, .dims = proto.dims, .count = layout.count, .bytes = dense };
}

fn linearIndex(indices: *const Constant, dims: []const i64, k: usize, coordinates: bool, name: []const u8) status.Error!u64 {
    if (!coordinates) {
        const index = indices.int(k) orelse return status.fail(error.ModelError, "sparse initializer '{s}' has non-integer indices", .{name});
        if (index < 0) return status.fail(error.ModelError, "sparse initializer '{s}' has a negative index", .{name});
        return @intCast(index);
    }
    var linear: u64 = 0;
    for (dims, 0..) |dim, axis| {
        const index = indices.int(k * dims.len + axis) orelse return status.fail(error.ModelError, "sparse initializer '{s}' has non-integer indices", .{name});
        if (index < 0 or index >= dim) return status.fail(error.ModelError, "sparse initializer '{s}': coordinate {d} is outside dim {d}", .{ name, index, dim });
        linear = linear * @as(u64, @intCast(dim)) + @as(u64, @intCast(index));
    }
    return linear;
}
