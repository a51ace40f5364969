//! RegexFullMatch's engine: a pattern (text_regex_parse.zig) compiled to a program of byte
//! steps, run as a Thompson NFA: every live state advances one byte at a time in lockstep, each
//! state at most once per byte. A full match of n bytes with a program of m steps costs O(n·m)
//! whatever the pattern, so a hostile one such as `(a*)*b` cannot hang a run as it can hang a
//! backtracking engine; patterns and repetitions are bounded so that m stays small.
const std = @import("std");
const parse = @import("text_regex_parse.zig");

pub const Failure = parse.Failure;
pub const Error = parse.Error;

/// Patterns longer than this are refused before parsing.
pub const max_pattern_bytes = 1 << 16;
/// Programs longer than this are refused: repetitions multiply a pattern's size.
pub const max_program = 1 << 16;

const Inst = union(enum) {
    /// Consumes one byte in [lo, hi].
    range: struct { lo: u8, hi: u8 },
    /// Consumes one ASCII byte of the set.
    ascii: u128,
    /// Continues at both targets.
    split: [2]u32,
    jump: u32,
    begin,
    end,
    word_boundary,
    not_word_boundary,
    match,
};

pub const Program = struct {
    code: []const Inst,

    /// The compiled pattern, or BadPattern with `failure` saying what and where.
    pub fn compile(arena: std.mem.Allocator, pattern: []const u8, failure: *Failure) Error!Program {
        if (pattern.len > max_pattern_bytes) {
            failure.* = .{ .kind = .unsupported, .position = max_pattern_bytes, .message = "the pattern is over 64 KiB" };
            return error.BadPattern;
        }
        var parser = parse.Parser{ .arena = arena, .pattern = pattern, .failure = failure };
        const tree = try parser.parse();
        var compiler = Compiler{ .arena = arena, .failure = failure };
        try compiler.emitNode(tree);
        try compiler.emit(.match);
        return .{ .code = compiler.code.items };
    }

    /// Whether the program matches all of `text`.
    pub fn fullMatch(self: *const Program, scratch: *Scratch, text: []const u8) bool {
        std.debug.assert(scratch.seen.len == self.code.len);
        var current = &scratch.lists[0];
        var next = &scratch.lists[1];
        current.len = 0;
        scratch.stamp += 1;
        self.addState(scratch, current, 0, text, 0);
        for (text, 0..) |byte, at| {
            if (current.len == 0) return false;
            next.len = 0;
            scratch.stamp += 1;
            for (current.items[0..current.len]) |pc| {
                const taken = switch (self.code[pc]) {
                    .range => |r| byte >= r.lo and byte <= r.hi,
                    .ascii => |set| byte < 128 and (set >> @intCast(byte)) & 1 != 0,
                    else => false,
                };
                if (taken) self.addState(scratch, next, pc + 1, text, at + 1);
            }
            std.mem.swap(*List, &current, &next);
        }
        for (current.items[0..current.len]) |pc| if (self.code[pc] == .match) return true;
        return false;
    }

    /// Adds `start` and every state reachable from it without consuming a byte, at `at` in
    /// `text`, to `list`; each state once per position (the position's `seen` stamp), through an
    /// explicit stack rather than recursion, so no pattern can overflow the call stack.
    fn addState(self: *const Program, scratch: *Scratch, list: *List, start: u32, text: []const u8, at: usize) void {
        const stamp = scratch.stamp;
        scratch.stack[0] = start;
        var depth: usize = 1;
        while (depth > 0) {
            depth -= 1;
            const pc = scratch.stack[depth];
            if (scratch.seen[pc] == stamp) continue;
            scratch.seen[pc] = stamp;
            const follow = switch (self.code[pc]) {
                .jump => |target| {
                    scratch.stack[depth] = target;
                    depth += 1;
                    continue;
                },
                .split => |targets| {
                    scratch.stack[depth] = targets[1];
                    scratch.stack[depth + 1] = targets[0];
                    depth += 2;
                    continue;
                },
                .begin => at == 0,
                .end => at == text.len,
                .word_boundary => atWordBoundary(text, at),
                .not_word_boundary => !atWordBoundary(text, at),
                .range, .ascii, .match => {
                    list.items[list.len] = pc;
                    list.len += 1;
                    continue;
                },
            };
            if (follow) {
                scratch.stack[depth] = pc + 1;
                depth += 1;
            }
        }
    }
};

