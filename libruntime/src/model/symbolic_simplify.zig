//! The rewrite rules behind symbolic.zig's arithmetic. Every result is brought to one canonical form
//! before it is interned (a sum of terms, each an integer coefficient times a sorted product of
//! atoms), so that equal expressions get equal ids however they were built. Division, modulo, min
//! and max become atoms only when the rules below cannot remove them.
//!
//! The rules rely on what shape inference guarantees: symbols (dims) are >= 0, and a symbolic
//! divisor is > 0 wherever the expression is defined. A rule may make an expression defined where
//! the original was not (N/N is 1, though undefined at N = 0), never change a defined value.
const std = @import("std");
const status = @import("../core/status.zig");
const symbolic = @import("symbolic.zig");

const Error = status.Error;
const Dim = symbolic.Dim;
const Pool = symbolic.Pool;
const Term = symbolic.Term;
const Pair = symbolic.Pair;
const Allocator = std.mem.Allocator;

/// A term being combined. The coefficient is wide so that sums and products of i64 coefficients
/// cannot overflow before they are checked once, when the result is narrowed.
const Wide = struct { coef: i128, atoms: []const Dim };

fn isConstant(pool: *const Pool, d: Dim, v: i64) bool {
    const x = pool.value(d) orelse return false;
    return x == v;
}

pub fn add(pool: *Pool, a: Dim, b: Dim) Error!Dim {
    return combine(pool, a, b, 1);
}

pub fn sub(pool: *Pool, a: Dim, b: Dim) Error!Dim {
    return combine(pool, a, b, -1);
}

fn neg(pool: *Pool, a: Dim) Error!Dim {
    return combine(pool, try pool.constant(0), a, -1);
}

fn combine(pool: *Pool, a: Dim, b: Dim, sign: i128) Error!Dim {
    const s = pool.beginScratch();
    defer pool.endScratch();
    var list: std.ArrayList(Wide) = .empty;
    try appendTerms(pool, s, &list, a, 1);
    try appendTerms(pool, s, &list, b, sign);
    return makeSum(pool, s, list.items);
}

pub fn mul(pool: *Pool, a: Dim, b: Dim) Error!Dim {
    if (isConstant(pool, a, 0) or isConstant(pool, b, 0)) return pool.constant(0);
    if (isConstant(pool, a, 1)) return b;
    if (isConstant(pool, b, 1)) return a;
    const s = pool.beginScratch();
    defer pool.endScratch();
    const xs = try termsOf(pool, s, a);
    const ys = try termsOf(pool, s, b);
    // Checked before expanding, so that a product of two large sums cannot exhaust memory.
    if (xs.len * ys.len > symbolic.max_size) return symbolic.tooLarge(xs.len * ys.len);
    const products = s.alloc(Wide, xs.len * ys.len) catch return symbolic.outOfMemory();
    var n: usize = 0;
    for (xs) |x| for (ys) |y| {
        products[n] = .{ .coef = x.coef * y.coef, .atoms = try mergeAtoms(pool, s, x.atoms, y.atoms) };
        n += 1;
    };
    return makeSum(pool, s, products);
}

/// Floor division; a symbolic divisor is taken to be > 0.
pub fn div(pool: *Pool, a: Dim, b: Dim) Error!Dim {
    const k = pool.value(b) orelse return divBySymbol(pool, a, b);
    if (k == 0) return divisionByZero(pool, a, "/");
    if (pool.value(a)) |x| return pool.constant(try floorDiv(x, k));
    if (k > 0) return divPositive(pool, a, k);
    // -k does not exist for minInt: keep the atom rather than fail on a value that may never occur.
    if (k == std.math.minInt(i64)) return pool.intern(.{ .div = .{ .a = a, .b = b } });
    return divPositive(pool, try neg(pool, a), -k); // floor(a/k) == floor(-a/-k)
}

/// Ceiling division, as Conv and Pool use with ceil_mode. It has no atom of its own: for k > 0,
/// ceil(a/k) == floor((a+k-1)/k), which keeps the canonical form unique.
pub fn ceilDiv(pool: *Pool, a: Dim, b: Dim) Error!Dim {
    const k = pool.value(b) orelse return ceilDivBySymbol(pool, a, b);
    if (k == 0) return divisionByZero(pool, a, "ceil");
    if (pool.value(a)) |x| return pool.constant(try ceilDivConstant(x, k));
    if (k < 0) return neg(pool, try div(pool, try neg(pool, a), b)); // ceil(x) == -floor(-x)
    return div(pool, try add(pool, a, try pool.constant(k - 1)), b);
}

