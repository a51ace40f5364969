//! Unit tests for the generator operators. Draws are random, so most tests check distributions
//! (mean, variance, range, frequencies over 100,000 draws, with tolerances of several standard
//! errors) and reproducibility, not bits; numpy's own first values pin the streams.
const std = @import("std");
const random_generators = @import("random_generators.zig");
const test_node = @import("test_node.zig");

const Draws = random_generators.Draws;
const Attribute = @import("../../../model/ir.zig").Attribute;
const Tensor = test_node.Tensor;
const testing = std.testing;
const sample_count = 100_000;

fn meanAndVariance(values: []const f64) [2]f64 {
    var sum: f64 = 0;
    for (values) |v| sum += v;
    const mean = sum / @as(f64, @floatFromInt(values.len));
    var squares: f64 = 0;
    for (values) |v| squares += (v - mean) * (v - mean);
    return .{ mean, squares / @as(f64, @floatFromInt(values.len)) };
}

test "normal draws follow numpy's standard_normal and N(0, 1)" {
    var draws = Draws.init(0);
    // np.random.RandomState(0).randn(3)
    try testing.expectApproxEqAbs(@as(f64, 1.764052345967664), draws.normal(), 1e-14);
    try testing.expectApproxEqAbs(@as(f64, 0.4001572083672233), draws.normal(), 1e-14);
    try testing.expectApproxEqAbs(@as(f64, 0.9787379841057392), draws.normal(), 1e-14);
    const values = try testing.allocator.alloc(f64, sample_count);
    defer testing.allocator.free(values);
    for (values) |*v| v.* = draws.normal();
    const stats = meanAndVariance(values);
    try testing.expectApproxEqAbs(@as(f64, 0), stats[0], 0.015);
    try testing.expectApproxEqAbs(@as(f64, 1), stats[1], 0.02);
}

test "uniform draws fill [0, 1) evenly" {
    var draws = Draws.init(42);
    const values = try testing.allocator.alloc(f64, sample_count);
    defer testing.allocator.free(values);
    var bins = [_]usize{0} ** 10;
    for (values) |*v| {
        v.* = draws.uniform();
        try testing.expect(v.* >= 0 and v.* < 1);
        bins[@intFromFloat(v.* * 10)] += 1;
    }
    const stats = meanAndVariance(values);
    try testing.expectApproxEqAbs(@as(f64, 0.5), stats[0], 0.005);
    try testing.expectApproxEqAbs(@as(f64, 1.0 / 12.0), stats[1], 0.002);
    for (bins) |b| try testing.expectApproxEqAbs(@as(f64, 0.1), @as(f64, @floatFromInt(b)) / sample_count, 0.005);
}

test "Bernoulli trials follow numpy's binomial(1, p) and its frequencies" {
    // np.random.RandomState(3).binomial(1, p): p = 0 and p = 1 draw too, p > 0.5 inverts 1 - p.
    const p = [_]f64{ 0.1, 0.5, 0.9, 0.0, 1.0, 0.3, 0.7, 0.5, 0.2, 0.8 };
    const want = [_]bool{ false, true, true, false, true, true, true, false, false, true };
    var draws = Draws.init(3);
    for (p, want) |v, w| try testing.expectEqual(w, draws.bernoulli(v));
    for ([_]f64{ 0.05, 0.3, 0.5, 0.85 }) |probability| {
        var hits: usize = 0;
        for (0..sample_count) |_| hits += @intFromBool(draws.bernoulli(probability));
        try testing.expectApproxEqAbs(probability, @as(f64, @floatFromInt(hits)) / sample_count, 0.006);
    }
}

test "categories follow the weights, never one without weight" {
    const weights = [_]f64{ 0.1, 0, 0.6, 0.3, 0 };
    var cumulative: [weights.len]f64 = undefined;
    var total: f64 = 0;
    for (weights, &cumulative) |w, *c| {
        total += w;
        c.* = total;
    }
    var counts = [_]usize{0} ** weights.len;
    var draws = Draws.init(9);
    for (0..sample_count) |_| counts[draws.category(&cumulative, 3)] += 1;
    for (weights, counts) |w, n| try testing.expectApproxEqAbs(w, @as(f64, @floatFromInt(n)) / sample_count, 0.006);
    try testing.expectEqual(@as(usize, 0), counts[1] + counts[4]);
}

/// Runs `op` with `attributes` on `inputs`, in an arena that `state` owns.
fn runOp(state: *std.heap.ArenaAllocator, op: []const u8, attributes: []const Attribute, inputs: anytype) !*Tensor {
    const r = test_node.Run{ .arena = state.allocator(), .table = &random_generators.kernels, .attributes = attributes };
    return r.call(op, &inputs);
}

