//! Symbolic dims for shape inference: a dim is a known integer or an expression over named symbols
//! (ONNX dim_params such as "batch"). A Pool interns every expression of one model in a canonical
//! form (built by symbolic_simplify.zig), so that equal expressions have equal ids and shape checks
//! compare Dims with ==. The text form (format/parse) is what messages, caches and user overrides
//! use; it is deterministic and independent of the order in which expressions were built.
//!
//! Text syntax: integers, names, + - * / % and parentheses with the usual precedence (left to right
//! within a level; a leading minus negates the whole first term, so -a/b is -(a/b)), min(a,b),
//! max(a,b) and ceil(a,b) for ceiling division. A bare name matches [A-Za-z_][A-Za-z0-9_.:]*; any
//! other name is written in double quotes with \" and \\ escapes ("seq-len"), since '-' is minus.
//! Division and modulo are floor division and floor modulo.
const std = @import("std");
const status = @import("../core/status.zig");
const simplify = @import("symbolic_simplify.zig");

const Error = status.Error;
const Writer = std.Io.Writer;

/// An interned expression: two Dims of one pool are equal exactly when their canonical forms are.
pub const Dim = enum(u32) { _ };

/// Bounds on one expression, so that every recursion over it (ordering, format, eval, substitute)
/// is bounded and no input exhausts the stack or memory. `depth` counts nested nodes, `size` counts
/// nodes as a tree (shared children once per use), which also bounds the length of its text.
pub const max_depth = 96;
pub const max_size = 4096;
/// Parentheses and calls parse may nest; deeper text could not produce a legal expression anyway.
const max_nesting = 2 * max_depth;

pub const Pair = struct { a: Dim, b: Dim };
/// coef times the product of atoms, which are sorted (simplify.order) and may repeat (N*N).
pub const Term = struct { coef: i64, atoms: []const Dim };

/// One canonical expression. Symbols and div/mod/min/max are atoms. A sum holds its terms sorted
/// with the constant last, and is never a lone constant or a lone atom with coefficient 1 (those
/// are represented by the constant or the atom itself).
pub const Node = union(enum) {
    constant: i64,
    symbol: []const u8,
    div: Pair,
    mod: Pair,
    min: Pair,
    max: Pair,
    sum: []const Term,
};

pub fn pairOf(node: Node) ?Pair {
    return switch (node) {
        .div, .mod, .min, .max => |p| p,
        else => null,
    };
}

const Entry = struct { node: Node, hash: u64, depth: u32, size: u32 };

