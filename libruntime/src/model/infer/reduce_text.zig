//! Shape rules for string operators (StringNormalizer, StringConcat, StringSplit,
//! RegexFullMatch), TfIdfVectorizer, and the ai.onnx.preview.training optimizers (Adagrad, Adam,
//! Momentum), whose outputs mirror the tensors they update. Part of the reduce family; reduce.zig
//! lists these rules. Gradient is deliberately absent: Tessera does not differentiate graphs.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const common = @import("common.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");

const Context = context.Context;
const Dim = ir.Dim;

fn requireStrings(ctx: *Context, i: usize) status.Error!void {
    _ = try ctx.require(i);
    if (ctx.dtype(i)) |d| if (d != .string) return ctx.fail("input {d} must be strings, not {s}", .{ i, @tagName(d) });
}

/// [C] or [1, C] strings. Stop words and empty strings are dropped, so C is only known at run time.
fn stringNormalizer(ctx: *Context) status.Error!void {
    try requireStrings(ctx, 0);
    const in_shape = ctx.shape(0) orelse return ctx.setOutput(0, .string, null);
    const out = try ctx.alloc(Dim, in_shape.len);
    switch (in_shape.len) {
        1 => {},
        2 => {
            if (ctx.pool.value(in_shape[0])) |n| if (n != 1) {
                return ctx.fail("a 2-D input must be [1, C], not [{d}, C]", .{n});
            };
            out[0] = try ctx.dim(1);
        },
        else => return ctx.fail("input must be [C] or [1, C], not rank {d}", .{in_shape.len}),
    }
    out[in_shape.len - 1] = try ctx.freshDim("strings");
    try ctx.setOutput(0, .string, out);
}

fn stringConcat(ctx: *Context) status.Error!void {
    try requireStrings(ctx, 0);
    try requireStrings(ctx, 1);
    try ctx.setOutput(0, .string, try common.broadcast(ctx, &.{ ctx.shape(0), ctx.shape(1) }));
}

/// Y: the input's shape plus the most substrings any element split into; Z: the count per element.
fn stringSplit(ctx: *Context) status.Error!void {
    try requireStrings(ctx, 0);
    const in_shape = ctx.shape(0) orelse {
        try ctx.setOutput(0, .string, null);
        return ctx.setOutput(1, .int64, null);
    };
    const out = try ctx.alloc(Dim, in_shape.len + 1);
    @memcpy(out[0..in_shape.len], in_shape);
    out[in_shape.len] = try ctx.freshDim("substrings");
    try ctx.setOutput(0, .string, out);
    try ctx.setOutput(1, .int64, in_shape);
}

fn regexFullMatch(ctx: *Context) status.Error!void {
    try requireStrings(ctx, 0);
    try ctx.setOutput(0, .bool, ctx.shape(0));
}

/// [C] → [E] or [N, C] → [N, E], where E = max(ngram_indexes) + 1.
fn tfIdfVectorizer(ctx: *Context) status.Error!void {
    _ = try ctx.require(0);
    if (ctx.dtype(0)) |d| if (d != .string and d != .int32 and d != .int64) {
        return ctx.fail("input must be string, int32 or int64, not {s}", .{@tagName(d)});
    };
    const indexes = ctx.attrInts("ngram_indexes") orelse return ctx.fail("needs attribute ngram_indexes", .{});
    var width: i64 = 0;
    for (indexes) |index| {
        if (index < 0) return ctx.fail("ngram_indexes holds {d}", .{index});
        width = @max(width, index +| 1);
    }
    const in_shape = ctx.shape(0) orelse return ctx.setOutput(0, .float32, null);
    const out = try ctx.alloc(Dim, in_shape.len);
    switch (in_shape.len) {
        1 => {},
        2 => out[0] = in_shape[0],
        else => return ctx.fail("input must be [C] or [N, C], not rank {d}", .{in_shape.len}),
    }
    out[in_shape.len - 1] = try ctx.dim(width);
    try ctx.setOutput(0, .float32, out);
}

/// Inputs R, T, then `groups` lists of n tensors (X, G, and the optimizer's state); outputs are
/// the new X and the new state, each with the type of the tensor it replaces.
fn optimizer(ctx: *Context, groups: usize) status.Error!void {
    _ = try ctx.require(0);
    _ = try ctx.require(1);
    const tensors = ctx.inputCount() - 2;
    if (tensors == 0 or tensors % groups != 0) {
        return ctx.fail("needs {d} lists of equal length after R and T, found {d} inputs", .{ groups, tensors });
    }
    const n = tensors / groups;
    if (ctx.outputCount() != n * (groups - 1)) {
        return ctx.fail("has {d} outputs; {d} tensors need {d}", .{ ctx.outputCount(), n, n * (groups - 1) });
    }
    for (0..n) |i| {
        for (0..groups) |g| _ = try ctx.require(2 + g * n + i);
        try ctx.passThrough(i, 2 + i);
        // The gradient list (group 1) has no output; state lists follow it.
        for (2..groups) |g| try ctx.passThrough((g - 1) * n + i, 2 + g * n + i);
    }
}

fn adagrad(ctx: *Context) status.Error!void {
    try optimizer(ctx, 3); // X, G, H
}

fn adam(ctx: *Context) status.Error!void {
    try optimizer(ctx, 4); // X, G, V, H
}

fn momentum(ctx: *Context) status.Error!void {
    try optimizer(ctx, 3); // X, G, V
}

const training = "ai.onnx.preview.training";

pub const rules = [_]registry.Entry{
    .{ .op = "StringNormalizer", .rule = stringNormalizer },
    .{ .op = "StringConcat", .rule = stringConcat },
    .{ .op = "StringSplit", .rule = stringSplit },
    .{ .op = "RegexFullMatch", .rule = regexFullMatch },
    .{ .op = "TfIdfVectorizer", .rule = tfIdfVectorizer },
    .{ .domain = training, .op = "Adagrad", .rule = adagrad },
    .{ .domain = training, .op = "Adam", .rule = adam },
    .{ .domain = training, .op = "Momentum", .rule = momentum },
};
