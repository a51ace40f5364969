//! CPU kernels (family: linalg): MatMul and Gemm here; quantization, Einsum/Det, softmax and
//! losses, recurrent layers, the attention operators (Attention, LinearAttention, FlexAttention)
//! and RotaryEmbedding in the linalg_*.zig files whose tables this one concatenates.
//! float32 products go through the blocked SGEMM in ../gemm.zig (driven by linalg_sgemm.zig: a
//! constant B is packed at load, products run on the model's thread pool); other types take
//! an i-k-j loop over contiguous rows that accumulates in f32 (f64 for float64, wrapping for
//! integers).
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");
const Entry = @import("entry.zig").Entry;
const prepare = @import("../prepare.zig");
const broadcast = @import("broadcast.zig");
const common = @import("linalg_common.zig");
const sgemm = @import("linalg_sgemm.zig");

const Context = kernel.Context;
const Tensor = kernel.Tensor;
const DType = kernel.DType;

pub const Sgemm = sgemm.Sgemm;
pub const Prepacked = sgemm.Prepacked;

/// How a (batched, broadcast) matrix product maps to M x K by K x N products.
pub const Plan = struct {
    m: usize,
    k: usize,
    n: usize,
    out_shape: []i64,
    /// Matrix index into A and into B for each output matrix.
    a_index: []usize,
    b_index: []usize,

    pub fn batches(self: Plan) usize {
        return self.a_index.len;
    }

    /// Every output matrix uses the same B and consecutive A matrices: one tall product.
    pub fn foldable(self: Plan) bool {
        for (self.a_index, self.b_index, 0..) |ai, bi, i| if (ai != i or bi != 0) return false;
        return true;
    }
};

/// numpy matmul shapes: 1-D operands gain a dim of 1 that the result drops; batch dims broadcast.
pub fn plan(ctx: *const Context, a_shape: []const i64, b_shape: []const i64) status.Error!Plan {
    if (a_shape.len == 0 or b_shape.len == 0) return ctx.fail("matrix product operands must not be scalars", .{});
    _ = try common.product(ctx, a_shape);
    _ = try common.product(ctx, b_shape);
    const a_vec = a_shape.len == 1;
    const b_vec = b_shape.len == 1;
    const m: usize = if (a_vec) 1 else @intCast(a_shape[a_shape.len - 2]);
    const k: usize = @intCast(a_shape[a_shape.len - 1]);
    const kb: usize = @intCast(if (b_vec) b_shape[0] else b_shape[b_shape.len - 2]);
    const n: usize = if (b_vec) 1 else @intCast(b_shape[b_shape.len - 1]);
    if (k != kb) return ctx.fail("inner dims differ: A has {d}, B has {d}", .{ k, kb });
    const a_batch = a_shape[0 .. a_shape.len - @min(a_shape.len, 2)];
    const b_batch = b_shape[0 .. b_shape.len - @min(b_shape.len, 2)];
    const batch_shape = try broadcast.shape(ctx, &.{ a_batch, b_batch });
    if (batch_shape.len > broadcast.max_rank) return ctx.fail("too many batch dims ({d})", .{batch_shape.len});
    const count = try common.product(ctx, batch_shape);
    var out: std.ArrayList(i64) = .empty;
    out.appendSlice(ctx.arena, batch_shape) catch return oom();
    if (!a_vec) out.append(ctx.arena, @intCast(m)) catch return oom();
    if (!b_vec) out.append(ctx.arena, @intCast(n)) catch return oom();
    _ = try common.product(ctx, out.items);
    const p: Plan = .{
        .m = m,
        .k = k,
        .n = n,
        .out_shape = out.items,
        .a_index = try ctx.alloc(usize, count),
        .b_index = try ctx.alloc(usize, count),
    };
    var walker = broadcast.Walker(2).init(batch_shape, .{ a_batch, b_batch });
    for (p.a_index, p.b_index) |*ai, *bi| {
        ai.* = walker.offsets[0];
        bi.* = walker.offsets[1];
        walker.next();
    }
    return p;
}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory", .{});
}

