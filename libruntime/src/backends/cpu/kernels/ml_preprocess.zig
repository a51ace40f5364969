//! The ai.onnx.ml preprocessing operators (part of the ml family, see ml.zig): Scaler,
//! Normalizer, Imputer, OneHotEncoder, CategoryMapper and FeatureVectorizer, what scikit-learn's
//! StandardScaler, Normalizer, SimpleImputer and OneHotEncoder convert to, and the steps that
//! join columns in front of a model.
const std = @import("std");
const common = @import("nn_common.zig");
const scores = @import("ml_scores.zig");

const Context = common.Context;
const Error = common.Error;
const Tensor = common.Tensor;

/// A numeric input (float16/32/64, int32, int64) of rank 1 or more, as f64.
fn numbers(ctx: *const Context, x: *const Tensor) Error![]const f64 {
    switch (x.dtype) {
        .float16, .float32, .float64, .int32, .int64 => {},
        else => return ctx.fail("X must be float, double, int32 or int64, not {s}", .{@tagName(x.dtype)}),
    }
    if (x.shape.len == 0) return ctx.fail("X must have at least one dim", .{});
    return common.floats(f64, ctx, x);
}

/// A per-column list: one value for every column, or one for each.
fn perColumn(ctx: *const Context, name: []const u8, list: []const f64, width: usize, default: f64) Error![]const f64 {
    if (list.len == width) return list;
    const out = try ctx.alloc(f64, width);
    switch (list.len) {
        0 => @memset(out, default),
        1 => @memset(out, list[0]),
        else => return ctx.fail("{s} has {d} values for {d} columns", .{ name, list.len, width }),
    }
    return out;
}

/// Y = (X - offset) * scale, column by column over the last axis.
fn scaler(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const values = try numbers(ctx, x);
    const width = common.dim(x, x.shape.len - 1);
    const offset = try perColumn(ctx, "offset", try scores.floatList(ctx, "offset"), width, 0);
    const scale = try perColumn(ctx, "scale", try scores.floatList(ctx, "scale"), width, 1);
    const y = try ctx.output(0, .float32, x.shape);
    for (y.items(f32)[0..values.len], values, 0..) |*o, v, i| {
        const column = i % width;
        o.* = @floatCast((v - offset[column]) * scale[column]);
    }
}

const Norm = enum { max, l1, l2 };

/// Each row of X ([N, F], or [F] as one row) divided by its MAX, L1 or L2 norm; a row whose norm
/// is 0 stays as it is. MAX is the largest value, not the largest magnitude, as onnxruntime has it.
fn normalizer(ctx: *Context) Error!void {
    const x = try scores.rows(ctx, 0);
    const name = ctx.node.attrString("norm", "MAX");
    const norms = std.StaticStringMap(Norm).initComptime(.{ .{ "MAX", .max }, .{ "L1", .l1 }, .{ "L2", .l2 } });
    const norm = norms.get(name) orelse return ctx.fail("norm '{s}' is not MAX, L1 or L2", .{name});
    const y = try ctx.output(0, .float32, (try ctx.require(0)).shape);
    const out = y.items(f32);
    for (0..x.count) |i| {
        const row = x.row(i);
        if (row.len == 0) continue;
        var divisor: f64 = 0;
        switch (norm) {
            .max => divisor = std.mem.max(f64, row),
            .l1 => for (row) |v| {
                divisor += @abs(v);
            },
            .l2 => {
                for (row) |v| divisor += v * v;
                divisor = @sqrt(divisor);
            },
        }
        if (divisor == 0) divisor = 1;
        for (out[i * x.width ..][0..x.width], row) |*o, v| o.* = @floatCast(v / divisor);
    }
}

/// Replaces every X value equal to replaced_value_* (NaN matching NaN) by the column's
/// imputed_value_*; X keeps its type and shape.
fn imputer(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    if (x.shape.len == 0) return ctx.fail("X must have at least one dim", .{});
    const width = common.dim(x, x.shape.len - 1);
    const y = try ctx.output(0, x.dtype, x.shape);
    switch (x.dtype) {
        inline .float32, .float64 => |tag| {
            const F = if (tag == .float32) f32 else f64;
            if (ctx.node.attrInts("imputed_value_int64s") != null) return ctx.fail("float X needs imputed_value_floats", .{});
            const fill = try perColumn(ctx, "imputed_value_floats", try scores.floatList(ctx, "imputed_value_floats"), width, 0);
            const replaced = ctx.node.attrFloat("replaced_value_float", 0);
            const nan = std.math.isNan(replaced);
            for (y.items(F), try common.floats(F, ctx, x), 0..) |*o, v, i| {
                const missing = if (nan) std.math.isNan(v) else v == replaced;
                o.* = if (missing) @floatCast(fill[i % width]) else v;
            }
        },
        .int64 => {
            const list = ctx.node.attrInts("imputed_value_int64s") orelse return ctx.fail("int64 X needs imputed_value_int64s", .{});
            if (list.len != 1 and list.len != width) {
                return ctx.fail("imputed_value_int64s has {d} values for {d} columns", .{ list.len, width });
            }
            const replaced = ctx.node.attrInt("replaced_value_int64", 0);
            for (y.items(i64), try common.alignedItems(i64, ctx, x), 0..) |*o, v, i| {
                o.* = if (v == replaced) list[if (list.len == 1) 0 else i % width] else v;
            }
        },
        else => return ctx.fail("X must be float, double or int64, not {s}", .{@tagName(x.dtype)}),
    }
}

