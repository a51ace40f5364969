//! Tests of the ONNX decoder as a whole: models written by the onnx Python package (testdata/, made
//! by testdata/make_testdata.py), hand-built nesting and error cases, and a fuzz test that mutates
//! the real files and checks that decoding never crashes.
const std = @import("std");
const status = @import("../../core/status.zig");
const wire = @import("wire.zig");
const onnx = @import("onnx.zig");
const onnx_fields = @import("onnx_fields.zig");
const onnx_decode = @import("onnx_decode.zig");

const testing = std.testing;
const if_model = @embedFile("testdata/if_model.onnx");
const function_model = @embedFile("testdata/function_model.onnx");

fn expectMessage(expected: []const u8) !void {
    try testing.expectEqualStrings(expected, std.mem.span(status.lastMessage()));
}

fn expectDims(expected: []const TensorShapeDim, shape: onnx.TensorShapeProto) !void {
    try testing.expectEqual(expected.len, shape.dim.len);
    for (expected, shape.dim) |want, got| switch (want) {
        .unknown => try testing.expect(got.value == .unknown),
        .dim_value => |value| try testing.expectEqual(value, got.value.dim_value),
        .dim_param => |param| try testing.expectEqualStrings(param, got.value.dim_param),
    };
}

const TensorShapeDim = onnx.TensorShapeProto.Dimension.Value;

test "if_model.onnx: model fields, initializers, dim_param, nested If graphs" {
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    const model = try onnx.decodeModel(arena.allocator(), if_model);
    try testing.expectEqual(@as(i64, 14), model.ir_version);
    try testing.expectEqualStrings("tessera-test", model.producer_name);
    try testing.expectEqualStrings("1.2", model.producer_version);
    try testing.expectEqualStrings("ai.tessera.test", model.domain);
    try testing.expectEqual(@as(i64, 7), model.model_version);
    try testing.expectEqualStrings("if model", model.doc_string);
    try testing.expectEqual(@as(?i64, 21), model.opsetVersion("ai.onnx"));
    try testing.expectEqual(@as(usize, 2), model.metadata_props.len);
    try testing.expectEqualStrings("author", model.metadata_props[0].key);
    try testing.expectEqualStrings("proto-test", model.metadata_props[0].value);

    const graph = model.graph.?;
    try testing.expectEqualStrings("if_graph", graph.name);
    try testing.expectEqualStrings("graph doc", graph.doc_string);
    try testing.expectEqual(@as(usize, 3), graph.node.len);
    try testing.expectEqualStrings("Reshape", graph.node[1].op_type);
    try testing.expectEqualStrings("y0", graph.node[1].input[0]);
    const gemm = graph.node[2];
    try testing.expectEqualStrings("a gemm", gemm.doc_string);
    try testing.expectEqual(@as(f32, 0.25), gemm.findAttribute("alpha").?.f);
    try testing.expectEqual(onnx.AttributeType.float, gemm.findAttribute("alpha").?.type);
    try testing.expectEqual(@as(i64, 1), gemm.findAttribute("transB").?.i);

    const x_type = graph.input[0].type.?.value.tensor_type;
    try testing.expectEqual(@as(i32, 1), x_type.elem_type);
    try expectDims(&.{ .{ .dim_param = "batch" }, .{ .dim_value = 3 } }, x_type.shape.?);
    const cond_type = graph.input[1].type.?.value.tensor_type;
    try testing.expectEqual(@as(i32, 9), cond_type.elem_type);
    try expectDims(&.{}, cond_type.shape.?); // a scalar: present and empty
    try expectDims(&.{ .{ .dim_param = "batch" }, .unknown }, graph.value_info[0].type.?.value.tensor_type.shape.?);

    try expectInitializers(graph.initializer);
    try expectIfBranches(graph.node[0]);
}

fn expectInitializers(initializer: []const onnx.TensorProto) !void {
    try testing.expectEqual(@as(usize, 3), initializer.len);
    const w = initializer[0];
    try testing.expectEqualStrings("w", w.name);
    try testing.expectEqualSlices(i64, &.{ 2, 3 }, w.dims);
    try testing.expectEqual(@as(i32, 1), w.data_type);
    var values: [6]f32 = undefined;
    @memcpy(std.mem.sliceAsBytes(&values), w.raw_data.?);
    try testing.expectEqualSlices(f32, &.{ 0, 1, 2, 3, 4, 5 }, &values);
    try testing.expectEqual(@as(?[]const u8, null), initializer[1].raw_data);
    try testing.expectEqualSlices(f32, &.{ 0.5, -1.25, 2.0 }, initializer[1].float_data);
    try testing.expectEqual(@as(i32, 7), initializer[2].data_type);
    try testing.expectEqualSlices(i64, &.{ -1, 3 }, initializer[2].int64_data);
}

