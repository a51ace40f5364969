//! Cast and CastLike: between every numeric type (bfloat16 through float32), to and from strings,
//! and (in tensor_ops_cast_small.zig) to and from the 8-bit floats and packed 4- and 2-bit
//! integers. Float to integer truncates toward zero; NaN becomes 0 and out-of-range values
//! saturate before wrapping, so no input is undefined behaviour.
const std = @import("std");
const kernel = @import("../kernel.zig");
const Entry = @import("entry.zig").Entry;
const util = @import("tensor_ops_util.zig");
const small = @import("tensor_ops_cast_small.zig");

const Context = util.Context;
const Tensor = util.Tensor;
const DType = util.DType;
const Error = util.Error;

const type_names = [_]struct { []const u8, DType }{
    .{ "FLOAT", .float32 }, .{ "UINT8", .uint8 },       .{ "INT8", .int8 },      .{ "UINT16", .uint16 },
    .{ "INT16", .int16 },   .{ "INT32", .int32 },       .{ "INT64", .int64 },    .{ "STRING", .string },
    .{ "BOOL", .bool },     .{ "FLOAT16", .float16 },   .{ "DOUBLE", .float64 }, .{ "UINT32", .uint32 },
    .{ "UINT64", .uint64 }, .{ "BFLOAT16", .bfloat16 },
};

/// Cast's `to`: a type code, or (Cast-1) a type name.
fn targetType(ctx: *Context) Error!DType {
    const attr = (ctx.node.attr("to") orelse return ctx.fail("attribute 'to' is required", .{})).proto;
    if (attr.type == .string) {
        for (type_names) |pair| if (std.ascii.eqlIgnoreCase(pair[0], attr.s)) return pair[1];
        return ctx.fail("attribute to='{s}' is no element type", .{attr.s});
    }
    const code = std.math.cast(i32, attr.i) orelse -1;
    if (code >= 100) return ctx.fail("attribute to={d} is no ONNX element type", .{attr.i});
    return std.meta.intToEnum(DType, code) catch ctx.fail("attribute to={d} is no element type", .{attr.i});
}

fn cast(ctx: *Context) Error!void {
    try castTo(ctx, try targetType(ctx));
}

fn castLike(ctx: *Context) Error!void {
    const target = try ctx.require(1);
    try castTo(ctx, target.dtype);
}

fn castTo(ctx: *Context, to: DType) Error!void {
    const x = try ctx.require(0);
    if (x.dtype == to) return ctx.alias(0, 0, x.shape);
    try util.checkStorage(ctx, x, "input");
    const out = try ctx.output(0, to, x.shape);
    const saturate = ctx.node.attrInt("saturate", 1) != 0;
    if (small.handles(x.dtype) or small.handles(to)) return small.cast(ctx, x, out, saturate);
    if (to == .string) return toStrings(ctx, x, out);
    if (x.dtype == .string) return fromStrings(ctx, x, out);
    inline for (util.numeric_types) |from| if (x.dtype == from[0]) {
        inline for (util.numeric_types) |target| if (to == target[0]) {
            convert(from[0], from[1], target[0], target[1], util.view(from[1], x), util.viewMut(target[1], out));
            return;
        };
    };
    return ctx.unsupported(if (util.width(ctx, x.dtype) catch null) |_| to else x.dtype);
}

fn convert(
    comptime from: DType,
    comptime S: type,
    comptime to: DType,
    comptime D: type,
    src: []align(1) const S,
    dst: []align(1) D,
) void {
    for (dst, src[0..dst.len]) |*d, s| {
        const v = util.load(from, S, s);
        d.* = util.store(to, D, castValue(util.Compute(to, D), to == .bool, v));
    }
}

/// One value converted as C casts do, made total: bool results are 0 or 1, floats going to
/// integers truncate, NaN gives 0, and values beyond the range saturate.
pub inline fn castValue(comptime To: type, comptime to_bool: bool, v: anytype) To {
    const From = @TypeOf(v);
    const from_float = @typeInfo(From) == .float;
    if (to_bool) return @intFromBool(v != 0);
    if (@typeInfo(To) == .float) return if (from_float) @floatCast(v) else @floatFromInt(v);
    const Signed = std.meta.Int(.signed, @bitSizeOf(To));
    if (!from_float) return @bitCast(@as(Signed, @truncate(@as(i128, v)))); // wraps, like C casts
    if (std.math.isNan(v)) return 0;
    const wide: f64 = @floatCast(v);
    const clamped = std.math.clamp(@trunc(wide), -9.2e18, 1.8e19);
    const as_int: i128 = @intFromFloat(clamped);
    return @bitCast(@as(Signed, @truncate(as_int)));
}

