//! Classic machine-learning operators of the ai.onnx.ml domain: Binarizer, ArrayFeatureExtractor,
//! LabelEncoder and TreeEnsemble (ml_tree.zig). They come from scikit-learn conversions, where
//! they sit around (or are) a model's numeric core. The family's other files: ml_linear.zig,
//! ml_svm.zig (with ml_svm_probability.zig), ml_tree_classic.zig and ml_preprocess.zig, which
//! share ml_scores.zig (rows of X, post_transform, class labels).
const std = @import("std");
const common = @import("nn_common.zig");
const util = @import("tensor_ops_util.zig");
const constant = @import("../../../model/constant.zig");

const Context = common.Context;
const Error = common.Error;
const Tensor = common.Tensor;

const domain = "ai.onnx.ml";

/// Y = 1 where X > threshold, else 0, in X's type.
fn binarizer(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const threshold: f64 = ctx.node.attrFloat("threshold", 0);
    switch (try common.precision(ctx, x.dtype, true)) {
        inline else => |prec| {
            const F = if (prec == .f32) f32 else f64;
            const y = try common.floatOutput(F, ctx, 0, x.dtype, x.shape);
            for (y.values, try common.floats(F, ctx, x)) |*o, v| o.* = if (v > threshold) 1 else 0;
            y.finish();
        },
    }
}

/// Y = X[..., indices] over the last axis; a 1-D X reads as one row ([1, k] out), as ONNX Runtime.
fn arrayFeatureExtractor(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const picks = try util.indices(ctx, try ctx.require(1));
    if (x.shape.len == 0) return ctx.fail("X must have at least one dim", .{});
    const width = common.dim(x, x.shape.len - 1);
    const rows = x.count() / @max(width, 1);
    const shape = try ctx.alloc(i64, @max(x.shape.len, 2));
    if (x.shape.len == 1) shape[0] = 1 else @memcpy(shape[0 .. x.shape.len - 1], x.shape[0 .. x.shape.len - 1]);
    shape[shape.len - 1] = @intCast(picks.len);
    for (picks) |p| if (p < 0 or p >= width) return ctx.fail("index {d} is out of range for {d} columns", .{ p, width });
    const y = try ctx.output(0, x.dtype, shape);
    const bytes = x.dtype.bits() / 8;
    if (x.dtype == .string) {
        for (0..rows) |r| for (picks, 0..) |p, j| {
            y.strings[r * picks.len + j] = x.strings[r * width + @as(usize, @intCast(p))];
        };
        return;
    }
    if (bytes == 0) return ctx.unsupported(x.dtype);
    for (0..rows) |r| for (picks, 0..) |p, j| {
        const from = (r * width + @as(usize, @intCast(p))) * bytes;
        @memcpy(y.data[(r * picks.len + j) * bytes ..][0..bytes], x.data[from..][0..bytes]);
    };
}

/// One key or value of LabelEncoder, whichever of its forms the attributes give.
const Item = union(enum) {
    int: i64,
    float: f64,
    string: []const u8,

    fn eql(a: Item, b: Item) bool {
        return switch (a) {
            .int => |v| b == .int and b.int == v,
            .float => |v| b == .float and (b.float == v or std.math.isNan(v) and std.math.isNan(b.float)),
            .string => |v| b == .string and std.mem.eql(u8, b.string, v),
        };
    }
};

/// A list attribute as Items: NAME_int64s, NAME_floats, NAME_strings or NAME_tensor (whose type
/// is then the output's). `dtype` is the type the list maps to or from.
const Items = struct { items: []Item, dtype: common.DType };

fn items(ctx: *const Context, comptime name: []const u8) Error!?Items {
    const node = ctx.node;
    if (node.attrInts(name ++ "_int64s")) |list| {
        const out = try ctx.alloc(Item, list.len);
        for (out, list) |*o, v| o.* = .{ .int = v };
        return .{ .items = out, .dtype = .int64 };
    }
    if (node.attrFloats(name ++ "_floats")) |list| {
        const out = try ctx.alloc(Item, list.len);
        for (out, list) |*o, v| o.* = .{ .float = v };
        return .{ .items = out, .dtype = .float32 };
    }
    if (node.attrStrings(name ++ "_strings")) |list| {
        const out = try ctx.alloc(Item, list.len);
        for (out, list) |*o, v| o.* = .{ .string = v };
        return .{ .items = out, .dtype = .string };
    }
    if (node.attrTensor(name ++ "_tensor")) |c| return try tensorItems(ctx, c);
    return null;
}