fn expectIfBranches(top_if: onnx.NodeProto) !void {
    try testing.expectEqualStrings("If", top_if.op_type);
    const then_branch = top_if.findAttribute("then_branch").?;
    try testing.expectEqual(onnx.AttributeType.graph, then_branch.type);
    try testing.expectEqualStrings("then_branch", then_branch.g.?.name);
    try testing.expectEqualStrings("then_add", then_branch.g.?.node[0].name);
    try testing.expectEqualStrings("then_y", then_branch.g.?.output[0].name);
    const inner_if = top_if.findAttribute("else_branch").?.g.?.node[0];
    try testing.expectEqualStrings("inner_if", inner_if.name);
    const deep = inner_if.findAttribute("then_branch").?.g.?;
    try testing.expectEqualStrings("deep_then", deep.name);
    try testing.expectEqualStrings("Identity", deep.node[0].op_type);
    try testing.expectEqualStrings("deep_neg", inner_if.findAttribute("else_branch").?.g.?.node[0].name);
}

test "function_model.onnx: local function, external data, sparse initializer" {
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    const model = try onnx.decodeModel(arena.allocator(), function_model);
    try testing.expectEqual(@as(?i64, 1), model.opsetVersion("custom"));
    try testing.expectEqual(@as(?i64, 21), model.opsetVersion(""));
    try testing.expectEqual(@as(?i64, null), model.opsetVersion("com.microsoft"));

    const function = model.functions[0];
    try testing.expectEqualStrings("ScaledAdd", function.name);
    try testing.expectEqualStrings("custom", function.domain);
    try testing.expectEqualStrings("fn doc", function.doc_string);
    try testing.expectEqual(@as(usize, 2), function.input.len);
    try testing.expectEqualStrings("c", function.output[0]);
    try testing.expectEqualStrings("mode", function.attribute[0]);
    try testing.expectEqualStrings("scale", function.attribute_proto[0].name);
    try testing.expectEqual(@as(f32, 2.5), function.attribute_proto[0].f);
    try testing.expectEqual(@as(?i64, 21), function.opsetVersion(""));
    const reference = function.node[0].findAttribute("value_float").?;
    try testing.expectEqualStrings("scale", reference.ref_attr_name);
    try testing.expectEqual(onnx.AttributeType.float, reference.type);

    const graph = model.graph.?;
    const ext = graph.initializer[0];
    try testing.expectEqual(onnx.DataLocation.external, ext.data_location);
    try testing.expectEqual(@as(?[]const u8, null), ext.raw_data);
    try testing.expectEqualStrings("weights.bin", ext.externalValue("location").?);
    try testing.expectEqualStrings("4096", ext.externalValue("offset").?);
    try testing.expectEqualStrings("16", ext.externalValue("length").?);
    try expectSparse(graph.sparse_initializer[0]);
    try testing.expectEqual(@as(i64, 1), graph.node[0].findAttribute("mode").?.i);
}

fn expectSparse(sparse: onnx.SparseTensorProto) !void {
    try testing.expectEqualSlices(i64, &.{ 2, 4 }, sparse.dims);
    try testing.expectEqualSlices(f32, &.{ 1.5, -3.0 }, sparse.values.?.float_data);
    try testing.expectEqualSlices(i64, &.{ 1, 6 }, sparse.indices.?.int64_data);
    try testing.expectEqualStrings("sp_indices", sparse.indices.?.name);
}

