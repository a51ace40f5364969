//! Running the data-movement ops: each is one or more strided copies (shaders/copy.comp) between
//! views of its input and output, or, for Reshape, Flatten, Squeeze, Unsqueeze and Identity,
//! the input's buffer under the new shape.
const std = @import("std");
const status = @import("../../core/status.zig");
const node_run = @import("../../exec/node_run.zig");
const value = @import("../../exec/value.zig");
const ops = @import("ops.zig");
const ops_movement = @import("ops_movement.zig");
const kernels = @import("kernels.zig");
const functions = @import("functions.zig");

const vk = functions.vk;
const Tensor = value.Tensor;
const Target = kernels.Target;
const NodeRun = node_run.NodeRun;
const max_rank = ops.max_rank;

const CopyPush = extern struct {
    count: u32,
    rank: u32,
    source_offset: i32,
    target_offset: u32,
    dims: [max_rank]u32,
    source_strides: [max_rank]i32,
    target_strides: [max_rank]u32,
    fill_mode: u32,
    fill: f32,
};

comptime {
    std.debug.assert(@sizeOf(CopyPush) <= 128);
}

/// A strided view: element coordinates in `dims`, placed at offset + sum of coordinate * stride.
const View = struct {
    rank: usize,
    dims: [max_rank]i64 = @splat(1),
    strides: [max_rank]i64 = @splat(0),
    offset: i64 = 0,

    /// The whole of a contiguous tensor of `shape`.
    fn contiguous(shape: []const i64) View {
        var v: View = .{ .rank = shape.len };
        var stride: i64 = 1;
        var i = shape.len;
        while (i > 0) {
            i -= 1;
            v.dims[i] = shape[i];
            v.strides[i] = stride;
            stride *= shape[i];
        }
        return v;
    }

    fn count(self: View) u64 {
        return kernels.product(self.dims[0..self.rank]);
    }
};

pub fn run(target: Target, m: ops_movement.Movement, pipeline: vk.VkPipeline, r: *const NodeRun) status.Error!void {
    const x = try kernels.input(r, 0);
    _ = try kernels.count32(x);
    switch (m) {
        .view => |v| try kernels.view(r, x, try viewShape(r, v, x.shape)),
        .transpose => |perm| try transpose(target, pipeline, r, x, perm),
        .concat => |axis| try concat(target, pipeline, r, axis),
        .slice => |s| try slice(target, pipeline, r, x, s),
        .expand => |shape| try expand(target, pipeline, r, x, shape.slice()),
        .pad => |p| try pad(target, pipeline, r, x, p),
        .gather => |g| try gather(target, pipeline, r, x, g),
    }
}

/// Records one copy from `source`'s view `from` into `destination`'s view `to`, which have the
/// same dims.
fn copy(target: Target, pipeline: vk.VkPipeline, source: *const Tensor, from: View, destination: *const Tensor, to: View) status.Error!void {
    const count = std.math.cast(u32, from.count()) orelse return kernels.tooLarge();
    if (count == 0) return;
    var push = std.mem.zeroes(CopyPush);
    push.count = count;
    push.rank = @intCast(from.rank);
    push.source_offset = std.math.cast(i32, from.offset) orelse return kernels.tooLarge();
    push.target_offset = std.math.cast(u32, to.offset) orelse return kernels.tooLarge();
    for (0..from.rank) |i| {
        push.dims[i] = try kernels.dim32(from.dims[i]);
        push.source_strides[i] = std.math.cast(i32, from.strides[i]) orelse return kernels.tooLarge();
        push.target_strides[i] = std.math.cast(u32, to.strides[i]) orelse return kernels.tooLarge();
    }
    try target.stream.record(.{
        .pipeline = pipeline,
        .bindings = &.{ kernels.bindingOf(source), kernels.bindingOf(destination) },
        .push = std.mem.asBytes(&push),
        .groups = .{ kernels.groupsFor(count, kernels.elementwise_workgroup), 1, 1 },
    });
}