fn isWordByte(byte: u8) bool {
    return std.ascii.isAlphanumeric(byte) or byte == '_';
}

/// RE2's \b: ASCII word characters on one side and not on the other.
fn atWordBoundary(text: []const u8, at: usize) bool {
    const before = at > 0 and isWordByte(text[at - 1]);
    const after = at < text.len and isWordByte(text[at]);
    return before != after;
}

const List = struct { items: []u32, len: usize = 0 };

/// A program's working memory, reused across the texts of one run.
pub const Scratch = struct {
    lists: [2]List,
    seen: []u64,
    stack: []u32,
    stamp: u64 = 0,

    pub fn init(arena: std.mem.Allocator, program: *const Program) error{OutOfMemory}!Scratch {
        const n = program.code.len;
        const seen = try arena.alloc(u64, n);
        @memset(seen, 0);
        return .{
            .lists = .{ .{ .items = try arena.alloc(u32, n) }, .{ .items = try arena.alloc(u32, n) } },
            .seen = seen,
            // A split pushes two entries and takes one: one more than the program is enough.
            .stack = try arena.alloc(u32, 2 * n + 1),
        };
    }
};

const Compiler = struct {
    arena: std.mem.Allocator,
    failure: *Failure,
    code: std.ArrayList(Inst) = .empty,
    /// The outermost repetition being expanded, named when the program grows too large.
    repeat_position: ?usize = null,

    fn emit(self: *Compiler, inst: Inst) Error!void {
        if (self.code.items.len >= max_program) {
            self.failure.* = .{
                .kind = .unsupported,
                .position = self.repeat_position orelse 0,
                .message = "the repetitions here make the program over 65536 steps",
            };
            return error.BadPattern;
        }
        try self.code.append(self.arena, inst);
    }

    fn here(self: *const Compiler) u32 {
        return @intCast(self.code.items.len);
    }

    fn emitNode(self: *Compiler, node: parse.Node) Error!void {
        switch (node) {
            .empty => {},
            .byte => |b| try self.emit(.{ .range = .{ .lo = b, .hi = b } }),
            .set => |set| try self.emitSet(set),
            .concat => |items| for (items) |item| try self.emitNode(item),
            .alternate => |branches| try self.emitAlternation(branches),
            .repeat => |r| {
                const outermost = self.repeat_position == null;
                defer if (outermost) {
                    self.repeat_position = null;
                };
                if (outermost) self.repeat_position = r.position;
                try self.emitRepeat(r.node.*, r.min, r.max);
            },
            .begin => try self.emit(.begin),
            .end => try self.emit(.end),
            .word_boundary => try self.emit(.word_boundary),
            .not_word_boundary => try self.emit(.not_word_boundary),
        }
    }

    /// split(b1, next) b1 jump(end) split(b2, next) b2 jump(end) ... bn.
    fn emitAlternation(self: *Compiler, branches: []const parse.Node) Error!void {
        var exits: std.ArrayList(usize) = .empty;
        for (branches, 0..) |branch, i| {
            const last = i + 1 == branches.len;
            const fork = self.here();
            if (!last) try self.emit(.{ .split = .{ fork + 1, 0 } });
            try self.emitNode(branch);
            if (last) break;
            try exits.append(self.arena, self.code.items.len);
            try self.emit(.{ .jump = 0 });
            self.code.items[fork].split[1] = self.here();
        }
        for (exits.items) |at| self.code.items[at].jump = self.here();
    }

    /// min copies, then either a loop (no maximum) or max - min optional copies.
    fn emitRepeat(self: *Compiler, node: parse.Node, min: u32, max: ?u32) Error!void {
        for (0..min) |_| try self.emitNode(node);
        if (max == null) {
            const fork = self.here();
            try self.emit(.{ .split = .{ fork + 1, 0 } });
            try self.emitNode(node);
            try self.emit(.{ .jump = fork });
            self.code.items[fork].split[1] = self.here();
            return;
        }
        var skips: std.ArrayList(usize) = .empty;
        for (min..max.?) |_| {
            try skips.append(self.arena, self.code.items.len);
            try self.emit(.{ .split = .{ self.here() + 1, 0 } });
            try self.emitNode(node);
        }
        for (skips.items) |at| self.code.items[at].split[1] = self.here();
    }

    /// The ASCII members as one step; every non-ASCII character, when the set has them, as a
    /// lead byte and its continuation bytes.
    fn emitSet(self: *Compiler, set: parse.Set) Error!void {
        if (!set.non_ascii) return self.emit(.{ .ascii = set.ascii });
        const sequences = [_][]const [2]u8{
            &.{ .{ 0xc2, 0xdf }, .{ 0x80, 0xbf } },
            &.{ .{ 0xe0, 0xef }, .{ 0x80, 0xbf }, .{ 0x80, 0xbf } },
            &.{ .{ 0xf0, 0xf4 }, .{ 0x80, 0xbf }, .{ 0x80, 0xbf }, .{ 0x80, 0xbf } },
        };
        var exits: [sequences.len]usize = undefined;
        for (sequences, &exits) |steps, *exit| {
            const fork = self.here();
            try self.emit(.{ .split = .{ fork + 1, 0 } });
            for (steps) |r| try self.emit(.{ .range = .{ .lo = r[0], .hi = r[1] } });
            exit.* = self.code.items.len;
            try self.emit(.{ .jump = 0 });
            self.code.items[fork].split[1] = self.here();
        }
        try self.emit(.{ .ascii = set.ascii });
        for (exits) |at| self.code.items[at].jump = self.here();
    }
};

