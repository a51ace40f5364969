//! Tests of the symbolic dim algebra: evaluation, substitution, limits, and randomized checks of
//! the text round trip and the ring laws against an unsimplified reference.
const std = @import("std");
const status = @import("../core/status.zig");
const symbolic = @import("symbolic.zig");
const simplify = @import("symbolic_simplify.zig");

const Error = status.Error;

const Pool = symbolic.Pool;
const Dim = symbolic.Dim;
const Bindings = symbolic.Bindings;
const max_depth = symbolic.max_depth;
const max_size = symbolic.max_size;
const testing = std.testing;

fn textOf(pool: *const Pool, d: Dim) ![]u8 {
    return std.fmt.allocPrint(testing.allocator, "{f}", .{pool.fmt(d)});
}

fn expectText(pool: *const Pool, d: Dim, expected: []const u8) !void {
    const written = try textOf(pool, d);
    defer testing.allocator.free(written);
    try testing.expectEqualStrings(expected, written);
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
    const largest: i64 = std.math.maxInt(i64);
    try testing.expectEqual(largest, try pool.eval(try pool.parse("M+N-N"), &bindings));
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
        for (&values, a.values, b.values) |*v, x, y| v.* = reference(op, x, y);
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
        const written = try textOf(&pool, sample.dim);
        defer testing.allocator.free(written);
        errdefer std.debug.print("expression: {s}\n", .{written});
        try testing.expectEqual(sample.dim, try pool.parse(written));
        // A fresh pool, whose ids differ, reads and writes the same text.
        var fresh = Pool.init(testing.allocator);
        defer fresh.deinit();
        try expectText(&fresh, try fresh.parse(written), written);
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