/// The categories of OneHotEncoder and CategoryMapper: ints, strings or both.
const Categories = struct {
    ints: ?[]const i64,
    strings: ?[]const []const u8,

    fn load(ctx: *const Context) Categories {
        return .{
            .ints = ctx.node.attrInts("cats_int64s"),
            .strings = ctx.node.attrStrings("cats_strings"),
        };
    }
};

fn indexOfString(list: []const []const u8, s: []const u8) ?usize {
    for (list, 0..) |item, i| if (std.mem.eql(u8, item, s)) return i;
    return null;
}

/// Y = X's shape + [categories]: a 1 at each element's category. An element with none gives a
/// row of zeros when zeros = 1 and an error otherwise. Numbers are truncated to int64 first.
fn oneHotEncoder(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const cats = Categories.load(ctx);
    if ((cats.ints == null) == (cats.strings == null)) return ctx.fail("needs exactly one of cats_int64s and cats_strings", .{});
    const zeros = try common.flag(ctx, "zeros", 1);
    const width = if (cats.ints) |c| c.len else cats.strings.?.len;
    const shape = try ctx.alloc(i64, x.shape.len + 1);
    @memcpy(shape[0..x.shape.len], x.shape);
    shape[x.shape.len] = @intCast(width);
    const y = try ctx.output(0, .float32, shape);
    const out = y.items(f32);
    @memset(out, 0);
    const n = x.count();
    if (x.dtype == .string) {
        const list = cats.strings orelse return ctx.fail("string X needs cats_strings", .{});
        for (x.strings[0..n], 0..) |s, i| {
            const k = indexOfString(list, s) orelse if (zeros) continue else return ctx.fail("'{s}' is not a category", .{s});
            out[i * width + k] = 1;
        }
        return;
    }
    const list = cats.ints orelse return ctx.fail("numeric X needs cats_int64s", .{});
    for (try numbers(ctx, x), 0..) |v, i| {
        const code: i64 = std.math.lossyCast(i64, v);
        const k = std.mem.indexOfScalar(i64, list, code) orelse if (zeros) continue else return ctx.fail("{d} is not a category", .{code});
        out[i * width + k] = 1;
    }
}

/// Strings to int64 through the pairs (cats_strings[i], cats_int64s[i]), or back; values with
/// no pair become default_int64 (-1) or default_string ("_Unused").
fn categoryMapper(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const cats = Categories.load(ctx);
    const ints = cats.ints orelse &.{};
    const strings = cats.strings orelse &.{};
    if (ints.len != strings.len) return ctx.fail("{d} cats_int64s for {d} cats_strings", .{ ints.len, strings.len });
    const n = x.count();
    switch (x.dtype) {
        .string => {
            const y = try ctx.output(0, .int64, x.shape);
            const fallback = ctx.node.attrInt("default_int64", -1);
            for (y.items(i64)[0..n], x.strings[0..n]) |*o, s| o.* = if (indexOfString(strings, s)) |k| ints[k] else fallback;
        },
        .int64 => {
            const y = try ctx.output(0, .string, x.shape);
            const fallback = ctx.node.attrString("default_string", "_Unused");
            for (y.strings, try common.alignedItems(i64, ctx, x)) |*o, v| {
                o.* = if (std.mem.indexOfScalar(i64, ints, v)) |k| strings[k] else fallback;
            }
        },
        else => return ctx.fail("X must be string or int64, not {s}", .{@tagName(x.dtype)}),
    }
}

/// Joins the inputs' columns into Y [N, sum of inputdimensions] floats: input i gives
/// inputdimensions[i] columns, its first ones, padded with zeros when it has fewer.
fn featureVectorizer(ctx: *Context) Error!void {
    const widths = scores.ints(ctx, "inputdimensions");
    if (ctx.inputCount() == 0) return ctx.fail("needs at least one input", .{});
    if (widths.len != ctx.inputCount()) return ctx.fail("{d} inputdimensions for {d} inputs", .{ widths.len, ctx.inputCount() });
    var total: usize = 0;
    for (widths) |w| {
        const columns = std.math.cast(usize, w) orelse return ctx.fail("inputdimensions holds {d}", .{w});
        total = std.math.add(usize, total, columns) catch return ctx.fail("inputdimensions overflow", .{});
    }
    const batch = (try scores.rows(ctx, 0)).count;
    const y = try ctx.output(0, .float32, &.{ @intCast(batch), @intCast(total) });
    const out = y.items(f32);
    @memset(out, 0);
    var at: usize = 0;
    for (widths, 0..) |w, input| {
        const columns: usize = @intCast(w);
        const x = try scores.rows(ctx, input);
        if (x.count != batch) return ctx.fail("input {d} has {d} rows, input 0 has {d}", .{ input, x.count, batch });
        const kept = @min(columns, x.width);
        for (0..batch) |r| scores.store(out[r * total + at ..][0..kept], x.row(r)[0..kept]);
        at += columns;
    }
}

const domain = "ai.onnx.ml";

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .domain = domain, .op = "Scaler", .run = scaler },
    .{ .domain = domain, .op = "Normalizer", .run = normalizer },
    .{ .domain = domain, .op = "Imputer", .run = imputer },
    .{ .domain = domain, .op = "OneHotEncoder", .run = oneHotEncoder },
    .{ .domain = domain, .op = "CategoryMapper", .run = categoryMapper },
    .{ .domain = domain, .op = "FeatureVectorizer", .run = featureVectorizer },
};
