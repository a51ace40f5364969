//! Shape arithmetic shared by rule families: numpy broadcasting over symbolic dims, products,
//! and merging a declared type with an inferred one.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const symbolic = @import("../symbolic.zig");
const context_module = @import("context.zig");

const Context = context_module.Context;
const Dim = ir.Dim;

/// Numpy broadcasting of any number of shapes; null if any rank is unknown. Two different
/// symbolic dims broadcast to their max: valid inputs have them equal or one of them 1.
pub fn broadcast(ctx: *const Context, shapes: []const ?[]const Dim) status.Error!?[]const Dim {
    var out_rank: usize = 0;
    for (shapes) |maybe| {
        const s = maybe orelse return null;
        out_rank = @max(out_rank, s.len);
    }
    const out = try ctx.alloc(Dim, out_rank);
    const one = try ctx.dim(1);
    for (out, 0..) |*slot, k| {
        var result = one;
        for (shapes, 0..) |maybe, which| {
            const s = maybe.?;
            if (k + s.len < out_rank) continue; // this shape has no dim here: it acts as 1
            const d = s[k + s.len - out_rank];
            result = try combine(ctx, result, d, which, k);
        }
        slot.* = result;
    }
    return out;
}

fn combine(ctx: *const Context, a: Dim, b: Dim, which: usize, k: usize) status.Error!Dim {
    if (a == b) return a;
    const pool = ctx.pool;
    const va = pool.value(a);
    const vb = pool.value(b);
    if (va == @as(i64, 1)) return b;
    if (vb == @as(i64, 1)) return a;
    if (va != null and vb != null) {
        return ctx.fail("input {d} cannot broadcast: dim {d} is {d} where another input has {d}", .{ which, k, vb.?, va.? });
    }
    // One known size other than 1 decides it; otherwise both must be equal at run time.
    if (va != null) return a;
    if (vb != null) return b;
    return pool.max(a, b);
}

/// The product of dims (element count), symbolic where needed.
pub fn product(ctx: *const Context, dims: []const Dim) status.Error!Dim {
    var result = try ctx.dim(1);
    for (dims) |d| result = try ctx.pool.mul(result, d);
    return result;
}

/// Combines what the file declared with what inference found. Known beats unknown; a conflict
/// between two known facts is a ShapeError naming the node that produced the value.
pub fn reconcile(pool: *symbolic.Pool, arena: std.mem.Allocator, declared: ir.ValueType, inferred: ir.ValueType, value_name: []const u8, who: []const u8) status.Error!ir.ValueType {
    if (inferred.kind == .unknown) return declared;
    if (declared.kind == .unknown) return inferred;
    var result = inferred;
    if (declared.dtype) |d| {
        if (inferred.dtype) |i| {
            if (d != i) return status.fail(error.ShapeError, "node {s}: '{s}' is declared {s} but computes {s}", .{ who, value_name, @tagName(d), @tagName(i) });
        } else result.dtype = d;
    }
    const declared_shape = declared.shape orelse return result;
    const inferred_shape = inferred.shape orelse {
        result.shape = declared_shape;
        return result;
    };
    if (declared_shape.len != inferred_shape.len) {
        return status.fail(error.ShapeError, "node {s}: '{s}' is declared with rank {d} but has rank {d}", .{ who, value_name, declared_shape.len, inferred_shape.len });
    }
    const merged = arena.alloc(Dim, inferred_shape.len) catch return status.fail(error.OutOfResource, "out of memory", .{});
    for (declared_shape, inferred_shape, merged, 0..) |d, i, *out, axis| {
        const dv = pool.value(d);
        const iv = pool.value(i);
        if (dv != null and iv != null and dv.? != iv.?) {
            return status.fail(error.ShapeError, "node {s}: '{s}' is declared with dim {d} = {d} but has {d}", .{ who, value_name, axis, dv.?, iv.? });
        }
        // A declared number is more precise than an inferred symbol.
        out.* = if (iv == null and dv != null) d else i;
    }
    result.shape = merged;
    return result;
}