/// Floor modulo: the result has the sign of the divisor, so dims stay >= 0.
pub fn mod(pool: *Pool, a: Dim, b: Dim) Error!Dim {
    const k = pool.value(b) orelse return modBySymbol(pool, a, b);
    if (k == 0) return divisionByZero(pool, a, "%");
    if (pool.value(a)) |x| return pool.constant(floorMod(x, k));
    if (k > 0) return modPositive(pool, a, k);
    if (k == std.math.minInt(i64)) return pool.intern(.{ .mod = .{ .a = a, .b = b } });
    return neg(pool, try modPositive(pool, try neg(pool, a), -k)); // a mod k == -((-a) mod -k)
}

pub fn min(pool: *Pool, a: Dim, b: Dim) Error!Dim {
    return extreme(pool, a, b, .min);
}

pub fn max(pool: *Pool, a: Dim, b: Dim) Error!Dim {
    return extreme(pool, a, b, .max);
}

const Extreme = enum { min, max };

fn extreme(pool: *Pool, a: Dim, b: Dim, which: Extreme) Error!Dim {
    if (a == b) return a;
    if (pool.value(a)) |x| if (pool.value(b)) |y| {
        return pool.constant(if (which == .min) @min(x, y) else @max(x, y));
    };
    if (try provablyAtLeast(pool, a, b)) return if (which == .max) a else b;
    if (try provablyAtLeast(pool, b, a)) return if (which == .max) b else a;
    if (absorb(pool, a, b, which)) |d| return d;
    if (absorb(pool, b, a, which)) |d| return d;
    // The operands are ordered so that min(a, b) and min(b, a) intern to the same atom.
    const pair: Pair = if (order(pool, a, b) == .gt) .{ .a = b, .b = a } else .{ .a = a, .b = b };
    return pool.intern(if (which == .min) .{ .min = pair } else .{ .max = pair });
}

/// min(x, min(x, y)) == min(x, y) and min(x, max(x, y)) == x; the same with min and max swapped.
fn absorb(pool: *const Pool, x: Dim, other: Dim, which: Extreme) ?Dim {
    const same, const p = switch (pool.node(other)) {
        .min => |p| .{ which == .min, p },
        .max => |p| .{ which == .max, p },
        else => return null,
    };
    if (p.a != x and p.b != x) return null;
    return if (same) other else x;
}

fn divBySymbol(pool: *Pool, a: Dim, b: Dim) Error!Dim {
    if (isConstant(pool, a, 0)) return pool.constant(0);
    if (try exactQuotient(pool, a, b)) |q| return q;
    return pool.intern(.{ .div = .{ .a = a, .b = b } });
}

fn ceilDivBySymbol(pool: *Pool, a: Dim, b: Dim) Error!Dim {
    if (isConstant(pool, a, 0)) return pool.constant(0);
    if (try exactQuotient(pool, a, b)) |q| return q;
    const top = try sub(pool, try add(pool, a, b), try pool.constant(1));
    return div(pool, top, b);
}

fn modBySymbol(pool: *Pool, a: Dim, b: Dim) Error!Dim {
    if (isConstant(pool, a, 0)) return pool.constant(0);
    if (try exactQuotient(pool, a, b) != null) return pool.constant(0);
    return pool.intern(.{ .mod = .{ .a = a, .b = b } });
}

/// a = k*q + r, with every coefficient of r in [0, k). Then floor(a/k) == q + floor(r/k) and
/// a mod k == r mod k, because q has integer coefficients over integer atoms.
const Split = struct { q: Dim, r: Dim };

fn splitByConstant(pool: *Pool, a: Dim, k: i64) Error!Split {
    std.debug.assert(k > 0);
    const s = pool.beginScratch();
    defer pool.endScratch();
    const terms = try termsOf(pool, s, a);
    const quotients = s.alloc(Wide, terms.len) catch return symbolic.outOfMemory();
    for (terms, quotients) |*t, *q| {
        q.* = .{ .coef = @divFloor(t.coef, k), .atoms = t.atoms };
        t.coef -= q.coef * k;
    }
    const r = try makeSum(pool, s, terms);
    return .{ .q = try makeSum(pool, s, quotients), .r = r };
}