/// c (m x n) = a (m x k) * b (k x n), all dense; `row` is an n-long accumulator.
pub fn matmulRows(
    comptime T: type,
    a: []const T,
    b: []const T,
    c: []T,
    m: usize,
    k: usize,
    n: usize,
    row: []common.Acc(T),
) void {
    const A = common.Acc(T);
    for (0..m) |i| {
        @memset(row, 0);
        for (0..k) |p| {
            const x = common.load(T, a[i * k + p]);
            const b_row = b[p * n ..][0..n];
            for (row, b_row) |*r, y| r.* = common.add(A, r.*, common.mul(A, x, common.load(T, y)));
        }
        for (c[i * n ..][0..n], row) |*o, r| o.* = common.store(T, r);
    }
}

/// The batched product for any element type; float32 goes through SGEMM.
pub fn matmulTyped(comptime T: type, ctx: *Context, p: Plan, a: []const T, b: []const T, c: []T) status.Error!void {
    const a_size = p.m * p.k;
    const b_size = p.k * p.n;
    const c_size = p.m * p.n;
    if (c_size == 0) return;
    if (T == f32) {
        if (p.foldable()) {
            const s: Sgemm = .{ .m = p.m * p.batches(), .n = p.n, .k = p.k };
            return s.runOn(a, b, c, ctx.pool);
        }
        const batch: sgemm.Batch = .{
            .m = p.m,
            .n = p.n,
            .k = p.k,
            .a = a,
            .b = b,
            .c = c,
            .a_index = p.a_index,
            .b_index = p.b_index,
        };
        return batch.run(ctx.pool);
    }
    const row = try ctx.alloc(common.Acc(T), p.n);
    for (p.a_index, p.b_index, 0..) |ai, bi, i| {
        matmulRows(
            T,
            a[ai * a_size ..][0..a_size],
            b[bi * b_size ..][0..b_size],
            c[i * c_size ..][0..c_size],
            p.m,
            p.k,
            p.n,
            row,
        );
    }
}

const matmul_kinds = common.float_kinds ++ [_]common.Kind{
    .{ .dtype = .int32, .T = i32 },
    .{ .dtype = .int64, .T = i64 },
    .{ .dtype = .uint32, .T = u32 },
    .{ .dtype = .uint64, .T = u64 },
};

fn matmul(ctx: *Context) status.Error!void {
    const a = try ctx.require(0);
    const b = try ctx.require(1);
    if (a.dtype != b.dtype) return ctx.fail("A is {s} but B is {s}", .{ @tagName(a.dtype), @tagName(b.dtype) });
    const p = try plan(ctx, a.shape, b.shape);
    inline for (matmul_kinds) |kind| if (a.dtype == kind.dtype) {
        const x = try common.elems(ctx, kind.T, a);
        const y = try common.elems(ctx, kind.T, b);
        const out = try ctx.output(0, a.dtype, p.out_shape);
        if (kind.T == f32 and p.foldable() and p.m * p.n * p.k != 0) {
            if (ctx.prepared(sgemm.PackedWeight)) |weight| {
                const s: Sgemm = .{ .m = p.m * p.batches(), .n = p.n, .k = p.k };
                return s.runShared(x, &weight.b, out.items(f32), ctx.pool);
            }
        }
        return matmulTyped(kind.T, ctx, p, x, y, out.items(kind.T));
    };
    return ctx.unsupported(a.dtype);
}

/// MatMul's constant float32 B packed as one K x N matrix, when its batch dims are all 1: every
/// product of the plan then shares it (the plan is foldable, whatever A's shape).
fn prepareMatMul(ctx: *const prepare.Preparation) status.Error!?prepare.Prepared {
    const b = ctx.constantFloats(1) orelse return null;
    if (b.shape.len == 0) return null;
    if (b.shape.len > 2) for (b.shape[0 .. b.shape.len - 2]) |d| if (d != 1) return null;
    const k: usize = @intCast(if (b.shape.len == 1) b.shape[0] else b.shape[b.shape.len - 2]);
    const n: usize = if (b.shape.len == 1) 1 else @intCast(b.shape[b.shape.len - 1]);
    return try sgemm.PackedWeight.prepare(ctx.store, b.values, k, n, false);
}

