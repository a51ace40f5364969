//! Decoders for the structural ONNX messages: model, graph, node, attribute, function, and the type
//! system. Graphs recurse through node attributes (If, Loop, Scan) and TypeProtos through sequence,
//! map and optional types, so both count against the decoder's depth limit.
const std = @import("std");
const status = @import("../../core/status.zig");
const wire = @import("wire.zig");
const onnx_fields = @import("onnx_fields.zig");
const onnx_tensor = @import("onnx_tensor.zig");
const types = @import("onnx_types.zig");

const Decoder = onnx_fields.Decoder;
const Fields = onnx_fields.Fields;
const List = std.ArrayList;
const decodeEntry = onnx_tensor.decodeEntry;
const decodeTensor = onnx_tensor.decodeTensor;
const decodeSparseTensor = onnx_tensor.decodeSparseTensor;

const ModelProto = types.ModelProto;
const GraphProto = types.GraphProto;
const NodeProto = types.NodeProto;
const AttributeProto = types.AttributeProto;
const FunctionProto = types.FunctionProto;
const ValueInfoProto = types.ValueInfoProto;
const TypeProto = types.TypeProto;
const TensorShapeProto = types.TensorShapeProto;
const TensorProto = types.TensorProto;
const SparseTensorProto = types.SparseTensorProto;
const OperatorSetIdProto = types.OperatorSetIdProto;
const StringStringEntryProto = types.StringStringEntryProto;

pub fn decodeModel(decoder: *Decoder, reader: wire.Reader) status.Error!ModelProto {
    var model: ModelProto = .{};
    var opset_import: List(OperatorSetIdProto) = .empty;
    var metadata_props: List(StringStringEntryProto) = .empty;
    var functions: List(FunctionProto) = .empty;
    var fields = Fields.init(reader, "ModelProto");
    while (try fields.next()) |field| switch (field.number) {
        1 => model.ir_version = try fields.scalar(i64, field, "ir_version"),
        2 => model.producer_name = try fields.bytes(field, "producer_name"),
        3 => model.producer_version = try fields.bytes(field, "producer_version"),
        4 => model.domain = try fields.bytes(field, "domain"),
        5 => model.model_version = try fields.scalar(i64, field, "model_version"),
        6 => model.doc_string = try fields.bytes(field, "doc_string"),
        7 => model.graph = try decodeGraph(decoder, try fields.single(field, "graph", model.graph != null)),
        8 => try decoder.append(&opset_import, try decodeOpset(try fields.nested(field, "opset_import"))),
        14 => try decoder.append(&metadata_props, try decodeEntry(try fields.nested(field, "metadata_props"))),
        25 => try decoder.append(&functions, try decodeFunction(decoder, try fields.nested(field, "functions"))),
        else => try fields.skip(field),
    };
    model.opset_import = opset_import.items;
    model.metadata_props = metadata_props.items;
    model.functions = functions.items;
    return model;
}

fn decodeOpset(reader: wire.Reader) status.Error!OperatorSetIdProto {
    var opset: OperatorSetIdProto = .{};
    var fields = Fields.init(reader, "OperatorSetIdProto");
    while (try fields.next()) |field| switch (field.number) {
        1 => opset.domain = try fields.bytes(field, "domain"),
        2 => opset.version = try fields.scalar(i64, field, "version"),
        else => try fields.skip(field),
    };
    return opset;
}

pub fn decodeGraph(decoder: *Decoder, reader: wire.Reader) status.Error!GraphProto {
    try decoder.enter("GraphProto", &reader);
    defer decoder.leave();
    var graph: GraphProto = .{};
    var node: List(NodeProto) = .empty;
    var initializer: List(TensorProto) = .empty;
    var sparse_initializer: List(SparseTensorProto) = .empty;
    var input: List(ValueInfoProto) = .empty;
    var output: List(ValueInfoProto) = .empty;
    var value_info: List(ValueInfoProto) = .empty;
    var metadata_props: List(StringStringEntryProto) = .empty;
    var fields = Fields.init(reader, "GraphProto");
    while (try fields.next()) |field| switch (field.number) {
        1 => try decoder.append(&node, try decodeNode(decoder, try fields.nested(field, "node"))),
        2 => graph.name = try fields.bytes(field, "name"),
        5 => try decoder.append(&initializer, try decodeTensor(decoder, try fields.nested(field, "initializer"))),
        10 => graph.doc_string = try fields.bytes(field, "doc_string"),
        11 => try decoder.append(&input, try decodeValueInfo(decoder, try fields.nested(field, "input"))),
        12 => try decoder.append(&output, try decodeValueInfo(decoder, try fields.nested(field, "output"))),
        13 => try decoder.append(&value_info, try decodeValueInfo(decoder, try fields.nested(field, "value_info"))),
        15 => {
            const sparse = try decodeSparseTensor(decoder, try fields.nested(field, "sparse_initializer"));
            try decoder.append(&sparse_initializer, sparse);
        },
        16 => try decoder.append(&metadata_props, try decodeEntry(try fields.nested(field, "metadata_props"))),
        else => try fields.skip(field),
    };
    graph.node = node.items;
    graph.initializer = initializer.items;
    graph.sparse_initializer = sparse_initializer.items;
    graph.input = input.items;
    graph.output = output.items;
    graph.value_info = value_info.items;
    graph.metadata_props = metadata_props.items;
    return graph;
}

