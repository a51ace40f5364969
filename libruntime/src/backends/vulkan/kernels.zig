//! Running one compiled node: output shapes from the actual input shapes, the output buffer, the
//! push constants each shader reads (extern structs in its std430 layout), and the dispatch,
//! recorded into the stream. Nothing runs here; the stream's `finish` submits it.
const std = @import("std");
const status = @import("../../core/status.zig");
const node_run = @import("../../exec/node_run.zig");
const value = @import("../../exec/value.zig");
const ops = @import("ops.zig");
const memory_module = @import("memory.zig");
const stream_module = @import("stream.zig");
const functions = @import("functions.zig");
const kernels_nn = @import("kernels_nn.zig");
const kernels_movement = @import("kernels_movement.zig");

const vk = functions.vk;
const Tensor = value.Tensor;

/// What a kernel needs from the device: its output memory and where dispatches go.
pub const Target = struct {
    pool: *memory_module.Pool,
    stream: *stream_module.Stream,
};

/// Invocations per workgroup of the elementwise and softmax shaders (spec constant 0).
pub const elementwise_workgroup = 256;
pub const softmax_workgroup = 64;
/// Invocations per workgroup of the shaders that give each row (or output) a workgroup: the
/// reductions and LayerNormalization.
pub const row_workgroup = 64;
/// The MatMul tile: spec constants WORKGROUP, BM, BN, BK, TM, TN of shaders/matmul.comp.
pub const matmul_tile = [_]u32{ (32 / 4) * (32 / 4), 32, 32, 8, 4, 4 };
/// Workgroups along x that every device allows (Vulkan's minimum maxComputeWorkGroupCount).
pub const max_groups = 65535;

const BinaryPush = extern struct { count: u32, op: u32, rank: u32, dims: [6]u32, a_strides: [6]u32, b_strides: [6]u32 };
const UnaryPush = extern struct { count: u32, op: u32, alpha: f32, beta: f32 };
const SoftmaxPush = extern struct { rows: u32, axis_length: u32, inner: u32, log_softmax: u32, rows_per_dispatch_row: u32 };
const MatmulPush = extern struct {
    m: u32,
    n: u32,
    k: u32,
    batch_rank: u32,
    flags: u32,
    batch_dims: [4]u32,
    a_batch_strides: [4]u32,
    b_batch_strides: [4]u32,
    alpha: f32,
    beta: f32,
    c_row_stride: u32,
    c_column_stride: u32,
};

comptime {
    for (.{ BinaryPush, UnaryPush, SoftmaxPush, MatmulPush }) |T| std.debug.assert(@sizeOf(T) <= 128);
}

pub fn run(target: Target, kernel: ops.Kernel, pipeline: vk.VkPipeline, r: *const node_run.NodeRun) status.Error!void {
    switch (kernel) {
        .binary => |op| try binary(target, op, pipeline, r),
        .unary => |u| try unary(target, u.op, u.alpha, u.beta, pipeline, r),
        .matmul => |m| try matmul(target, m, pipeline, r),
        .softmax => |s| try softmax(target, s, pipeline, r),
        .conv => |c| try kernels_nn.conv(target, c, pipeline, r),
        .pool => |p| try kernels_nn.pool(target, p, pipeline, r),
        .reduce => |reduction| try kernels_nn.reduce(target, reduction, pipeline, r),
        .layer_norm => |l| try kernels_nn.layerNorm(target, l, pipeline, r),
        .batch_norm => |epsilon| try kernels_nn.batchNorm(target, epsilon, pipeline, r),
        .movement => |m| try kernels_movement.run(target, m, pipeline, r),
    }
}

/// A node absorbed into its Conv, in a run that fuses: its output is input `passes`, as it is.
pub fn passThrough(r: *const node_run.NodeRun, passes: u32) status.Error!void {
    const source = try input(r, passes);
    // An absorbed Add or Mul reads two operands of the same static shape (checked at load).
    if (r.inputs.len == 2 and !std.mem.eql(u8, r.node.op_type, "Clip")) {
        const other = try input(r, 1 - @min(passes, 1));
        if (!std.mem.eql(i64, other.shape, source.shape)) return status.fail(error.ShapeError, "a fused operand does not match the other's shape", .{});
    }
    try view(r, source, source.shape);
}

