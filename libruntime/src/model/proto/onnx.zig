//! The ONNX protobuf decoder's front door: model bytes in, ModelProto out. The decoder is written by
//! hand over wire.zig, so the runtime needs no protobuf library and no generated code, and every
//! malformed input is a ModelError naming the message, field and byte at fault.
//! Usage: decode into an arena that lives as long as the model bytes do, since strings and raw_data
//! are slices of those bytes:
//!     var arena = std.heap.ArenaAllocator.init(gpa);
//!     const model = try onnx.decodeModel(arena.allocator(), bytes);
const std = @import("std");
const status = @import("../../core/status.zig");
const wire = @import("wire.zig");
const onnx_fields = @import("onnx_fields.zig");
const onnx_decode = @import("onnx_decode.zig");
const onnx_tensor = @import("onnx_tensor.zig");
const types = @import("onnx_types.zig");

pub const ModelProto = types.ModelProto;
pub const GraphProto = types.GraphProto;
pub const NodeProto = types.NodeProto;
pub const AttributeProto = types.AttributeProto;
pub const AttributeType = types.AttributeType;
pub const TensorProto = types.TensorProto;
pub const DataLocation = types.DataLocation;
pub const SparseTensorProto = types.SparseTensorProto;
pub const ValueInfoProto = types.ValueInfoProto;
pub const TypeProto = types.TypeProto;
pub const TensorShapeProto = types.TensorShapeProto;
pub const OperatorSetIdProto = types.OperatorSetIdProto;
pub const StringStringEntryProto = types.StringStringEntryProto;
pub const FunctionProto = types.FunctionProto;

/// How deep graphs and TypeProtos may nest before decoding fails.
pub const max_depth = onnx_fields.max_depth;

/// Decodes a serialized ModelProto (the contents of a .onnx file).
pub fn decodeModel(arena: std.mem.Allocator, bytes: []const u8) status.Error!ModelProto {
    var decoder: onnx_fields.Decoder = .{ .arena = arena };
    return onnx_decode.decodeModel(&decoder, wire.Reader.init(bytes));
}

/// Decodes a serialized TensorProto, such as the input_0.pb files of ONNX's test data sets.
pub fn decodeTensor(arena: std.mem.Allocator, bytes: []const u8) status.Error!TensorProto {
    var decoder: onnx_fields.Decoder = .{ .arena = arena };
    return onnx_tensor.decodeTensor(&decoder, wire.Reader.init(bytes));
}

/// Decodes a serialized GraphProto on its own.
pub fn decodeGraph(arena: std.mem.Allocator, bytes: []const u8) status.Error!GraphProto {
    var decoder: onnx_fields.Decoder = .{ .arena = arena };
    return onnx_decode.decodeGraph(&decoder, wire.Reader.init(bytes));
}

test {
    _ = wire;
    _ = onnx_fields;
    _ = onnx_tensor;
    _ = onnx_decode;
    _ = @import("onnx_test.zig");
}
