//! Which operators Tessera knows: every (domain, op_type) with a shape rule. An operator missing
//! here is a NotImplementedError at load, naming the op, its domain and its opset.
const std = @import("std");
const context = @import("context.zig");

/// One row of a family's `rules` table.
pub const Entry = struct {
    domain: []const u8 = "",
    op: []const u8,
    rule: context.Rule,
};

const families = .{
    @import("elementwise.zig"),
    @import("tensor_ops.zig"),
    @import("nn.zig"),
    @import("linalg.zig"),
    @import("reduce.zig"),
    @import("control.zig"),
};

const table = @import("../../core/op_table.zig").OpTable(context.Rule, families, "rules", "rule");

/// The entry for an operator; "ai.onnx" and "" are the same domain.
pub const lookup = table.lookup;

/// How many operators have entries.
pub const count = table.count;

/// Every operator with an entry, as "domain:op".
pub const keys = table.keys;
