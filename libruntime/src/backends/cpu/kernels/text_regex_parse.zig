//! RegexFullMatch's pattern syntax: the part of RE2's that patterns in models use, parsed into a
//! tree for text_regex.zig to compile. Literals, `.`, classes (`[a-z]`, `[^...]`, with escapes),
//! `\d \w \s \D \W \S \b \B`, punctuation and control escapes, `\xHH` and `\x{...}`, `^ $`,
//! groups `( )`, `(?: )`, `(?P<name> )`, `|`, and the quantifiers `* + ? {n} {n,} {n,m}` (lazy
//! forms are accepted: for a full match laziness changes nothing). Anything else RE2 has (flags,
//! Unicode classes, `\Q...\E`, POSIX classes) is refused as unsupported, and a malformed pattern
//! is refused as RE2 refuses it; either way with the byte offset in the pattern.
//!
//! Text is UTF-8. Literal characters match their bytes; `.`, negated classes and `\D \W \S` match
//! any one non-ASCII character as a whole sequence; members of a class must be ASCII (as `\w`
//! and `\d` are in RE2).
const std = @import("std");

/// Repetition counts above this are refused, as RE2 refuses them.
pub const max_repeat = 1000;
/// Groups nested deeper than this are refused: the parser recurses once per group.
pub const max_depth = 100;

pub const Kind = enum { malformed, unsupported };

pub const Failure = struct {
    kind: Kind = .malformed,
    /// Byte offset in the pattern.
    position: usize = 0,
    message: []const u8 = "",
};

pub const Error = error{ BadPattern, OutOfMemory };

/// A set of ASCII bytes, and whether every non-ASCII character belongs too.
pub const Set = struct {
    ascii: u128 = 0,
    non_ascii: bool = false,

    pub fn has(self: Set, byte: u8) bool {
        return byte < 128 and (self.ascii >> @intCast(byte)) & 1 != 0;
    }

    fn add(self: *Set, lo: u8, hi: u8) void {
        for (lo..@as(usize, hi) + 1) |b| self.ascii |= @as(u128, 1) << @intCast(b);
    }

    fn negated(self: Set) Set {
        return .{ .ascii = ~self.ascii, .non_ascii = !self.non_ascii };
    }

    fn merge(self: *Set, other: Set) void {
        self.ascii |= other.ascii;
        self.non_ascii = self.non_ascii or other.non_ascii;
    }
};

pub const Node = union(enum) {
    empty,
    byte: u8,
    set: Set,
    concat: []const Node,
    alternate: []const Node,
    repeat: struct { node: *const Node, min: u32, max: ?u32, position: usize },
    /// ^ and $: RE2 without the m flag anchors them to the whole text.
    begin,
    end,
    word_boundary,
    not_word_boundary,
};

fn classOf(letter: u8) ?Set {
    var set: Set = .{};
    switch (std.ascii.toLower(letter)) {
        'd' => set.add('0', '9'),
        'w' => {
            set.add('0', '9');
            set.add('A', 'Z');
            set.add('a', 'z');
            set.add('_', '_');
        },
        's' => {
            set.add('\t', '\n');
            set.add('\x0c', '\r');
            set.add(' ', ' ');
        },
        else => return null,
    }
    return if (std.ascii.isUpper(letter)) set.negated() else set;
}

