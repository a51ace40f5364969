//! Dim helpers shared by the linalg rule files (linalg*.zig): unifying two dims that the spec
//! says are equal, exact division by a head count, rank checks and dtype attributes. Each check
//! fails only on a definite conflict between known numbers; symbolic dims pass and stay symbolic.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const context = @import("context.zig");

const Context = context.Context;
const Dim = ir.Dim;
const DType = ir.DType;

/// Two dims the spec requires equal: a known number beats a symbol; two different numbers fail.
pub fn unify(ctx: *const Context, a: Dim, b: Dim, what: []const u8) status.Error!Dim {
    if (a == b) return a;
    const va = ctx.pool.value(a);
    const vb = ctx.pool.value(b);
    if (va != null and vb != null) return ctx.fail("{s}: {d} does not match {d}", .{ what, va.?, vb.? });
    return if (vb != null) b else a;
}

/// Dims that must all be equal (see unify).
pub fn unifyAll(ctx: *const Context, list: []const Dim, what: []const u8) status.Error!Dim {
    var result = list[0];
    for (list[1..]) |d| result = try unify(ctx, result, d, what);
    return result;
}

/// A required integer attribute that must be positive (head counts).
pub fn positiveAttr(ctx: *const Context, comptime name: []const u8) status.Error!i64 {
    if (ctx.attribute(name) == null) return ctx.fail("attribute {s} is required", .{name});
    const value = ctx.attrInt(name, 0);
    if (value <= 0) return ctx.fail("{s} must be positive, not {d}", .{ name, value });
    return value;
}

/// Grouped-query attention: the query heads share the key/value heads in equal groups.
pub fn checkGroups(ctx: *const Context, q_heads: i64, kv_heads: i64) status.Error!void {
    if (kv_heads <= 0 or @mod(q_heads, kv_heads) != 0) {
        return ctx.fail("q_num_heads {d} is not a multiple of kv_num_heads {d}", .{ q_heads, kv_heads });
    }
}

pub fn outOfMemory() status.Error {
    return status.fail(error.OutOfResource, "out of memory in shape inference", .{});
}

/// Like unify, for an optional dim (null: nothing known yet).
pub fn unifyMaybe(ctx: *const Context, a: ?Dim, b: Dim, what: []const u8) status.Error!Dim {
    return if (a) |known| unify(ctx, known, b, what) else b;
}

/// Two dims that broadcast (numpy): equal, or one of them 1.
pub fn broadcastDim(ctx: *const Context, a: Dim, b: Dim, what: []const u8) status.Error!Dim {
    if (a == b) return a;
    const va = ctx.pool.value(a);
    const vb = ctx.pool.value(b);
    if (va == @as(i64, 1)) return b;
    if (vb == @as(i64, 1)) return a;
    if (va != null and vb != null) return ctx.fail("{s}: {d} cannot broadcast with {d}", .{ what, va.?, vb.? });
    if (va != null) return a;
    if (vb != null) return b;
    return ctx.pool.max(a, b);
}

/// `d / n` where n is a head count that must divide d exactly (a positive attribute).
pub fn divExact(ctx: *const Context, d: Dim, n: i64, what: []const u8) status.Error!Dim {
    if (n <= 0) return ctx.fail("{s}: divisor {d} must be positive", .{ what, n });
    if (ctx.pool.value(d)) |v| {
        if (@mod(v, n) != 0) return ctx.fail("{s}: {d} is not divisible by {d}", .{ what, v, n });
    }
    return ctx.pool.div(d, try ctx.dim(n));
}

/// `a * n` for a known count n.
pub fn times(ctx: *const Context, a: Dim, n: i64) status.Error!Dim {
    return ctx.pool.mul(a, try ctx.dim(n));
}

/// The shape of input `i` when known, failing unless its rank is `expected`.
pub fn shapeOfRank(ctx: *const Context, i: usize, expected: usize, what: []const u8) status.Error!?[]const Dim {
    const s = ctx.shape(i) orelse return null;
    if (s.len != expected) return ctx.fail("{s} must have rank {d}, not {d}", .{ what, expected, s.len });
    return s;
}

/// The shape of input `i` when known, failing unless its rank is one of `allowed`.
pub fn shapeOfRanks(ctx: *const Context, i: usize, allowed: []const usize, what: []const u8) status.Error!?[]const Dim {
    const s = ctx.shape(i) orelse return null;
    if (std.mem.indexOfScalar(usize, allowed, s.len) == null) {
        return ctx.fail("{s} must have rank {any}, not {d}", .{ what, allowed, s.len });
    }
    return s;
}

/// Inputs that must share one element type: the type, or null when none is known.
pub fn sameDType(ctx: *const Context, indices: []const usize) status.Error!?DType {
    var seen: ?DType = null;
    for (indices) |i| {
        const d = ctx.dtype(i) orelse continue;
        if (seen) |s| if (s != d) {
            return ctx.fail("input {d} is {s} where another input is {s}", .{ i, @tagName(d), @tagName(s) });
        };
        seen = d;
    }
    return seen;
}

/// An element type named by an integer attribute (Cast-like `to`, `output_dtype`); null when the
/// attribute is absent or 0 (UNDEFINED).
pub fn dtypeAttr(ctx: *const Context, comptime name: []const u8) status.Error!?DType {
    const raw = ctx.attrInt(name, 0);
    if (raw == 0) return null;
    const small = std.math.cast(i32, raw) orelse return ctx.fail("attribute {s} = {d} is not a type", .{ name, raw });
    return std.meta.intToEnum(DType, small) catch ctx.fail("attribute {s} = {d} is not a known type", .{ name, raw });
}

/// Fails unless input `i`, when its type is known, is one of `allowed`.
pub fn expectDType(ctx: *const Context, i: usize, allowed: []const DType, what: []const u8) status.Error!void {
    const d = ctx.dtype(i) orelse return;
    if (std.mem.indexOfScalar(DType, allowed, d) == null) {
        return ctx.fail("{s} cannot be {s}", .{ what, @tagName(d) });
    }
}

/// A copy of `dims` in the arena, so a rule can edit it.
pub fn copy(ctx: *const Context, dims: []const Dim) status.Error![]Dim {
    const out = try ctx.alloc(Dim, dims.len);
    @memcpy(out, dims);
    return out;
}

/// Builds a shape from a fixed list of dims.
pub fn shapeOf(ctx: *const Context, dims: anytype) status.Error![]const Dim {
    const out = try ctx.alloc(Dim, dims.len);
    inline for (dims, 0..) |d, k| out[k] = d;
    return out;
}
