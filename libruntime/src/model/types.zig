//! Declared types: ONNX TypeProtos (graph inputs, outputs, value_info) and constants turned into
//! the IR's ValueType, with dims as symbolic expressions. A dim with neither a value nor a name gets
//! a fresh symbol of its own, so shape inference can still relate it to other dims.
const std = @import("std");
const status = @import("../core/status.zig");
const dtype_module = @import("../tensor/dtype.zig");
const tensor_module = @import("../tensor/tensor.zig");
const constant_module = @import("constant.zig");
const ir = @import("ir.zig");
const onnx = @import("proto/onnx.zig");
const symbolic = @import("symbolic.zig");

/// Makes ValueTypes for one model: its symbol pool, its arena, and a counter for unnamed dims.
pub const Builder = struct {
    pool: *symbolic.Pool,
    arena: std.mem.Allocator,
    unnamed: u32 = 0,

    pub fn freshSymbol(self: *Builder) status.Error!ir.Dim {
        var buffer: [32]u8 = undefined;
        defer self.unnamed += 1;
        return self.pool.symbol(std.fmt.bufPrint(&buffer, "unk__{d}", .{self.unnamed}) catch unreachable);
    }
};

pub fn fromProto(builder: *Builder, proto: ?onnx.TypeProto, name: []const u8) status.Error!ir.ValueType {
    const type_proto = proto orelse return .{ .kind = .unknown };
    return switch (type_proto.value) {
        .none, .opaque_type => .{ .kind = .unknown },
        .tensor_type => |t| try tensorType(builder, t, name, .tensor),
        .sparse_tensor_type => |t| try tensorType(builder, t, name, .sparse_tensor),
        .sequence_type => |s| try wrapped(builder, s.elem_type, name, .sequence),
        .optional_type => |o| try wrapped(builder, o.elem_type, name, .optional),
        .map_type => |m| .{ .kind = .map, .dtype = try elementType(m.key_type, name), .value_dtype = try mapValueType(builder, m.value_type, name) },
    };
}

fn wrapped(builder: *Builder, element: ?*const onnx.TypeProto, name: []const u8, kind: ir.TypeKind) status.Error!ir.ValueType {
    const inner = if (element) |e| try fromProto(builder, e.*, name) else ir.ValueType{ .kind = .unknown };
    return .{ .kind = kind, .dtype = inner.dtype, .shape = inner.shape, .inner_kind = inner.kind, .value_dtype = inner.value_dtype };
}

/// The element type of a map's values: ONNX declares them as a tensor type.
fn mapValueType(builder: *Builder, value: ?*const onnx.TypeProto, name: []const u8) status.Error!?ir.DType {
    const declared = value orelse return null;
    const inner = try fromProto(builder, declared.*, name);
    return if (inner.kind == .tensor) inner.dtype else null;
}

fn elementType(code: i32, name: []const u8) status.Error!?ir.DType {
    if (code == 0) return null;
    return dtype_module.DType.fromInt(code) catch
        status.fail(error.ModelError, "'{s}' declares unknown element type {d}", .{ name, code });
}

fn tensorType(builder: *Builder, proto: onnx.TypeProto.Tensor, name: []const u8, kind: ir.TypeKind) status.Error!ir.ValueType {
    const pool = builder.pool;
    const dtype = try elementType(proto.elem_type, name);
    const shape_proto = proto.shape orelse return .{ .kind = kind, .dtype = dtype };
    const dims = builder.arena.alloc(ir.Dim, shape_proto.dim.len) catch return status.fail(error.OutOfResource, "out of memory", .{});
    for (shape_proto.dim, dims, 0..) |dim, *out, axis| {
        out.* = switch (dim.value) {
            .dim_value => |v| blk: {
                if (v < 0) return status.fail(error.ModelError, "'{s}' declares dim {d} as {d}", .{ name, axis, v });
                break :blk try pool.constant(v);
            },
            .dim_param => |param| try pool.symbol(param),
            .unknown => try builder.freshSymbol(),
        };
    }
    try checkAddressable(pool, dtype, dims, name);
    return .{ .kind = kind, .dtype = dtype, .shape = dims };
}

/// A declared shape whose known dims alone need more bytes than any machine has is an error now,
/// not an allocation failure later.
fn checkAddressable(pool: *symbolic.Pool, dtype: ?ir.DType, dims: []const ir.Dim, name: []const u8) status.Error!void {
    var known: [tensor_module.max_rank]i64 = undefined;
    if (dims.len > tensor_module.max_rank) {
        return status.fail(error.ModelError, "'{s}' has rank {d}; the maximum is {d}", .{ name, dims.len, tensor_module.max_rank });
    }
    for (dims, 0..) |dim, i| known[i] = pool.value(dim) orelse 1;
    _ = tensor_module.Layout.init(dtype orelse .uint8, known[0..dims.len]) catch
        return status.fail(error.ModelError, "'{s}' declares a shape too large for any memory: {s}", .{ name, std.mem.span(status.lastMessage()) });
}

pub fn ofConstant(pool: *symbolic.Pool, arena: std.mem.Allocator, constant: *const constant_module.Constant) status.Error!ir.ValueType {
    const dims = arena.alloc(ir.Dim, constant.dims.len) catch return status.fail(error.OutOfResource, "out of memory", .{});
    for (constant.dims, dims) |d, *out| out.* = try pool.constant(d);
    return .{ .kind = .tensor, .dtype = constant.dtype, .shape = dims };
}
