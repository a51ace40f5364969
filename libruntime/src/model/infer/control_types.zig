//! Type algebra shared by the control-flow and sequence rules: the union of two value types (what a
//! value may be when it comes from either of two places: If branches, loop iterations, sequence
//! elements), the types subgraph inputs are given, and TypeProto attributes read as ValueTypes.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const onnx = @import("../proto/onnx.zig");
const context = @import("context.zig");

const Context = context.Context;
const Dim = ir.Dim;
const ValueType = ir.ValueType;

/// The scalar shape.
pub const scalar: []const Dim = &.{};

/// Unions types, making a fresh dim wherever two shapes differ. It remembers the dims it made, so
/// that a dim it already generalised absorbs any other (unions of many types, loop fixed points).
pub const Union = struct {
    ctx: *const Context,
    /// Shown in the names of the fresh dims and in messages ("If output 2", "loop-carried value 0").
    hint: []const u8,
    /// Different kinds fail (If branches); otherwise the second type's kind wins (a Loop may turn
    /// an optional it carries into the sequence inside it).
    strict: bool = true,
    fresh: std.ArrayList(Dim) = .empty,

    pub fn isFresh(self: *const Union, d: Dim) bool {
        return std.mem.indexOfScalar(Dim, self.fresh.items, d) != null;
    }

    /// Equal dims stay, a differing dim becomes fresh; null when either rank is unknown or differs.
    pub fn shape(self: *Union, a: ?[]const Dim, b: ?[]const Dim) status.Error!?[]const Dim {
        const x = a orelse return null;
        const y = b orelse return null;
        if (x.len != y.len) return null;
        if (self.covers(x, y)) return x;
        const out = try self.ctx.alloc(Dim, x.len);
        for (x, y, out) |p, q, *slot| {
            if (p == q or self.isFresh(p)) {
                slot.* = p;
                continue;
            }
            slot.* = try self.ctx.freshDim(self.hint);
            self.fresh.append(self.ctx.arena, slot.*) catch
                return status.fail(error.OutOfResource, "out of memory in shape inference", .{});
        }
        return out;
    }

    /// Whether shape `x` already describes every tensor of shape `y`.
    fn covers(self: *const Union, x: []const Dim, y: []const Dim) bool {
        for (x, y) |p, q| if (p != q and !self.isFresh(p)) return false;
        return true;
    }

    /// Whether `a` already describes every value of type `b` (a union would not change it).
    pub fn coversType(self: *const Union, a: ValueType, b: ValueType) bool {
        if (b.kind == .unknown) return true;
        if (!self.strict and wrapsKind(a, b)) return self.coversType(element(a), b);
        if (a.kind != b.kind) return false;
        if (a.dtype == null and b.dtype != null) return false;
        if (a.kind == .optional and a.inner_kind != b.inner_kind and b.inner_kind != .unknown) return false;
        const x = a.shape orelse return true;
        const y = b.shape orelse return false;
        return x.len == y.len and self.covers(x, y);
    }

    /// What a value of type `a` or `b` is. An unknown kind yields to a known one, without a shape.
    pub fn types(self: *Union, a: ValueType, b: ValueType) status.Error!ValueType {
        if (b.kind == .unknown) return a;
        if (a.kind == .unknown) return .{ .kind = b.kind, .dtype = b.dtype, .inner_kind = b.inner_kind };
        const ctx = self.ctx;
        if (a.dtype != null and b.dtype != null and a.dtype.? != b.dtype.?) {
            const names = .{ self.hint, @tagName(a.dtype.?), @tagName(b.dtype.?) };
            return ctx.fail("{s}: element types {s} and {s} differ", names);
        }
        const dtype = a.dtype orelse b.dtype;
        if (!self.strict and wrapsKind(a, b)) {
            const inner = try self.types(element(a), b);
            return .{ .kind = .optional, .dtype = inner.dtype, .shape = inner.shape, .inner_kind = inner.kind };
        }
        if (a.kind != b.kind or (a.kind == .optional and a.inner_kind != b.inner_kind)) {
            if (a.kind == .optional and b.kind == .optional and
                (a.inner_kind == .unknown or b.inner_kind == .unknown))
            {
                const inner = if (a.inner_kind == .unknown) b.inner_kind else a.inner_kind;
                return .{ .kind = .optional, .dtype = dtype, .inner_kind = inner };
            }
            if (self.strict) {
                return ctx.fail("{s}: kinds {s} and {s} differ", .{ self.hint, describe(a), describe(b) });
            }
            return .{ .kind = b.kind, .dtype = dtype, .inner_kind = b.inner_kind };
        }
        const shape_value = try self.shape(a.shape, b.shape);
        return .{ .kind = a.kind, .dtype = dtype, .shape = shape_value, .inner_kind = a.inner_kind };
    }
};

