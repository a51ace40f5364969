//! Tests of the rewrite rules in symbolic_simplify.zig. Parsing builds through the operations
//! under test, so text is the shortest way to state a case, and because text is canonical,
//! comparing it compares the canonical forms.
const std = @import("std");
const symbolic = @import("symbolic.zig");

const Pool = symbolic.Pool;
const testing = std.testing;

const Case = struct { input: []const u8, canonical: []const u8 };

fn expectCases(cases: []const Case) !void {
    var pool = Pool.init(testing.allocator);
    defer pool.deinit();
    for (cases) |case| {
        errdefer std.debug.print("input: {s}\n", .{case.input});
        const d = try pool.parse(case.input);
        const written = try std.fmt.allocPrint(testing.allocator, "{f}", .{pool.fmt(d)});
        defer testing.allocator.free(written);
        try testing.expectEqualStrings(case.canonical, written);
        try testing.expectEqual(d, try pool.parse(case.canonical));
    }
}

test "the simplifications named in the design" {
    try expectCases(&.{
        .{ .input = "(batch*4)/2", .canonical = "2*batch" },
        .{ .input = "batch+1-1", .canonical = "batch" },
        .{ .input = "(2*N)%2", .canonical = "0" },
        .{ .input = "min(N,N)", .canonical = "N" },
        .{ .input = "max(3,5)", .canonical = "5" },
        .{ .input = "N*0", .canonical = "0" },
        .{ .input = "N+M", .canonical = "M+N" },
        .{ .input = "M+N", .canonical = "M+N" },
        .{ .input = "2*(N+1)", .canonical = "2*N+2" },
        .{ .input = "2*N+2", .canonical = "2*N+2" },
        .{ .input = "(N+1)*(N-1)", .canonical = "N*N-1" },
        .{ .input = "M*N*M - M*M*N", .canonical = "0" },
    });
}

test "division and modulo by constants" {
    try expectCases(&.{
        .{ .input = "ceil(N,4)", .canonical = "(N+3)/4" },
        .{ .input = "ceil(8,3)", .canonical = "3" },
        .{ .input = "ceil(N,1)", .canonical = "N" },
        .{ .input = "(2*N+1)/2", .canonical = "N" },
        .{ .input = "(N-1)/2", .canonical = "(N+1)/2-1" },
        .{ .input = "(N+5)/4 - 1", .canonical = "(N+1)/4" },
        .{ .input = "(N/2)/2", .canonical = "N/4" },
        // Two stride-2 layers of the same Conv shape fold into one division.
        .{ .input = "((N+1)/2+1)/2", .canonical = "(N+3)/4" },
        .{ .input = "(((N-3)/2+1)-3)/2+1", .canonical = "(N+1)/4-1" },
        .{ .input = "(N%8)%4", .canonical = "N%4" },
        .{ .input = "(N%4)%8", .canonical = "N%4" },
        .{ .input = "(N%4)%6", .canonical = "N%4" },
        .{ .input = "(N%6)%4", .canonical = "(N%6)%4" },
        .{ .input = "(N%4)/4 + (N%6)/5", .canonical = "(N%6)/5" },
        .{ .input = "(2*N+3)%2", .canonical = "1" },
        .{ .input = "(N+5)%4", .canonical = "(N+1)%4" },
        .{ .input = "(6*N+4*M)/2", .canonical = "2*M+3*N" },
        .{ .input = "N/(0-2)", .canonical = "-N+N/2" },
        .{ .input = "7/(0-3)", .canonical = "-3" },
        .{ .input = "7%(0-3)", .canonical = "-2" },
        .{ .input = "ceil(7,0-3)", .canonical = "-2" },
        .{ .input = "ceil(0-7,3)", .canonical = "-2" },
        .{ .input = "(0-7)%3", .canonical = "2" },
    });
}

test "division by symbols cancels exact multiples only" {
    try expectCases(&.{
        .{ .input = "(4*N*M)/(2*M)", .canonical = "2*N" },
        .{ .input = "(2*N+2)/(N+1)", .canonical = "2" },
        .{ .input = "N/N", .canonical = "1" },
        .{ .input = "(N*M+N)/N", .canonical = "M+1" },
        .{ .input = "(N*M)%N", .canonical = "0" },
        .{ .input = "0/N", .canonical = "0" },
        .{ .input = "N/M", .canonical = "N/M" },
        .{ .input = "(3*N)/(2*N)", .canonical = "(3*N)/(2*N)" },
        .{ .input = "(N+1)/N", .canonical = "(N+1)/N" },
        .{ .input = "3%N", .canonical = "3%N" },
        .{ .input = "ceil(N,M)", .canonical = "(M+N-1)/M" },
        .{ .input = "ceil(N*M,M)", .canonical = "N" },
        .{ .input = "N*(M/2)", .canonical = "N*(M/2)" },
        .{ .input = "N*M/2", .canonical = "(M*N)/2" },
    });
}

test "min and max decide what they can prove" {
    try expectCases(&.{
        .{ .input = "min(N+1,N)", .canonical = "N" },
        .{ .input = "max(N,N+1)", .canonical = "N+1" },
        .{ .input = "max(N,0)", .canonical = "N" },
        .{ .input = "min(0,N)", .canonical = "0" },
        .{ .input = "min(N*M+N,N)", .canonical = "N" },
        .{ .input = "max(N/2,0)", .canonical = "N/2" },
        .{ .input = "min(M,N)", .canonical = "min(M,N)" },
        .{ .input = "min(N,M)", .canonical = "min(M,N)" },
        .{ .input = "min(4,N)", .canonical = "min(N,4)" },
        .{ .input = "max(N-1,0)", .canonical = "max(N-1,0)" },
        .{ .input = "min(N,max(M,N))", .canonical = "N" },
        .{ .input = "max(max(N,M),N)", .canonical = "max(M,N)" },
        .{ .input = "max(N%4,0)", .canonical = "N%4" },
    });
}

test "arithmetic overflow and division by zero fail with ShapeError" {
    var pool = Pool.init(testing.allocator);
    defer pool.deinit();
    const bad = [_][]const u8{
        "9223372036854775807+1",           "9223372036854775807*2",   "0-(0-9223372036854775807-1)",
        "(0-9223372036854775807-1)/(0-1)", "9223372036854775807*N+N", "N/0",
        "4%0",                             "ceil(N,0)",               "N%(M-M)",
    };
    for (bad) |text| {
        errdefer std.debug.print("input: {s}\n", .{text});
        try testing.expectError(error.ShapeError, pool.parse(text));
    }
    const least: ?i64 = std.math.minInt(i64);
    try testing.expectEqual(least, pool.value(try pool.parse("0-1-9223372036854775807")));
    try testing.expectEqual(@as(?i64, 0), pool.value(try pool.parse("(0-9223372036854775807-1)%(0-1)")));
    // Dividing by minInt, whose negation does not exist, keeps the division.
    try testing.expect(pool.isSymbolic(try pool.parse("N/(0-9223372036854775807-1)")));
}

test "products that grow past the size limit fail instead of exhausting memory" {
    var pool = Pool.init(testing.allocator);
    defer pool.deinit();
    const sum = try pool.parse("a0+a1+a2+a3+a4+a5+a6+a7+1");
    var product = sum;
    const result = for (0..8) |_| {
        product = pool.mul(product, sum) catch |err| break err;
    } else error.TestUnexpectedResult;
    try testing.expectEqual(error.ShapeError, result);
}
