//! The text form of symbolic dims, as messages, caches and user overrides use it. It is canonical
//! (written from the canonical form, in an order that does not depend on ids), so equal dims have
//! equal text in every pool, and parse(format(d)) == d.
//!
//! Syntax: integers, names, + - * / % and parentheses with the usual precedence, left to right
//! within a level; a leading minus negates the whole first term, so -a/b is -(a/b). Calls: min(a,b),
//! max(a,b), and ceil(a,b) for ceiling division. / and % are floor division and floor modulo. A bare
//! name matches [A-Za-z_][A-Za-z0-9_.:]*; any other name is written in double quotes with \" and \\
//! escapes ("seq-len"), since '-' is the minus sign.
const std = @import("std");
const status = @import("../core/status.zig");
const symbolic = @import("symbolic.zig");

const Error = status.Error;
const Writer = std.Io.Writer;
const Dim = symbolic.Dim;
const Pool = symbolic.Pool;
const outOfMemory = symbolic.outOfMemory;

/// Parentheses and calls parse may nest; deeper text could not produce a legal expression anyway.
const max_nesting = 2 * symbolic.max_depth;

pub const Formatted = struct {
    pool: *const Pool,
    dim: Dim,

    pub fn format(self: Formatted, writer: *Writer) Writer.Error!void {
        return self.pool.format(self.dim, writer);
    }
};

pub fn write(pool: *const Pool, d: Dim, w: *Writer) Writer.Error!void {
    return writeExpr(pool, d, w);
}

/// Reads the syntax above back; malformed text fails with ShapeError naming the offset.
pub fn parse(pool: *Pool, text: []const u8) Error!Dim {
    var parser: Parser = .{ .pool = pool, .text = text };
    return parser.parseAll();
}

fn writeExpr(pool: *const Pool, d: Dim, w: *Writer) Writer.Error!void {
    const n = pool.node(d);
    switch (n) {
        .constant => |v| try writeConstant(v, w),
        .symbol => |name| try writeName(name, w),
        .min, .max => |p| {
            try w.writeAll(if (n == .min) "min(" else "max(");
            try writeExpr(pool, p.a, w);
            try w.writeByte(',');
            try writeExpr(pool, p.b, w);
            try w.writeByte(')');
        },
        .div, .mod => |p| {
            try writeOperand(pool, p.a, w);
            try w.writeByte(if (n == .div) '/' else '%');
            try writeOperand(pool, p.b, w);
        },
        .sum => |terms| for (terms, 0..) |t, i| try writeTerm(pool, t.coef, t.atoms, i == 0, w),
    }
}

/// minInt has no positive counterpart to write after a minus sign, so it is written as a sum.
fn writeConstant(v: i64, w: *Writer) Writer.Error!void {
    if (v == std.math.minInt(i64)) return w.print("{d}-1", .{-std.math.maxInt(i64)});
    return w.print("{d}", .{v});
}

/// An operand of / or % is parenthesised unless it is a single token or a call.
fn writeOperand(pool: *const Pool, d: Dim, w: *Writer) Writer.Error!void {
    const bare = switch (pool.node(d)) {
        .constant => |v| v >= 0,
        .symbol, .min, .max => true,
        .div, .mod, .sum => false,
    };
    if (bare) return writeExpr(pool, d, w);
    try w.writeByte('(');
    try writeExpr(pool, d, w);
    try w.writeByte(')');
}