fn tensorItems(ctx: *const Context, c: *const constant.Constant) Error!Items {
    const out = try ctx.alloc(Item, @intCast(c.count));
    for (out, 0..) |*o, i| {
        o.* = if (c.dtype == .string)
            .{ .string = c.strings[i] }
        else if (c.int(i)) |v|
            .{ .int = v }
        else if (c.float(i)) |v|
            .{ .float = v }
        else
            return ctx.unsupported(c.dtype);
    }
    return .{ .items = out, .dtype = c.dtype };
}

fn inputItem(x: *const Tensor, i: usize, ints: []const i64, floats: []const f64) Item {
    if (x.dtype == .string) return .{ .string = x.strings[i] };
    if (ints.len > 0) return .{ .int = ints[i] };
    return .{ .float = floats[i] };
}

/// The default for keys not found: default_tensor, or default_float (-0.0), default_int64 (-1),
/// default_string ("_Unused") by the values' form.
fn defaultItem(ctx: *const Context, values: Items) Error!Item {
    if (ctx.node.attrTensor("default_tensor")) |t| {
        const d = try tensorItems(ctx, t);
        if (d.items.len != 1) return ctx.fail("default_tensor must hold one element", .{});
        return d.items[0];
    }
    return switch (values.dtype) {
        .string => .{ .string = ctx.node.attrString("default_string", "_Unused") },
        .int64 => .{ .int = ctx.node.attrInt("default_int64", -1) },
        .float32 => .{ .float = ctx.node.attrFloat("default_float", -0.0) },
        else => ctx.fail("values_tensor of {s} needs a default_tensor", .{@tagName(values.dtype)}),
    };
}

fn labelEncoder(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const keys = try items(ctx, "keys") orelse return ctx.fail("has no keys", .{});
    const values = try items(ctx, "values") orelse return ctx.fail("has no values", .{});
    if (keys.items.len != values.items.len) return ctx.fail("{d} keys for {d} values", .{ keys.items.len, values.items.len });
    const fallback = try defaultItem(ctx, values);
    const n = x.count();
    const float_input = x.dtype == .float32 or x.dtype == .float64 or x.dtype == .float16;
    const ints: []const i64 = if (x.dtype == .string or float_input) &.{} else try util.ints(ctx, x, "X");
    const floats: []const f64 = if (float_input) try common.floats(f64, ctx, x) else &.{};
    const y = try ctx.output(0, values.dtype, x.shape);
    for (0..n) |i| {
        const key = inputItem(x, i, ints, floats);
        const found = for (keys.items, values.items) |k, v| {
            if (key.eql(k)) break v;
        } else fallback;
        try store(ctx, y, i, found);
    }
}

fn store(ctx: *const Context, y: *Tensor, i: usize, v: Item) Error!void {
    switch (y.dtype) {
        .string => y.strings[i] = if (v == .string) v.string else return ctx.fail("a value is no string", .{}),
        inline .float32, .float64 => |tag| {
            const F = if (tag == .float32) f32 else f64;
            y.items(F)[i] = switch (v) {
                .float => |f| @floatCast(f),
                .int => |n| @floatFromInt(n),
                .string => return ctx.fail("a value is a string", .{}),
            };
        },
        inline .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64 => |tag| {
            const T = switch (tag) {
                .int8 => i8,
                .int16 => i16,
                .int32 => i32,
                .int64 => i64,
                .uint8 => u8,
                .uint16 => u16,
                .uint32 => u32,
                else => u64,
            };
            const n = switch (v) {
                .int => |n| n,
                else => return ctx.fail("a value is no integer", .{}),
            };
            y.items(T)[i] = std.math.cast(T, n) orelse return ctx.fail("value {d} does not fit {s}", .{ n, @tagName(tag) });
        },
        else => return ctx.unsupported(y.dtype),
    }
}

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .domain = domain, .op = "Binarizer", .run = binarizer },
    .{ .domain = domain, .op = "ArrayFeatureExtractor", .run = arrayFeatureExtractor },
    .{ .domain = domain, .op = "LabelEncoder", .run = labelEncoder },
} ++ @import("ml_tree.zig").kernels;