fn toStrings(ctx: *Context, x: *const Tensor, out: *Tensor) Error!void {
    inline for (util.numeric_types) |pair| if (x.dtype == pair[0]) {
        const S = pair[1];
        for (out.strings, util.view(S, x)[0..out.strings.len]) |*o, raw| {
            o.* = try formatValue(ctx, pair[0], util.load(pair[0], S, raw));
        }
        return;
    };
    return ctx.unsupported(x.dtype);
}

/// Numbers as numpy's astype(str) writes them: "1.5", "1.0", "1e-05", "nan", "True".
fn formatValue(ctx: *Context, comptime dt: DType, v: anytype) Error![]const u8 {
    const a = ctx.arena;
    const T = @TypeOf(v);
    const text = if (dt == .bool)
        std.fmt.allocPrint(a, "{s}", .{if (v != 0) "True" else "False"})
    else if (@typeInfo(T) != .float)
        std.fmt.allocPrint(a, "{d}", .{v})
    else if (std.math.isNan(v))
        std.fmt.allocPrint(a, "nan", .{})
    else if (std.math.isInf(v))
        std.fmt.allocPrint(a, "{s}", .{if (v > 0) "inf" else "-inf"})
    else if (v != 0 and (@abs(v) < 1e-4 or @abs(v) >= 1e16))
        return scientific(ctx, v)
    else if (@trunc(v) == v)
        std.fmt.allocPrint(a, "{d}.0", .{v})
    else
        std.fmt.allocPrint(a, "{d}", .{v});
    return text catch util.oom();
}

/// numpy's scientific form: "1e-07", "1.5e+20" (a signed exponent of at least two digits).
fn scientific(ctx: *Context, v: anytype) Error![]const u8 {
    var buffer: [64]u8 = undefined;
    const text = std.fmt.bufPrint(&buffer, "{e}", .{v}) catch return util.oom();
    const e = std.mem.indexOfScalar(u8, text, 'e') orelse return ctx.arena.dupe(u8, text) catch util.oom();
    const exponent = std.fmt.parseInt(i32, text[e + 1 ..], 10) catch return ctx.arena.dupe(u8, text) catch util.oom();
    const sign: u8 = if (exponent < 0) '-' else '+';
    return std.fmt.allocPrint(ctx.arena, "{s}e{c}{d:0>2}", .{ text[0..e], sign, @abs(exponent) }) catch util.oom();
}

fn fromStrings(ctx: *Context, x: *const Tensor, out: *Tensor) Error!void {
    inline for (util.numeric_types) |pair| if (out.dtype == pair[0]) {
        const D = pair[1];
        const C = util.Compute(pair[0], D);
        for (util.viewMut(D, out), x.strings[0..out.count()]) |*o, s| {
            const text = std.mem.trim(u8, s, " \t\r\n");
            const v: C = if (pair[0] == .bool)
                @intFromBool(parseBool(text) orelse return badString(ctx, s))
            else if (@typeInfo(C) == .int)
                std.fmt.parseInt(C, text, 10) catch blk: {
                    const f = std.fmt.parseFloat(f64, text) catch return badString(ctx, s);
                    break :blk castValue(C, false, f);
                }
            else
                castValue(C, false, std.fmt.parseFloat(f64, text) catch return badString(ctx, s));
            o.* = util.store(pair[0], D, v);
        }
        return;
    };
    return ctx.unsupported(out.dtype);
}

fn parseBool(text: []const u8) ?bool {
    if (std.ascii.eqlIgnoreCase(text, "true")) return true;
    if (std.ascii.eqlIgnoreCase(text, "false") or text.len == 0) return false;
    const f = std.fmt.parseFloat(f64, text) catch return null;
    return f != 0;
}

fn badString(ctx: *Context, s: []const u8) Error {
    return ctx.fail("cannot convert the string '{s}' to a number", .{s[0..@min(s.len, 64)]});
}

fn entry(comptime op: []const u8, run: kernel.Kernel) Entry {
    return .{ .op = op, .run = run };
}

pub const kernels = [_]Entry{
    entry("Cast", cast),
    entry("CastLike", castLike),
};
