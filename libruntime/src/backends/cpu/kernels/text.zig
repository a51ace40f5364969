//! String kernels: StringConcat (with broadcasting), StringSplit, StringNormalizer,
//! RegexFullMatch (its engine in text_regex.zig), and TfIdfVectorizer (text_tfidf.zig). Strings are UTF-8 byte strings, one per element; new ones
//! live in the run's arena. Case changes and case-insensitive comparison cover ASCII letters
//! only: other letters are left as they are, since their case mapping depends on the locale.
const std = @import("std");
const common = @import("nn_common.zig");
const broadcast = @import("broadcast.zig");
const regex = @import("text_regex.zig");
const status = @import("../../../core/status.zig");

const Context = common.Context;
const Error = common.Error;
const Tensor = common.Tensor;

fn requireStrings(ctx: *const Context, i: usize) Error!*const Tensor {
    const t = try ctx.require(i);
    if (t.dtype != .string) return ctx.fail("input {d} holds {s}, not strings", .{ i, @tagName(t.dtype) });
    return t;
}

fn stringConcat(ctx: *Context) Error!void {
    const a = try requireStrings(ctx, 0);
    const b = try requireStrings(ctx, 1);
    const shape = try broadcast.shape(ctx, &.{ a.shape, b.shape });
    const out = try ctx.output(0, .string, shape);
    var walker = broadcast.Walker(2).init(out.shape, .{ a.shape, b.shape });
    for (out.strings) |*o| {
        const x = a.strings[walker.offsets[0]];
        const y = b.strings[walker.offsets[1]];
        const joined = try ctx.alloc(u8, x.len + y.len);
        @memcpy(joined[0..x.len], x);
        @memcpy(joined[x.len..], y);
        o.* = joined;
        walker.next();
    }
}

/// Python's str.split: with a delimiter, every occurrence separates (empty fields kept); without,
/// runs of whitespace separate and leading and trailing whitespace makes no field. At most
/// `maxsplit` splits (null: unlimited); the rest of the string is the last field.
fn splitOne(text: []const u8, delimiter: []const u8, maxsplit: ?usize, fields: *std.ArrayList([]const u8), arena: std.mem.Allocator) !void {
    fields.clearRetainingCapacity();
    if (delimiter.len > 0) {
        var rest = text;
        while (maxsplit == null or fields.items.len < maxsplit.?) {
            const at = std.mem.indexOf(u8, rest, delimiter) orelse break;
            try fields.append(arena, rest[0..at]);
            rest = rest[at + delimiter.len ..];
        }
        try fields.append(arena, rest);
        return;
    }
    var i: usize = 0;
    while (true) {
        while (i < text.len and std.ascii.isWhitespace(text[i])) i += 1;
        if (i == text.len) return;
        if (maxsplit != null and fields.items.len == maxsplit.?) {
            // The last field keeps everything after the separators, trailing whitespace included.
            return fields.append(arena, text[i..]);
        }
        const start = i;
        while (i < text.len and !std.ascii.isWhitespace(text[i])) i += 1;
        try fields.append(arena, text[start..i]);
    }
}

/// StringSplit: Y is X's shape plus one axis as long as the most fields any element has (shorter
/// rows padded with ""), Z the number of fields of each element.
fn stringSplit(ctx: *Context) Error!void {
    const x = try requireStrings(ctx, 0);
    const delimiter = ctx.node.attrString("delimiter", "");
    const maxsplit_attr = ctx.node.attrInt("maxsplit", -1);
    const maxsplit: ?usize = if (!ctx.node.has("maxsplit")) null else std.math.cast(usize, maxsplit_attr) orelse
        return ctx.fail("maxsplit is {d}; it must not be negative", .{maxsplit_attr});
    const n = x.count();
    const all = try ctx.alloc([]const []const u8, n);
    var fields: std.ArrayList([]const u8) = .empty;
    var widest: usize = 0;
    for (all, x.strings[0..n]) |*row, text| {
        splitOne(text, delimiter, maxsplit, &fields, ctx.arena) catch return ctx.fail("out of memory", .{});
        row.* = ctx.arena.dupe([]const u8, fields.items) catch return ctx.fail("out of memory", .{});
        widest = @max(widest, fields.items.len);
    }
    const y_shape = try ctx.alloc(i64, x.shape.len + 1);
    @memcpy(y_shape[0..x.shape.len], x.shape);
    y_shape[x.shape.len] = @intCast(widest);
    const y = try ctx.output(0, .string, y_shape);
    for (all, 0..) |row, r| @memcpy(y.strings[r * widest ..][0..row.len], row);
    if (!ctx.wantsOutput(1)) return;
    const z = try ctx.output(1, .int64, x.shape);
    for (z.items(i64)[0..n], all) |*o, row| o.* = @intCast(row.len);
}

fn equalCase(a: []const u8, b: []const u8, case_sensitive: bool) bool {
    return if (case_sensitive) std.mem.eql(u8, a, b) else std.ascii.eqlIgnoreCase(a, b);
}

