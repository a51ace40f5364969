//! Numpy broadcasting for kernels: the output shape of several inputs, and, per input, the
//! element strides to walk it in output order (0 along broadcast axes).
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");

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

/// The output seen as `rows` rows of `inner` elements, after merging adjacent axes that every
/// input walks the same way: a bias [N] added to [M, N] becomes M rows of N with the bias at row
/// stride 0, a same-shape operation becomes one row. Inner loops then run over contiguous (or
/// repeated) elements and vectorize; only the row starts go through per-axis bookkeeping.
pub fn Rows(comptime inputs: usize) type {
    return struct {
        const Self = @This();

        rows: usize,
        inner: usize,
        /// Each input's stride along a row: 1 (contiguous), 0 (one value repeated) or other.
        inner_stride: [inputs]usize,
        outer_rank: usize,
        outer_dims: [max_rank]usize,
        outer_strides: [inputs][max_rank]usize,

        pub fn init(out_shape: []const i64, in_shapes: [inputs][]const i64) Self {
            var all: [inputs][max_rank]usize = undefined;
            for (in_shapes, 0..) |s, i| strides(s, out_shape, all[i][0..out_shape.len]);
            var self: Self = .{
                .rows = 1,
                .inner = 1,
                .inner_stride = [_]usize{0} ** inputs,
                .outer_rank = 0,
                .outer_dims = undefined,
                .outer_strides = undefined,
            };
            // Merged axes, outermost first: each keeps its size and every input's stride.
            var dims: [max_rank]usize = undefined;
            var merged: [inputs][max_rank]usize = undefined;
            var rank: usize = 0;
            for (out_shape, 0..) |d, k| {
                const size: usize = @intCast(d);
                if (size == 1) continue;
                if (rank > 0 and mergeable(inputs, &merged, &all, rank - 1, k, size)) {
                    for (0..inputs) |i| merged[i][rank - 1] = all[i][k];
                    dims[rank - 1] *= size;
                    continue;
                }
                dims[rank] = size;
                for (0..inputs) |i| merged[i][rank] = all[i][k];
                rank += 1;
            }
            if (rank == 0) return self;
            self.inner = dims[rank - 1];
            for (0..inputs) |i| self.inner_stride[i] = merged[i][rank - 1];
            self.outer_rank = rank - 1;
            for (0..rank - 1) |k| {
                self.outer_dims[k] = dims[k];
                self.rows *= dims[k];
                for (0..inputs) |i| self.outer_strides[i][k] = merged[i][k];
            }
            return self;
        }

        /// Axis k of the output (size `size`) continues merged axis `last` when, for every input,
        /// stepping the merged axis once equals stepping axis k `size` times.
        fn mergeable(
            comptime n: usize,
            merged: *const [n][max_rank]usize,
            all: *const [n][max_rank]usize,
            last: usize,
            k: usize,
            size: usize,
        ) bool {
            for (0..n) |i| if (merged[i][last] != all[i][k] * size) return false;
            return true;
        }

        /// Each input's offset at the start of `row`.
        pub fn offsets(self: *const Self, row: usize) [inputs]usize {
            var result = [_]usize{0} ** inputs;
            var rest = row;
            var k = self.outer_rank;
            while (k > 0) {
                k -= 1;
                const index = rest % self.outer_dims[k];
                rest /= self.outer_dims[k];
                for (&result, 0..) |*o, i| o.* += index * self.outer_strides[i][k];
            }
            return result;
        }
    };
}

test "Rows merges axes that inputs walk alike" {
    const bias = Rows(2).init(&.{ 2, 3, 4 }, .{ &.{ 2, 3, 4 }, &.{4} });
    try std.testing.expectEqual(@as(usize, 6), bias.rows);
    try std.testing.expectEqual(@as(usize, 4), bias.inner);
    try std.testing.expectEqual([2]usize{ 1, 1 }, bias.inner_stride);
    try std.testing.expectEqual([2]usize{ 20, 0 }, bias.offsets(5));
    const same = Rows(2).init(&.{ 2, 3, 4 }, .{ &.{ 2, 3, 4 }, &.{ 2, 3, 4 } });
    try std.testing.expectEqual(@as(usize, 1), same.rows);
    try std.testing.expectEqual(@as(usize, 24), same.inner);
    const column = Rows(2).init(&.{ 3, 4 }, .{ &.{ 3, 4 }, &.{ 3, 1 } });
    try std.testing.expectEqual(@as(usize, 3), column.rows);
    try std.testing.expectEqual([2]usize{ 1, 0 }, column.inner_stride);
    try std.testing.expectEqual([2]usize{ 8, 2 }, column.offsets(2));
}