/// Whether `pattern` matches all of `text`; the pattern must compile.
fn matches(pattern: []const u8, text: []const u8) !bool {
    var state = std.heap.ArenaAllocator.init(std.testing.allocator);
    defer state.deinit();
    var failure: Failure = .{};
    const program = Program.compile(state.allocator(), pattern, &failure) catch |e| {
        std.debug.print("pattern {s}: {s} at {d}\n", .{ pattern, failure.message, failure.position });
        return e;
    };
    var scratch = try Scratch.init(state.allocator(), &program);
    return program.fullMatch(&scratch, text);
}

fn expectFailure(pattern: []const u8, kind: parse.Kind, position: usize) !void {
    var state = std.heap.ArenaAllocator.init(std.testing.allocator);
    defer state.deinit();
    var failure: Failure = .{};
    try std.testing.expectError(error.BadPattern, Program.compile(state.allocator(), pattern, &failure));
    try std.testing.expectEqual(kind, failure.kind);
    try std.testing.expectEqual(position, failure.position);
    try std.testing.expect(failure.message.len > 0);
}

test "full matches of literals, classes, groups, alternation and quantifiers" {
    const cases = .{
        .{ "abc", "abc", true },             .{ "abc", "abcd", false },           .{ "a.c", "a-c", true },
        .{ "a.c", "a\nc", false },           .{ "[a-c]+x", "abcax", true },       .{ "[^a-c]+", "xyz", true },
        .{ "[^a-c]+", "xaz", false },        .{ "\\d{3}-\\d{2,}", "123-4567", true }, .{ "\\d{3}", "12", false },
        .{ "\\w+\\s\\W", "ab_9 !", true },  .{ "\\S\\D", "a1", false },           .{ "(ab|cd)*e", "abcdabe", true },
        .{ "(?:ab)+", "abab", true },        .{ "(?:ab)+", "aba", false },         .{ "a{2,3}", "aaaa", false },
        .{ "a{2,3}?", "aaa", true },         .{ "a+?b*?", "aab", true },           .{ "x{0}y", "y", true },
        .{ "a|", "", true },                 .{ "", "", true },                    .{ "^ab$", "ab", true },
        .{ "a^b", "ab", false },             .{ "a{,2}", "a{,2}", true },          .{ "\\.\\*\\\\", ".*\\", true },
        .{ "[\\w.\\-]{0,25}@x", "a.b-c@x", true }, .{ "[]a]+", "]a]", true },     .{ "[a-]+", "-a", true },
        .{ "\\x41\\x{42}", "AB", true },     .{ "(?P<n>a)b", "ab", true },          .{ "\\t\\n", "\t\n", true },
        .{ "caf\\x{e9}", "café", true },     .{ "caf.", "café", true },            .{ "caf[^a]", "café", true },
        .{ "\\W", "é", true },               .{ "..", "é", false },                .{ "é+", "éé", true },
    };
    inline for (cases) |case| {
        if (try matches(case[0], case[1]) != case[2]) {
            std.debug.print("{s} on {s}: expected {}\n", .{ case[0], case[1], case[2] });
            return error.TestUnexpectedResult;
        }
    }
}