/// Output 0 as `source`'s buffer under `shape` (the same number of elements): nothing is copied.
pub fn view(r: *const node_run.NodeRun, source: *const Tensor, shape: []const i64) status.Error!void {
    const t = r.arena.create(Tensor) catch return oom();
    t.* = .{ .dtype = source.dtype, .shape = r.arena.dupe(i64, shape) catch return oom(), .buffer = source.buffer };
    r.outputs[0] = t;
}

fn binary(target: Target, op: ops.BinaryOp, pipeline: vk.VkPipeline, r: *const node_run.NodeRun) status.Error!void {
    const a = try input(r, 0);
    const b = try input(r, 1);
    const rank = @max(a.shape.len, b.shape.len);
    if (rank > ops.max_rank) return status.fail(error.NotImplemented, "the Vulkan elementwise kernel takes at most {d} dims", .{ops.max_rank});
    const shape = r.arena.alloc(i64, rank) catch return oom();
    for (shape, 0..) |*d, i| d.* = try broadcastDim(dimAligned(a.shape, rank, i), dimAligned(b.shape, rank, i));
    const y = try output(target, r, shape);
    var push: BinaryPush = .{ .count = try count32(y), .op = @intFromEnum(op), .rank = @intCast(rank), .dims = @splat(1), .a_strides = @splat(0), .b_strides = @splat(0) };
    for (shape, 0..) |d, i| push.dims[i] = @intCast(d);
    broadcastStrides(a.shape, rank, &push.a_strides);
    broadcastStrides(b.shape, rank, &push.b_strides);
    if (push.count == 0) return;
    try target.stream.record(.{
        .pipeline = pipeline,
        .bindings = &.{ bindingOf(a), bindingOf(b), bindingOf(y) },
        .push = std.mem.asBytes(&push),
        .groups = .{ groupsFor(push.count, elementwise_workgroup), 1, 1 },
    });
}

fn unary(target: Target, op: ops.UnaryOp, alpha: f32, beta: f32, pipeline: vk.VkPipeline, r: *const node_run.NodeRun) status.Error!void {
    const x = try input(r, 0);
    const y = try output(target, r, x.shape);
    const push: UnaryPush = .{ .count = try count32(y), .op = @intFromEnum(op), .alpha = alpha, .beta = beta };
    if (push.count == 0) return;
    try target.stream.record(.{
        .pipeline = pipeline,
        .bindings = &.{ bindingOf(x), bindingOf(y) },
        .push = std.mem.asBytes(&push),
        .groups = .{ groupsFor(push.count, elementwise_workgroup), 1, 1 },
    });
}

fn softmax(target: Target, s: std.meta.TagPayload(ops.Kernel, .softmax), pipeline: vk.VkPipeline, r: *const node_run.NodeRun) status.Error!void {
    const x = try input(r, 0);
    const rank: i64 = @intCast(x.shape.len);
    const axis = if (s.axis < 0) s.axis + rank else s.axis;
    if (axis < 0 or axis >= @max(rank, 1)) return status.fail(error.InvalidArgument, "Softmax axis {d} is out of range for rank {d}", .{ s.axis, rank });
    const at: usize = @intCast(axis);
    const outer = product(x.shape[0..@min(at, x.shape.len)]);
    const length = if (s.coerced) product(x.shape[@min(at, x.shape.len)..]) else if (x.shape.len == 0) 1 else product(x.shape[at .. at + 1]);
    const inner = if (s.coerced or x.shape.len == 0) 1 else product(x.shape[at + 1 ..]);
    const y = try output(target, r, x.shape);
    const rows = std.math.cast(u32, outer * inner) orelse return tooLarge();
    if (rows == 0 or length == 0) return;
    const across = @min(rows, max_groups);
    const push: SoftmaxPush = .{
        .rows = rows,
        .axis_length = std.math.cast(u32, length) orelse return tooLarge(),
        .inner = std.math.cast(u32, inner) orelse return tooLarge(),
        .log_softmax = @intFromBool(s.log),
        .rows_per_dispatch_row = across,
    };
    try target.stream.record(.{
        .pipeline = pipeline,
        .bindings = &.{ bindingOf(x), bindingOf(y) },
        .push = std.mem.asBytes(&push),
        .groups = .{ across, (rows + across - 1) / across, 1 },
    });
}