fn divPositive(pool: *Pool, a: Dim, k: i64) Error!Dim {
    const parts = try splitByConstant(pool, a, k);
    if (pool.value(parts.r) != null) return parts.q; // 0 <= r < k, so floor(r/k) == 0
    if (modulusOf(pool, parts.r)) |j| if (j <= k) return parts.q; // r is x mod j, in [0, j)
    return add(pool, parts.q, try divAtom(pool, parts.r, k));
}

/// j when d is x mod j for a constant j > 0.
fn modulusOf(pool: *const Pool, d: Dim) ?i64 {
    const p = switch (pool.node(d)) {
        .mod => |p| p,
        else => return null,
    };
    const j = pool.value(p.b) orelse return null;
    return if (j > 0) j else null;
}

fn divAtom(pool: *Pool, r: Dim, k: i64) Error!Dim {
    if (try nestedDiv(pool, r, k)) |d| return d;
    return pool.intern(.{ .div = .{ .a = r, .b = try pool.constant(k) } });
}

/// floor((floor(x/j) + c) / k) == floor((x + c*j) / (j*k)) for j, k > 0: this folds the chains of
/// strided Conv and Pool layers into a single division.
fn nestedDiv(pool: *Pool, r: Dim, k: i64) Error!?Dim {
    var inner = r;
    var c: i64 = 0;
    switch (pool.node(r)) {
        .div => {},
        .sum => |terms| {
            if (terms.len != 2 or terms[0].coef != 1 or terms[0].atoms.len != 1) return null;
            if (terms[1].atoms.len != 0) return null;
            inner = terms[0].atoms[0];
            c = terms[1].coef;
        },
        else => return null,
    }
    const p = switch (pool.node(inner)) {
        .div => |p| p,
        else => return null,
    };
    const j = pool.value(p.b) orelse return null;
    if (j <= 0) return null;
    const shift = std.math.mul(i64, c, j) catch return null;
    const divisor = std.math.mul(i64, j, k) catch return null;
    return try div(pool, try add(pool, p.a, try pool.constant(shift)), try pool.constant(divisor));
}

fn modPositive(pool: *Pool, a: Dim, k: i64) Error!Dim {
    const r = (try splitByConstant(pool, a, k)).r;
    if (pool.value(r) != null) return r;
    if (modulusOf(pool, r)) |j| {
        // (x mod j) mod k is x mod k when k divides j, and x mod j when j <= k.
        if (@rem(j, k) == 0) return mod(pool, pool.node(r).mod.a, try pool.constant(k));
        if (j <= k) return r;
    }
    return pool.intern(.{ .mod = .{ .a = r, .b = try pool.constant(k) } });
}

/// The q with a == q*b, when the term lists show one: b a single term dividing every term of a
/// (4*N*M / 2*M == 2*N), or a an integer multiple of b ((2*N+2) / (N+1) == 2).
fn exactQuotient(pool: *Pool, a: Dim, b: Dim) Error!?Dim {
    const s = pool.beginScratch();
    defer pool.endScratch();
    const xs = try termsOf(pool, s, a);
    const ys = try termsOf(pool, s, b);
    if (ys.len == 1) return quotientByTerm(pool, s, xs, ys[0]);
    if (xs.len != ys.len) return null;
    var ratio: ?i128 = null;
    for (xs, ys) |x, y| {
        if (!std.mem.eql(Dim, x.atoms, y.atoms) or @rem(x.coef, y.coef) != 0) return null;
        const r = @divTrunc(x.coef, y.coef);
        if (ratio != null and ratio.? != r) return null;
        ratio = r;
    }
    const q = std.math.cast(i64, ratio orelse return null) orelse return null;
    return try pool.constant(q);
}

fn quotientByTerm(pool: *Pool, s: Allocator, xs: []Wide, y: Wide) Error!?Dim {
    std.debug.assert(y.coef != 0);
    for (xs) |*x| {
        if (@rem(x.coef, y.coef) != 0) return null;
        x.coef = @divTrunc(x.coef, y.coef);
        if (std.math.cast(i64, x.coef) == null) return null;
        x.atoms = try removeAtoms(pool, s, x.atoms, y.atoms) orelse return null;
    }
    return try makeSum(pool, s, xs);
}

/// The multiset difference xs - ys of two sorted atom lists, or null when ys is not within xs.
fn removeAtoms(pool: *const Pool, s: Allocator, xs: []const Dim, ys: []const Dim) Error!?[]const Dim {
    if (ys.len > xs.len) return null;
    const out = s.alloc(Dim, xs.len - ys.len) catch return symbolic.outOfMemory();
    var n: usize = 0;
    var j: usize = 0;
    for (xs) |x| {
        if (j < ys.len and x == ys[j]) {
            j += 1;
        } else if (j < ys.len and order(pool, x, ys[j]) == .gt) {
            return null; // ys[j] was passed over: it is not in xs
        } else {
            if (n == out.len) return null;
            out[n] = x;
            n += 1;
        }
    }
    return if (j == ys.len) out else null;
}

