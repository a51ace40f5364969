//! What an op means, written independently of the CPU's kernels, for the cases where that is a
//! formula per element: the CPU's results (the harness's reference) are checked against it in
//! double precision, so a vectorized approximation (exp, tanh, sigmoid) that drifts is caught
//! even though no other backend would disagree with it. Ops with no entry here are checked only
//! by shape inference and the sentinels.
const std = @import("std");
const value = @import("../../exec/value.zig");
const op_cases = @import("op_cases.zig");
const compare = @import("compare.zig");

const Tensor = value.Tensor;

const Formula = *const fn (x: f64) f64;

fn relu(x: f64) f64 {
    return @max(x, 0);
}

fn sigmoid(x: f64) f64 {
    return 1 / (1 + @exp(-x));
}

fn tanh(x: f64) f64 {
    return std.math.tanh(x);
}

fn exp(x: f64) f64 {
    return @exp(x);
}

/// Gelu with approximate="tanh": 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))).
fn geluTanh(x: f64) f64 {
    return 0.5 * x * (1 + std.math.tanh(@sqrt(2.0 / std.math.pi) * (x + 0.044715 * x * x * x)));
}

fn formulaOf(case: op_cases.Case) ?Formula {
    const table = .{
        .{ "Relu", relu },
        .{ "Sigmoid", sigmoid },
        .{ "Tanh", tanh },
        .{ "Exp", exp },
    };
    inline for (table) |row| if (std.mem.eql(u8, case.op, row[0])) return row[1];
    if (std.mem.eql(u8, case.op, "Gelu")) for (case.attributes) |a| {
        if (std.mem.eql(u8, a.name, "approximate") and std.mem.eql(u8, a.s, "tanh")) return geluTanh;
    };
    return null;
}

/// The NMSE of the CPU's float32 output against the op's formula on the input, when the case
/// has a formula; null otherwise.
pub fn deviation(arena: std.mem.Allocator, case: op_cases.Case, input: *const Tensor, output: *const Tensor) !?f64 {
    const formula = formulaOf(case) orelse return null;
    if (input.dtype != .float32 or output.dtype != .float32) return null;
    const x = input.items(f32);
    const y = output.items(f32);
    if (x.len != y.len) return std.math.inf(f64);
    const exact = try arena.alloc(f64, x.len);
    const got = try arena.alloc(f64, y.len);
    for (x, y, exact, got) |xi, yi, *e, *g| {
        e.* = formula(xi);
        g.* = yi;
    }
    return compare.nmse(f64, exact, got).nmse;
}

test "the formulas are what the ops mean" {
    try std.testing.expectEqual(@as(f64, 0), relu(-2));
    try std.testing.expectEqual(@as(f64, 0.5), sigmoid(0));
    try std.testing.expectApproxEqAbs(@as(f64, 0.841192), geluTanh(1), 1e-6);
    const gelu: op_cases.Case = .{ .op = "Gelu", .opset = 20, .inputs = &.{}, .attributes = &.{op_cases.string("approximate", "tanh")} };
    try std.testing.expect(formulaOf(gelu) == &geluTanh);
    try std.testing.expect(formulaOf(.{ .op = "Gelu", .opset = 20, .inputs = &.{} }) == null);
}