const Matmul = std.meta.TagPayload(ops.Kernel, .matmul);

fn matmul(target: Target, m: Matmul, pipeline: vk.VkPipeline, r: *const node_run.NodeRun) status.Error!void {
    const a = try input(r, 0);
    const b = try input(r, 1);
    const c: ?*const Tensor = if (m.gemm and r.inputs.len > 2) r.inputs[2] else null;
    var push = std.mem.zeroes(MatmulPush);
    push.alpha = m.alpha;
    push.beta = m.beta;
    push.batch_dims = @splat(1);
    const shape = if (m.gemm) try gemmShape(r, a, b, c, m, &push) else try matmulShape(r, a, b, &push);
    const y = try output(target, r, shape);
    const total = try count32(y);
    if (total == 0) return;
    var batch: u32 = 1;
    for (push.batch_dims[0..push.batch_rank]) |d| batch *= d;
    const tile = matmul_tile;
    var bindings = [_]stream_module.Binding{ bindingOf(a), bindingOf(b), bindingOf(a), bindingOf(y) };
    if (c) |bias| bindings[2] = bindingOf(bias);
    try target.stream.record(.{
        .pipeline = pipeline,
        .bindings = &bindings,
        .push = std.mem.asBytes(&push),
        .groups = .{ (push.n + tile[2] - 1) / tile[2], (push.m + tile[1] - 1) / tile[1], batch },
    });
}

/// MatMul's output shape, numpy style: a 1-D A is a row and a 1-D B a column (their dim is
/// dropped from the output), and batch dims broadcast.
fn matmulShape(r: *const node_run.NodeRun, a: *const Tensor, b: *const Tensor, push: *MatmulPush) status.Error![]i64 {
    const ra = a.shape.len;
    const rb = b.shape.len;
    if (ra == 0 or rb == 0) return status.fail(error.ShapeError, "MatMul of a scalar", .{});
    const m: i64 = if (ra >= 2) a.shape[ra - 2] else 1;
    const k = a.shape[ra - 1];
    const kb = if (rb >= 2) b.shape[rb - 2] else b.shape[0];
    const n: i64 = if (rb >= 2) b.shape[rb - 1] else 1;
    if (k != kb) return status.fail(error.ShapeError, "MatMul of {any} and {any}: inner dims differ", .{ a.shape, b.shape });
    const batch_a = a.shape[0..ra -| 2];
    const batch_b = b.shape[0..rb -| 2];
    const batch_rank = @max(batch_a.len, batch_b.len);
    if (batch_rank > ops.max_batch_rank) return status.fail(error.NotImplemented, "the Vulkan MatMul takes at most {d} batch dims", .{ops.max_batch_rank});
    const out_rank = batch_rank + @as(usize, if (ra >= 2) 1 else 0) + @as(usize, if (rb >= 2) 1 else 0);
    const shape = r.arena.alloc(i64, out_rank) catch return oom();
    var a_stride: u32 = try dim32(m * k);
    var b_stride: u32 = try dim32(k * n);
    var i = batch_rank;
    while (i > 0) {
        i -= 1;
        const da = dimAligned(batch_a, batch_rank, i);
        const db = dimAligned(batch_b, batch_rank, i);
        shape[i] = try broadcastDim(da, db);
        push.batch_dims[i] = try dim32(shape[i]);
        push.a_batch_strides[i] = if (da == 1) 0 else a_stride;
        push.b_batch_strides[i] = if (db == 1) 0 else b_stride;
        a_stride *= try dim32(da);
        b_stride *= try dim32(db);
    }
    if (ra >= 2) shape[batch_rank] = m;
    if (rb >= 2) shape[out_rank - 1] = n;
    push.batch_rank = @intCast(batch_rank);
    push.m = try dim32(m);
    push.n = try dim32(n);
    push.k = try dim32(k);
    return shape;
}