/// Whether a >= b for every value of the symbols, judged from the terms of a - b: true when every
/// term is a non-negative coefficient times atoms that are never negative.
fn provablyAtLeast(pool: *Pool, a: Dim, b: Dim) Error!bool {
    const s = pool.beginScratch();
    defer pool.endScratch();
    var list: std.ArrayList(Wide) = .empty;
    try appendTerms(pool, s, &list, a, 1);
    try appendTerms(pool, s, &list, b, -1);
    for (try mergeTerms(pool, list.items)) |t| {
        if (!termNonNegative(pool, t.coef, t.atoms)) return false;
    }
    return true;
}

/// A sound, incomplete test that d >= 0 wherever it is defined (symbols are dims, so >= 0).
pub fn nonNegative(pool: *const Pool, d: Dim) bool {
    return switch (pool.node(d)) {
        .constant => |v| v >= 0,
        .symbol => true,
        .div => |p| nonNegative(pool, p.a) and nonNegative(pool, p.b),
        .mod => |p| nonNegative(pool, p.b), // floor mod takes the divisor's sign
        .min => |p| nonNegative(pool, p.a) and nonNegative(pool, p.b),
        .max => |p| nonNegative(pool, p.a) or nonNegative(pool, p.b),
        .sum => |terms| for (terms) |t| {
            if (!termNonNegative(pool, t.coef, t.atoms)) break false;
        } else true,
    };
}

fn termNonNegative(pool: *const Pool, coef: i128, atoms: []const Dim) bool {
    if (coef < 0) return false;
    for (atoms) |atom| if (!nonNegative(pool, atom)) return false;
    return true;
}

/// A total order on expressions that depends only on their structure, not on ids (which depend on
/// the order of construction), so that canonical forms and their text are the same in every pool.
pub fn order(pool: *const Pool, a: Dim, b: Dim) std.math.Order {
    if (a == b) return .eq;
    const x = pool.node(a);
    const y = pool.node(b);
    const by_rank = std.math.order(rank(x), rank(y));
    if (by_rank != .eq) return by_rank;
    return switch (x) {
        .constant => |v| std.math.order(v, y.constant),
        .symbol => |name| std.mem.order(u8, name, y.symbol),
        .sum => |terms| orderTerms(pool, terms, y.sum),
        .div, .mod, .min, .max => |p| {
            const q = symbolic.pairOf(y).?;
            const first = order(pool, p.a, q.a);
            return if (first != .eq) first else order(pool, p.b, q.b);
        },
    };
}

/// Symbols sort first and constants last, so that text reads "2*N+1" and "min(N,4)".
fn rank(node: symbolic.Node) u8 {
    return switch (node) {
        .symbol => 0,
        .div => 1,
        .mod => 2,
        .min => 3,
        .max => 4,
        .sum => 5,
        .constant => 6,
    };
}

fn orderTerms(pool: *const Pool, xs: []const Term, ys: []const Term) std.math.Order {
    for (xs[0..@min(xs.len, ys.len)], ys[0..@min(xs.len, ys.len)]) |x, y| {
        const by_atoms = orderMonomials(pool, x.atoms, y.atoms);
        if (by_atoms != .eq) return by_atoms;
        const by_coef = std.math.order(x.coef, y.coef);
        if (by_coef != .eq) return by_coef;
    }
    return std.math.order(xs.len, ys.len);
}

/// Lexicographic over the sorted atoms, with the constant monomial (no atoms) last.
fn orderMonomials(pool: *const Pool, xs: []const Dim, ys: []const Dim) std.math.Order {
    if (xs.len == 0 or ys.len == 0) return std.math.order(ys.len, xs.len);
    for (xs[0..@min(xs.len, ys.len)], ys[0..@min(xs.len, ys.len)]) |x, y| {
        const by_atom = order(pool, x, y);
        if (by_atom != .eq) return by_atom;
    }
    return std.math.order(xs.len, ys.len);
}

fn termsOf(pool: *const Pool, s: Allocator, d: Dim) Error![]Wide {
    var list: std.ArrayList(Wide) = .empty;
    try appendTerms(pool, s, &list, d, 1);
    return list.items;
}