/// Records writing `fill` to every element of `destination`.
fn fill(target: Target, pipeline: vk.VkPipeline, destination: *const Tensor, fill_value: f32) status.Error!void {
    const count = try kernels.count32(destination);
    if (count == 0) return;
    var push = std.mem.zeroes(CopyPush);
    push.count = count;
    push.fill_mode = 1;
    push.fill = fill_value;
    try target.stream.record(.{
        .pipeline = pipeline,
        .bindings = &.{ kernels.bindingOf(destination), kernels.bindingOf(destination) },
        .push = std.mem.asBytes(&push),
        .groups = .{ kernels.groupsFor(count, kernels.elementwise_workgroup), 1, 1 },
    });
}

fn normalizeAxis(axis: i64, rank: usize) status.Error!usize {
    const r: i64 = @intCast(rank);
    const a = if (axis < 0) axis + r else axis;
    if (a < 0 or a >= r) return status.fail(error.InvalidArgument, "axis {d} is out of range for rank {d}", .{ axis, rank });
    return @intCast(a);
}

fn viewShape(r: *const NodeRun, v: ops_movement.View, shape: []const i64) status.Error![]const i64 {
    const count: i64 = @intCast(kernels.product(shape));
    var out: std.ArrayList(i64) = .empty;
    const arena = r.arena;
    switch (v) {
        .identity => return shape,
        .flatten => |axis| {
            const rank: i64 = @intCast(shape.len);
            const at = if (axis < 0) axis + rank else axis;
            if (at < 0 or at > rank) return status.fail(error.InvalidArgument, "Flatten's axis {d} is out of range for rank {d}", .{ axis, rank });
            const outer: i64 = @intCast(kernels.product(shape[0..@intCast(at)]));
            out.appendSlice(arena, &.{ outer, @intCast(kernels.product(shape[@intCast(at)..])) }) catch return kernels.oom();
        },
        .reshape => |reshape| {
            var inferred: ?usize = null;
            var known: i64 = 1;
            for (reshape.shape.slice(), 0..) |d, i| {
                const dim = if (d == 0 and !reshape.allow_zero) (if (i < shape.len) shape[i] else return status.fail(error.ShapeError, "Reshape copies dim {d}, which the input {any} does not have", .{ i, shape })) else d;
                if (dim == -1) {
                    if (inferred != null) return status.fail(error.ShapeError, "Reshape's shape has more than one -1", .{});
                    inferred = i;
                } else if (dim < 0) return status.fail(error.ShapeError, "Reshape's shape holds {d}", .{dim}) else known *= dim;
                out.append(arena, dim) catch return kernels.oom();
            }
            if (inferred) |i| {
                if (known == 0 or @rem(count, known) != 0) return status.fail(error.ShapeError, "cannot reshape {any} to {any}", .{ shape, reshape.shape.slice() });
                out.items[i] = @divExact(count, known);
            }
        },
        .squeeze => |axes| {
            var dropped = [_]bool{false} ** max_rank;
            if (axes) |given| {
                for (given.slice()) |axis| {
                    const a = try normalizeAxis(axis, shape.len);
                    if (shape[a] != 1) return status.fail(error.ShapeError, "Squeeze of axis {d}, which is {d} in {any}", .{ axis, shape[a], shape });
                    dropped[a] = true;
                }
            } else {
                for (shape, 0..) |d, i| dropped[i] = d == 1;
            }
            for (shape, 0..) |d, i| if (!dropped[i]) out.append(arena, d) catch return kernels.oom();
        },
        .unsqueeze => |axes| {
            const rank = shape.len + axes.len;
            if (rank > max_rank) return status.fail(error.NotImplemented, "the Vulkan backend takes at most {d} dims", .{max_rank});
            var added = [_]bool{false} ** max_rank;
            for (axes.slice()) |axis| {
                const a = try normalizeAxis(axis, rank);
                if (added[a]) return status.fail(error.InvalidArgument, "Unsqueeze's axes repeat {d}", .{axis});
                added[a] = true;
            }
            var next: usize = 0;
            for (0..rank) |i| {
                const d = if (added[i]) 1 else shape[next];
                if (!added[i]) next += 1;
                out.append(arena, d) catch return kernels.oom();
            }
        },
    }
    if (@as(i64, @intCast(kernels.product(out.items))) != count) return status.fail(error.ShapeError, "cannot view {any} as {any}", .{ shape, out.items });
    return out.items;
}

