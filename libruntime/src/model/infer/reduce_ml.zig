//! Shape rules for the ai.onnx.ml domain (classic ML models, e.g. sklearn exports): encoders,
//! scalers, linear and SVM models, tree ensembles, and the map/sequence converters. Part of the
//! reduce family; reduce.zig lists these rules. Where ONNX's own inference says nothing, shapes
//! follow what onnxruntime produces ([N, targets] for regressors, [1, C] for map vectorizers).
const std = @import("std");
const status = @import("../../core/status.zig");
const onnx = @import("../proto/onnx.zig");
const ir = @import("../ir.zig");
const common = @import("common.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");
const util = @import("reduce_util.zig");

const Context = context.Context;
const Dim = ir.Dim;
const DType = ir.DType;

/// The batch size N of an [N, F] or [F] input (a 1-D input is one example), checked to have one
/// of those ranks; a fresh dim when the rank is unknown.
fn batchDim(ctx: *Context) status.Error!Dim {
    _ = try ctx.require(0);
    const in_shape = ctx.shape(0) orelse return ctx.freshDim("N");
    return switch (in_shape.len) {
        1 => ctx.dim(1),
        2 => in_shape[0],
        else => ctx.fail("input must be [N, F] or [F], not rank {d}", .{in_shape.len}),
    };
}

fn pair(ctx: *Context, a: Dim, b: Dim) status.Error![]const Dim {
    const out = try ctx.alloc(Dim, 2);
    out[0] = a;
    out[1] = b;
    return out;
}

fn single(ctx: *Context, a: Dim) status.Error![]const Dim {
    const out = try ctx.alloc(Dim, 1);
    out[0] = a;
    return out;
}

fn count(ctx: *Context, n: usize) status.Error!Dim {
    return ctx.dim(std.math.cast(i64, n) orelse return ctx.fail("list too long", .{}));
}

/// Class labels decide a classifier's label type: strings when a non-empty string list is given.
fn labelType(ctx: *Context, comptime strings_name: []const u8) DType {
    const a = ctx.attribute(strings_name) orelse return .int64;
    return if (a.strings.len > 0) .string else .int64;
}

/// Input's element type and shape unchanged (Binarizer, Imputer).
fn sameAsInput(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    try ctx.passThrough(0, 0);
}

/// Normalizer, Scaler: float output of the input's shape.
fn floatOfInput(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    try util.shapeOf(ctx, 0, 0, .float32);
}

/// Selects indices from the last axis; a 1-D input gives one row ([1, count]).
fn arrayFeatureExtractor(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    const dtype = ctx.dtype(0);
    const in_shape = ctx.shape(0) orelse return ctx.setOutput(0, dtype, null);
    if (in_shape.len == 0) return ctx.fail("input must have rank 1 or more", .{});
    var selected = try ctx.freshDim("features");
    if (ctx.shape(1)) |indices| selected = try common.product(ctx, indices);
    const out = try ctx.alloc(Dim, @max(in_shape.len, 2));
    const kept = in_shape[0 .. in_shape.len - 1];
    if (kept.len == 0) out[0] = try ctx.dim(1) else @memcpy(out[0..kept.len], kept);
    out[out.len - 1] = selected;
    try ctx.setOutput(0, dtype, out);
}

/// The element type and element count of the first of `names` that is set, as ONNX reads a
/// LabelEncoder's keys_*, values_* and default_* attributes (by name: *_tensor, *_strings, ...).
const Typed = struct { dtype: DType, len: u64 };

fn typedAttr(ctx: *Context, comptime names: []const []const u8) status.Error!?Typed {
    inline for (names) |name| {
        if (ctx.attribute(name)) |a| if (try typedOf(ctx, name, a)) |typed| return typed;
    }
    return null;
}

/// The type and count of attribute `a`, by the suffix of its name.
fn typedOf(ctx: *Context, name: []const u8, a: *const onnx.AttributeProto) status.Error!?Typed {
    if (std.mem.endsWith(u8, name, "_tensor")) {
        const t = a.t orelse return ctx.fail("attribute {s} holds no tensor", .{name});
        const dtype = DType.fromInt(t.data_type) catch
            return ctx.fail("attribute {s} has element type {d}", .{ name, t.data_type });
        return .{ .dtype = dtype, .len = try elementCount(ctx, name, t.dims) };
    }
    if (std.mem.endsWith(u8, name, "_strings")) return .{ .dtype = .string, .len = a.strings.len };
    if (std.mem.endsWith(u8, name, "_int64s")) return .{ .dtype = .int64, .len = a.ints.len };
    if (std.mem.endsWith(u8, name, "_floats")) return .{ .dtype = .float32, .len = a.floats.len };
    if (std.mem.endsWith(u8, name, "_string")) return .{ .dtype = .string, .len = 1 };
    if (std.mem.endsWith(u8, name, "_int64")) return .{ .dtype = .int64, .len = 1 };
    if (std.mem.endsWith(u8, name, "_float")) return .{ .dtype = .float32, .len = 1 };
    return null;
}