/// Owns and interns all expressions of one model. Dims are only meaningful with the pool that made
/// them. Not thread-safe: one shape-inference pass owns a pool.
pub const Pool = struct {
    gpa: std.mem.Allocator,
    /// Names, term lists and atom lists of interned nodes, freed all at once with the pool.
    arena: std.heap.ArenaAllocator,
    entries: std.ArrayList(Entry) = .empty,
    index: std.HashMapUnmanaged(Dim, void, IndexContext, std.hash_map.default_max_load_percentage) = .empty,

    pub fn init(gpa: std.mem.Allocator) Pool {
        return .{ .gpa = gpa, .arena = std.heap.ArenaAllocator.init(gpa) };
    }

    pub fn deinit(self: *Pool) void {
        self.index.deinit(self.gpa);
        self.entries.deinit(self.gpa);
        self.arena.deinit();
        self.* = undefined;
    }

    pub fn constant(self: *Pool, v: i64) Error!Dim {
        return self.intern(.{ .constant = v });
    }

    /// A symbol stands for a dim, so it is taken to be >= 0. The name is copied.
    pub fn symbol(self: *Pool, name: []const u8) Error!Dim {
        if (name.len == 0) return status.fail(error.ShapeError, "a dim symbol needs a name", .{});
        return self.intern(.{ .symbol = name });
    }

    pub fn add(self: *Pool, a: Dim, b: Dim) Error!Dim {
        return simplify.add(self, a, b);
    }

    pub fn sub(self: *Pool, a: Dim, b: Dim) Error!Dim {
        return simplify.sub(self, a, b);
    }

    pub fn mul(self: *Pool, a: Dim, b: Dim) Error!Dim {
        return simplify.mul(self, a, b);
    }

    /// Floor division. A symbolic divisor is assumed > 0 where the expression is defined.
    pub fn div(self: *Pool, a: Dim, b: Dim) Error!Dim {
        return simplify.div(self, a, b);
    }

    /// Ceiling division; with a symbolic divisor, assumes it is > 0 (true of dims).
    pub fn ceilDiv(self: *Pool, a: Dim, b: Dim) Error!Dim {
        return simplify.ceilDiv(self, a, b);
    }

    /// Floor modulo: the result takes the sign of the divisor.
    pub fn mod(self: *Pool, a: Dim, b: Dim) Error!Dim {
        return simplify.mod(self, a, b);
    }

    pub fn min(self: *Pool, a: Dim, b: Dim) Error!Dim {
        return simplify.min(self, a, b);
    }

    pub fn max(self: *Pool, a: Dim, b: Dim) Error!Dim {
        return simplify.max(self, a, b);
    }

    /// The integer, when the expression is constant.
    pub fn value(self: *const Pool, d: Dim) ?i64 {
        return switch (self.node(d)) {
            .constant => |v| v,
            else => null,
        };
    }

    pub fn isSymbolic(self: *const Pool, d: Dim) bool {
        return self.value(d) == null;
    }

    /// Evaluates with values for the symbols. Fails with ShapeError on an unbound symbol (or one
    /// bound to a non-constant Dim, or to a negative value), on division by zero and on overflow.
    pub fn eval(self: *const Pool, d: Dim, bindings: *const Bindings) Error!i64 {
        return switch (self.node(d)) {
            .constant => |v| v,
            .symbol => |name| self.lookup(name, bindings),
            .div, .mod => |p| self.evalDivision(d, p, bindings),
            .min => |p| @min(try self.eval(p.a, bindings), try self.eval(p.b, bindings)),
            .max => |p| @max(try self.eval(p.a, bindings), try self.eval(p.b, bindings)),
            .sum => |terms| self.evalSum(d, terms, bindings),
        };
    }

    /// Writes the canonical text, such as "2*batch+1", "min(N,4)" or "(N+3)/4".
    pub fn format(self: *const Pool, d: Dim, writer: *Writer) Writer.Error!void {
        return writeExpr(self, d, writer);
    }

    /// For "{f}" in messages: `status.fail(error.ShapeError, "dim {f}", .{pool.fmt(d)})`.
    pub fn fmt(self: *const Pool, d: Dim) Formatted {
        return .{ .pool = self, .dim = d };
    }

    /// Reads the text syntax described at the top of this file; parse(format(d)) == d.
    pub fn parse(self: *Pool, text: []const u8) Error!Dim {
        var parser: Parser = .{ .pool = self, .text = text };
        return parser.parseAll();
    }

    /// Replaces every bound symbol (all at once, not repeatedly) and simplifies the result.
    /// Unbound symbols stay. A Dim binding must come from this pool.
    pub fn substitute(self: *Pool, d: Dim, bindings: *const Bindings) Error!Dim {
        var memo: std.AutoHashMapUnmanaged(Dim, Dim) = .empty;
        defer memo.deinit(self.gpa);
        return self.substituteIn(d, bindings, &memo);
    }

    /// Appends to `out` each symbol of d that `out` does not hold yet, in the order of the text.
    /// The names belong to the pool.
    pub fn symbols(self: *const Pool, d: Dim, out: *std.ArrayList([]const u8), gpa: std.mem.Allocator) Error!void {
        switch (self.node(d)) {
            .constant => {},
            .symbol => |name| {
                for (out.items) |seen| if (std.mem.eql(u8, seen, name)) return;
                out.append(gpa, name) catch return outOfMemory();
            },
            .div, .mod, .min, .max => |p| {
                try self.symbols(p.a, out, gpa);
                try self.symbols(p.b, out, gpa);
            },
            .sum => |terms| for (terms) |t| for (t.atoms) |atom| try self.symbols(atom, out, gpa),
        }
    }

    /// The node behind an id (for symbolic_simplify.zig). A copy: entries move as the pool grows,
    /// while the slices inside live in the arena and stay put.
    pub fn node(self: *const Pool, d: Dim) Node {
        std.debug.assert(@intFromEnum(d) < self.entries.items.len);
        return self.entries.items[@intFromEnum(d)].node;
    }

    /// The id of a canonical node, adding it when new (for symbolic_simplify.zig, which alone builds
    /// canonical nodes). Lookups allocate nothing; a new node's slices are copied into the arena.
    pub fn intern(self: *Pool, key: Node) Error!Dim {
        const hash = hashNode(key);
        const adapter: KeyContext = .{ .entries = self.entries.items, .hash_value = hash };
        if (self.index.getKeyAdapted(key, adapter)) |d| return d;
        const shape = try self.measure(key);
        if (self.entries.items.len >= std.math.maxInt(u32)) return tooLarge(self.entries.items.len);
        const owned = self.own(key) catch return outOfMemory();
        self.entries.ensureUnusedCapacity(self.gpa, 1) catch return outOfMemory();
        self.index.ensureUnusedCapacityContext(self.gpa, 1, self.indexContext()) catch return outOfMemory();
        const d: Dim = @enumFromInt(self.entries.items.len);
        self.entries.appendAssumeCapacity(.{ .node = owned, .hash = hash, .depth = shape.depth, .size = shape.size });
        self.index.putAssumeCapacityNoClobberContext(d, {}, self.indexContext());
        return d;
    }

    fn indexContext(self: *const Pool) IndexContext {
        return .{ .entries = self.entries.items };
    }

    const Shape = struct { depth: u32, size: u32 };

    fn measure(self: *const Pool, key: Node) Error!Shape {
        var depth: u64 = 0;
        var size: u64 = 1;
        switch (key) {
            .constant, .symbol => {},
            .div, .mod, .min, .max => |p| for ([_]Dim{ p.a, p.b }) |child| {
                const e = self.entries.items[@intFromEnum(child)];
                depth = @max(depth, e.depth);
                size += e.size;
            },
            .sum => |terms| for (terms) |t| {
                size += 1;
                for (t.atoms) |atom| {
                    const e = self.entries.items[@intFromEnum(atom)];
                    depth = @max(depth, e.depth);
                    size += e.size;
                }
            },
        }
        depth += 1;
        if (depth > max_depth) {
            return status.fail(error.ShapeError, "dim expression nests deeper than {d} levels", .{max_depth});
        }
        if (size > max_size) return tooLarge(size);
        return .{ .depth = @intCast(depth), .size = @intCast(size) };
    }

    fn own(self: *Pool, key: Node) std.mem.Allocator.Error!Node {
        const a = self.arena.allocator();
        switch (key) {
            .symbol => |name| return .{ .symbol = try a.dupe(u8, name) },
            .sum => |terms| {
                const copy = try a.alloc(Term, terms.len);
                for (terms, copy) |t, *c| c.* = .{ .coef = t.coef, .atoms = try a.dupe(Dim, t.atoms) };
                return .{ .sum = copy };
            },
            else => return key,
        }
    }

    fn lookup(self: *const Pool, name: []const u8, bindings: *const Bindings) Error!i64 {
        const binding = bindings.get(name) orelse {
            return status.fail(error.ShapeError, "dim symbol '{s}' has no value", .{name});
        };
        const v = switch (binding) {
            .value => |v| v,
            .dim => |x| self.value(x) orelse return status.fail(error.ShapeError,
                "dim symbol '{s}' is bound to the expression {f}, not to a value", .{ name, self.fmt(x) }),
        };
        return checkedBinding(name, v);
    }

    fn evalDivision(self: *const Pool, d: Dim, p: Pair, bindings: *const Bindings) Error!i64 {
        const a = try self.eval(p.a, bindings);
        const b = try self.eval(p.b, bindings);
        if (b == 0) return status.fail(error.ShapeError, "dim division by zero evaluating {f}", .{self.fmt(d)});
        if (self.node(d) == .mod) return simplify.floorMod(a, b);
        return simplify.floorDiv(a, b);
    }

    /// Accumulates in i128 so that the order of the terms cannot make an in-range result overflow.
    fn evalSum(self: *const Pool, d: Dim, terms: []const Term, bindings: *const Bindings) Error!i64 {
        var total: i128 = 0;
        for (terms) |t| {
            var product: i128 = t.coef;
            for (t.atoms) |atom| {
                product = std.math.mul(i128, product, try self.eval(atom, bindings)) catch return self.evalOverflow(d);
            }
            total = std.math.add(i128, total, product) catch return self.evalOverflow(d);
        }
        return std.math.cast(i64, total) orelse self.evalOverflow(d);
    }

    fn evalOverflow(self: *const Pool, d: Dim) Error {
        return status.fail(error.ShapeError, "dim {f} overflows 64 bits for these values", .{self.fmt(d)});
    }

    fn substituteIn(self: *Pool, d: Dim, bindings: *const Bindings, memo: *std.AutoHashMapUnmanaged(Dim, Dim)) Error!Dim {
        if (memo.get(d)) |done| return done;
        const result = switch (self.node(d)) {
            .constant => d,
            .symbol => |name| if (bindings.get(name)) |b| try self.boundDim(name, b) else d,
            .div, .mod, .min, .max => |p| try self.applyPair(
                self.node(d),
                try self.substituteIn(p.a, bindings, memo),
                try self.substituteIn(p.b, bindings, memo),
            ),
            .sum => |terms| blk: {
                var total = try self.constant(0);
                for (terms) |t| {
                    var product = try self.constant(t.coef);
                    for (t.atoms) |atom| product = try self.mul(product, try self.substituteIn(atom, bindings, memo));
                    total = try self.add(total, product);
                }
                break :blk total;
            },
        };
        memo.put(self.gpa, d, result) catch return outOfMemory();
        return result;
    }

    fn boundDim(self: *Pool, name: []const u8, binding: Bindings.Binding) Error!Dim {
        return switch (binding) {
            .value => |v| self.constant(try checkedBinding(name, v)),
            .dim => |x| x,
        };
    }

    fn applyPair(self: *Pool, op: Node, a: Dim, b: Dim) Error!Dim {
        return switch (op) {
            .div => self.div(a, b),
            .mod => self.mod(a, b),
            .min => self.min(a, b),
            .max => self.max(a, b),
            .constant, .symbol, .sum => unreachable,
        };
    }
};