fn transpose(target: Target, pipeline: vk.VkPipeline, r: *const NodeRun, x: *const Tensor, given: ?ops_movement.Dims) status.Error!void {
    const rank = x.shape.len;
    var perm: [max_rank]usize = undefined;
    var seen = [_]bool{false} ** max_rank;
    for (0..rank) |i| {
        const p: i64 = if (given) |g| (if (g.len == rank) g.values[i] else return status.fail(error.ShapeError, "Transpose's perm has {d} values for rank {d}", .{ g.len, rank })) else @intCast(rank - 1 - i);
        const a = try normalizeAxis(p, rank);
        if (seen[a]) return status.fail(error.InvalidArgument, "Transpose's perm repeats axis {d}", .{a});
        seen[a] = true;
        perm[i] = a;
    }
    const source = View.contiguous(x.shape);
    const shape = r.arena.alloc(i64, rank) catch return kernels.oom();
    var from: View = .{ .rank = rank };
    for (0..rank) |i| {
        shape[i] = x.shape[perm[i]];
        from.dims[i] = shape[i];
        from.strides[i] = source.strides[perm[i]];
    }
    const y = try kernels.output(target, r, shape);
    try copy(target, pipeline, x, from, y, View.contiguous(shape));
}

fn concat(target: Target, pipeline: vk.VkPipeline, r: *const NodeRun, axis_attribute: i64) status.Error!void {
    const first = try kernels.input(r, 0);
    const rank = first.shape.len;
    const axis = try normalizeAxis(axis_attribute, rank);
    const shape = r.arena.dupe(i64, first.shape) catch return kernels.oom();
    shape[axis] = 0;
    for (0..r.inputs.len) |i| {
        const t = try kernels.input(r, i);
        if (t.shape.len != rank) return status.fail(error.ShapeError, "Concat of {any} and {any}: the ranks differ", .{ first.shape, t.shape });
        for (t.shape, first.shape, 0..) |a, b, d| if (d != axis and a != b) return status.fail(error.ShapeError, "Concat of {any} and {any} along axis {d}", .{ first.shape, t.shape, axis });
        shape[axis] += t.shape[axis];
    }
    const y = try kernels.output(target, r, shape);
    _ = try kernels.count32(y);
    var to = View.contiguous(shape);
    const step = to.strides[axis];
    for (0..r.inputs.len) |i| {
        const t = try kernels.input(r, i);
        const from = View.contiguous(t.shape);
        to.dims = from.dims;
        try copy(target, pipeline, t, from, y, to);
        to.offset += t.shape[axis] * step;
    }
}

fn slice(target: Target, pipeline: vk.VkPipeline, r: *const NodeRun, x: *const Tensor, s: ops_movement.Slice) status.Error!void {
    const rank = x.shape.len;
    const n = s.starts.len;
    if (s.ends.len != n or (s.axes != null and s.axes.?.len != n) or (s.steps != null and s.steps.?.len != n))
        return status.fail(error.InvalidArgument, "Slice's starts, ends, axes and steps differ in length", .{});
    var from = View.contiguous(x.shape);
    var done = [_]bool{false} ** max_rank;
    for (0..n) |i| {
        const axis = try normalizeAxis(if (s.axes) |a| a.values[i] else @intCast(i), rank);
        if (done[axis]) return status.fail(error.InvalidArgument, "Slice's axes repeat {d}", .{axis});
        done[axis] = true;
        const step = if (s.steps) |st| st.values[i] else 1;
        if (step == 0) return status.fail(error.InvalidArgument, "Slice's step is 0", .{});
        const dim = x.shape[axis];
        var start = s.starts.values[i];
        var end = s.ends.values[i];
        if (start < 0) start +|= dim;
        if (end < 0) end +|= dim;
        if (step > 0) {
            start = std.math.clamp(start, 0, dim);
            end = std.math.clamp(end, 0, dim);
        } else {
            start = std.math.clamp(start, 0, dim - 1);
            end = std.math.clamp(end, -1, dim - 1);
        }
        const extent = if (step > 0) @divFloor(end - start + step - 1, step) else @divFloor(start - end - step - 1, -step);
        from.offset += start * from.strides[axis];
        from.dims[axis] = @max(extent, 0);
        from.strides[axis] *= step;
    }
    const y = try kernels.output(target, r, from.dims[0..rank]);
    if (y.count() == 0) return;
    try copy(target, pipeline, x, from, y, View.contiguous(y.shape));
}