test "function_model.onnx: an attribute of every kind" {
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    const kitchen = (try onnx.decodeModel(arena.allocator(), function_model)).graph.?.node[1];
    try testing.expectEqualStrings("custom", kitchen.domain);
    try testing.expectEqual(@as(f32, 0.5), kitchen.findAttribute("f").?.f);
    try testing.expectEqual(@as(i64, -42), kitchen.findAttribute("i").?.i);
    try testing.expectEqualStrings("bytes", kitchen.findAttribute("s").?.s);
    try testing.expectEqualSlices(i32, &.{ 7, -8 }, kitchen.findAttribute("t").?.t.?.int32_data);
    try testing.expectEqualStrings("attr_graph", kitchen.findAttribute("g").?.g.?.name);
    try expectSparse(kitchen.findAttribute("sp").?.sparse_tensor.?.*);
    const tp = kitchen.findAttribute("tp").?.tp.?.value.tensor_type;
    try testing.expectEqual(@as(i32, 10), tp.elem_type);
    try expectDims(&.{ .{ .dim_value = 2 }, .{ .dim_param = "n" } }, tp.shape.?);
    try testing.expectEqualSlices(f32, &.{ 1.0, 2.5 }, kitchen.findAttribute("floats").?.floats);
    try testing.expectEqualSlices(i64, &.{ 3, -4, 5 }, kitchen.findAttribute("ints").?.ints);
    const strings = kitchen.findAttribute("strings").?.strings;
    try testing.expectEqualStrings("q", strings[1]);

    const tensors = kitchen.findAttribute("tensors").?.tensors;
    try testing.expectEqualSlices(f64, &.{3.25}, tensors[0].double_data);
    try testing.expectEqualSlices(u64, &.{(1 << 63) + 5}, tensors[1].uint64_data);
    try testing.expectEqualStrings("world", tensors[2].string_data[1]);
    try testing.expectEqualStrings("z", kitchen.findAttribute("graphs").?.graphs[0].output[0].name);
    try testing.expectEqual(@as(usize, 1), kitchen.findAttribute("sparse_tensors").?.sparse_tensors.len);

    const type_protos = kitchen.findAttribute("type_protos").?.type_protos;
    const sequence_elem = type_protos[0].value.sequence_type.elem_type.?.value.tensor_type;
    try testing.expectEqual(@as(i32, 7), sequence_elem.elem_type);
    try testing.expect(sequence_elem.shape == null); // unknown rank
    const map = type_protos[1].value.map_type;
    try testing.expectEqual(@as(i32, 8), map.key_type);
    try expectDims(&.{}, map.value_type.?.value.tensor_type.shape.?);
    const optional_elem = type_protos[2].value.optional_type.elem_type.?.value.tensor_type;
    try expectDims(&.{.unknown}, optional_elem.shape.?);
    const sparse_type = type_protos[3].value.sparse_tensor_type;
    try expectDims(&.{ .{ .dim_value = 3 }, .{ .dim_value = 3 } }, sparse_type.shape.?);
}

/// Minimal protobuf writer for hand-built inputs.
const Writer = struct {
    bytes: std.ArrayList(u8) = .empty,
    gpa: std.mem.Allocator,

    fn varint(self: *Writer, value: u64) !void {
        var rest = value;
        while (rest >= 0x80) : (rest >>= 7) try self.bytes.append(self.gpa, @as(u8, @truncate(rest)) | 0x80);
        try self.bytes.append(self.gpa, @intCast(rest));
    }

    fn key(self: *Writer, number: u32, wire_type: wire.WireType) !void {
        try self.varint(@as(u64, number) << 3 | @intFromEnum(wire_type));
    }

    fn len(self: *Writer, number: u32, payload: []const u8) !void {
        try self.key(number, .len);
        try self.varint(payload.len);
        try self.bytes.appendSlice(self.gpa, payload);
    }
};

/// A graph holding one node whose attribute `g` holds the graph inside, `levels` graphs deep.
fn nestedGraphs(gpa: std.mem.Allocator, levels: usize) ![]const u8 {
    var graph: []const u8 = &.{};
    for (0..levels - 1) |_| {
        var attribute: Writer = .{ .gpa = gpa };
        try attribute.len(1, "body");
        try attribute.len(6, graph);
        var node: Writer = .{ .gpa = gpa };
        try node.len(5, attribute.bytes.items);
        var outer: Writer = .{ .gpa = gpa };
        try outer.len(1, node.bytes.items);
        graph = outer.bytes.items;
    }
    return graph;
}

/// A TypeProto of sequences of sequences ... of a float tensor, `levels` TypeProtos deep.
fn nestedTypes(gpa: std.mem.Allocator, levels: usize) ![]const u8 {
    var tensor_type: Writer = .{ .gpa = gpa };
    try tensor_type.key(1, .varint);
    try tensor_type.varint(1);
    var inner: Writer = .{ .gpa = gpa };
    try inner.len(1, tensor_type.bytes.items);
    var current = inner.bytes.items;
    for (0..levels - 1) |_| {
        var sequence: Writer = .{ .gpa = gpa };
        try sequence.len(1, current);
        var outer: Writer = .{ .gpa = gpa };
        try outer.len(4, sequence.bytes.items);
        current = outer.bytes.items;
    }
    return current;
}

test "nesting up to the limit decodes, one level more is a ModelError" {
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    const gpa = arena.allocator();
    _ = try onnx.decodeGraph(gpa, try nestedGraphs(gpa, onnx.max_depth));
    try testing.expectError(error.ModelError, onnx.decodeGraph(gpa, try nestedGraphs(gpa, onnx.max_depth + 1)));
    try testing.expect(std.mem.startsWith(u8, std.mem.span(status.lastMessage()), "GraphProto: nested more than"));

    var decoder: onnx_fields.Decoder = .{ .arena = gpa };
    const deepest = try onnx_decode.decodeType(&decoder, wire.Reader.init(try nestedTypes(gpa, onnx.max_depth)));
    var levels: usize = 1;
    var current = &deepest;
    while (current.value == .sequence_type) : (levels += 1) current = current.value.sequence_type.elem_type.?;
    try testing.expectEqual(@as(usize, onnx.max_depth), levels);
    try testing.expectEqual(@as(u32, 0), decoder.depth);
    const too_deep = wire.Reader.init(try nestedTypes(gpa, onnx.max_depth + 1));
    try testing.expectError(error.ModelError, onnx_decode.decodeType(&decoder, too_deep));
}