/// The simplifier assumes dims are >= 0, so a negative value would make its results wrong.
fn checkedBinding(name: []const u8, v: i64) Error!i64 {
    if (v < 0) return status.fail(error.ShapeError, "dim symbol '{s}' is bound to {d}; dims are >= 0", .{ name, v });
    return v;
}

/// Values (for eval and substitute) or expressions of one pool (for substitute) for symbols.
pub const Bindings = struct {
    gpa: std.mem.Allocator,
    /// Keys are copies owned by the map.
    map: std.StringHashMapUnmanaged(Binding) = .empty,

    pub const Binding = union(enum) { value: i64, dim: Dim };

    pub fn init(gpa: std.mem.Allocator) Bindings {
        return .{ .gpa = gpa };
    }

    pub fn deinit(self: *Bindings) void {
        var names = self.map.keyIterator();
        while (names.next()) |name| self.gpa.free(name.*);
        self.map.deinit(self.gpa);
        self.* = undefined;
    }

    pub fn put(self: *Bindings, name: []const u8, v: i64) Error!void {
        return self.set(name, .{ .value = v });
    }

    pub fn putDim(self: *Bindings, name: []const u8, d: Dim) Error!void {
        return self.set(name, .{ .dim = d });
    }

    pub fn get(self: *const Bindings, name: []const u8) ?Binding {
        return self.map.get(name);
    }

    fn set(self: *Bindings, name: []const u8, binding: Binding) Error!void {
        const slot = self.map.getOrPut(self.gpa, name) catch return outOfMemory();
        if (!slot.found_existing) {
            slot.key_ptr.* = self.gpa.dupe(u8, name) catch {
                self.map.removeByPtr(slot.key_ptr);
                return outOfMemory();
            };
        }
        slot.value_ptr.* = binding;
    }
};