test "RandomUniform fills [low, high) in its dtype; a seed reproduces, another differs" {
    var state = std.heap.ArenaAllocator.init(testing.allocator);
    defer state.deinit();
    const arena = state.allocator();
    const shape: []const i64 = &.{ 100, 1000 };
    const base = [_]Attribute{
        try test_node.attribute(arena, "shape", shape),
        try test_node.attribute(arena, "low", @as(f32, -2)),
        try test_node.attribute(arena, "high", @as(f32, 3)),
        try test_node.attribute(arena, "dtype", @as(i64, 11)),
    };
    const seeded = base ++ [_]Attribute{try test_node.attribute(arena, "seed", @as(f32, 5))};
    const other = base ++ [_]Attribute{try test_node.attribute(arena, "seed", @as(f32, 6))};
    const a = try runOp(&state, "RandomUniform", &seeded, [_]?*const Tensor{});
    const b = try runOp(&state, "RandomUniform", &seeded, [_]?*const Tensor{});
    const c = try runOp(&state, "RandomUniform", &other, [_]?*const Tensor{});
    try testing.expectEqual(.float64, a.dtype);
    try testing.expectEqualSlices(i64, shape, a.shape);
    try testing.expectEqualSlices(f64, a.items(f64), b.items(f64));
    try testing.expect(!std.mem.eql(f64, a.items(f64), c.items(f64)));
    for (a.items(f64)) |v| try testing.expect(v >= -2 and v < 3);
    const stats = meanAndVariance(a.items(f64));
    try testing.expectApproxEqAbs(@as(f64, 0.5), stats[0], 0.03);
    try testing.expectApproxEqAbs(@as(f64, 25.0 / 12.0), stats[1], 0.05);
}

test "RandomNormalLike takes its input's shape and type, and scale and mean" {
    var state = std.heap.ArenaAllocator.init(testing.allocator);
    defer state.deinit();
    const arena = state.allocator();
    const x = try test_node.tensor(arena, f32, &.{ 400, 250 }, &([_]f32{0} ** 100_000));
    const attributes = [_]Attribute{
        try test_node.attribute(arena, "mean", @as(f32, 10)),
        try test_node.attribute(arena, "scale", @as(f32, 2)),
    };
    const y = try runOp(&state, "RandomNormalLike", &attributes, [_]?*const Tensor{x});
    try testing.expectEqual(.float32, y.dtype);
    const wide = try arena.alloc(f64, y.count());
    for (wide, y.items(f32)) |*w, v| w.* = v;
    const stats = meanAndVariance(wide);
    try testing.expectApproxEqAbs(@as(f64, 10), stats[0], 0.03);
    try testing.expectApproxEqAbs(@as(f64, 4), stats[1], 0.08);
}

test "Multinomial samples classes by their log-probabilities; bad rows fail" {
    var state = std.heap.ArenaAllocator.init(testing.allocator);
    defer state.deinit();
    const arena = state.allocator();
    const probabilities = [_]f64{ 0.5, 0.2, 0.3, 0.05, 0.05, 0.9 };
    var logits: [6]f64 = undefined;
    for (&logits, probabilities) |*l, p| l.* = @log(p) + 1.5; // unnormalized
    const x = try test_node.tensor(arena, f64, &.{ 2, 3 }, &logits);
    const attributes = [_]Attribute{
        try test_node.attribute(arena, "sample_size", @as(i64, sample_count)),
        try test_node.attribute(arena, "dtype", @as(i64, 7)),
        try test_node.attribute(arena, "seed", @as(f32, 1)),
    };
    const y = try runOp(&state, "Multinomial", &attributes, [_]?*const Tensor{x});
    try testing.expectEqualSlices(i64, &.{ 2, sample_count }, y.shape);
    var counts = [_]usize{0} ** 6;
    for (y.items(i64), 0..) |class, i| counts[(i / sample_count) * 3 + @as(usize, @intCast(class))] += 1;
    for (probabilities, counts) |p, n| try testing.expectApproxEqAbs(p, @as(f64, @floatFromInt(n)) / sample_count, 0.006);
    logits[4] = std.math.nan(f64);
    const bad = try test_node.tensor(arena, f64, &.{ 2, 3 }, &logits);
    try testing.expectError(error.InferError, runOp(&state, "Multinomial", &attributes, [_]?*const Tensor{bad}));
}

test "Bernoulli refuses a probability outside [0, 1] and writes bool when asked" {
    var state = std.heap.ArenaAllocator.init(testing.allocator);
    defer state.deinit();
    const arena = state.allocator();
    const bool_type = [_]Attribute{try test_node.attribute(arena, "dtype", @as(i64, 9))};
    const p = try test_node.tensor(arena, f32, &.{3}, &.{ 0, 1, 1 });
    const y = try runOp(&state, "Bernoulli", &bool_type, [_]?*const Tensor{p});
    try testing.expectEqual(.bool, y.dtype);
    try testing.expectEqualSlices(u8, &.{ 0, 1, 1 }, y.data[0..3]);
    const bad = try test_node.tensor(arena, f32, &.{2}, &.{ 0.5, 1.5 });
    try testing.expectError(error.InferError, runOp(&state, "Bernoulli", &.{}, [_]?*const Tensor{bad}));
}