fn gemmShape(r: *const node_run.NodeRun, a: *const Tensor, b: *const Tensor, c: ?*const Tensor, g: Matmul, push: *MatmulPush) status.Error![]i64 {
    if (a.shape.len != 2 or b.shape.len != 2) return status.fail(error.ShapeError, "Gemm's A and B must be 2-D", .{});
    const m = if (g.trans_a) a.shape[1] else a.shape[0];
    const k = if (g.trans_a) a.shape[0] else a.shape[1];
    const kb = if (g.trans_b) b.shape[1] else b.shape[0];
    const n = if (g.trans_b) b.shape[0] else b.shape[1];
    if (k != kb) return status.fail(error.ShapeError, "Gemm of {any} and {any}: inner dims differ", .{ a.shape, b.shape });
    push.flags = @as(u32, @intFromBool(g.trans_a)) | @as(u32, @intFromBool(g.trans_b)) << 1;
    if (c) |bias| {
        push.flags |= 4;
        const rows = dimAligned(bias.shape, 2, 0);
        const columns = dimAligned(bias.shape, 2, 1);
        if ((rows != 1 and rows != m) or (columns != 1 and columns != n)) return status.fail(error.ShapeError, "Gemm's C {any} does not broadcast to [{d}, {d}]", .{ bias.shape, m, n });
        push.c_row_stride = if (rows == 1) 0 else try dim32(columns);
        push.c_column_stride = if (columns == 1) 0 else 1;
    }
    push.m = try dim32(m);
    push.n = try dim32(n);
    push.k = try dim32(k);
    const shape = r.arena.alloc(i64, 2) catch return oom();
    shape[0] = m;
    shape[1] = n;
    return shape;
}

/// Dim `i` of `shape` right-aligned to `rank` dims (1 where `shape` has none).
pub fn dimAligned(shape: []const i64, rank: usize, i: usize) i64 {
    const missing = rank - shape.len;
    return if (i < missing) 1 else shape[i - missing];
}

pub fn broadcastDim(a: i64, b: i64) status.Error!i64 {
    if (a == b or b == 1) return a;
    if (a == 1) return b;
    return status.fail(error.ShapeError, "dims {d} and {d} do not broadcast", .{ a, b });
}

/// Element strides of `shape` right-aligned to `rank` dims, 0 along its dims of 1.
fn broadcastStrides(shape: []const i64, rank: usize, out: *[6]u32) void {
    var running: u32 = 1;
    var i = shape.len;
    while (i > 0) {
        i -= 1;
        const d: u32 = @intCast(shape[i]);
        out[rank - shape.len + i] = if (d == 1) 0 else running;
        running *%= d;
    }
}

pub fn product(dims: []const i64) u64 {
    var n: u64 = 1;
    for (dims) |d| n *= @intCast(d);
    return n;
}

pub fn groupsFor(count: u32, workgroup: u32) u32 {
    return @min((count + workgroup - 1) / workgroup, max_groups);
}

pub fn input(r: *const node_run.NodeRun, i: usize) status.Error!*const Tensor {
    const t = r.inputs[i] orelse return status.fail(error.InvalidArgument, "input {d} is missing", .{i});
    if (t.dtype != .float32 or t.buffer == null) return status.fail(error.InvalidArgument, "input {d} is not float32 in the Vulkan device's memory", .{i});
    return t;
}

/// The node's output of `shape`, in a new buffer.
pub fn output(target: Target, r: *const node_run.NodeRun, shape: []const i64) status.Error!*const Tensor {
    const bytes = product(shape) * 4;
    const allocation = try target.pool.alloc(bytes);
    errdefer target.pool.free(allocation);
    const t = r.arena.create(Tensor) catch return oom();
    const owned = r.arena.dupe(i64, shape) catch return oom();
    t.* = .{ .dtype = .float32, .shape = owned, .buffer = .{ .handle = allocation, .bytes = @intCast(bytes) } };
    r.outputs[0] = t;
    return t;
}

pub fn allocationOf(buffer: value.Buffer) *memory_module.Allocation {
    return @ptrCast(@alignCast(buffer.handle));
}

pub fn bindingOf(t: *const Tensor) stream_module.Binding {
    const allocation = allocationOf(t.buffer.?);
    return .{ .buffer = allocation.block.buffer, .offset = allocation.offset, .range = allocation.size };
}

pub fn count32(t: *const Tensor) status.Error!u32 {
    return std.math.cast(u32, t.count()) orelse tooLarge();
}

pub fn dim32(d: i64) status.Error!u32 {
    return std.math.cast(u32, d) orelse tooLarge();
}

pub fn tooLarge() status.Error {
    return status.fail(error.NotImplemented, "the Vulkan kernels index with 32 bits: the tensor is too large", .{});
}

pub fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory", .{});
}