pub const Formatted = struct {
    pool: *const Pool,
    dim: Dim,

    pub fn format(self: Formatted, writer: *Writer) Writer.Error!void {
        return self.pool.format(self.dim, writer);
    }
};

pub fn outOfMemory() Error {
    return status.fail(error.OutOfResource, "out of memory building a dim expression", .{});
}

pub fn tooLarge(size: u64) Error {
    return status.fail(error.ShapeError, "dim expression too large: {d} nodes, the limit is {d}", .{ size, max_size });
}

const IndexContext = struct {
    entries: []const Entry,

    pub fn hash(self: IndexContext, d: Dim) u64 {
        return self.entries[@intFromEnum(d)].hash;
    }

    pub fn eql(_: IndexContext, a: Dim, b: Dim) bool {
        return a == b;
    }
};

/// Looks a candidate node up by content, with its hash computed once.
const KeyContext = struct {
    entries: []const Entry,
    hash_value: u64,

    pub fn hash(self: KeyContext, _: Node) u64 {
        return self.hash_value;
    }

    pub fn eql(self: KeyContext, key: Node, d: Dim) bool {
        return nodeEql(key, self.entries[@intFromEnum(d)].node);
    }
};

/// Children are interned already, so hashing their ids hashes their structure.
fn hashNode(key: Node) u64 {
    var h = std.hash.Wyhash.init(0);
    h.update(&[_]u8{@intFromEnum(std.meta.activeTag(key))});
    switch (key) {
        .constant => |v| h.update(std.mem.asBytes(&v)),
        .symbol => |name| h.update(name),
        .div, .mod, .min, .max => |p| h.update(std.mem.sliceAsBytes(&[_]Dim{ p.a, p.b })),
        .sum => |terms| for (terms) |t| {
            const len: u64 = t.atoms.len;
            h.update(std.mem.asBytes(&t.coef));
            h.update(std.mem.asBytes(&len));
            h.update(std.mem.sliceAsBytes(t.atoms));
        },
    }
    return h.final();
}