fn writeTerm(pool: *const Pool, coef: i64, atoms: []const Dim, first: bool, w: *Writer) Writer.Error!void {
    if (coef == std.math.minInt(i64)) {
        try writeTerm(pool, -std.math.maxInt(i64), atoms, first, w);
        return writeTerm(pool, -1, atoms, false, w);
    }
    if (coef < 0) try w.writeByte('-') else if (!first) try w.writeByte('+');
    const magnitude = @abs(coef);
    if (atoms.len == 0) return w.print("{d}", .{magnitude});
    if (magnitude != 1) try w.print("{d}*", .{magnitude});
    // N*(M/2) is not N*M/2, which reads as (N*M)/2: a quotient among other factors needs parentheses.
    const alone = magnitude == 1 and atoms.len == 1;
    for (atoms, 0..) |atom, i| {
        if (i > 0) try w.writeByte('*');
        const quotient = switch (pool.node(atom)) {
            .div, .mod => true,
            else => false,
        };
        if (quotient and !alone) try writeOperand(pool, atom, w) else try writeExpr(pool, atom, w);
    }
}

fn writeName(name: []const u8, w: *Writer) Writer.Error!void {
    if (isBareName(name)) return w.writeAll(name);
    try w.writeByte('"');
    for (name) |c| {
        if (c == '"' or c == '\\') try w.writeByte('\\');
        try w.writeByte(c);
    }
    try w.writeByte('"');
}

fn isBareName(name: []const u8) bool {
    if (name.len == 0 or !isNameStart(name[0])) return false;
    for (name[1..]) |c| if (!isNameChar(c)) return false;
    return true;
}

fn isNameStart(c: u8) bool {
    return std.ascii.isAlphabetic(c) or c == '_';
}

fn isNameChar(c: u8) bool {
    return std.ascii.isAlphanumeric(c) or c == '_' or c == '.' or c == ':';
}

/// Recursive descent over the text syntax; each level builds through the Pool's operations, so
/// the result is canonical whatever form the text takes.
const Parser = struct {
    pool: *Pool,
    text: []const u8,
    pos: usize = 0,
    nesting: u32 = 0,

    const Call = enum { min, max, ceil };

    fn parseAll(p: *Parser) Error!Dim {
        const d = try p.expr();
        p.skipSpace();
        if (p.pos < p.text.len) return p.fail("unexpected character");
        return d;
    }

    fn expr(p: *Parser) Error!Dim {
        if (p.nesting >= max_nesting) return p.fail("nested too deeply");
        p.nesting += 1;
        defer p.nesting -= 1;
        var total = if (p.eat('-')) try p.pool.sub(try p.pool.constant(0), try p.term()) else try p.term();
        while (true) {
            if (p.eat('+')) {
                total = try p.pool.add(total, try p.term());
            } else if (p.eat('-')) {
                total = try p.pool.sub(total, try p.term());
            } else return total;
        }
    }

    fn term(p: *Parser) Error!Dim {
        var product = try p.factor();
        while (true) {
            if (p.eat('*')) {
                product = try p.pool.mul(product, try p.factor());
            } else if (p.eat('/')) {
                product = try p.pool.div(product, try p.factor());
            } else if (p.eat('%')) {
                product = try p.pool.mod(product, try p.factor());
            } else return product;
        }
    }

    fn factor(p: *Parser) Error!Dim {
        p.skipSpace();
        const c = if (p.pos < p.text.len) p.text[p.pos] else 0;
        if (std.ascii.isDigit(c)) return p.integer();
        if (c == '"') return p.quotedName();
        if (isNameStart(c)) return p.nameOrCall();
        if (!p.eat('(')) return p.fail("expected a number, a name or '('");
        const d = try p.expr();
        if (!p.eat(')')) return p.fail("expected ')'");
        return d;
    }

    fn integer(p: *Parser) Error!Dim {
        var v: i64 = 0;
        while (p.pos < p.text.len and std.ascii.isDigit(p.text[p.pos])) : (p.pos += 1) {
            v = std.math.mul(i64, v, 10) catch return p.fail("integer out of range");
            v = std.math.add(i64, v, p.text[p.pos] - '0') catch return p.fail("integer out of range");
        }
        return p.pool.constant(v);
    }

    fn quotedName(p: *Parser) Error!Dim {
        const gpa = p.pool.gpa;
        var name: std.ArrayList(u8) = .empty;
        defer name.deinit(gpa);
        p.pos += 1;
        while (p.pos < p.text.len) : (p.pos += 1) {
            var c = p.text[p.pos];
            if (c == '"') {
                p.pos += 1;
                return p.pool.symbol(name.items);
            }
            if (c == '\\' and p.pos + 1 < p.text.len) {
                p.pos += 1;
                c = p.text[p.pos];
            }
            name.append(gpa, c) catch return outOfMemory();
        }
        return p.fail("unterminated quoted name");
    }

    fn nameOrCall(p: *Parser) Error!Dim {
        const start = p.pos;
        while (p.pos < p.text.len and isNameChar(p.text[p.pos])) p.pos += 1;
        const name = p.text[start..p.pos];
        const call = std.meta.stringToEnum(Call, name) orelse return p.pool.symbol(name);
        if (!p.eat('(')) return p.pool.symbol(name);
        const a = try p.expr();
        if (!p.eat(',')) return p.fail("expected ',' between two arguments");
        const b = try p.expr();
        if (!p.eat(')')) return p.fail("expected ')'");
        return switch (call) {
            .min => p.pool.min(a, b),
            .max => p.pool.max(a, b),
            .ceil => p.pool.ceilDiv(a, b),
        };
    }

    fn eat(p: *Parser, c: u8) bool {
        p.skipSpace();
        if (p.pos == p.text.len or p.text[p.pos] != c) return false;
        p.pos += 1;
        return true;
    }

    fn skipSpace(p: *Parser) void {
        while (p.pos < p.text.len and std.ascii.isWhitespace(p.text[p.pos])) p.pos += 1;
    }

    fn fail(p: *const Parser, what: []const u8) Error {
        const fmt = "cannot parse dim '{s}': {s} at offset {d}";
        return status.fail(error.ShapeError, fmt, .{ p.text, what, p.pos });
    }
};