/// Gemm's operands: op(A) is M x K, op(B) is K x N, C broadcasts to M x N.
const GemmShape = struct { m: usize, n: usize, k: usize, trans_a: bool, trans_b: bool };

fn gemmShape(ctx: *Context, a: *const Tensor, b: *const Tensor) status.Error!GemmShape {
    if (a.shape.len != 2 or b.shape.len != 2) {
        return ctx.fail("A and B must be matrices, not rank {d} and {d}", .{ a.shape.len, b.shape.len });
    }
    const trans_a = ctx.node.attrInt("transA", 0) != 0;
    const trans_b = ctx.node.attrInt("transB", 0) != 0;
    const m: usize = @intCast(a.shape[@intFromBool(trans_a)]);
    const k: usize = @intCast(a.shape[@intFromBool(!trans_a)]);
    const kb: usize = @intCast(b.shape[@intFromBool(trans_b)]);
    const n: usize = @intCast(b.shape[@intFromBool(!trans_b)]);
    if (k != kb) return ctx.fail("inner dims differ: op(A) has {d}, op(B) has {d}", .{ k, kb });
    return .{ .m = m, .n = n, .k = k, .trans_a = trans_a, .trans_b = trans_b };
}

/// C's (rows, cols) once right-aligned to [M, N]: each is 1 (broadcast) or the full dim.
fn biasDims(ctx: *Context, c: *const Tensor, s: GemmShape) status.Error![2]usize {
    if (c.shape.len > 2) return ctx.fail("C must have rank at most 2, not {d}", .{c.shape.len});
    _ = try common.product(ctx, c.shape);
    var dims = [2]usize{ 1, 1 };
    for (c.shape, 2 - c.shape.len..) |d, slot| dims[slot] = @intCast(d);
    const full = [2]usize{ s.m, s.n };
    for (dims, full) |d, f| if (d != 1 and d != f) {
        return ctx.fail("C [{d}, {d}] cannot broadcast to [{d}, {d}]", .{ dims[0], dims[1], s.m, s.n });
    };
    return dims;
}

fn gemmKernel(ctx: *Context) status.Error!void {
    const a = try ctx.require(0);
    const b = try ctx.require(1);
    if (a.dtype != b.dtype) return ctx.fail("A is {s} but B is {s}", .{ @tagName(a.dtype), @tagName(b.dtype) });
    inline for (matmul_kinds) |kind| if (a.dtype == kind.dtype) {
        const x = try common.elems(ctx, kind.T, a);
        const y = try common.elems(ctx, kind.T, b);
        const s = try gemmShape(ctx, a, b);
        const out_shape = [_]i64{ @intCast(s.m), @intCast(s.n) };
        const out = try ctx.output(0, a.dtype, &out_shape);
        return gemmTyped(kind.T, ctx, s, x, y, out.items(kind.T));
    };
    return ctx.unsupported(a.dtype);
}

fn gemmTyped(comptime T: type, ctx: *Context, s: GemmShape, a: []const T, b: []const T, y: []T) status.Error!void {
    const alpha = ctx.node.attrFloat("alpha", 1.0);
    var beta = ctx.node.attrFloat("beta", 1.0);
    var c_dims = [2]usize{ 0, 0 };
    var c_data: []const T = &.{};
    if (ctx.input(2)) |c| {
        if (c.dtype != ctx.inputs[0].?.dtype) {
            return ctx.fail("C is {s}, A is {s}", .{ @tagName(c.dtype), @tagName(ctx.inputs[0].?.dtype) });
        }
        c_dims = try biasDims(ctx, c, s);
        c_data = try common.elems(ctx, T, c);
    } else beta = 0;
    if (y.len == 0) return;
    if (T == f32) {
        var sg: Sgemm = .{ .m = s.m, .n = s.n, .k = s.k, .trans_a = s.trans_a, .trans_b = s.trans_b, .alpha = alpha };
        if (beta != 0 and c_dims[0] == 1) {
            // A row vector (or scalar) C is a per-column bias fused into SGEMM's store.
            const bias = try ctx.alloc(f32, s.n);
            for (bias, 0..) |*v, j| v.* = beta * c_data[if (c_dims[1] == 1) 0 else j];
            sg.bias = bias;
        } else if (beta != 0) {
            fillBias(T, y, c_data, c_dims, s.n);
            sg.beta = beta;
        }
        if (ctx.prepared(sgemm.PackedWeight)) |weight| return sg.runShared(a, &weight.b, y, ctx.pool);
        return sg.runOn(a, b, y, ctx.pool);
    }
    return gemmGeneric(T, ctx, s, a, b, y, c_data, c_dims, alpha, beta);
}