test "unknown fields of every wire type are skipped; a known field with the wrong wire type fails" {
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    var model: Writer = .{ .gpa = arena.allocator() };
    try model.key(100, .varint);
    try model.varint(std.math.maxInt(u64));
    try model.key(101, .fixed64);
    try model.bytes.appendSlice(model.gpa, &.{ 1, 2, 3, 4, 5, 6, 7, 8 });
    try model.len(102, "ignored");
    try model.key(103, .fixed32);
    try model.bytes.appendSlice(model.gpa, &.{ 1, 2, 3, 4 });
    try model.len(20, "training_info is skipped too");
    try model.key(1, .varint);
    try model.varint(9);
    const decoded = try onnx.decodeModel(arena.allocator(), model.bytes.items);
    try testing.expectEqual(@as(i64, 9), decoded.ir_version);

    const wrong_at = model.bytes.items.len;
    try model.len(1, "not a varint");
    try testing.expectError(error.ModelError, onnx.decodeModel(arena.allocator(), model.bytes.items));
    var expected: [100]u8 = undefined;
    const fmt = "ModelProto.ir_version: wire type len where varint is expected, at byte {d}";
    try expectMessage(try std.fmt.bufPrint(&expected, fmt, .{wrong_at}));
}

test "errors deep in a file name the innermost message and an absolute byte" {
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    const gpa = arena.allocator();
    // ModelProto.graph -> GraphProto.node -> NodeProto.attribute -> AttributeProto.ints (cut short).
    var attribute: Writer = .{ .gpa = gpa };
    try attribute.len(8, &.{ 0x01, 0x80 });
    var node: Writer = .{ .gpa = gpa };
    try node.len(5, attribute.bytes.items);
    var graph: Writer = .{ .gpa = gpa };
    try graph.len(1, node.bytes.items);
    var model: Writer = .{ .gpa = gpa };
    try model.len(7, graph.bytes.items);
    try testing.expectError(error.ModelError, onnx.decodeModel(gpa, model.bytes.items));
    try expectMessage("AttributeProto.ints: truncated varint at byte 9");

    try testing.expectError(error.ModelError, onnx.decodeModel(gpa, if_model[0 .. if_model.len - 3]));
    try testing.expectError(error.ModelError, onnx.decodeModel(gpa, &.{ 0x3a, 0x03, 0x0a, 0x01, 0x80 }));
    try expectMessage("NodeProto: field key at byte 4: truncated varint");
}

/// Decodes `bytes`, which may be damaged: success and ModelError are both fine, anything else is not.
fn decodeDamaged(arena: *std.heap.ArenaAllocator, bytes: []const u8) !void {
    defer _ = arena.reset(.retain_capacity);
    _ = onnx.decodeModel(arena.allocator(), bytes) catch |err| switch (err) {
        error.ModelError => return,
        else => return err,
    };
}

test "every prefix of the real files decodes or fails cleanly" {
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    for ([_][]const u8{ if_model, function_model }) |file| {
        for (0..file.len) |end| try decodeDamaged(&arena, file[0..end]);
    }
}

test "fuzz: thousands of mutated files never crash the decoder" {
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    var prng = std.Random.DefaultPrng.init(0x7e55e7a);
    const random = prng.random();
    var buffer: [4096]u8 = undefined;
    for (0..4000) |round| {
        const file = if (round % 2 == 0) if_model else function_model;
        @memcpy(buffer[0..file.len], file);
        var length = file.len;
        for (0..random.intRangeAtMost(usize, 1, 6)) |_| length = mutate(random, &buffer, length);
        try decodeDamaged(&arena, buffer[0..length]);
    }
}

const interesting_bytes = [_]u8{ 0x00, 0x01, 0x02, 0x0a, 0x7f, 0x80, 0xff };

/// One random edit: a bit flip, a byte that often looks like a varint continuation or a large
/// length, a cut, or a copied run (which duplicates fields and lengths).
fn mutate(random: std.Random, buffer: []u8, length: usize) usize {
    if (length == 0) return 0;
    const at = random.uintLessThan(usize, length);
    switch (random.uintLessThan(u8, 4)) {
        0 => buffer[at] ^= @as(u8, 1) << random.int(u3),
        1 => buffer[at] = interesting_bytes[random.uintLessThan(usize, interesting_bytes.len)],
        2 => return at,
        else => {
            const run = @min(random.uintLessThan(usize, 16) + 1, length - at, buffer.len - length);
            std.mem.copyBackwards(u8, buffer[at + run .. length + run], buffer[at..length]);
            return length + run;
        },
    }
    return length;
}