fn nodeEql(x: Node, y: Node) bool {
    if (std.meta.activeTag(x) != std.meta.activeTag(y)) return false;
    return switch (x) {
        .constant => |v| v == y.constant,
        .symbol => |name| std.mem.eql(u8, name, y.symbol),
        .div, .mod, .min, .max => |p| p.a == pairOf(y).?.a and p.b == pairOf(y).?.b,
        .sum => |terms| terms.len == y.sum.len and for (terms, y.sum) |s, t| {
            if (s.coef != t.coef or !std.mem.eql(Dim, s.atoms, t.atoms)) break false;
        } else true,
    };
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
        return status.fail(error.ShapeError, "cannot parse dim '{s}': {s} at offset {d}", .{ p.text, what, p.pos });
    }
};

test {
    _ = simplify;
}

const testing = std.testing;

fn textOf(pool: *const Pool, d: Dim) ![]u8 {
    return std.fmt.allocPrint(testing.allocator, "{f}", .{pool.fmt(d)});
}

fn expectText(pool: *const Pool, d: Dim, expected: []const u8) !void {
    const text = try textOf(pool, d);
    defer testing.allocator.free(text);
    try testing.expectEqualStrings(expected, text);
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
    try testing.expectEqual(@as(?i64, std.math.minInt(i64)), pool.value(try pool.parse("-9223372036854775807-1")));
    try testing.expectEqual(@as(?i64, -5), pool.value(try pool.parse("-5")));
    try testing.expectEqual(n, try pool.parse("(((N)))"));
}