/// Whether `a` is an optional of what `b` is: a loop may carry an optional into a body that hands
/// back the plain value.
pub fn wrapsKind(a: ValueType, b: ValueType) bool {
    return a.kind == .optional and b.kind != .optional and b.kind == a.inner_kind;
}

fn describe(t: ValueType) []const u8 {
    if (t.kind != .optional) return @tagName(t.kind);
    return switch (t.inner_kind) {
        .sequence => "optional sequence",
        .tensor => "optional tensor",
        else => "optional",
    };
}

pub fn sameShape(a: ?[]const Dim, b: ?[]const Dim) bool {
    const x = a orelse return b == null;
    const y = b orelse return false;
    return std.mem.eql(Dim, x, y);
}

/// The type to give a subgraph input: `given`, less its shape where the subgraph declares a shape
/// that cannot agree with it (a body may declare a narrower type than its first inputs; the
/// declaration then decides, as ONNX's own inference, which drops these shapes, would let it).
pub fn fitDeclared(ctx: *const Context, given: ValueType, input: *const ir.Value) ValueType {
    const declared = input.declared orelse return given;
    const want = declared.shape orelse return given;
    const have = given.shape orelse return given;
    var result = given;
    if (want.len != have.len) {
        result.shape = null;
        return result;
    }
    for (want, have) |w, h| {
        const wv = ctx.pool.value(w) orelse continue;
        const hv = ctx.pool.value(h) orelse continue;
        if (wv != hv) result.shape = null;
    }
    return result;
}

/// The tensor a sequence holds, or an optional wraps.
pub fn element(t: ValueType) ValueType {
    const kind: ir.TypeKind = switch (t.kind) {
        .sequence => .tensor,
        .optional => t.inner_kind,
        else => .unknown,
    };
    return .{ .kind = kind, .dtype = t.dtype, .shape = t.shape };
}

pub fn sequenceOf(dtype: ?ir.DType, shape: ?[]const Dim) ValueType {
    return .{ .kind = .sequence, .dtype = dtype, .shape = shape, .inner_kind = .tensor };
}

/// A ValueType from a TypeProto attribute (Optional's `type`). Dims with neither a value nor a
/// name get fresh symbols.
pub fn fromTypeProto(ctx: *const Context, proto: *const onnx.TypeProto) status.Error!ValueType {
    return switch (proto.value) {
        .none, .opaque_type => .{ .kind = .unknown },
        .tensor_type => |t| try tensorType(ctx, t, .tensor),
        .sparse_tensor_type => |t| try tensorType(ctx, t, .sparse_tensor),
        .sequence_type => |s| try wrap(ctx, s.elem_type, .sequence),
        .optional_type => |o| try wrap(ctx, o.elem_type, .optional),
        .map_type => |m| .{ .kind = .map, .dtype = try elementType(ctx, m.key_type) },
    };
}

fn wrap(ctx: *const Context, inner: ?*const onnx.TypeProto, kind: ir.TypeKind) status.Error!ValueType {
    const t = if (inner) |p| try fromTypeProto(ctx, p) else ValueType{ .kind = .unknown };
    return .{ .kind = kind, .dtype = t.dtype, .shape = t.shape, .inner_kind = t.kind };
}

fn elementType(ctx: *const Context, code: i32) status.Error!?ir.DType {
    if (code == 0) return null;
    return ir.DType.fromInt(code) catch ctx.fail("unknown element type {d}", .{code});
}

fn tensorType(ctx: *const Context, proto: onnx.TypeProto.Tensor, kind: ir.TypeKind) status.Error!ValueType {
    const dtype = try elementType(ctx, proto.elem_type);
    const shape_proto = proto.shape orelse return .{ .kind = kind, .dtype = dtype };
    const dims = try ctx.alloc(Dim, shape_proto.dim.len);
    for (shape_proto.dim, dims) |d, *slot| {
        slot.* = switch (d.value) {
            .dim_value => |v| if (v < 0) return ctx.fail("type declares dim {d}", .{v}) else try ctx.dim(v),
            .dim_param => |name| try ctx.pool.symbol(name),
            .unknown => try ctx.freshDim("dim"),
        };
    }
    return .{ .kind = kind, .dtype = dtype, .shape = dims };
}