const testing = std.testing;

fn textOf(pool: *const Pool, d: Dim) ![]u8 {
    return std.fmt.allocPrint(testing.allocator, "{f}", .{pool.fmt(d)});
}

fn expectText(pool: *const Pool, d: Dim, expected: []const u8) !void {
    const written = try textOf(pool, d);
    defer testing.allocator.free(written);
    try testing.expectEqualStrings(expected, written);
}

test "format writes canonical text whatever the order of construction" {
    var pool = Pool.init(testing.allocator);
    defer pool.deinit();
    const one = try pool.constant(1);
    const batch = try pool.symbol("batch");
    try expectText(&pool, try pool.add(one, try pool.add(batch, batch)), "2*batch+1");
    const n = try pool.symbol("N");
    try expectText(&pool, try pool.min(try pool.constant(4), n), "min(N,4)");
    try expectText(&pool, try pool.ceilDiv(n, try pool.constant(4)), "(N+3)/4");
    try expectText(&pool, try pool.sub(try pool.constant(2), try pool.mul(n, batch)), "-N*batch+2");
    try expectText(&pool, try pool.mul(n, try pool.div(batch, try pool.constant(2))), "N*(batch/2)");
    try expectText(&pool, try pool.sub(one, try pool.div(batch, n)), "-batch/N+1");
    try expectText(&pool, try pool.symbol("seq-len \"x\""), "\"seq-len \\\"x\\\"\"");
    try expectText(&pool, try pool.constant(std.math.minInt(i64)), "-9223372036854775807-1");
    // Another pool that meets the symbols in the other order writes the same text.
    var other = Pool.init(testing.allocator);
    defer other.deinit();
    const n2 = try other.symbol("N");
    const b2 = try other.symbol("batch");
    try expectText(&other, try other.sub(try other.constant(2), try other.mul(b2, n2)), "-N*batch+2");
}