test "parse rejects malformed text with ShapeError" {
    var pool = Pool.init(testing.allocator);
    defer pool.deinit();
    const bad = [_][]const u8{
        "",              "   ",     "N+",     "(N",    "N)",                   "3 $",   "min(N)", "max(N,)",
        "min(N,M",       "2N",      "N--M",   "N*-1",  "99999999999999999999", "\"abc", "\"\"",   "ceil(N/2)",
        "N/0",           "N%(M-M)", "4,",     "-",     "()",                   "1.5",
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

test "eval uses the bindings and reports what it cannot compute" {
    var pool = Pool.init(testing.allocator);
    defer pool.deinit();
    var bindings = Bindings.init(testing.allocator);
    defer bindings.deinit();
    const d = try pool.parse("(N+3)/4*M + min(N, 7) + M%3");
    try bindings.put("N", 10);
    try testing.expectError(error.ShapeError, pool.eval(d, &bindings));
    try testing.expectEqualStrings("dim symbol 'M' has no value", std.mem.span(status.lastMessage()));
    try bindings.put("M", 5);
    try testing.expectEqual(@as(i64, 3 * 5 + 7 + 2), try pool.eval(d, &bindings));
    try bindings.put("M", 0); // replaces the value
    try testing.expectEqual(@as(i64, 7), try pool.eval(d, &bindings));
    try testing.expectError(error.ShapeError, pool.eval(try pool.parse("N/M"), &bindings));
    try testing.expectError(error.ShapeError, pool.eval(try pool.parse("N%M"), &bindings));
    try bindings.put("M", std.math.maxInt(i64));
    try testing.expectError(error.ShapeError, pool.eval(try pool.parse("M*N"), &bindings));
    try testing.expectEqual(@as(i64, std.math.maxInt(i64)), try pool.eval(try pool.parse("M+N-N"), &bindings));
    try bindings.put("M", -1);
    try testing.expectError(error.ShapeError, pool.eval(try pool.parse("M"), &bindings));
    try bindings.putDim("M", try pool.constant(6));
    try testing.expectEqual(@as(i64, 16), try pool.eval(try pool.parse("M+N"), &bindings));
    try bindings.putDim("M", try pool.parse("N+1"));
    try testing.expectError(error.ShapeError, pool.eval(try pool.parse("M+N"), &bindings));
}

test "substitute fixes some symbols and simplifies the rest" {
    var pool = Pool.init(testing.allocator);
    defer pool.deinit();
    var bindings = Bindings.init(testing.allocator);
    defer bindings.deinit();
    const d = try pool.parse("(N*M+3)/4 + min(N, S) - M");
    try bindings.put("M", 4);
    try testing.expectEqual(try pool.parse("N+min(N,S)-4"), try pool.substitute(d, &bindings));
    try bindings.putDim("N", try pool.parse("S+1"));
    try expectText(&pool, try pool.substitute(d, &bindings), "2*S-3");
    // Substitution is simultaneous: N -> M and M -> N swap them.
    var swap = Bindings.init(testing.allocator);
    defer swap.deinit();
    try swap.putDim("N", try pool.symbol("M"));
    try swap.putDim("M", try pool.symbol("N"));
    try testing.expectEqual(try pool.parse("2*M+N"), try pool.substitute(try pool.parse("2*N+M"), &swap));
    // Not repeated either: the S brought in by N's expression stays.
    try bindings.put("S", 2);
    const once = try pool.substitute(d, &bindings);
    try expectText(&pool, once, "S+min(S+1,2)-3");
    try testing.expectEqual(@as(?i64, 1), pool.value(try pool.substitute(once, &bindings)));
    try bindings.put("S", -2);
    try testing.expectError(error.ShapeError, pool.substitute(d, &bindings));
}

test "symbols lists each name once" {
    var pool = Pool.init(testing.allocator);
    defer pool.deinit();
    var names: std.ArrayList([]const u8) = .empty;
    defer names.deinit(testing.allocator);
    try pool.symbols(try pool.parse("batch*N + N/M + min(batch, 4) + 7"), &names, testing.allocator);
    try testing.expectEqual(@as(usize, 3), names.items.len);
    try testing.expectEqualStrings("N", names.items[0]);
    try testing.expectEqualStrings("batch", names.items[1]);
    try testing.expectEqualStrings("M", names.items[2]);
    try pool.symbols(try pool.constant(3), &names, testing.allocator);
    try testing.expectEqual(@as(usize, 3), names.items.len);
}

test "expressions deeper or larger than the limits fail with ShapeError" {
    var pool = Pool.init(testing.allocator);
    defer pool.deinit();
    try testing.expectError(error.ShapeError, pool.symbol(""));
    const n = try pool.symbol("N");
    var d = n;
    const result = for (0..2 * max_depth) |i| {
        const name = try std.fmt.allocPrint(testing.allocator, "s{d}", .{i});
        defer testing.allocator.free(name);
        d = pool.min(d, try pool.symbol(name)) catch |err| break err;
    } else error.TestUnexpectedResult;
    try testing.expectEqual(error.ShapeError, result);
    // Text built from shared subexpressions would be exponential; the size limit stops it.
    d = n;
    const doubling = for (0..64) |_| {
        d = pool.max(try pool.div(d, n), try pool.mod(d, n)) catch |err| break err;
    } else error.TestUnexpectedResult;
    try testing.expectEqual(error.ShapeError, doubling);
}

/// Values of the symbols in each environment of the randomized test; column i is names[i].
const test_names = [_][]const u8{ "N", "M", "batch", "seq-len" };
const test_envs = [_][test_names.len]i64{
    .{ 0, 0, 0, 0 },
    .{ 1, 2, 3, 4 },
    .{ 7, 3, 12, 5 },
    .{ 16, 9, 1, 0 },
    .{ 5, 11, 8, 2 },
};

const Op = enum { add, sub, mul, div, ceil_div, mod, min, max };

/// An expression with its values in each environment, computed op by op from the integers with no
/// simplification: the reference the canonical forms must agree with. Null where undefined.
const Sample = struct { dim: Dim, values: [test_envs.len]?i64 };

const Generator = struct {
    pool: *Pool,
    random: std.Random,

    fn leaf(g: Generator) !Sample {
        if (g.random.boolean()) {
            const v = g.random.intRangeAtMost(i64, -3, 9);
            return .{ .dim = try g.pool.constant(v), .values = @splat(v) };
        }
        const i = g.random.uintLessThan(usize, test_names.len);
        var values: [test_envs.len]?i64 = undefined;
        for (&values, test_envs) |*v, env| v.* = env[i];
        return .{ .dim = try g.pool.symbol(test_names[i]), .values = values };
    }

    fn expr(g: Generator, depth: u32) !Sample {
        if (depth == 0 or g.random.uintLessThan(u8, 5) == 0) return g.leaf();
        const a = try g.expr(depth - 1);
        const b = try g.expr(depth - 1);
        const op = g.random.enumValue(Op);
        const d = apply(g.pool, op, a.dim, b.dim) catch |err| switch (err) {
            error.ShapeError => return g.leaf(), // a constant division by zero, say
            else => return err,
        };
        var values: [test_envs.len]?i64 = undefined;
        for (&values, a.values, b.values) |*v, x, y| v.* = reference(op, x orelse null, y orelse null);
        return .{ .dim = d, .values = values };
    }
};

fn apply(pool: *Pool, op: Op, a: Dim, b: Dim) Error!Dim {
    return switch (op) {
        .add => pool.add(a, b),
        .sub => pool.sub(a, b),
        .mul => pool.mul(a, b),
        .div => pool.div(a, b),
        .ceil_div => pool.ceilDiv(a, b),
        .mod => pool.mod(a, b),
        .min => pool.min(a, b),
        .max => pool.max(a, b),
    };
}

fn reference(op: Op, x: ?i64, y: ?i64) ?i64 {
    const a = x orelse return null;
    const b = y orelse return null;
    return switch (op) {
        .add => std.math.add(i64, a, b) catch null,
        .sub => std.math.sub(i64, a, b) catch null,
        .mul => std.math.mul(i64, a, b) catch null,
        .div => if (b == 0) null else simplify.floorDiv(a, b) catch null,
        // ceilDiv by a symbol assumes a positive divisor, as dims are.
        .ceil_div => if (b <= 0) null else -@divFloor(-a, b),
        .mod => if (b == 0) null else simplify.floorMod(a, b),
        .min => @min(a, b),
        .max => @max(a, b),
    };
}

test "random expressions: text round trips and values agree with the reference" {
    var pool = Pool.init(testing.allocator);
    defer pool.deinit();
    var envs: [test_envs.len]Bindings = undefined;
    for (&envs, test_envs) |*bindings, values| {
        bindings.* = Bindings.init(testing.allocator);
        for (test_names, values) |name, v| try bindings.put(name, v);
    }
    defer for (&envs) |*bindings| bindings.deinit();
    var prng = std.Random.DefaultPrng.init(0x5eed_d1a5);
    const g: Generator = .{ .pool = &pool, .random = prng.random() };
    for (0..600) |_| {
        const sample = try g.expr(4);
        const text = try textOf(&pool, sample.dim);
        defer testing.allocator.free(text);
        errdefer std.debug.print("expression: {s}\n", .{text});
        try testing.expectEqual(sample.dim, try pool.parse(text));
        // A fresh pool, whose ids differ, reads and writes the same text.
        var fresh = Pool.init(testing.allocator);
        defer fresh.deinit();
        try expectText(&fresh, try fresh.parse(text), text);
        for (sample.values, &envs) |expected, *bindings| {
            if (expected) |v| try testing.expectEqual(v, try pool.eval(sample.dim, bindings));
        }
    }
}

test "random expressions obey the ring laws and min/max symmetry" {
    var pool = Pool.init(testing.allocator);
    defer pool.deinit();
    var prng = std.Random.DefaultPrng.init(42);
    const g: Generator = .{ .pool = &pool, .random = prng.random() };
    for (0..300) |_| {
        const a = (try g.expr(3)).dim;
        const b = (try g.expr(3)).dim;
        const c = (try g.expr(2)).dim;
        try testing.expectEqual(try pool.add(a, b), try pool.add(b, a));
        try testing.expectEqual(try pool.mul(a, b), try pool.mul(b, a));
        try testing.expectEqual(try pool.min(a, b), try pool.min(b, a));
        try testing.expectEqual(try pool.max(a, b), try pool.max(b, a));
        try testing.expectEqual(try pool.add(try pool.add(a, b), c), try pool.add(a, try pool.add(b, c)));
        try testing.expectEqual(a, try pool.sub(try pool.add(a, b), b));
        try testing.expectEqual(@as(?i64, 0), pool.value(try pool.sub(a, a)));
        const distributed = try pool.add(try pool.mul(a, b), try pool.mul(a, c));
        try testing.expectEqual(try pool.mul(a, try pool.add(b, c)), distributed);
    }
}
