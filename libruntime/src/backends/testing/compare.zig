//! How the backend harness compares a backend's output with the CPU's: the normalized mean
//! squared error sum((a-b)^2)/sum(a^2) for floats (ggml's test-backend-ops measure, which does
//! not blow up on values near zero as a relative error does), equality for everything else.
const std = @import("std");
const value = @import("../../exec/value.zig");

const Tensor = value.Tensor;

pub const Verdict = union(enum) {
    same,
    /// Dtypes or shapes differ.
    layout,
    /// Integer or boolean elements differ, the first at `element`.
    unequal: struct { element: usize },
    /// Float elements too far apart; `nmse` is infinite when the two disagree on a NaN or an
    /// infinity, first at `element`.
    distant: struct { nmse: f64, element: ?usize },
};

/// Compares `got` with `reference`; floats pass when the NMSE is at most `max_nmse`.
pub fn compare(reference: *const Tensor, got: *const Tensor, max_nmse: f64) Verdict {
    if (reference.dtype != got.dtype or !std.mem.eql(i64, reference.shape, got.shape)) return .layout;
    if (reference.data.len != got.data.len) return .layout;
    return switch (reference.dtype) {
        .float32 => floats(f32, reference.items(f32), got.items(f32), max_nmse),
        .float64 => floats(f64, reference.items(f64), got.items(f64), max_nmse),
        .float16 => floats(f16, reference.items(f16), got.items(f16), max_nmse),
        else => exact(reference, got),
    };
}

fn exact(reference: *const Tensor, got: *const Tensor) Verdict {
    const mismatch = std.mem.indexOfDiff(u8, reference.data, got.data) orelse return .same;
    const element_bits = reference.dtype.bits();
    return .{ .unequal = .{ .element = mismatch * 8 / element_bits } };
}

fn floats(comptime F: type, reference: []const F, got: []const F, max_nmse: f64) Verdict {
    const error_value = nmse(F, reference, got);
    // Written so that a NaN error fails.
    if (error_value.nmse <= max_nmse) return .same;
    return .{ .distant = .{ .nmse = error_value.nmse, .element = error_value.non_finite } };
}

pub const Nmse = struct { nmse: f64, non_finite: ?usize = null };

/// sum((a-b)^2)/sum(a^2) over the elements where both are finite. Two NaNs, or two infinities of
/// the same sign, agree; any other pairing with a non-finite value makes the error infinite, as
/// does any difference from a reference of zeros only.
pub fn nmse(comptime F: type, reference: []const F, got: []const F) Nmse {
    var squared_error: f64 = 0;
    var squared_reference: f64 = 0;
    for (reference, got, 0..) |a_raw, b_raw, i| {
        const a: f64 = a_raw;
        const b: f64 = b_raw;
        if (!std.math.isFinite(a) or !std.math.isFinite(b)) {
            const agree = (std.math.isNan(a) and std.math.isNan(b)) or a == b;
            if (agree) continue;
            return .{ .nmse = std.math.inf(f64), .non_finite = i };
        }
        squared_error += (a - b) * (a - b);
        squared_reference += a * a;
    }
    if (squared_error == 0) return .{ .nmse = 0 };
    if (squared_reference == 0) return .{ .nmse = std.math.inf(f64) };
    return .{ .nmse = squared_error / squared_reference };
}

/// One line on why `verdict` is not `same`, naming the elements' values where there are some.
pub fn describe(w: *std.Io.Writer, verdict: Verdict, reference: *const Tensor, got: *const Tensor) std.Io.Writer.Error!void {
    switch (verdict) {
        .same => try w.writeAll("same"),
        .layout => try w.print("{s}{any} where the CPU gives {s}{any}", .{ @tagName(got.dtype), got.shape, @tagName(reference.dtype), reference.shape }),
        .unequal => |u| try w.print("element {d} differs ({s})", .{ u.element, @tagName(reference.dtype) }),
        .distant => |d| {
            try w.print("NMSE {e}", .{d.nmse});
            const i = d.element orelse return;
            try w.print(": element {d} is ", .{i});
            try writeElement(w, got, i);
            try w.writeAll(" where the CPU gives ");
            try writeElement(w, reference, i);
        },
    }
}

fn writeElement(w: *std.Io.Writer, t: *const Tensor, i: usize) std.Io.Writer.Error!void {
    switch (t.dtype) {
        .float32 => try w.print("{d}", .{t.items(f32)[i]}),
        .float64 => try w.print("{d}", .{t.items(f64)[i]}),
        .float16 => try w.print("{d}", .{@as(f32, t.items(f16)[i])}),
        else => try w.writeAll("?"),
    }
}

test "NMSE: equal values give 0, scaled errors scale, NaN and infinity agree only with their kind" {
    const a = [_]f32{ 1, -2, 3, 0 };
    try std.testing.expectEqual(@as(f64, 0), nmse(f32, &a, &a).nmse);
    const b = [_]f32{ 1.5, -2, 3, 0 }; // error 0.25 over 14
    try std.testing.expectApproxEqRel(@as(f64, 0.25 / 14.0), nmse(f32, &a, &b).nmse, 1e-12);
    const nan = std.math.nan(f32);
    const inf = std.math.inf(f32);
    try std.testing.expectEqual(@as(f64, 0), nmse(f32, &.{ nan, inf, 1 }, &.{ nan, inf, 1 }).nmse);
    const wrong = nmse(f32, &.{ 1, nan, 1 }, &.{ 1, 0, 1 });
    try std.testing.expect(std.math.isInf(wrong.nmse));
    try std.testing.expectEqual(@as(?usize, 1), wrong.non_finite);
    try std.testing.expect(std.math.isInf(nmse(f32, &.{ 0, 0 }, &.{ 0, 1e-30 }).nmse));
}

test "compare: integers must be equal, floats within the threshold, layouts the same" {
    var x = [_]i32{ 1, 2, 3 };
    var y = [_]i32{ 1, 2, 4 };
    const tx: Tensor = .{ .dtype = .int32, .shape = &.{3}, .data = std.mem.sliceAsBytes(&x) };
    const ty: Tensor = .{ .dtype = .int32, .shape = &.{3}, .data = std.mem.sliceAsBytes(&y) };
    try std.testing.expectEqual(@as(usize, 2), compare(&tx, &ty, 1).unequal.element);
    try std.testing.expect(compare(&tx, &tx, 0) == .same);
    const reshaped: Tensor = .{ .dtype = .int32, .shape = &.{ 1, 3 }, .data = std.mem.sliceAsBytes(&x) };
    try std.testing.expect(compare(&tx, &reshaped, 1) == .layout);

    var f = [_]f32{ 1, 2, 3 };
    var g = [_]f32{ 1, 2, 3.001 };
    const tf: Tensor = .{ .dtype = .float32, .shape = &.{3}, .data = std.mem.sliceAsBytes(&f) };
    const tg: Tensor = .{ .dtype = .float32, .shape = &.{3}, .data = std.mem.sliceAsBytes(&g) };
    try std.testing.expect(compare(&tf, &tg, 1e-6) == .same); // 1e-6 / 14
    try std.testing.expect(compare(&tf, &tg, 1e-8) == .distant);
}
