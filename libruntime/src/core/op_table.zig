//! Tables keyed by operator (domain, op_type), built at compile time from per-family lists:
//! shape rules (model/infer/registry.zig), CPU kernels (backends/cpu/kernels/registry.zig) and
//! operator signatures (model/infer/signature.zig).
const std = @import("std");

/// A table of V by "domain:op". Each family has a list `list_field` of rows with `domain`, `op`
/// and the value in `value_field`.
pub fn OpTable(comptime V: type, comptime families: anytype, comptime list_field: []const u8, comptime value_field: []const u8) type {
    return struct {
        const map = blk: {
            @setEvalBranchQuota(200_000);
            var total: usize = 0;
            for (families) |family| total += @field(family, list_field).len;
            var pairs: [total]struct { []const u8, V } = undefined;
            var i: usize = 0;
            for (families) |family| {
                for (@field(family, list_field)) |row| {
                    pairs[i] = .{ row.domain ++ ":" ++ row.op, @field(row, value_field) };
                    i += 1;
                }
            }
            break :blk std.StaticStringMap(V).initComptime(pairs);
        };

        /// The value for an operator; "ai.onnx" and "" are the same domain.
        pub fn lookup(domain: []const u8, op_type: []const u8) ?V {
            var buffer: [256]u8 = undefined;
            const d = if (std.mem.eql(u8, domain, "ai.onnx")) "" else domain;
            const key = std.fmt.bufPrint(&buffer, "{s}:{s}", .{ d, op_type }) catch return null;
            return map.get(key);
        }

        pub fn count() usize {
            return map.kvs.len;
        }

        /// Every key, "domain:op", in the table's order.
        pub fn keys() []const []const u8 {
            return map.keys();
        }
    };
}
