//! Which operators the CPU backend can run: every (domain, op_type) with a kernel, by family.
//! An operator missing here is a NotImplementedError when a request reaches it.
const std = @import("std");
const kernel = @import("../../../exec/kernel.zig");

/// One row of a family's `kernels` table.
pub const Entry = struct {
    domain: []const u8 = "",
    op: []const u8,
    run: kernel.Kernel,
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
    for (families) |family| total += family.kernels.len;
    var pairs: [total]struct { []const u8, kernel.Kernel } = undefined;
    var i: usize = 0;
    for (families) |family| {
        for (family.kernels) |entry| {
            pairs[i] = .{ entry.domain ++ ":" ++ entry.op, entry.run };
            i += 1;
        }
    }
    break :blk std.StaticStringMap(kernel.Kernel).initComptime(pairs);
};

/// The kernel for an operator; "ai.onnx" and "" are the same domain.
pub fn lookup(domain: []const u8, op_type: []const u8) ?kernel.Kernel {
    var buffer: [256]u8 = undefined;
    const d = if (std.mem.eql(u8, domain, "ai.onnx")) "" else domain;
    const key = std.fmt.bufPrint(&buffer, "{s}:{s}", .{ d, op_type }) catch return null;
    return table.get(key);
}

pub fn count() usize {
    return table.kvs.len;
}
