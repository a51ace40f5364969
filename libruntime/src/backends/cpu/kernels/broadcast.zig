//! Numpy broadcasting for kernels: the output shape of several inputs, and, per input, the
//! element strides to walk it in output order (0 along broadcast axes).
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../../../exec/kernel.zig");

pub const max_rank = 32;

pub fn shape(ctx: *const kernel.Context, shapes: []const []const i64) status.Error![]i64 {
    var rank: usize = 0;
    for (shapes) |s| rank = @max(rank, s.len);
    // Walker keeps per-axis state in fixed arrays of max_rank entries.
    if (rank > max_rank) return ctx.fail("rank {d} exceeds the maximum of {d}", .{ rank, max_rank });
    const out = try ctx.alloc(i64, rank);
    for (out, 0..) |*d, k| {
        d.* = 1;
        for (shapes, 0..) |s, which| {
            if (k + s.len < rank) continue;
            const v = s[k + s.len - rank];
            if (v == d.*) continue;
            if (d.* == 1) {
                d.* = v;
            } else if (v != 1) {
                return ctx.fail("input {d} cannot broadcast: dim {d} is {d} where another input has {d}", .{ which, k, v, d.* });
            }
        }
    }
    return out;
}

/// Strides (in elements) of `input` seen through the output shape `out`.
pub fn strides(input: []const i64, out: []const i64, result: []usize) void {
    std.debug.assert(result.len == out.len and input.len <= out.len);
    var running: usize = 1;
    var k = out.len;
    while (k > 0) {
        k -= 1;
        const in_axis = @as(isize, @intCast(k)) - @as(isize, @intCast(out.len - input.len));
        if (in_axis < 0 or input[@intCast(in_axis)] == 1) {
            result[k] = 0;
        } else {
            result[k] = running;
        }
        if (in_axis >= 0) running *= @intCast(input[@intCast(in_axis)]);
    }
}

/// Walks the output in row-major order, keeping each input's flat offset up to date.
pub fn Walker(comptime inputs: usize) type {
    return struct {
        out_shape: []const i64,
        in_strides: [inputs][max_rank]usize,
        index: [max_rank]usize = [_]usize{0} ** max_rank,
        offsets: [inputs]usize = [_]usize{0} ** inputs,

        const Self = @This();

        pub fn init(out_shape: []const i64, in_shapes: [inputs][]const i64) Self {
            var self = Self{ .out_shape = out_shape, .in_strides = undefined };
            for (in_shapes, 0..) |s, i| strides(s, out_shape, self.in_strides[i][0..out_shape.len]);
            return self;
        }

        /// Advances one element; call once per output element after reading `offsets`.
        pub fn next(self: *Self) void {
            var k = self.out_shape.len;
            while (k > 0) {
                k -= 1;
                self.index[k] += 1;
                for (&self.offsets, 0..) |*o, i| o.* += self.in_strides[i][k];
                if (self.index[k] < @as(usize, @intCast(self.out_shape[k]))) return;
                for (&self.offsets, 0..) |*o, i| o.* -= self.in_strides[i][k] * self.index[k];
                self.index[k] = 0;
            }
        }
    };
}