pub const Parser = struct {
    arena: std.mem.Allocator,
    pattern: []const u8,
    at: usize = 0,
    depth: usize = 0,
    failure: *Failure,

    pub fn parse(self: *Parser) Error!Node {
        const node = try self.alternation();
        if (self.at < self.pattern.len) return self.fail(.malformed, "unmatched ')'");
        return node;
    }

    fn fail(self: *Parser, kind: Kind, message: []const u8) Error {
        return self.failAt(self.at, kind, message);
    }

    fn failAt(self: *Parser, position: usize, kind: Kind, message: []const u8) Error {
        self.failure.* = .{ .kind = kind, .position = position, .message = message };
        return error.BadPattern;
    }

    fn peek(self: *const Parser) ?u8 {
        return if (self.at < self.pattern.len) self.pattern[self.at] else null;
    }

    fn startsWith(self: *const Parser, text: []const u8) bool {
        return std.mem.startsWith(u8, self.pattern[self.at..], text);
    }

    fn alternation(self: *Parser) Error!Node {
        var branches: std.ArrayList(Node) = .empty;
        try branches.append(self.arena, try self.concatenation());
        while (self.peek() == '|') {
            self.at += 1;
            try branches.append(self.arena, try self.concatenation());
        }
        if (branches.items.len == 1) return branches.items[0];
        return .{ .alternate = branches.items };
    }

    fn concatenation(self: *Parser) Error!Node {
        var items: std.ArrayList(Node) = .empty;
        while (self.peek()) |c| {
            if (c == '|' or c == ')') break;
            const single = try self.atom();
            try items.append(self.arena, try self.quantified(single));
        }
        return switch (items.items.len) {
            0 => .empty,
            1 => items.items[0],
            else => .{ .concat = items.items },
        };
    }

    /// The atom under its quantifier, if one follows; a second quantifier is refused, as in RE2.
    fn quantified(self: *Parser, single: Node) Error!Node {
        const start = self.at;
        const bounds = try self.quantifier() orelse return single;
        if (self.peek() == '?') self.at += 1; // lazy
        if (try self.quantifier() != null) return self.failAt(start, .malformed, "a repetition operator repeats another");
        const node = try self.arena.create(Node);
        node.* = single;
        return .{ .repeat = .{ .node = node, .min = bounds.min, .max = bounds.max, .position = start } };
    }

    const Bounds = struct { min: u32, max: ?u32 };

    fn quantifier(self: *Parser) Error!?Bounds {
        const c = self.peek() orelse return null;
        switch (c) {
            '*', '+', '?' => {
                self.at += 1;
                return .{ .min = if (c == '+') 1 else 0, .max = if (c == '?') 1 else null };
            },
            '{' => return self.counted(),
            else => return null,
        }
    }

    /// {n}, {n,} or {n,m}; a brace that starts none of them is a literal, as in RE2.
    fn counted(self: *Parser) Error!?Bounds {
        const start = self.at;
        self.at += 1;
        const min = self.number() orelse {
            self.at = start;
            return null;
        };
        var max: ?u32 = min;
        if (self.peek() == ',') {
            self.at += 1;
            max = if (self.peek() == '}') null else self.number() orelse {
                self.at = start;
                return null;
            };
        }
        if (self.peek() != '}') {
            self.at = start;
            return null;
        }
        self.at += 1;
        const largest = max orelse min;
        if (largest > max_repeat) return self.failAt(start, .malformed, "a repetition count is over 1000");
        if (largest < min) return self.failAt(start, .malformed, "a repetition's maximum is below its minimum");
        return .{ .min = min, .max = max };
    }

    /// Decimal digits, saturating above max_repeat so that a huge count is refused, not wrapped.
    fn number(self: *Parser) ?u32 {
        const start = self.at;
        var value: u32 = 0;
        while (self.peek()) |c| {
            if (!std.ascii.isDigit(c)) break;
            value = @min(value * 10 + (c - '0'), max_repeat + 1);
            self.at += 1;
        }
        return if (self.at > start) value else null;
    }

    fn atom(self: *Parser) Error!Node {
        const c = self.peek().?;
        switch (c) {
            '(' => return self.group(),
            '[' => return .{ .set = try self.class() },
            '.' => {
                self.at += 1;
                var set = Set{ .non_ascii = true };
                set.add(0, '\n' - 1);
                set.add('\n' + 1, 127);
                return .{ .set = set };
            },
            '^', '$' => {
                self.at += 1;
                return if (c == '^') .begin else .end;
            },
            '*', '+', '?' => return self.fail(.malformed, "a repetition operator has nothing to repeat"),
            '\\' => return self.escape(),
            else => {
                if (c == '{') if (try self.counted() != null) {
                    return self.fail(.malformed, "a repetition operator has nothing to repeat");
                };
                if (c < 128) {
                    self.at += 1;
                    return .{ .byte = c };
                }
                return self.literalSequence();
            },
        }
    }

    /// A non-ASCII character: its UTF-8 bytes in a row, so that a quantifier repeats them all.
    fn literalSequence(self: *Parser) Error!Node {
        const rest = self.pattern[self.at..];
        const len = std.unicode.utf8ByteSequenceLength(rest[0]) catch 0;
        if (len == 0 or len > rest.len or !std.unicode.utf8ValidateSlice(rest[0..len])) {
            return self.fail(.malformed, "the pattern is not valid UTF-8");
        }
        self.at += len;
        return self.bytes(rest[0..len]);
    }

    fn bytes(self: *Parser, sequence: []const u8) Error!Node {
        const nodes = try self.arena.alloc(Node, sequence.len);
        for (nodes, sequence) |*n, b| n.* = .{ .byte = b };
        return .{ .concat = nodes };
    }

    fn group(self: *Parser) Error!Node {
        const open = self.at;
        self.at += 1;
        if (self.startsWith("?:")) {
            self.at += 2;
        } else if (self.startsWith("?P<") or self.startsWith("?<")) {
            const close = std.mem.indexOfScalarPos(u8, self.pattern, self.at, '>') orelse
                return self.fail(.malformed, "a group name is not closed");
            self.at = close + 1;
        } else if (self.peek() == '?') {
            return self.fail(.unsupported, "flags and other (? groups are not supported");
        }
        self.depth += 1;
        defer self.depth -= 1;
        if (self.depth > max_depth) return self.failAt(open, .unsupported, "groups nest more than 100 deep");
        const inner = try self.alternation();
        if (self.peek() != ')') return self.failAt(open, .malformed, "a '(' is not closed");
        self.at += 1;
        return inner;
    }

    fn escape(self: *Parser) Error!Node {
        const start = self.at;
        self.at += 1;
        const c = self.peek() orelse return self.failAt(start, .malformed, "the pattern ends in a backslash");
        switch (c) {
            'b' => {
                self.at += 1;
                return .word_boundary;
            },
            'B' => {
                self.at += 1;
                return .not_word_boundary;
            },
            else => {},
        }
        if (classOf(c)) |set| {
            self.at += 1;
            return .{ .set = set };
        }
        const code = try self.escapedChar(start);
        if (code < 128) return .{ .byte = @intCast(code) };
        // A non-ASCII character outside a class: its UTF-8 bytes in a row.
        var buffer: [4]u8 = undefined;
        const len = std.unicode.utf8Encode(code, &buffer) catch return self.failAt(start, .malformed, "\\x names no character");
        return self.bytes(buffer[0..len]);
    }

    /// The character an escape other than a class names: punctuation, a control letter, \x.
    fn escapedChar(self: *Parser, start: usize) Error!u21 {
        const c = self.pattern[self.at];
        self.at += 1;
        if (c < 128 and !std.ascii.isAlphanumeric(c)) return c;
        switch (c) {
            'n' => return '\n',
            't' => return '\t',
            'r' => return '\r',
            'f' => return '\x0c',
            'v' => return '\x0b',
            'a' => return '\x07',
            'x' => return self.hex(start),
            else => return self.failAt(start, .unsupported, "this escape is not supported"),
        }
    }

    /// \xHH or \x{H...}, after the x.
    fn hex(self: *Parser, start: usize) Error!u21 {
        const braced = self.peek() == '{';
        if (braced) self.at += 1;
        const digits_start = self.at;
        while (self.peek()) |d| {
            if (!std.ascii.isHex(d) or (!braced and self.at - digits_start == 2)) break;
            self.at += 1;
        }
        const digits = self.pattern[digits_start..self.at];
        if (braced) {
            if (self.peek() != '}') return self.failAt(start, .malformed, "a \\x{ is not closed");
            self.at += 1;
        }
        if (digits.len == 0 or (!braced and digits.len != 2) or digits.len > 6) {
            return self.failAt(start, .malformed, "\\x needs two hex digits or {hex}");
        }
        const code = std.fmt.parseInt(u32, digits, 16) catch unreachable;
        if (code > 0x10ffff) return self.failAt(start, .malformed, "\\x names no character");
        return @intCast(code);
    }

    fn class(self: *Parser) Error!Set {
        const open = self.at;
        self.at += 1;
        const negate = self.peek() == '^';
        if (negate) self.at += 1;
        var set: Set = .{};
        var first = true;
        while (true) : (first = false) {
            const c = self.peek() orelse return self.failAt(open, .malformed, "a '[' is not closed");
            if (c == ']' and !first) break;
            if (self.startsWith("[:")) return self.fail(.unsupported, "POSIX classes are not supported");
            if (c == '\\' and self.at + 1 < self.pattern.len) if (classOf(self.pattern[self.at + 1])) |named| {
                self.at += 2;
                set.merge(named);
                continue;
            };
            const range_start = self.at;
            const lo = try self.classChar();
            var hi = lo;
            if (self.peek() == '-' and self.at + 1 < self.pattern.len and self.pattern[self.at + 1] != ']') {
                self.at += 1;
                hi = try self.classChar();
                if (hi < lo) return self.failAt(range_start, .malformed, "a class range ends before it starts");
            }
            set.add(lo, hi);
        }
        self.at += 1;
        return if (negate) set.negated() else set;
    }

    fn classChar(self: *Parser) Error!u8 {
        const start = self.at;
        const c = self.peek() orelse return self.fail(.malformed, "a '[' is not closed");
        const code: u21 = if (c == '\\') blk: {
            self.at += 1;
            if (self.peek() == null) return self.failAt(start, .malformed, "the pattern ends in a backslash");
            break :blk try self.escapedChar(start);
        } else blk: {
            self.at += 1;
            break :blk c;
        };
        if (code >= 128) return self.failAt(start, .unsupported, "non-ASCII characters in a class are not supported");
        return @intCast(code);
    }
};
