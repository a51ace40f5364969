//! The ai.onnx.ml operators over map values: ZipMap (a classifier's [N, C] scores to one map per
//! row, label → score: how scikit-learn classifiers converted by skl2onnx end), and CastMap and
//! DictVectorizer (a map to a [1, C] tensor). Maps are keys and values tensors (exec/map_value.zig).
//! Where ONNX leaves details open, they follow onnxruntime: CastMap's padding and casts, the
//! [1, C] shapes, and DictVectorizer's zeros (or "") for vocabulary missing from the map.
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");
const map_value = @import("../../../exec/map_value.zig");

const Context = kernel.Context;
const Tensor = kernel.Tensor;
const DType = kernel.DType;
const Error = status.Error;

const domain = "ai.onnx.ml";

/// A TypeError naming the node: the value given is of a kind or type the operator cannot take.
fn typeError(ctx: *const Context, comptime fmt: []const u8, args: anytype) Error {
    var message: [512]u8 = undefined;
    const text = std.fmt.bufPrint(&message, fmt, args) catch fmt;
    var name_buffer: [160]u8 = undefined;
    return status.fail(error.TypeError, "node {s}: {s}", .{ ctx.node.describe(&name_buffer, ctx.node_id), text });
}

/// The error `e` just failed with, its message prefixed with the node, its kind kept.
fn namingNode(ctx: *const Context, e: Error) Error {
    var name_buffer: [160]u8 = undefined;
    return status.fail(e, "node {s}: {s}", .{ ctx.node.describe(&name_buffer, ctx.node_id), std.mem.span(status.lastMessage()) });
}

/// Input 0 as a map; anything else is a TypeError.
fn requireMap(ctx: *const Context) Error!*const Tensor {
    const x = try ctx.require(0);
    if (x.kind != .map) return typeError(ctx, "input 0 must be a map, not a {s}", .{@tagName(x.kind)});
    return x;
}

/// A 1-D tensor over `data` (or `strings`), living as long as the run.
fn vector(ctx: *const Context, dtype: DType, n: usize, data: []u8, strings: [][]const u8) Error!*Tensor {
    const shape = try ctx.alloc(i64, 1);
    shape[0] = @intCast(n);
    const t = ctx.arena.create(Tensor) catch return status.fail(error.OutOfResource, "out of memory", .{});
    t.* = .{ .dtype = dtype, .shape = shape, .data = data, .strings = strings };
    return t;
}

/// X [N, C] (or [C]: one row) of scores → a sequence of N maps, class label → score. All rows
/// share one keys tensor (the labels); the scores are copied, since X may be the caller's memory.
fn zipMap(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    if (!x.isTensor()) return typeError(ctx, "input 0 must be a tensor, not a {s}", .{@tagName(x.kind)});
    if (x.dtype != .float32) return typeError(ctx, "input 0 must be float32, not {s}", .{@tagName(x.dtype)});
    if (x.rank() != 1 and x.rank() != 2) return ctx.fail("input must be 1-D or 2-D, not rank {d}", .{x.rank()});
    const labels = try zipMapLabels(ctx);
    const width: usize = @intCast(x.shape[x.rank() - 1]);
    const rows: usize = if (x.rank() == 2) @intCast(x.shape[0]) else 1;
    if (width != labels.count()) return ctx.fail("input has {d} scores per row but there are {d} class labels", .{ width, labels.count() });
    const scores = try ctx.alloc(f32, rows * width);
    @memcpy(scores, x.items(f32)[0 .. rows * width]);
    const maps = try ctx.alloc(*const Tensor, rows);
    for (maps, 0..) |*slot, r| {
        const row = std.mem.sliceAsBytes(scores[r * width ..][0..width]);
        const values = try vector(ctx, .float32, width, row, &.{});
        // The labels are checked once (no label twice), with the first row.
        if (r == 0) map_value.check(ctx.arena, labels, values, "the class labels") catch |e| return namingNode(ctx, e);
        slot.* = try map_value.assemble(ctx.arena, labels, values);
    }
    _ = try ctx.outputElements(0, .sequence, labels.dtype, maps);
}

