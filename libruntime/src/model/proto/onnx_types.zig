//! The ONNX messages (onnx.proto, IR version 14) as plain Zig structs, as onnx_decode.zig fills them.
//! Every string and `raw_data` is a slice of the model bytes (zero-copy), and every other slice lives
//! in the decoder's allocator (an arena), so both must outlive these values. Defaults are protobuf's:
//! 0, "" and empty lists; fields whose absence means something (a shape, raw_data) are optionals.
//! Fields this runtime has no use for (training info, sharding, quantization annotations) are
//! skipped like unknown fields.
const std = @import("std");

/// OperatorSetIdProto: which version of an operator domain the model uses ("" is ai.onnx).
pub const OperatorSetIdProto = struct {
    domain: []const u8 = "",
    version: i64 = 0,
};

/// StringStringEntryProto: metadata and external-data locations.
pub const StringStringEntryProto = struct {
    key: []const u8 = "",
    value: []const u8 = "",
};

pub const ModelProto = struct {
    ir_version: i64 = 0,
    opset_import: []const OperatorSetIdProto = &.{},
    producer_name: []const u8 = "",
    producer_version: []const u8 = "",
    domain: []const u8 = "",
    model_version: i64 = 0,
    doc_string: []const u8 = "",
    graph: ?GraphProto = null,
    metadata_props: []const StringStringEntryProto = &.{},
    functions: []const FunctionProto = &.{},

    /// The opset version imported for `domain` ("" or "ai.onnx" for the default domain).
    pub fn opsetVersion(self: *const ModelProto, domain: []const u8) ?i64 {
        return findOpset(self.opset_import, domain);
    }
};

pub const GraphProto = struct {
    node: []const NodeProto = &.{},
    name: []const u8 = "",
    initializer: []const TensorProto = &.{},
    sparse_initializer: []const SparseTensorProto = &.{},
    doc_string: []const u8 = "",
    input: []const ValueInfoProto = &.{},
    output: []const ValueInfoProto = &.{},
    value_info: []const ValueInfoProto = &.{},
    metadata_props: []const StringStringEntryProto = &.{},
};

pub const NodeProto = struct {
    input: []const []const u8 = &.{},
    output: []const []const u8 = &.{},
    name: []const u8 = "",
    op_type: []const u8 = "",
    domain: []const u8 = "",
    overload: []const u8 = "",
    attribute: []const AttributeProto = &.{},
    doc_string: []const u8 = "",
    metadata_props: []const StringStringEntryProto = &.{},

    pub fn findAttribute(self: *const NodeProto, name: []const u8) ?*const AttributeProto {
        for (self.attribute) |*attribute| {
            if (std.mem.eql(u8, attribute.name, name)) return attribute;
        }
        return null;
    }
};

/// AttributeProto.AttributeType. Non-exhaustive: a value from a newer ONNX stays representable and
/// is for the consumer of the attribute to refuse.
pub const AttributeType = enum(i32) {
    undefined = 0,
    float = 1,
    int = 2,
    string = 3,
    tensor = 4,
    graph = 5,
    floats = 6,
    ints = 7,
    strings = 8,
    tensors = 9,
    graphs = 10,
    sparse_tensor = 11,
    sparse_tensors = 12,
    type_proto = 13,
    type_protos = 14,
    _,
};

/// One attribute. Only the field matching `type` is meaningful; the rare large kinds are pointers
/// so that the common int and float attributes stay small.
pub const AttributeProto = struct {
    name: []const u8 = "",
    ref_attr_name: []const u8 = "",
    doc_string: []const u8 = "",
    type: AttributeType = .undefined,
    f: f32 = 0,
    i: i64 = 0,
    s: []const u8 = "",
    t: ?*const TensorProto = null,
    g: ?*const GraphProto = null,
    sparse_tensor: ?*const SparseTensorProto = null,
    tp: ?*const TypeProto = null,
    floats: []const f32 = &.{},
    ints: []const i64 = &.{},
    strings: []const []const u8 = &.{},
    tensors: []const TensorProto = &.{},
    graphs: []const GraphProto = &.{},
    sparse_tensors: []const SparseTensorProto = &.{},
    type_protos: []const TypeProto = &.{},
};

pub const DataLocation = enum(i32) {
    default = 0,
    external = 1,
    _,
};

