//! Unit tests for the ai.onnx.ml kernels' refusals, on hand-built nodes: malformed trees (a
//! cycle, a branch to a node that does not exist, lists of different lengths) and attribute lists
//! that do not fit X must fail with an InferError on the first run, never loop or read out of
//! bounds. test/sklearn.test.ts checks the values against onnxruntime.
const std = @import("std");
const status = @import("../../../core/status.zig");
const ir = @import("../../../model/ir.zig");
const onnx = @import("../../../model/proto/onnx.zig");
const kernel = @import("../kernel.zig");
const test_node = @import("test_node.zig");
const Entry = @import("entry.zig").Entry;

const Tensor = kernel.Tensor;
const testing = std.testing;

/// Runs the kernel for `op` from `table` on one input, with room for two outputs.
fn run(arena: std.mem.Allocator, table: []const Entry, op: []const u8, attributes: []const ir.Attribute, x: *const Tensor) status.Error!void {
    const node: test_node.Run = .{ .arena = arena, .table = table, .attributes = attributes, .domain = "ai.onnx.ml", .opset = 3, .outputs = 2 };
    _ = try node.call(op, &.{x});
}

fn attr(arena: std.mem.Allocator, proto: onnx.AttributeProto) !ir.Attribute {
    return ir.Attribute.make(arena, proto.name, proto);
}

fn ints(arena: std.mem.Allocator, name: []const u8, values: []const i64) !ir.Attribute {
    return attr(arena, .{ .name = name, .type = .ints, .ints = values });
}

fn floats(arena: std.mem.Allocator, name: []const u8, values: []const f32) !ir.Attribute {
    return attr(arena, .{ .name = name, .type = .floats, .floats = values });
}

fn strings(arena: std.mem.Allocator, name: []const u8, values: []const []const u8) !ir.Attribute {
    return attr(arena, .{ .name = name, .type = .strings, .strings = values });
}

/// X = [[1, 2]] as float32.
fn oneRow(arena: std.mem.Allocator) !*Tensor {
    const t = try arena.create(Tensor);
    const data = try arena.alignedAlloc(u8, .@"4", 8);
    @memcpy(std.mem.bytesAsSlice(f32, data), &[_]f32{ 1, 2 });
    t.* = .{ .dtype = .float32, .shape = &.{ 1, 2 }, .data = data };
    return t;
}

/// A three-node regressor tree whose branches are given; node 2 is a leaf with weight 1.
fn treeRegressor(arena: std.mem.Allocator, true_ids: []const i64, false_ids: []const i64, modes: []const []const u8) ![]const ir.Attribute {
    return arena.dupe(ir.Attribute, &.{
        try ints(arena, "nodes_treeids", &.{ 0, 0, 0 }),
        try ints(arena, "nodes_nodeids", &.{ 0, 1, 2 }),
        try ints(arena, "nodes_featureids", &.{ 0, 1, 0 }),
        try floats(arena, "nodes_values", &.{ 5, 5, 0 }),
        try strings(arena, "nodes_modes", modes),
        try ints(arena, "nodes_truenodeids", true_ids),
        try ints(arena, "nodes_falsenodeids", false_ids),
        try ints(arena, "target_treeids", &.{0}),
        try ints(arena, "target_nodeids", &.{2}),
        try ints(arena, "target_ids", &.{0}),
        try floats(arena, "target_weights", &.{1}),
    });
}

fn expectRefusal(arena: std.mem.Allocator, table: []const Entry, op: []const u8, attributes: []const ir.Attribute, words: []const u8) !void {
    const result = run(arena, table, op, attributes, try oneRow(arena));
    try testing.expectError(error.InferError, result);
    const message = std.mem.span(status.lastMessage());
    if (std.mem.indexOf(u8, message, words) == null) {
        std.debug.print("'{s}' does not say '{s}'\n", .{ message, words });
        return error.TestUnexpectedError;
    }
}

const classic = @import("ml_tree_classic.zig").kernels;
const branch_branch_leaf = [_][]const u8{ "BRANCH_LEQ", "BRANCH_LEQ", "LEAF" };

test "a well-formed classic tree runs; a cyclic one is refused instead of looping" {
    var state = std.heap.ArenaAllocator.init(testing.allocator);
    defer state.deinit();
    const arena = state.allocator();
    // 1 <= 5 goes to node 1, 2 <= 5 to the leaf.
    try run(arena, &classic, "TreeEnsembleRegressor", try treeRegressor(arena, &.{ 1, 2, 0 }, &.{ 2, 2, 0 }, &branch_branch_leaf), try oneRow(arena));
    // Node 1's true branch goes back to node 0.
    const cyclic = try treeRegressor(arena, &.{ 1, 0, 0 }, &.{ 2, 2, 0 }, &branch_branch_leaf);
    try expectRefusal(arena, &classic, "TreeEnsembleRegressor", cyclic, "malformed");
}

test "classic trees: a missing node id, unequal lists and an unknown mode are refused" {
    var state = std.heap.ArenaAllocator.init(testing.allocator);
    defer state.deinit();
    const arena = state.allocator();
    const missing = try treeRegressor(arena, &.{ 1, 7, 0 }, &.{ 2, 2, 0 }, &branch_branch_leaf);
    try expectRefusal(arena, &classic, "TreeEnsembleRegressor", missing, "does not have");
    const short = try treeRegressor(arena, &.{ 1, 2 }, &.{ 2, 2, 0 }, &branch_branch_leaf);
    try expectRefusal(arena, &classic, "TreeEnsembleRegressor", short, "nodes_truenodeids has 2 entries for 3 nodes");
    const odd_mode = try treeRegressor(arena, &.{ 1, 2, 0 }, &.{ 2, 2, 0 }, &.{ "BRANCH_LEQ", "SOMETIMES", "LEAF" });
    try expectRefusal(arena, &classic, "TreeEnsembleRegressor", odd_mode, "node mode 'SOMETIMES' is unknown");
}

test "linear and SVM models refuse coefficient lists that do not fit X" {
    var state = std.heap.ArenaAllocator.init(testing.allocator);
    defer state.deinit();
    const arena = state.allocator();
    const linear = @import("ml_linear.zig").kernels;
    try expectRefusal(arena, &linear, "LinearClassifier", &.{
        try floats(arena, "coefficients", &.{ 1, 2, 3 }),
        try floats(arena, "intercepts", &.{ 0, 0 }),
        try ints(arena, "classlabels_ints", &.{ 0, 1 }),
    }, "3 coefficients for 2 outputs of 2 features");
    const svm = @import("ml_svm.zig").kernels;
    try expectRefusal(arena, &svm, "SVMClassifier", &.{
        try floats(arena, "coefficients", &.{ 1, -1 }),
        try floats(arena, "support_vectors", &.{ 0, 0, 1 }),
        try ints(arena, "vectors_per_class", &.{ 1, 1 }),
        try floats(arena, "rho", &.{0}),
        try ints(arena, "classlabels_ints", &.{ 0, 1 }),
    }, "3 support vector values for 2 vectors of 2 features");
    try expectRefusal(arena, &svm, "SVMClassifier", &.{
        try floats(arena, "coefficients", &.{ 1, -1 }),
        try floats(arena, "support_vectors", &.{ 0, 0, 1, 1 }),
        try ints(arena, "vectors_per_class", &.{ 1, 1 }),
        try floats(arena, "rho", &.{ 0, 1 }),
        try ints(arena, "classlabels_ints", &.{ 0, 1 }),
    }, "2 rho values for 1 class pairs");
}
