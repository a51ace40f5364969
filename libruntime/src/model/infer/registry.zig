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

const table = blk: {
    @setEvalBranchQuota(200_000);
    var total: usize = 0;
    for (families) |family| total += family.rules.len;
    var pairs: [total]struct { []const u8, context.Rule } = undefined;
    var i: usize = 0;
    for (families) |family| {
        for (family.rules) |entry| {
            pairs[i] = .{ entry.domain ++ ":" ++ entry.op, entry.rule };
            i += 1;
        }
    }
    break :blk std.StaticStringMap(context.Rule).initComptime(pairs);
};

/// The rule for an operator; "ai.onnx" and "" are the same domain.
pub fn lookup(domain: []const u8, op_type: []const u8) ?context.Rule {
    var buffer: [256]u8 = undefined;
    const d = if (std.mem.eql(u8, domain, "ai.onnx")) "" else domain;
    const key = std.fmt.bufPrint(&buffer, "{s}:{s}", .{ d, op_type }) catch return null;
    return table.get(key);
}

/// How many operators have rules, for tests and `tessera info`.
pub fn count() usize {
    return table.kvs.len;
}