fn expand(target: Target, pipeline: vk.VkPipeline, r: *const NodeRun, x: *const Tensor, wanted: []const i64) status.Error!void {
    const rank = @max(x.shape.len, wanted.len);
    if (rank > max_rank) return status.fail(error.NotImplemented, "the Vulkan backend takes at most {d} dims", .{max_rank});
    const shape = r.arena.alloc(i64, rank) catch return kernels.oom();
    const source = View.contiguous(x.shape);
    var from: View = .{ .rank = rank };
    const missing = rank - x.shape.len;
    for (0..rank) |i| {
        const have = kernels.dimAligned(x.shape, rank, i);
        shape[i] = try kernels.broadcastDim(have, kernels.dimAligned(wanted, rank, i));
        from.dims[i] = shape[i];
        from.strides[i] = if (i < missing or have == 1) 0 else source.strides[i - missing];
    }
    const y = try kernels.output(target, r, shape);
    try copy(target, pipeline, x, from, y, View.contiguous(shape));
}

fn pad(target: Target, pipeline: vk.VkPipeline, r: *const NodeRun, x: *const Tensor, p: ops_movement.Pad) status.Error!void {
    const rank = x.shape.len;
    if (p.count != 2 * rank) return status.fail(error.InvalidArgument, "Pad has {d} pads for rank {d}", .{ p.count, rank });
    const shape = r.arena.alloc(i64, rank) catch return kernels.oom();
    var from = View.contiguous(x.shape);
    var bordered = false;
    var empty = false;
    for (0..rank) |i| {
        const begin = p.pads[i];
        const end = p.pads[i + rank];
        shape[i] = x.shape[i] + begin + end;
        if (shape[i] < 0) return status.fail(error.ShapeError, "Pad crops axis {d} of {any} below nothing", .{ i, x.shape });
        bordered = bordered or begin > 0 or end > 0;
        // A negative pad crops: the copy starts that far into the input.
        from.offset += @max(0, -begin) * from.strides[i];
        from.dims[i] = x.shape[i] - @max(0, -begin) - @max(0, -end);
        empty = empty or from.dims[i] <= 0;
    }
    const y = try kernels.output(target, r, shape);
    if (bordered) try fill(target, pipeline, y, p.value);
    if (empty) return;
    var to = View.contiguous(shape);
    for (0..rank) |i| to.offset += @max(0, p.pads[i]) * to.strides[i];
    to.dims = from.dims;
    try copy(target, pipeline, x, from, y, to);
}

fn gather(target: Target, pipeline: vk.VkPipeline, r: *const NodeRun, x: *const Tensor, g: ops_movement.Gather) status.Error!void {
    const rank = x.shape.len;
    const axis = try normalizeAxis(g.axis, rank);
    const indices = g.indices_shape.slice();
    const out_rank = rank - 1 + indices.len;
    if (out_rank > max_rank) return status.fail(error.NotImplemented, "the Vulkan backend takes at most {d} dims", .{max_rank});
    const shape = r.arena.alloc(i64, out_rank) catch return kernels.oom();
    @memcpy(shape[0..axis], x.shape[0..axis]);
    @memcpy(shape[axis..][0..indices.len], indices);
    @memcpy(shape[axis + indices.len ..], x.shape[axis + 1 ..]);
    const y = try kernels.output(target, r, shape);
    const outer: i64 = @intCast(kernels.product(x.shape[0..axis]));
    const inner: i64 = @intCast(kernels.product(x.shape[axis + 1 ..]));
    const dim = x.shape[axis];
    // Each index is one copy of an [outer, inner] block.
    var from: View = .{ .rank = 2, .dims = .{ outer, inner, 1, 1, 1, 1 }, .strides = .{ dim * inner, 1, 0, 0, 0, 0 } };
    var to: View = .{ .rank = 2, .dims = from.dims, .strides = .{ @as(i64, @intCast(g.count)) * inner, 1, 0, 0, 0, 0 } };
    for (g.indices[0..g.count], 0..) |index, k| {
        const at = if (index < 0) index + dim else index;
        if (at < 0 or at >= dim) return status.fail(error.InvalidArgument, "Gather's index {d} is out of range for axis {d} of {any}", .{ index, axis, x.shape });
        from.offset = at * inner;
        to.offset = @as(i64, @intCast(k)) * inner;
        try copy(target, pipeline, x, from, y, to);
    }
}
