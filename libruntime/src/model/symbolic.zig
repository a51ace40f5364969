//! Symbolic dims for shape inference: a dim is a known integer or an expression over named symbols
//! (ONNX dim_params such as "batch"). A Pool interns every expression of one model in a canonical
//! form, so that equal expressions have equal ids and shape checks compare Dims with ==.
//! symbolic_simplify.zig holds the rewrite rules that build canonical forms; symbolic_text.zig the
//! text form (format/parse). Symbols stand for dims and so are taken to be >= 0.
const std = @import("std");
const status = @import("../core/status.zig");
const simplify = @import("symbolic_simplify.zig");
const text = @import("symbolic_text.zig");

const Error = status.Error;
const Writer = std.Io.Writer;

/// An interned expression: two Dims of one pool are equal exactly when their canonical forms are.
pub const Dim = enum(u32) { _ };

/// Bounds on one expression, so that every recursion over it (ordering, format, eval, substitute)
/// is bounded and no input exhausts the stack or memory. `depth` counts nested nodes, `size` counts
/// nodes as a tree (shared children once per use), which also bounds the length of its text.
pub const max_depth = 96;
pub const max_size = 4096;

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
    /// Term lists of the operations in progress (they nest: div calls add). Reset when the outermost
    /// returns, so that steady-state arithmetic does not go to the allocator.
    scratch: std.heap.ArenaAllocator,
    scratch_users: u32 = 0,

    pub fn init(gpa: std.mem.Allocator) Pool {
        return .{ .gpa = gpa, .arena = .init(gpa), .scratch = .init(gpa) };
    }

    pub fn deinit(self: *Pool) void {
        std.debug.assert(self.scratch_users == 0);
        self.index.deinit(self.gpa);
        self.entries.deinit(self.gpa);
        self.arena.deinit();
        self.scratch.deinit();
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
        return text.write(self, d, writer);
    }

    /// For "{f}" in messages: `status.fail(error.ShapeError, "dim {f}", .{pool.fmt(d)})`.
    pub fn fmt(self: *const Pool, d: Dim) text.Formatted {
        return .{ .pool = self, .dim = d };
    }

    /// Reads the syntax described in symbolic_text.zig; parse(format(d)) == d. Malformed text
    /// fails with ShapeError.
    pub fn parse(self: *Pool, source: []const u8) Error!Dim {
        return text.parse(self, source);
    }

    /// Replaces every bound symbol (all at once, not repeatedly) and simplifies the result.
    /// Unbound symbols stay. A Dim binding must come from this pool.
    pub fn substitute(self: *Pool, d: Dim, bindings: *const Bindings) Error!Dim {
        var memo: Memo = .empty;
        defer memo.deinit(self.gpa);
        return self.substituteIn(d, bindings, &memo);
    }

    /// Appends to `out` each symbol of d that `out` does not hold yet, in the order of the text.
    /// The names belong to the pool.
    pub fn symbols(
        self: *const Pool,
        d: Dim,
        out: *std.ArrayList([]const u8),
        gpa: std.mem.Allocator,
    ) Error!void {
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
        const entry: Entry = .{ .node = owned, .hash = hash, .depth = shape.depth, .size = shape.size };
        self.entries.appendAssumeCapacity(entry);
        self.index.putAssumeCapacityNoClobberContext(d, {}, self.indexContext());
        return d;
    }

    /// Scratch memory valid until the matching endScratch (for symbolic_simplify.zig).
    pub fn beginScratch(self: *Pool) std.mem.Allocator {
        self.scratch_users += 1;
        return self.scratch.allocator();
    }

    pub fn endScratch(self: *Pool) void {
        std.debug.assert(self.scratch_users > 0);
        self.scratch_users -= 1;
        if (self.scratch_users == 0) _ = self.scratch.reset(.{ .retain_with_limit = 1 << 20 });
    }

    /// Substitution's results so far, so that a subexpression used twice is rebuilt once.
    const Memo = std.AutoHashMapUnmanaged(Dim, Dim);

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
            .dim => |x| self.value(x) orelse {
                const message = "dim symbol '{s}' is bound to the expression {f}, not to a value";
                return status.fail(error.ShapeError, message, .{ name, self.fmt(x) });
            },
        };
        return checkedBinding(name, v);
    }

    fn evalDivision(self: *const Pool, d: Dim, p: Pair, bindings: *const Bindings) Error!i64 {
        const a = try self.eval(p.a, bindings);
        const b = try self.eval(p.b, bindings);
        if (b == 0) {
            return status.fail(error.ShapeError, "dim division by zero evaluating {f}", .{self.fmt(d)});
        }
        if (self.node(d) == .mod) return simplify.floorMod(a, b);
        return simplify.floorDiv(a, b);
    }

    /// Accumulates in i128 so that the order of the terms cannot make an in-range result overflow.
    fn evalSum(self: *const Pool, d: Dim, terms: []const Term, bindings: *const Bindings) Error!i64 {
        var total: i128 = 0;
        for (terms) |t| {
            var product: i128 = t.coef;
            for (t.atoms) |atom| {
                const factor = try self.eval(atom, bindings);
                product = std.math.mul(i128, product, factor) catch return self.evalOverflow(d);
            }
            total = std.math.add(i128, total, product) catch return self.evalOverflow(d);
        }
        return std.math.cast(i64, total) orelse self.evalOverflow(d);
    }

    fn evalOverflow(self: *const Pool, d: Dim) Error {
        return status.fail(error.ShapeError, "dim {f} overflows 64 bits for these values", .{self.fmt(d)});
    }

    fn substituteIn(self: *Pool, d: Dim, bindings: *const Bindings, memo: *Memo) Error!Dim {
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
                    for (t.atoms) |atom| {
                        product = try self.mul(product, try self.substituteIn(atom, bindings, memo));
                    }
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
    if (v >= 0) return v;
    return status.fail(error.ShapeError, "dim symbol '{s}' is bound to {d}; dims are >= 0", .{ name, v });
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

pub fn outOfMemory() Error {
    return status.fail(error.OutOfResource, "out of memory building a dim expression", .{});
}

pub fn tooLarge(size: u64) Error {
    const fmt = "dim expression too large: {d} nodes, the limit is {d}";
    return status.fail(error.ShapeError, fmt, .{ size, max_size });
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

test {
    _ = simplify;
    _ = text;
    _ = @import("symbolic_test.zig");
    _ = @import("symbolic_simplify_test.zig");
}