fn elementCount(ctx: *Context, name: []const u8, dims: []const i64) status.Error!u64 {
    var n: u64 = 1;
    for (dims) |d| {
        const size = std.math.cast(u64, d) orelse return ctx.fail("attribute {s} has dim {d}", .{ name, d });
        n = std.math.mul(u64, n, size) catch return ctx.fail("attribute {s} is too large", .{name});
    }
    return n;
}

/// Opset 1 maps strings to int64 and back; from opset 2 the values_* attribute set decides.
fn labelEncoder(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const in_dtype = ctx.dtype(0);
    if (ctx.node.opset < 2) {
        const out: ?DType = if (in_dtype) |d| switch (d) {
            .string => .int64,
            .int64 => .string,
            else => return ctx.fail("input must be string or int64, not {s}", .{@tagName(d)}),
        } else null;
        return util.shapeOf(ctx, 0, 0, out);
    }
    const keys = try typedAttr(ctx, &.{ "keys_tensor", "keys_strings", "keys_int64s", "keys_floats" }) orelse
        return ctx.fail("needs one of keys_tensor, keys_strings, keys_int64s, keys_floats", .{});
    const values = try typedAttr(ctx, &.{ "values_tensor", "values_strings", "values_int64s", "values_floats" }) orelse
        return ctx.fail("needs one of values_tensor, values_strings, values_int64s, values_floats", .{});
    if (in_dtype) |d| if (d != keys.dtype) {
        return ctx.fail("input is {s} but the keys are {s}", .{ @tagName(d), @tagName(keys.dtype) });
    };
    if (keys.len != values.len) return ctx.fail("{d} keys but {d} values", .{ keys.len, values.len });
    if (try typedAttr(ctx, &.{"default_tensor"})) |default| {
        if (default.dtype != values.dtype) {
            const names = .{ @tagName(default.dtype), @tagName(values.dtype) };
            return ctx.fail("default_tensor is {s} but the values are {s}", names);
        }
        if (default.len != 1) return ctx.fail("default_tensor must hold one value", .{});
    }
    try util.shapeOf(ctx, 0, 0, values.dtype);
}

/// Strings to int64 and back, element by element.
fn categoryMapper(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const out: ?DType = if (ctx.dtype(0)) |d| switch (d) {
        .string => .int64,
        .int64 => .string,
        else => return ctx.fail("input must be string or int64, not {s}", .{@tagName(d)}),
    } else null;
    try util.shapeOf(ctx, 0, 0, out);
}

/// The input's shape plus one axis of categories.
fn oneHotEncoder(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const ints = ctx.attribute("cats_int64s");
    const strings = ctx.attribute("cats_strings");
    if ((ints == null) == (strings == null)) return ctx.fail("needs exactly one of cats_int64s and cats_strings", .{});
    const categories = if (ints) |a| a.ints.len else strings.?.strings.len;
    const in_shape = ctx.shape(0) orelse return ctx.setOutput(0, .float32, null);
    const out = try ctx.alloc(Dim, in_shape.len + 1);
    @memcpy(out[0..in_shape.len], in_shape);
    out[in_shape.len] = try count(ctx, categories);
    try ctx.setOutput(0, .float32, out);
}

/// Concatenates [N, C_i] (or [C_i]) inputs into [N, sum of inputdimensions].
fn featureVectorizer(ctx: *Context) status.Error!void {
    if (ctx.inputCount() == 0) return ctx.fail("needs at least one input", .{});
    const n = try batchDim(ctx);
    var total: i64 = 0;
    const widths = ctx.attrInts("inputdimensions") orelse &.{};
    for (widths) |w| {
        if (w < 0) return ctx.fail("inputdimensions holds {d}", .{w});
        total = std.math.add(i64, total, w) catch return ctx.fail("inputdimensions overflow", .{});
    }
    const width = if (ctx.attrInts("inputdimensions") != null) try ctx.dim(total) else try ctx.freshDim("features");
    try ctx.setOutput(0, .float32, try pair(ctx, n, width));
}