fn decodeNode(decoder: *Decoder, reader: wire.Reader) status.Error!NodeProto {
    var node: NodeProto = .{};
    var input: List([]const u8) = .empty;
    var output: List([]const u8) = .empty;
    var attribute: List(AttributeProto) = .empty;
    var metadata_props: List(StringStringEntryProto) = .empty;
    var fields = Fields.init(reader, "NodeProto");
    while (try fields.next()) |field| switch (field.number) {
        1 => try decoder.append(&input, try fields.bytes(field, "input")),
        2 => try decoder.append(&output, try fields.bytes(field, "output")),
        3 => node.name = try fields.bytes(field, "name"),
        4 => node.op_type = try fields.bytes(field, "op_type"),
        5 => try decoder.append(&attribute, try decodeAttribute(decoder, try fields.nested(field, "attribute"))),
        6 => node.doc_string = try fields.bytes(field, "doc_string"),
        7 => node.domain = try fields.bytes(field, "domain"),
        8 => node.overload = try fields.bytes(field, "overload"),
        9 => try decoder.append(&metadata_props, try decodeEntry(try fields.nested(field, "metadata_props"))),
        else => try fields.skip(field),
    };
    node.input = input.items;
    node.output = output.items;
    node.attribute = attribute.items;
    node.metadata_props = metadata_props.items;
    return node;
}

/// The repeated fields of an AttributeProto, gathered while its fields are read.
const AttributeLists = struct {
    floats: List(f32) = .empty,
    ints: List(i64) = .empty,
    strings: List([]const u8) = .empty,
    tensors: List(TensorProto) = .empty,
    graphs: List(GraphProto) = .empty,
    sparse_tensors: List(SparseTensorProto) = .empty,
    type_protos: List(TypeProto) = .empty,
};

fn decodeAttribute(decoder: *Decoder, reader: wire.Reader) status.Error!AttributeProto {
    var attribute: AttributeProto = .{};
    var lists: AttributeLists = .{};
    var fields = Fields.init(reader, "AttributeProto");
    while (try fields.next()) |field| switch (field.number) {
        1 => attribute.name = try fields.bytes(field, "name"),
        2 => attribute.f = try fields.scalar(f32, field, "f"),
        3 => attribute.i = try fields.scalar(i64, field, "i"),
        4 => attribute.s = try fields.bytes(field, "s"),
        13 => attribute.doc_string = try fields.bytes(field, "doc_string"),
        20 => attribute.type = @enumFromInt(try fields.scalar(i32, field, "type")),
        21 => attribute.ref_attr_name = try fields.bytes(field, "ref_attr_name"),
        else => try decodeAttributeValue(decoder, &fields, field, &attribute, &lists),
    };
    attribute.floats = lists.floats.items;
    attribute.ints = lists.ints.items;
    attribute.strings = lists.strings.items;
    attribute.tensors = lists.tensors.items;
    attribute.graphs = lists.graphs.items;
    attribute.sparse_tensors = lists.sparse_tensors.items;
    attribute.type_protos = lists.type_protos.items;
    return attribute;
}

