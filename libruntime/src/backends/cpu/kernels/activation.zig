//! The activations a producer kernel (the GEMM's store, the depthwise convolution) can apply to
//! its results while they are still in registers, instead of a separate pass over memory. Each
//! one computes exactly what the standalone kernel computes (elementwise_unary.zig: Relu and
//! Sigmoid through simd_math, Clip as min(max(x, lo), hi), SiLU as x * Sigmoid(x) rounded once
//! like the Mul), so fusing changes no bits.
const std = @import("std");
const simd = @import("simd_math.zig");

pub const Kind = @import("../../../model/fuse.zig").ActivationCode;

pub const Activation = struct {
    kind: Kind = .none,
    /// Clip's bounds.
    lo: f32 = -std.math.inf(f32),
    hi: f32 = std.math.inf(f32),

    pub const none: Activation = .{};

    /// The activation on one vector, `kind` fixed at compile time (see `dispatch`).
    pub inline fn applyAs(self: Activation, comptime kind: Kind, comptime n: usize, x: @Vector(n, f32)) @Vector(n, f32) {
        return switch (kind) {
            .none => x,
            .relu => simd.reluOf(n, x),
            .clip => @min(@max(x, @as(@Vector(n, f32), @splat(self.lo))), @as(@Vector(n, f32), @splat(self.hi))),
            .sigmoid => simd.sigmoidOf(n, x),
            .silu => x * simd.sigmoidOf(n, x),
        };
    }

    pub inline fn apply(self: Activation, comptime n: usize, x: @Vector(n, f32)) @Vector(n, f32) {
        return switch (self.kind) {
            inline else => |kind| self.applyAs(kind, n, x),
        };
    }

    /// In place over a slice (a finished output row or plane, still in cache).
    pub fn applySlice(self: Activation, values: []f32) void {
        self.map(values, values);
    }

    /// y = act(x) over equal-length slices (which may be the same memory). The standalone Clip
    /// kernel runs this too, so a fused Clip matches it to the bit, signed zeros included.
    pub fn map(self: Activation, x: []const f32, y: []f32) void {
        std.debug.assert(x.len == y.len);
        switch (self.kind) {
            .none => if (x.ptr != y.ptr) @memcpy(y, x),
            inline else => |kind| {
                const n = 8;
                var i: usize = 0;
                while (i + n <= x.len) : (i += n) {
                    y[i..][0..n].* = self.applyAs(kind, n, x[i..][0..n].*);
                }
                // The tail through one padded vector: the same instructions as full vectors.
                if (i == x.len) return;
                var tail: [n]f32 = @splat(0);
                @memcpy(tail[0 .. x.len - i], x[i..]);
                const out: [n]f32 = self.applyAs(kind, n, tail);
                @memcpy(y[i..], out[0 .. x.len - i]);
            },
        }
    }
};

test "each activation gives the bits of the standalone kernel's formula, at any position" {
    var prng = std.Random.DefaultPrng.init(7);
    const random = prng.random();
    var x: [simd.lanes]f32 = undefined;
    for (&x) |*v| v.* = (random.float(f32) - 0.5) * 20;
    x[0] = 0;
    x[1] = -0.0;
    x[2] = 6;
    const relu: [simd.lanes]f32 = simd.relu(x);
    const sigmoid: [simd.lanes]f32 = simd.sigmoid(x);
    const clip = Activation{ .kind = .clip, .lo = 0, .hi = 6 };
    var clipped: [simd.lanes]f32 = undefined;
    clip.map(&x, &clipped);
    const cases = [_]Activation{ .{ .kind = .relu }, .{ .kind = .clip, .lo = 0, .hi = 6 }, .{ .kind = .sigmoid }, .{ .kind = .silu } };
    for (cases) |activation| {
        var values = x;
        activation.applySlice(values[0..13]); // a full vector, then a padded tail
        activation.applySlice(values[13..]);
        for (x, values, 0..) |v, got, i| {
            const want: f32 = switch (activation.kind) {
                .relu => relu[i],
                .clip => clipped[i],
                .sigmoid => sigmoid[i],
                .silu => v * sigmoid[i],
                .none => v,
            };
            try std.testing.expectEqual(@as(u32, @bitCast(want)), @as(u32, @bitCast(got)));
        }
    }
}