/// The class labels as a keys tensor over the attribute's own memory (the model's, read-only).
fn zipMapLabels(ctx: *const Context) Error!*Tensor {
    if (ctx.node.attrStrings("classlabels_strings")) |labels| if (labels.len > 0) {
        return vector(ctx, .string, labels.len, &.{}, @constCast(labels));
    };
    const ints = ctx.node.attrInts("classlabels_int64s") orelse &.{};
    if (ints.len == 0) return ctx.fail("needs classlabels_strings or classlabels_int64s", .{});
    return vector(ctx, .int64, ints.len, @constCast(std.mem.sliceAsBytes(ints)), &.{});
}

const CastTarget = enum { float32, string, int64 };

/// map(int64, float or string) → [1, C] in ascending key order: C is the map's size (DENSE), or
/// max_map (SPARSE), where key k lands at column k, keys past max_map - 1 are left out and columns
/// with no key are padded with 0 (or "0.f" for strings, as onnxruntime writes).
fn castMap(ctx: *Context) Error!void {
    const map = try requireMap(ctx);
    const keys = map.elements[Tensor.map_keys];
    const values = map.elements[Tensor.map_values];
    if (keys.dtype != .int64) return typeError(ctx, "the map's keys must be int64, not {s}", .{@tagName(keys.dtype)});
    if (values.dtype != .float32 and values.dtype != .string) return typeError(ctx, "the map's values must be float32 or string, not {s}", .{@tagName(values.dtype)});
    const targets = std.StaticStringMap(CastTarget).initComptime(.{ .{ "TO_FLOAT", .float32 }, .{ "TO_STRING", .string }, .{ "TO_INT64", .int64 } });
    const cast_to = ctx.node.attrString("cast_to", "TO_FLOAT");
    const target = targets.get(cast_to) orelse return ctx.fail("cast_to '{s}' is not TO_FLOAT, TO_STRING or TO_INT64", .{cast_to});
    const form = ctx.node.attrString("map_form", "DENSE");
    const dense = std.mem.eql(u8, form, "DENSE");
    if (!dense and !std.mem.eql(u8, form, "SPARSE")) return ctx.fail("map_form '{s}' is not DENSE or SPARSE", .{form});
    const max_map = ctx.node.attrInt("max_map", 1);
    if (!dense and max_map <= 0) return ctx.fail("max_map must be > 0 for SPARSE, not {d}", .{max_map});

    const order = try map_value.keyOrder(ctx.arena, keys);
    const ints = keys.items(i64);
    if (!dense and order.len > 0 and ints[order[0]] < 0) return ctx.fail("map key {d} is negative: SPARSE places key k at column k", .{ints[order[0]]});
    const width: usize = if (dense) order.len else @intCast(max_map);
    // Each column's source entry, or null for padding.
    const sources = try ctx.alloc(?u32, width);
    if (dense) {
        for (sources, order) |*s, o| s.* = o;
    } else {
        @memset(sources, null);
        for (order) |o| if (ints[o] < max_map) {
            sources[@intCast(ints[o])] = o;
        };
    }
    const dtype: DType = switch (target) {
        .float32 => .float32,
        .string => .string,
        .int64 => .int64,
    };
    const y = try ctx.output(0, dtype, &[_]i64{ 1, @intCast(width) });
    for (sources, 0..) |source, column| try castEntry(ctx, values, source, y, column, target);
}

