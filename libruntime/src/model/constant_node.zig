//! The tensor a Constant node holds, from whichever one of its value attributes it has. Shape
//! inference folds Constant nodes with it at load, and the CPU kernel runs it for nodes inside
//! subgraphs: one reading for both.
const std = @import("std");
const status = @import("../core/status.zig");
const tensor_module = @import("../tensor/tensor.zig");
const constant_module = @import("constant.zig");
const sparse = @import("sparse.zig");

const Constant = constant_module.Constant;
const DType = @import("../tensor/dtype.zig").DType;

/// `ctx` is a shape-inference or kernel context: it has `node`, `arena` and `fail`.
pub fn value(ctx: anytype) status.Error!Constant {
    if (ctx.node.attributes.len != 1) {
        return ctx.fail("needs exactly one value attribute, not {d}", .{ctx.node.attributes.len});
    }
    const a = ctx.node.attributes[0].proto;
    const name = ctx.node.attributes[0].name;
    const eql = std.mem.eql;
    if (eql(u8, name, "value")) {
        const t = a.t orelse return ctx.fail("attribute 'value' holds no tensor", .{});
        return constant_module.fromProto(ctx.arena, t, null);
    }
    if (eql(u8, name, "sparse_value")) {
        const t = a.sparse_tensor orelse return ctx.fail("attribute 'sparse_value' holds no tensor", .{});
        return sparse.densify(ctx.arena, t, null);
    }
    const arena: std.mem.Allocator = ctx.arena;
    if (eql(u8, name, "value_float")) return list(arena, f32, .float32, &.{a.f}, false);
    if (eql(u8, name, "value_floats")) return list(arena, f32, .float32, a.floats, true);
    if (eql(u8, name, "value_int")) return list(arena, i64, .int64, &.{a.i}, false);
    if (eql(u8, name, "value_ints")) return list(arena, i64, .int64, a.ints, true);
    if (eql(u8, name, "value_string")) return list(arena, []const u8, .string, &.{a.s}, false);
    if (eql(u8, name, "value_strings")) return list(arena, []const u8, .string, a.strings, true);
    return ctx.fail("unknown attribute '{s}'", .{name});
}

/// A scalar (vector == false) or a vector of the attribute's values, copied into the arena
/// (value_float's one-element list lives on the caller's stack), aligned for kernels.
fn list(arena: std.mem.Allocator, comptime T: type, dtype: DType, values: []const T, vector: bool) status.Error!Constant {
    const length = [_]i64{@intCast(values.len)};
    const dims: []const i64 = if (vector) arena.dupe(i64, &length) catch return oom() else &.{};
    if (T == []const u8) {
        const strings = arena.dupe([]const u8, values) catch return oom();
        return .{ .dtype = dtype, .dims = dims, .count = values.len, .bytes = &.{}, .strings = strings };
    }
    const bytes = arena.alignedAlloc(u8, .fromByteUnits(tensor_module.data_alignment), values.len * @sizeOf(T)) catch return oom();
    @memcpy(bytes, std.mem.sliceAsBytes(values));
    return .{ .dtype = dtype, .dims = dims, .count = values.len, .bytes = bytes };
}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory", .{});
}