/// Gemm's constant float32 B packed: K x N, or N x K with transB.
fn prepareGemm(ctx: *const prepare.Preparation) status.Error!?prepare.Prepared {
    const b = ctx.constantFloats(1) orelse return null;
    if (b.shape.len != 2) return null;
    const trans = ctx.node.attrInt("transB", 0) != 0;
    const rows: usize = @intCast(b.shape[0]);
    const cols: usize = @intCast(b.shape[1]);
    const k = if (trans) cols else rows;
    const n = if (trans) rows else cols;
    return try sgemm.PackedWeight.prepare(ctx.store, b.values, k, n, trans);
}

/// Copies C into Y, broadcasting rows and columns of 1.
fn fillBias(comptime T: type, y: []T, c: []const T, c_dims: [2]usize, n: usize) void {
    for (0..y.len / n) |i| {
        const src_row = if (c_dims[0] == 1) 0 else i;
        for (y[i * n ..][0..n], 0..) |*o, j| o.* = c[src_row * c_dims[1] + (if (c_dims[1] == 1) 0 else j)];
    }
}

fn gemmGeneric(
    comptime T: type,
    ctx: *Context,
    s: GemmShape,
    a: []const T,
    b: []const T,
    y: []T,
    c: []const T,
    c_dims: [2]usize,
    alpha: f32,
    beta: f32,
) status.Error!void {
    const A = common.Acc(T);
    const row = try ctx.alloc(A, s.n);
    // Strides of op(A)(i, p) and op(B)(p, j) in the stored matrices.
    const a_i: usize = if (s.trans_a) 1 else s.k;
    const a_p: usize = if (s.trans_a) s.m else 1;
    const b_p: usize = if (s.trans_b) 1 else s.n;
    const b_j: usize = if (s.trans_b) s.k else 1;
    const al: A = if (@typeInfo(A) == .float) alpha else @intFromFloat(std.math.clamp(@trunc(alpha), -1e9, 1e9));
    const be: A = if (@typeInfo(A) == .float) beta else @intFromFloat(std.math.clamp(@trunc(beta), -1e9, 1e9));
    for (0..s.m) |i| {
        @memset(row, 0);
        for (0..s.k) |p| {
            const x = common.load(T, a[i * a_i + p * a_p]);
            for (row, 0..) |*r, j| r.* = common.add(A, r.*, common.mul(A, x, common.load(T, b[p * b_p + j * b_j])));
        }
        for (y[i * s.n ..][0..s.n], row, 0..) |*o, r, j| {
            var v = common.mul(A, al, r);
            if (beta != 0) {
                const cv = c[(if (c_dims[0] == 1) 0 else i) * c_dims[1] + (if (c_dims[1] == 1) 0 else j)];
                v = common.add(A, v, common.mul(A, be, common.load(T, cv)));
            }
            o.* = common.store(T, v);
        }
    }
}

pub const kernels = [_]Entry{
    .{ .op = "MatMul", .run = matmul, .prepare = prepareMatMul },
    .{ .op = "Gemm", .run = gemmKernel, .prepare = prepareGemm },
} ++ @import("linalg_quant.zig").kernels ++ @import("linalg_einsum.zig").kernels ++
    @import("linalg_softmax.zig").kernels ++ @import("linalg_rnn.zig").kernels ++
    @import("linalg_attention.zig").kernels ++ @import("linalg_linear_attention.zig").kernels ++
    @import("linalg_flex_attention.zig").kernels ++ @import("linalg_rotary.zig").kernels;