const CaseChange = enum { none, lower, upper };

fn changeCase(ctx: *const Context, text: []const u8, action: CaseChange) Error![]const u8 {
    if (action == .none) return text;
    const out = try ctx.alloc(u8, text.len);
    _ = if (action == .lower) std.ascii.lowerString(out, text) else std.ascii.upperString(out, text);
    return out;
}

/// StringNormalizer: X is [C] or [1, C]. Elements equal to a stop word are removed, then the
/// rest change case. When every element is removed the output is one empty string ([1] or
/// [1, 1]), as onnx's reference and ONNX Runtime give.
fn stringNormalizer(ctx: *Context) Error!void {
    const x = try requireStrings(ctx, 0);
    const two_dim = x.shape.len == 2;
    if (!(x.shape.len == 1 or two_dim and x.shape[0] == 1)) return ctx.fail("X must be [C] or [1, C]", .{});
    const action_name = ctx.node.attrString("case_change_action", "NONE");
    const action: CaseChange = if (std.mem.eql(u8, action_name, "NONE")) .none else if (std.mem.eql(u8, action_name, "LOWER"))
        .lower
    else if (std.mem.eql(u8, action_name, "UPPER")) .upper else return ctx.fail("unknown case_change_action '{s}'", .{action_name});
    const case_sensitive = try common.flag(ctx, "is_case_sensitive", 0);
    const stopwords = stopWords(ctx);
    const kept = try ctx.alloc([]const u8, x.count());
    var count: usize = 0;
    for (x.strings[0..x.count()]) |text| {
        const stopped = for (stopwords) |w| {
            if (equalCase(text, w, case_sensitive)) break true;
        } else false;
        if (stopped) continue;
        kept[count] = try changeCase(ctx, text, action);
        count += 1;
    }
    const width: i64 = @intCast(@max(count, 1));
    const shape: []const i64 = if (two_dim) &.{ 1, width } else &.{width};
    const out = try ctx.output(0, .string, shape);
    @memcpy(out.strings[0..count], kept[0..count]);
}

fn stopWords(ctx: *const Context) []const []const u8 {
    return ctx.node.attrStrings("stopwords") orelse &.{};
}

/// Matching work (text bytes times program steps) between two checks for cancellation.
const regex_work_per_check = 1 << 24;

/// RegexFullMatch: whether each string, as a whole, matches the pattern (RE2 syntax, the subset
/// text_regex_parse.zig lists). A malformed pattern is an InferError, an unsupported one a
/// NotImplementedError, each naming the byte where the pattern goes wrong.
fn regexFullMatch(ctx: *Context) Error!void {
    const x = try requireStrings(ctx, 0);
    if (!ctx.node.has("pattern")) return ctx.fail("needs attribute pattern", .{});
    const pattern = ctx.node.attrString("pattern", "");
    var failure: regex.Failure = .{};
    const program = regex.Program.compile(ctx.arena, pattern, &failure) catch |e| {
        if (e == error.OutOfMemory) return status.fail(error.OutOfResource, "out of memory", .{});
        const shown = pattern[0..@min(pattern.len, 200)];
        if (failure.kind == .unsupported) {
            return common.notImplemented(ctx, "pattern '{s}' at byte {d}: {s}", .{ shown, failure.position, failure.message });
        }
        return ctx.fail("pattern '{s}' is malformed at byte {d}: {s}", .{ shown, failure.position, failure.message });
    };
    var scratch = regex.Scratch.init(ctx.arena, &program) catch return status.fail(error.OutOfResource, "out of memory", .{});
    const out = try ctx.output(0, .bool, x.shape);
    var work: usize = 0;
    for (out.data[0..x.count()], x.strings[0..x.count()]) |*o, text| {
        work += (text.len + 1) * program.code.len;
        if (work >= regex_work_per_check) {
            try ctx.checkStop();
            work = 0;
        }
        o.* = @intFromBool(program.fullMatch(&scratch, text));
    }
}

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .op = "RegexFullMatch", .run = regexFullMatch },
    .{ .op = "StringConcat", .run = stringConcat },
    .{ .op = "StringSplit", .run = stringSplit },
    .{ .op = "StringNormalizer", .run = stringNormalizer },
} ++ @import("text_tfidf.zig").kernels;

test "splitOne follows Python's str.split" {
    const arena = std.testing.allocator;
    var fields: std.ArrayList([]const u8) = .empty;
    defer fields.deinit(arena);
    try splitOne("  a b  c ", "", 1, &fields, arena);
    try std.testing.expectEqual(@as(usize, 2), fields.items.len);
    try std.testing.expectEqualStrings("b  c ", fields.items[1]);
    try splitOne("o-n--x-", "-", null, &fields, arena);
    try std.testing.expectEqual(@as(usize, 5), fields.items.len);
    try std.testing.expectEqualStrings("", fields.items[2]);
}