fn appendTerms(pool: *const Pool, s: Allocator, list: *std.ArrayList(Wide), d: Dim, scale: i128) Error!void {
    switch (pool.node(d)) {
        .constant => |v| if (v != 0) {
            list.append(s, .{ .coef = v * scale, .atoms = &.{} }) catch return symbolic.outOfMemory();
        },
        .sum => |terms| for (terms) |t| {
            list.append(s, .{ .coef = t.coef * scale, .atoms = t.atoms }) catch return symbolic.outOfMemory();
        },
        else => {
            const one = s.dupe(Dim, &.{d}) catch return symbolic.outOfMemory();
            list.append(s, .{ .coef = scale, .atoms = one }) catch return symbolic.outOfMemory();
        },
    }
}

fn mergeAtoms(pool: *const Pool, s: Allocator, xs: []const Dim, ys: []const Dim) Error![]const Dim {
    const out = s.alloc(Dim, xs.len + ys.len) catch return symbolic.outOfMemory();
    var i: usize = 0;
    var j: usize = 0;
    for (out) |*slot| {
        const take_x = j == ys.len or (i < xs.len and order(pool, xs[i], ys[j]) != .gt);
        if (take_x) {
            slot.* = xs[i];
            i += 1;
        } else {
            slot.* = ys[j];
            j += 1;
        }
    }
    return out;
}

/// Sorts the terms, adds up those with the same monomial and drops the zeros, in place.
fn mergeTerms(pool: *const Pool, terms: []Wide) Error![]Wide {
    std.mem.sort(Wide, terms, pool, wideLess);
    var n: usize = 0;
    for (terms) |t| {
        if (n > 0 and std.mem.eql(Dim, terms[n - 1].atoms, t.atoms)) {
            terms[n - 1].coef = std.math.add(i128, terms[n - 1].coef, t.coef) catch return overflow(null);
        } else {
            terms[n] = t;
            n += 1;
        }
    }
    var kept: usize = 0;
    for (terms[0..n]) |t| if (t.coef != 0) {
        terms[kept] = t;
        kept += 1;
    };
    return terms[0..kept];
}

fn wideLess(pool: *const Pool, x: Wide, y: Wide) bool {
    return orderMonomials(pool, x.atoms, y.atoms) == .lt;
}

/// Interns the canonical form of a list of terms: a lone constant or a lone atom stands for itself,
/// so that N and 1*N, or 3 and a sum holding only 3, are one id.
fn makeSum(pool: *Pool, s: Allocator, wide: []Wide) Error!Dim {
    const merged = try mergeTerms(pool, wide);
    if (merged.len == 0) return pool.constant(0);
    const terms = s.alloc(Term, merged.len) catch return symbolic.outOfMemory();
    for (merged, terms) |w, *t| {
        t.* = .{ .coef = std.math.cast(i64, w.coef) orelse return overflow(w.coef), .atoms = w.atoms };
    }
    if (terms.len == 1 and terms[0].atoms.len == 0) return pool.constant(terms[0].coef);
    if (terms.len == 1 and terms[0].coef == 1 and terms[0].atoms.len == 1) return terms[0].atoms[0];
    return pool.intern(.{ .sum = terms });
}

fn overflow(coef: ?i128) Error {
    const c = coef orelse return status.fail(error.ShapeError, "dim arithmetic overflows 64 bits", .{});
    return status.fail(error.ShapeError, "dim arithmetic overflows 64 bits: coefficient {d}", .{c});
}

fn divisionByZero(pool: *const Pool, a: Dim, op: []const u8) Error {
    return status.fail(error.ShapeError, "dim division by zero: {s} of {f} by 0", .{ op, pool.fmt(a) });
}

pub fn floorDiv(x: i64, y: i64) Error!i64 {
    std.debug.assert(y != 0);
    if (y == -1) return std.math.negate(x) catch overflow(x);
    return @divFloor(x, y);
}

pub fn floorMod(x: i64, y: i64) i64 {
    std.debug.assert(y != 0);
    if (y == -1) return 0; // @rem(minInt, -1) would overflow
    const r = @rem(x, y);
    return if (r != 0 and (r < 0) != (y < 0)) r + y else r;
}

fn ceilDivConstant(x: i64, y: i64) Error!i64 {
    std.debug.assert(y != 0);
    const q = -@divFloor(-@as(i128, x), y);
    return std.math.cast(i64, q) orelse overflow(q);
}