test "word boundaries and anchors as in onnx's cases" {
    const domain = "www\\.[\\w.-]+\\.\\bcom\\b";
    try std.testing.expect(try matches(domain, "www.google.com"));
    try std.testing.expect(!try matches(domain, "www.facebook.comma"));
    try std.testing.expect(!try matches(domain, "www.example.org"));
    const email = "(\\W|^)[\\w.\\-]{0,25}@(yahoo|gmail)\\.com(\\W|$)";
    try std.testing.expect(try matches(email, "account@gmail.com"));
    try std.testing.expect(!try matches(email, "not email"));
    try std.testing.expect(!try matches(email, "account@yahoo.co"));
    try std.testing.expect(try matches("a\\Bb", "ab"));
    try std.testing.expect(!try matches("a\\bb", "ab"));
}

test "a hostile pattern runs in linear time" {
    // A backtracking engine takes 2^n steps on (a*)*b against a^n; this one n·m.
    const text = "a" ** 5000;
    try std.testing.expect(!try matches("(a*)*b", text));
    try std.testing.expect(!try matches("(a|a)*(a|a)*(a|aa)*c", text));
    try std.testing.expect(try matches("(a*)*", text));
    try std.testing.expect(try matches("(x+x+)+y|a+", text));
}

test "malformed and unsupported patterns name their position" {
    try expectFailure("ab(c", .malformed, 2);
    try expectFailure("ab)c", .malformed, 2);
    try expectFailure("[abc", .malformed, 0);
    try expectFailure("x*+", .malformed, 1);
    try expectFailure("*a", .malformed, 0);
    try expectFailure("a|?", .malformed, 2);
    try expectFailure("a{3,2}", .malformed, 1);
    try expectFailure("a{1001}", .malformed, 1);
    try expectFailure("[z-a]", .malformed, 1);
    try expectFailure("a\xff", .malformed, 1);
    try expectFailure("ab\\", .malformed, 2);
    try expectFailure("\\x4", .malformed, 0);
    try expectFailure("(?i)a", .unsupported, 1);
    try expectFailure("a\\pL", .unsupported, 1);
    try expectFailure("[[:alpha:]]", .unsupported, 1);
    try expectFailure("[é]", .unsupported, 1);
    try expectFailure("x(a{1000}){1000}", .unsupported, 10);
    try expectFailure("(" ** 101 ++ ")" ** 101, .unsupported, 100);
}