/// The message-valued and repeated fields of an AttributeProto; anything else is skipped.
fn decodeAttributeValue(
    decoder: *Decoder,
    fields: *Fields,
    field: wire.Field,
    attribute: *AttributeProto,
    lists: *AttributeLists,
) status.Error!void {
    switch (field.number) {
        5 => {
            const reader = try fields.single(field, "t", attribute.t != null);
            attribute.t = try decoder.create(try decodeTensor(decoder, reader));
        },
        6 => {
            const reader = try fields.single(field, "g", attribute.g != null);
            attribute.g = try decoder.create(try decodeGraph(decoder, reader));
        },
        22 => {
            const reader = try fields.single(field, "sparse_tensor", attribute.sparse_tensor != null);
            attribute.sparse_tensor = try decoder.create(try decodeSparseTensor(decoder, reader));
        },
        14 => {
            const reader = try fields.single(field, "tp", attribute.tp != null);
            attribute.tp = try decoder.create(try decodeType(decoder, reader));
        },
        7 => try fields.repeated(decoder, f32, field, "floats", &lists.floats),
        8 => try fields.repeated(decoder, i64, field, "ints", &lists.ints),
        9 => try decoder.append(&lists.strings, try fields.bytes(field, "strings")),
        10 => try decoder.append(&lists.tensors, try decodeTensor(decoder, try fields.nested(field, "tensors"))),
        11 => try decoder.append(&lists.graphs, try decodeGraph(decoder, try fields.nested(field, "graphs"))),
        23 => {
            const sparse = try decodeSparseTensor(decoder, try fields.nested(field, "sparse_tensors"));
            try decoder.append(&lists.sparse_tensors, sparse);
        },
        15 => try decoder.append(&lists.type_protos, try decodeType(decoder, try fields.nested(field, "type_protos"))),
        else => try fields.skip(field),
    }
}

fn decodeFunction(decoder: *Decoder, reader: wire.Reader) status.Error!FunctionProto {
    var function: FunctionProto = .{};
    var input: List([]const u8) = .empty;
    var output: List([]const u8) = .empty;
    var attribute: List([]const u8) = .empty;
    var attribute_proto: List(AttributeProto) = .empty;
    var node: List(NodeProto) = .empty;
    var opset_import: List(OperatorSetIdProto) = .empty;
    var value_info: List(ValueInfoProto) = .empty;
    var metadata_props: List(StringStringEntryProto) = .empty;
    var fields = Fields.init(reader, "FunctionProto");
    while (try fields.next()) |field| switch (field.number) {
        1 => function.name = try fields.bytes(field, "name"),
        4 => try decoder.append(&input, try fields.bytes(field, "input")),
        5 => try decoder.append(&output, try fields.bytes(field, "output")),
        6 => try decoder.append(&attribute, try fields.bytes(field, "attribute")),
        7 => try decoder.append(&node, try decodeNode(decoder, try fields.nested(field, "node"))),
        8 => function.doc_string = try fields.bytes(field, "doc_string"),
        9 => try decoder.append(&opset_import, try decodeOpset(try fields.nested(field, "opset_import"))),
        10 => function.domain = try fields.bytes(field, "domain"),
        11 => {
            const proto = try decodeAttribute(decoder, try fields.nested(field, "attribute_proto"));
            try decoder.append(&attribute_proto, proto);
        },
        12 => try decoder.append(&value_info, try decodeValueInfo(decoder, try fields.nested(field, "value_info"))),
        13 => function.overload = try fields.bytes(field, "overload"),
        14 => try decoder.append(&metadata_props, try decodeEntry(try fields.nested(field, "metadata_props"))),
        else => try fields.skip(field),
    };
    function.input = input.items;
    function.output = output.items;
    function.attribute = attribute.items;
    function.attribute_proto = attribute_proto.items;
    function.node = node.items;
    function.opset_import = opset_import.items;
    function.value_info = value_info.items;
    function.metadata_props = metadata_props.items;
    return function;
}

fn decodeValueInfo(decoder: *Decoder, reader: wire.Reader) status.Error!ValueInfoProto {
    var info: ValueInfoProto = .{};
    var metadata_props: List(StringStringEntryProto) = .empty;
    var fields = Fields.init(reader, "ValueInfoProto");
    while (try fields.next()) |field| switch (field.number) {
        1 => info.name = try fields.bytes(field, "name"),
        2 => info.type = try decodeType(decoder, try fields.single(field, "type", info.type != null)),
        3 => info.doc_string = try fields.bytes(field, "doc_string"),
        4 => try decoder.append(&metadata_props, try decodeEntry(try fields.nested(field, "metadata_props"))),
        else => try fields.skip(field),
    };
    info.metadata_props = metadata_props.items;
    return info;
}

pub fn decodeType(decoder: *Decoder, reader: wire.Reader) status.Error!TypeProto {
    try decoder.enter("TypeProto", &reader);
    defer decoder.leave();
    var result: TypeProto = .{};
    var fields = Fields.init(reader, "TypeProto");
    while (try fields.next()) |field| switch (field.number) {
        1, 4, 5, 7, 8, 9 => {
            // The `value` oneof holds one message; protobuf would merge or replace a second one, which
            // no writer emits, so it is refused like any repeated singular message.
            const nested = try fields.single(field, typeValueName(field.number), result.value != .none);
            result.value = try decodeTypeValue(decoder, field.number, nested);
        },
        6 => result.denotation = try fields.bytes(field, "denotation"),
        else => try fields.skip(field),
    };
    return result;
}