/// TensorProto. `data_type` stays the raw ONNX code (tensor/dtype.zig's DType.fromInt checks it),
/// and the typed arrays are kept as protobuf stores them: for example float16 and bool values sit
/// in `int32_data`, one per element.
pub const TensorProto = struct {
    dims: []const i64 = &.{},
    data_type: i32 = 0,
    segment: ?Segment = null,
    float_data: []const f32 = &.{},
    int32_data: []const i32 = &.{},
    string_data: []const []const u8 = &.{},
    int64_data: []const i64 = &.{},
    name: []const u8 = "",
    doc_string: []const u8 = "",
    /// Null when absent, which differs from present and empty for a tensor of zero elements.
    raw_data: ?[]const u8 = null,
    external_data: []const StringStringEntryProto = &.{},
    data_location: DataLocation = .default,
    double_data: []const f64 = &.{},
    uint64_data: []const u64 = &.{},
    metadata_props: []const StringStringEntryProto = &.{},

    pub const Segment = struct {
        begin: i64 = 0,
        end: i64 = 0,
    };

    /// The value stored under `key` in external_data ("location", "offset", "length", "checksum").
    pub fn externalValue(self: *const TensorProto, key: []const u8) ?[]const u8 {
        for (self.external_data) |entry| {
            if (std.mem.eql(u8, entry.key, key)) return entry.value;
        }
        return null;
    }
};

pub const SparseTensorProto = struct {
    values: ?TensorProto = null,
    indices: ?TensorProto = null,
    dims: []const i64 = &.{},
};

pub const ValueInfoProto = struct {
    name: []const u8 = "",
    type: ?TypeProto = null,
    doc_string: []const u8 = "",
    metadata_props: []const StringStringEntryProto = &.{},
};

/// TensorShapeProto. A TypeProto.Tensor without one has unknown rank; with an empty one, rank 0.
pub const TensorShapeProto = struct {
    dim: []const Dimension = &.{},

    pub const Dimension = struct {
        value: Value = .unknown,
        denotation: []const u8 = "",

        /// The `value` oneof: a fixed size, a symbolic name shared between dims, or neither.
        pub const Value = union(enum) {
            unknown,
            dim_value: i64,
            dim_param: []const u8,
        };
    };
};

/// TypeProto: the `value` oneof, whose nested types point back to TypeProto.
pub const TypeProto = struct {
    value: Value = .none,
    denotation: []const u8 = "",

    pub const Value = union(enum) {
        none,
        tensor_type: Tensor,
        sequence_type: Sequence,
        map_type: Map,
        optional_type: Optional,
        sparse_tensor_type: Tensor,
        opaque_type: Opaque,
    };

    /// Also TypeProto.SparseTensor, which has the same fields.
    pub const Tensor = struct {
        elem_type: i32 = 0,
        shape: ?TensorShapeProto = null,
    };
    pub const Sequence = struct {
        elem_type: ?*const TypeProto = null,
    };
    pub const Map = struct {
        key_type: i32 = 0,
        value_type: ?*const TypeProto = null,
    };
    pub const Optional = struct {
        elem_type: ?*const TypeProto = null,
    };
    pub const Opaque = struct {
        domain: []const u8 = "",
        name: []const u8 = "",
    };
};

pub const FunctionProto = struct {
    name: []const u8 = "",
    input: []const []const u8 = &.{},
    output: []const []const u8 = &.{},
    /// Names of attributes without defaults; `attribute_proto` holds those with defaults.
    attribute: []const []const u8 = &.{},
    attribute_proto: []const AttributeProto = &.{},
    node: []const NodeProto = &.{},
    doc_string: []const u8 = "",
    opset_import: []const OperatorSetIdProto = &.{},
    domain: []const u8 = "",
    overload: []const u8 = "",
    value_info: []const ValueInfoProto = &.{},
    metadata_props: []const StringStringEntryProto = &.{},

    pub fn opsetVersion(self: *const FunctionProto, domain: []const u8) ?i64 {
        return findOpset(self.opset_import, domain);
    }
};

fn findOpset(opsets: []const OperatorSetIdProto, domain: []const u8) ?i64 {
    const wanted = if (std.mem.eql(u8, domain, "ai.onnx")) "" else domain;
    for (opsets) |opset| {
        const name = if (std.mem.eql(u8, opset.domain, "ai.onnx")) "" else opset.domain;
        if (std.mem.eql(u8, name, wanted)) return opset.version;
    }
    return null;
}
