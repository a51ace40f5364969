//! The load-time check of each node against its operator's ONNX schema (schemas.zig, generated
//! from the pinned onnx package): how many inputs and outputs it has, and that a value that is
//! not a tensor (a sequence, optional or map) only reaches an operator that takes one. Kernels
//! read their inputs as tensors, so a sequence fed to Relu would otherwise be read as one.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const schemas = @import("schemas.zig");

const table = @import("../../core/op_table.zig").OpTable(schemas.Signature, .{schemas}, "rows", "signature");

/// The operator's signature; null for one outside the ONNX domains. "ai.onnx" and "" are one.
pub const lookup = table.lookup;

/// Checks `node` (its inputs' types already inferred) and marks it tensor_inputs_only when its
/// schema takes tensors alone. Operators outside the ONNX domains are not checked here.
pub fn check(graph: *ir.Graph, node: *ir.Node, index: ir.NodeId) status.Error!void {
    const schema = lookup(node.domain, node.op_type) orelse return;
    var name_buffer: [160]u8 = undefined;
    const who = node.describe(&name_buffer, index);
    try checkCount(who, "inputs", node.inputs.len, schema.inputs);
    try checkCount(who, "outputs", node.outputs.len, schema.outputs);
    if (schema.non_tensor) return;
    node.tensor_inputs_only = true;
    for (node.inputs, 0..) |maybe, i| {
        const kind = graph.value(maybe orelse continue).type.kind;
        if (kind == .tensor or kind == .unknown) continue;
        return status.fail(error.TypeError, "node {s}: input {d} is a {s}, but {s} takes tensors only", .{ who, i, kindName(kind), node.op_type });
    }
}

fn checkCount(who: []const u8, what: []const u8, count: usize, allowed: [2]u32) status.Error!void {
    if (count >= allowed[0] and count <= allowed[1]) return;
    if (allowed[1] == schemas.variadic) {
        return status.fail(error.ModelError, "node {s} has {d} {s}; it takes at least {d}", .{ who, count, what, allowed[0] });
    }
    if (allowed[0] == allowed[1]) {
        return status.fail(error.ModelError, "node {s} has {d} {s}; it takes {d}", .{ who, count, what, allowed[0] });
    }
    return status.fail(error.ModelError, "node {s} has {d} {s}; it takes {d} to {d}", .{ who, count, what, allowed[0], allowed[1] });
}

pub fn kindName(kind: ir.TypeKind) []const u8 {
    return switch (kind) {
        .sparse_tensor => "sparse tensor",
        else => @tagName(kind),
    };
}

test "schemas: Relu takes one tensor, Identity any value, Concat any number" {
    const relu = lookup("", "Relu").?;
    try std.testing.expectEqual([2]u32{ 1, 1 }, relu.inputs);
    try std.testing.expect(!relu.non_tensor);
    try std.testing.expect(lookup("ai.onnx", "Identity").?.non_tensor);
    try std.testing.expectEqual(schemas.variadic, lookup("", "Concat").?.inputs[1]);
    try std.testing.expect(lookup("com.example", "Relu") == null);
}