/// Y: [N] labels; Z: [N, classes] float scores, as ONNX infers them from intercepts.
fn linearClassifier(ctx: *Context) status.Error!void {
    const n = try batchDim(ctx);
    const label = labelType(ctx, "classlabels_strings");
    const ints = ctx.attrInts("classlabels_ints") orelse &.{};
    const labels = if (label == .string) ctx.attribute("classlabels_strings").?.strings.len else ints.len;
    const classes = if (ctx.attrFloats("intercepts")) |intercepts|
        try count(ctx, if (intercepts.len == 1 and labels == 2) 2 else intercepts.len)
    else
        try ctx.freshDim("classes");
    try ctx.setOutput(0, label, try single(ctx, n));
    try ctx.setOutput(1, .float32, try pair(ctx, n, classes));
}

/// [N, targets] floats.
fn linearRegressor(ctx: *Context) status.Error!void {
    const n = try batchDim(ctx);
    const targets = ctx.attrInt("targets", 1);
    if (targets < 0) return ctx.fail("targets is {d}", .{targets});
    try ctx.setOutput(0, .float32, try pair(ctx, n, try ctx.dim(targets)));
}

/// Y: [N] labels; Z: [N, scores], whose width depends on the kernel mode and probabilities.
fn svmClassifier(ctx: *Context) status.Error!void {
    const n = try batchDim(ctx);
    try ctx.setOutput(0, labelType(ctx, "classlabels_strings"), try single(ctx, n));
    try ctx.setOutput(1, .float32, try pair(ctx, n, try ctx.freshDim("scores")));
}

fn svmRegressor(ctx: *Context) status.Error!void {
    const n = try batchDim(ctx);
    try ctx.setOutput(0, .float32, try pair(ctx, n, try ctx.dim(1)));
}

fn checkExclusive(ctx: *Context, comptime names: []const []const u8) status.Error!void {
    inline for (names) |name| {
        if (ctx.attribute(name) != null and ctx.attribute(name ++ "_as_tensor") != null) {
            return ctx.fail("sets both {s} and {s}_as_tensor", .{ name, name });
        }
    }
}

/// Y: [N] labels; Z: [N, classes] float scores, one per class label.
fn treeEnsembleClassifier(ctx: *Context) status.Error!void {
    try checkExclusive(ctx, &.{ "nodes_values", "nodes_hitrates", "class_weights", "base_values" });
    const n = try batchDim(ctx);
    const label = labelType(ctx, "classlabels_strings");
    const classes = if (label == .string) ctx.attribute("classlabels_strings").?.strings.len else blk: {
        const ints = ctx.attrInts("classlabels_int64s") orelse &.{};
        if (ints.len == 0) return ctx.fail("needs classlabels_int64s or classlabels_strings", .{});
        break :blk ints.len;
    };
    try ctx.setOutput(0, label, try single(ctx, n));
    try ctx.setOutput(1, .float32, try pair(ctx, n, try count(ctx, classes)));
}

fn targetsDim(ctx: *Context) status.Error!Dim {
    const a = ctx.attribute("n_targets") orelse return ctx.freshDim("targets");
    if (a.i < 0) return ctx.fail("n_targets is {d}", .{a.i});
    return ctx.dim(a.i);
}

/// [N, n_targets] floats.
fn treeEnsembleRegressor(ctx: *Context) status.Error!void {
    try checkExclusive(ctx, &.{ "nodes_values", "nodes_hitrates", "target_weights", "base_values" });
    const n = try batchDim(ctx);
    try ctx.setOutput(0, .float32, try pair(ctx, n, try targetsDim(ctx)));
}

/// TreeEnsemble (opset 5): [N, n_targets] in the input's float type.
fn treeEnsemble(ctx: *Context) status.Error!void {
    const n = try batchDim(ctx);
    if (ctx.dtype(0)) |d| if (std.mem.indexOfScalar(DType, &.{ .float32, .float64, .float16 }, d) == null) {
        return ctx.fail("input must be float, double or float16, not {s}", .{@tagName(d)});
    };
    try ctx.setOutput(0, ctx.dtype(0), try pair(ctx, n, try targetsDim(ctx)));
}