test "parse reads text back to the same dims" {
    var pool = Pool.init(testing.allocator);
    defer pool.deinit();
    const n = try pool.symbol("N");
    const batch = try pool.symbol("batch");
    const expected = try pool.add(try pool.mul(try pool.constant(2), batch), try pool.constant(1));
    try testing.expectEqual(expected, try pool.parse(" 2 * batch + 1 "));
    try testing.expectEqual(expected, try pool.parse("batch+(batch+1)"));
    try testing.expectEqual(try pool.ceilDiv(n, try pool.constant(4)), try pool.parse("ceil(N, 4)"));
    try testing.expectEqual(try pool.min(n, batch), try pool.parse("min(batch,N)"));
    try testing.expectEqual(try pool.symbol("seq-len"), try pool.parse("\"seq-len\""));
    try testing.expectEqual(try pool.symbol("a.b:c"), try pool.parse("a.b:c"));
    try testing.expectEqual(try pool.symbol("min"), try pool.parse("min"));
    // A leading minus negates the whole first term: -N/2 is -(N/2), not (-N)/2.
    const half = try pool.div(n, try pool.constant(2));
    try testing.expectEqual(try pool.sub(try pool.constant(0), half), try pool.parse("-N/2"));
    const least: ?i64 = std.math.minInt(i64);
    try testing.expectEqual(least, pool.value(try pool.parse("-9223372036854775807-1")));
    try testing.expectEqual(@as(?i64, -5), pool.value(try pool.parse("-5")));
    try testing.expectEqual(n, try pool.parse("(((N)))"));
}

test "parse rejects malformed text with ShapeError" {
    var pool = Pool.init(testing.allocator);
    defer pool.deinit();
    const bad = [_][]const u8{
        "",        "   ",     "N+",   "(N",   "N)",                   "3 $",   "min(N)", "max(N,)",
        "min(N,M", "2N",      "N--M", "N*-1", "99999999999999999999", "\"abc", "\"\"",   "ceil(N/2)",
        "N/0",     "N%(M-M)", "4,",   "-",    "()",                   "1.5",
    };
    for (bad) |text| {
        try testing.expectError(error.ShapeError, pool.parse(text));
    }
    _ = pool.parse("N+") catch {};
    try testing.expectEqualStrings(
        "cannot parse dim 'N+': expected a number, a name or '(' at offset 2",
        std.mem.span(status.lastMessage()),
    );
    // Nesting is bounded, so text cannot exhaust the stack.
    const deep = try testing.allocator.alloc(u8, 20_000);
    defer testing.allocator.free(deep);
    @memset(deep, '(');
    try testing.expectError(error.ShapeError, pool.parse(deep));
}

test "random text never crashes the parser, and what parses round trips" {
    var pool = Pool.init(testing.allocator);
    defer pool.deinit();
    var prng = std.Random.DefaultPrng.init(7);
    const random = prng.random();
    const pieces = [_][]const u8{
        "N",    "M",    "b.c",   "\"q-\\\"\"", "0", "1", "7", "12",                  "+",  "-",
        "*",    "/",    "%",     "(",          ")", ",", " ", "9223372036854775807", "\"", "\\",
        "min(", "max(", "ceil(",
    };
    var buffer: [64]u8 = undefined;
    var parsed: usize = 0;
    for (0..5000) |_| {
        var len: usize = 0;
        for (0..random.uintLessThan(usize, 12)) |_| {
            const piece = pieces[random.uintLessThan(usize, pieces.len)];
            if (len + piece.len > buffer.len) break;
            @memcpy(buffer[len..][0..piece.len], piece);
            len += piece.len;
        }
        const d = pool.parse(buffer[0..len]) catch |err| {
            try testing.expectEqual(error.ShapeError, err);
            continue;
        };
        parsed += 1;
        const written = try textOf(&pool, d);
        defer testing.allocator.free(written);
        try testing.expectEqual(d, try pool.parse(written));
    }
    try testing.expect(parsed > 200);
}