fn typeValueName(number: u32) []const u8 {
    return switch (number) {
        1 => "tensor_type",
        4 => "sequence_type",
        5 => "map_type",
        7 => "opaque_type",
        8 => "sparse_tensor_type",
        9 => "optional_type",
        else => unreachable,
    };
}

fn decodeTypeValue(decoder: *Decoder, number: u32, reader: wire.Reader) status.Error!TypeProto.Value {
    return switch (number) {
        1 => .{ .tensor_type = try decodeTensorType(decoder, reader, "TypeProto.Tensor") },
        4 => .{ .sequence_type = .{ .elem_type = try decodeElemType(decoder, reader, "TypeProto.Sequence") } },
        5 => .{ .map_type = try decodeMapType(decoder, reader) },
        7 => .{ .opaque_type = try decodeOpaqueType(reader) },
        8 => .{ .sparse_tensor_type = try decodeTensorType(decoder, reader, "TypeProto.SparseTensor") },
        9 => .{ .optional_type = .{ .elem_type = try decodeElemType(decoder, reader, "TypeProto.Optional") } },
        else => unreachable,
    };
}

/// TypeProto.Tensor and TypeProto.SparseTensor, which share their fields.
fn decodeTensorType(decoder: *Decoder, reader: wire.Reader, message: []const u8) status.Error!TypeProto.Tensor {
    var tensor: TypeProto.Tensor = .{};
    var fields = Fields.init(reader, message);
    while (try fields.next()) |field| switch (field.number) {
        1 => tensor.elem_type = try fields.scalar(i32, field, "elem_type"),
        2 => tensor.shape = try decodeShape(decoder, try fields.single(field, "shape", tensor.shape != null)),
        else => try fields.skip(field),
    };
    return tensor;
}

/// TypeProto.Sequence and TypeProto.Optional: one nested TypeProto in field 1.
fn decodeElemType(decoder: *Decoder, reader: wire.Reader, message: []const u8) status.Error!?*const TypeProto {
    var elem_type: ?*const TypeProto = null;
    var fields = Fields.init(reader, message);
    while (try fields.next()) |field| switch (field.number) {
        1 => {
            const nested = try fields.single(field, "elem_type", elem_type != null);
            elem_type = try decoder.create(try decodeType(decoder, nested));
        },
        else => try fields.skip(field),
    };
    return elem_type;
}

fn decodeMapType(decoder: *Decoder, reader: wire.Reader) status.Error!TypeProto.Map {
    var map: TypeProto.Map = .{};
    var fields = Fields.init(reader, "TypeProto.Map");
    while (try fields.next()) |field| switch (field.number) {
        1 => map.key_type = try fields.scalar(i32, field, "key_type"),
        2 => {
            const nested = try fields.single(field, "value_type", map.value_type != null);
            map.value_type = try decoder.create(try decodeType(decoder, nested));
        },
        else => try fields.skip(field),
    };
    return map;
}

fn decodeOpaqueType(reader: wire.Reader) status.Error!TypeProto.Opaque {
    var opaque_type: TypeProto.Opaque = .{};
    var fields = Fields.init(reader, "TypeProto.Opaque");
    while (try fields.next()) |field| switch (field.number) {
        1 => opaque_type.domain = try fields.bytes(field, "domain"),
        2 => opaque_type.name = try fields.bytes(field, "name"),
        else => try fields.skip(field),
    };
    return opaque_type;
}

fn decodeShape(decoder: *Decoder, reader: wire.Reader) status.Error!TensorShapeProto {
    var dim: List(TensorShapeProto.Dimension) = .empty;
    var fields = Fields.init(reader, "TensorShapeProto");
    while (try fields.next()) |field| switch (field.number) {
        1 => try decoder.append(&dim, try decodeDimension(try fields.nested(field, "dim"))),
        else => try fields.skip(field),
    };
    return .{ .dim = dim.items };
}

fn decodeDimension(reader: wire.Reader) status.Error!TensorShapeProto.Dimension {
    var dimension: TensorShapeProto.Dimension = .{};
    var fields = Fields.init(reader, "TensorShapeProto.Dimension");
    // The two members of the `value` oneof are scalars, so the last one wins, as in protobuf.
    while (try fields.next()) |field| switch (field.number) {
        1 => dimension.value = .{ .dim_value = try fields.scalar(i64, field, "dim_value") },
        2 => dimension.value = .{ .dim_param = try fields.bytes(field, "dim_param") },
        3 => dimension.denotation = try fields.bytes(field, "denotation"),
        else => try fields.skip(field),
    };
    return dimension;
}