/// Column `column` of y: entry `source` of `values` cast to the target type, or padding.
fn castEntry(ctx: *const Context, values: *const Tensor, source: ?u32, y: *Tensor, column: usize, target: CastTarget) Error!void {
    const i = source orelse {
        switch (target) {
            .float32 => y.items(f32)[column] = 0,
            .int64 => y.items(i64)[column] = 0,
            .string => y.strings[column] = "0.f",
        }
        return;
    };
    if (values.dtype == .float32) {
        const v = values.items(f32)[i];
        switch (target) {
            .float32 => y.items(f32)[column] = v,
            .int64 => y.items(i64)[column] = try floatToInt(ctx, v),
            // std::to_string's "%f": six decimals.
            .string => y.strings[column] = std.fmt.allocPrint(ctx.arena, "{d:.6}", .{v}) catch return status.fail(error.OutOfResource, "out of memory", .{}),
        }
        return;
    }
    const text = values.strings[i];
    const trimmed = std.mem.trim(u8, text, " \t\n\r");
    switch (target) {
        .float32 => y.items(f32)[column] = std.fmt.parseFloat(f32, trimmed) catch
            return ctx.fail("map value '{s}' is not a number", .{text}),
        .int64 => y.items(i64)[column] = std.fmt.parseInt(i64, trimmed, 10) catch
            return ctx.fail("map value '{s}' is not an int64", .{text}),
        .string => y.strings[column] = ctx.arena.dupe(u8, text) catch return status.fail(error.OutOfResource, "out of memory", .{}),
    }
}

/// Truncation toward zero, as C's cast; a value no int64 holds is an error, not undefined.
fn floatToInt(ctx: *const Context, v: f32) Error!i64 {
    const limit: f32 = 9.223372e18;
    if (std.math.isNan(v) or v >= limit or v < -limit) return ctx.fail("map value {d} does not fit an int64", .{v});
    return @intFromFloat(v);
}

/// A map → [1, V] over the vocabulary: column j holds the value of the vocabulary's key j, or 0
/// ("" for strings) when the map lacks it; keys outside the vocabulary are ignored. The keys must
/// be of the vocabulary's type (int64_vocabulary or string_vocabulary); the output has the
/// values' type.
fn dictVectorizer(ctx: *Context) Error!void {
    const map = try requireMap(ctx);
    const keys = map.elements[Tensor.map_keys];
    const values = map.elements[Tensor.map_values];
    const strings = ctx.node.attrStrings("string_vocabulary");
    const ints = ctx.node.attrInts("int64_vocabulary");
    if ((strings == null) == (ints == null)) return ctx.fail("needs exactly one of int64_vocabulary and string_vocabulary", .{});
    const want: DType = if (strings != null) .string else .int64;
    if (keys.dtype != want) {
        return typeError(ctx, "the map's keys must be {s} (the {s}), not {s}", .{ @tagName(want), if (strings != null) "string_vocabulary" else "int64_vocabulary", @tagName(keys.dtype) });
    }
    switch (values.dtype) {
        .float32, .float64, .int64, .string => {},
        else => return typeError(ctx, "the map's values must be float32, float64, int64 or string, not {s}", .{@tagName(values.dtype)}),
    }
    const size = if (strings) |list| list.len else ints.?.len;
    const y = try ctx.output(0, values.dtype, &[_]i64{ 1, @intCast(size) });
    if (values.dtype != .string) @memset(y.data, 0);
    const element_bytes: usize = values.dtype.bits() / 8;
    const index = try map_value.KeyIndex.init(ctx.arena, keys);
    for (0..size) |j| {
        const found = if (strings) |list| index.findString(list[j]) else index.findInt(ints.?[j]);
        const i = found orelse continue;
        if (values.dtype == .string) {
            y.strings[j] = ctx.arena.dupe(u8, values.strings[i]) catch return status.fail(error.OutOfResource, "out of memory", .{});
        } else {
            @memcpy(y.data[j * element_bytes ..][0..element_bytes], values.data[i * element_bytes ..][0..element_bytes]);
        }
        if (j % 4096 == 4095) try ctx.checkStop();
    }
}

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .domain = domain, .op = "ZipMap", .run = zipMap },
    .{ .domain = domain, .op = "CastMap", .run = castMap },
    .{ .domain = domain, .op = "DictVectorizer", .run = dictVectorizer },
};