/// A sequence with one map per row, from the class labels to the row's scores.
fn zipMap(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    if (ctx.rank(0)) |r| if (r != 1 and r != 2) return ctx.fail("input must be 1-D or 2-D, not rank {d}", .{r});
    const key: DType = if (labelType(ctx, "classlabels_strings") == .string) .string else blk: {
        const ints = ctx.attrInts("classlabels_int64s") orelse &.{};
        if (ints.len == 0) return ctx.fail("needs classlabels_strings or classlabels_int64s", .{});
        break :blk .int64;
    };
    try ctx.setOutputType(0, .{ .kind = .sequence, .dtype = key, .inner_kind = .map });
}

fn requireMap(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    const kind = ctx.inputType(0).kind;
    if (kind != .map and kind != .unknown) return ctx.fail("input must be a map, not a {s}", .{@tagName(kind)});
}

/// A map to a [1, C] tensor: C is the map's size (DENSE) or max_map (SPARSE).
fn castMap(ctx: *Context) status.Error!void {
    try requireMap(ctx);
    const cast_to = ctx.attrString("cast_to", "TO_FLOAT");
    const targets = std.StaticStringMap(DType).initComptime(.{
        .{ "TO_FLOAT", .float32 }, .{ "TO_STRING", .string }, .{ "TO_INT64", .int64 },
    });
    const dtype = targets.get(cast_to) orelse
        return ctx.fail("cast_to '{s}' is not TO_FLOAT, TO_STRING or TO_INT64", .{cast_to});
    const form = ctx.attrString("map_form", "DENSE");
    const dense = std.mem.eql(u8, form, "DENSE");
    if (!dense and !std.mem.eql(u8, form, "SPARSE")) return ctx.fail("map_form '{s}' is not DENSE or SPARSE", .{form});
    const max_map = ctx.attrInt("max_map", 1);
    if (!dense and max_map < 0) return ctx.fail("max_map is {d}", .{max_map});
    const width = if (dense) try ctx.freshDim("map_size") else try ctx.dim(max_map);
    try ctx.setOutput(0, dtype, try pair(ctx, try ctx.dim(1), width));
}

/// A map to a [1, C] tensor over a vocabulary of C keys. The element type is the map's value
/// type, which the IR does not record, so it stays unknown unless declared.
fn dictVectorizer(ctx: *Context) status.Error!void {
    try requireMap(ctx);
    const ints = ctx.attribute("int64_vocabulary");
    const strings = ctx.attribute("string_vocabulary");
    if ((ints == null) == (strings == null)) {
        return ctx.fail("needs exactly one of int64_vocabulary and string_vocabulary", .{});
    }
    const size = if (ints) |a| a.ints.len else strings.?.strings.len;
    try ctx.setOutput(0, null, try pair(ctx, try ctx.dim(1), try count(ctx, size)));
}

const ml = "ai.onnx.ml";

pub const rules = [_]registry.Entry{
    .{ .domain = ml, .op = "ArrayFeatureExtractor", .rule = arrayFeatureExtractor },
    .{ .domain = ml, .op = "Binarizer", .rule = sameAsInput },
    .{ .domain = ml, .op = "Imputer", .rule = sameAsInput },
    .{ .domain = ml, .op = "Normalizer", .rule = floatOfInput },
    .{ .domain = ml, .op = "Scaler", .rule = floatOfInput },
    .{ .domain = ml, .op = "LabelEncoder", .rule = labelEncoder },
    .{ .domain = ml, .op = "CategoryMapper", .rule = categoryMapper },
    .{ .domain = ml, .op = "OneHotEncoder", .rule = oneHotEncoder },
    .{ .domain = ml, .op = "FeatureVectorizer", .rule = featureVectorizer },
    .{ .domain = ml, .op = "LinearClassifier", .rule = linearClassifier },
    .{ .domain = ml, .op = "LinearRegressor", .rule = linearRegressor },
    .{ .domain = ml, .op = "SVMClassifier", .rule = svmClassifier },
    .{ .domain = ml, .op = "SVMRegressor", .rule = svmRegressor },
    .{ .domain = ml, .op = "TreeEnsembleClassifier", .rule = treeEnsembleClassifier },
    .{ .domain = ml, .op = "TreeEnsembleRegressor", .rule = treeEnsembleRegressor },
    .{ .domain = ml, .op = "TreeEnsemble", .rule = treeEnsemble },
    .{ .domain = ml, .op = "ZipMap", .rule = zipMap },
    .{ .domain = ml, .op = "CastMap", .rule = castMap },
    .{ .domain = ml, .op = "DictVectorizer", .rule = dictVectorizer },
};
