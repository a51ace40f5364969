//! Random numbers for the CPU kernels, Dropout (part of the nn family's operators, kept here
//! because its training mode draws them), and the generator operators (random_generators.zig:
//! RandomNormal, RandomUniform, their -Like forms, Bernoulli, Multinomial).
//!
//! ONNX leaves the generator to the runtime. Tessera uses the one onnx's reference evaluator uses:
//! numpy's legacy RandomState, a 32-bit Mersenne Twister seeded with init_genrand(seed), whose
//! uniform doubles take 53 bits from two draws. A seeded node is therefore reproducible against
//! onnx's reference (and numpy) bit for bit, and the same seed gives the same draws every run,
//! as a RandomState built from the seed at each run does. An unseeded node draws a fresh seed.
const std = @import("std");
const common = @import("nn_common.zig");

const Context = common.Context;
const Error = common.Error;

/// MT19937 as numpy's RandomState (mt19937_seed, mt19937_next32, legacy random_sample).
pub const Mt19937 = struct {
    const n = 624;
    const m = 397;
    const matrix_a: u32 = 0x9908b0df;
    const upper: u32 = 0x80000000;
    const lower: u32 = 0x7fffffff;

    key: [n]u32,
    pos: usize,

    pub fn init(seed: u32) Mt19937 {
        var self: Mt19937 = .{ .key = undefined, .pos = n };
        self.key[0] = seed;
        for (1..n) |i| {
            const prev = self.key[i - 1];
            self.key[i] = 1812433253 *% (prev ^ (prev >> 30)) +% @as(u32, @intCast(i));
        }
        return self;
    }

    fn mix(self: *const Mt19937, a: usize, b: usize, c: usize) u32 {
        const y = (self.key[a] & upper) | (self.key[b] & lower);
        return self.key[c] ^ (y >> 1) ^ (if (y & 1 != 0) matrix_a else 0);
    }

    fn twist(self: *Mt19937) void {
        for (0..n - m) |i| self.key[i] = self.mix(i, i + 1, i + m);
        for (n - m..n - 1) |i| self.key[i] = self.mix(i, i + 1, i + m - n);
        self.key[n - 1] = self.mix(n - 1, 0, m - 1);
        self.pos = 0;
    }

    pub fn next32(self: *Mt19937) u32 {
        if (self.pos == n) self.twist();
        var y = self.key[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        return y ^ (y >> 18);
    }

    /// A double in [0, 1) with 53 random bits, as numpy's random_sample and uniform(0, 1).
    pub fn nextDouble(self: *Mt19937) f64 {
        const a: f64 = @floatFromInt(self.next32() >> 5);
        const b: f64 = @floatFromInt(self.next32() >> 6);
        return (a * 67108864.0 + b) / 9007199254740992.0;
    }
};

/// The generator for a node: its `seed` attribute (numpy takes the low 32 bits' worth, 0 to
/// 2^32-1; larger or negative seeds are refused as numpy does), else a fresh random seed.
pub fn seeded(ctx: *const Context, seed: ?i64) Error!Mt19937 {
    const s = seed orelse return Mt19937.init(std.crypto.random.int(u32));
    if (s < 0 or s > std.math.maxInt(u32)) return ctx.fail("seed {d} is outside 0..2^32-1", .{s});
    return Mt19937.init(@intCast(s));
}

/// Dropout's mode: training and ratio come from inputs 2 and 1 since opset 12; before, the ratio
/// is an attribute and training was the model's affair (is_test), so inference is assumed.
fn dropoutMode(ctx: *const Context) Error!struct { training: bool, ratio: f64 } {
    var training = false;
    var ratio: f64 = ctx.node.attrFloat("ratio", 0.5);
    if (ctx.node.opset >= 12) {
        if (ctx.input(2)) |t| {
            if (t.dtype != .bool or t.count() != 1) {
                return ctx.fail("training_mode must be a bool scalar", .{});
            }
            training = t.data[0] != 0;
        }
        if (ctx.input(1)) |r| {
            if (r.count() != 1) return ctx.fail("ratio must be a scalar", .{});
            _ = try common.precision(ctx, r.dtype, false);
            ratio = (try common.floats(f64, ctx, r))[0];
        }
    }
    return .{ .training = training, .ratio = ratio };
}

/// Dropout at inference (or with ratio 0) is the identity (no copy) with an all-true mask. In
/// training each element is kept when its uniform draw is at least ratio, and scaled by
/// 1/(1-ratio), as onnx's reference does (the mask in row-major order, one draw per element).
fn dropout(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const mode = try dropoutMode(ctx);
    if (!mode.training or mode.ratio == 0) return identityDropout(ctx, x);
    if (!(mode.ratio > 0 and mode.ratio < 1)) {
        return ctx.fail("ratio {d} is outside [0, 1)", .{mode.ratio});
    }
    const has_seed = ctx.node.has("seed");
    var rng = try seeded(ctx, if (has_seed) ctx.node.attrInt("seed", 0) else null);
    const count = x.count();
    const keep = try ctx.alloc(bool, count);
    for (keep) |*k| k.* = rng.nextDouble() >= mode.ratio;
    switch (try common.precision(ctx, x.dtype, false)) {
        inline else => |prec| {
            const F = if (prec == .f32) f32 else f64;
            // As numpy's mask * X * scale in X's type: a dropped NaN stays NaN, a dropped -x is -0.
            const scale: F = @floatCast(1.0 / (1.0 - mode.ratio));
            const values = try common.floats(F, ctx, x);
            const y = try common.floatOutput(F, ctx, 0, x.dtype, x.shape);
            for (y.values, values, keep) |*o, v, k| {
                o.* = @as(F, @floatFromInt(@intFromBool(k))) * v * scale;
            }
            y.finish();
        },
    }
    if (!ctx.wantsOutput(1)) return;
    const mask = try ctx.output(1, .bool, x.shape);
    for (mask.data[0..count], keep) |*o, k| o.* = @intFromBool(k);
}

fn identityDropout(ctx: *Context, x: *const common.Tensor) Error!void {
    try ctx.alias(0, 0, x.shape);
    if (!ctx.wantsOutput(1)) return;
    if (ctx.node.opset >= 10) {
        const mask = try ctx.output(1, .bool, x.shape);
        @memset(mask.data, 1);
        return;
    }
    // Before opset 10 the mask has X's type: ones.
    switch (try common.precision(ctx, x.dtype, false)) {
        inline else => |prec| {
            const F = if (prec == .f32) f32 else f64;
            const mask = try common.floatOutput(F, ctx, 1, x.dtype, x.shape);
            @memset(mask.values, 1);
            mask.finish();
        },
    }
}

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .op = "Dropout", .run = dropout },
} ++ @import("random_generators.zig").kernels;

test "Mt19937 draws what numpy's RandomState draws" {
    // np.random.RandomState(0).uniform(0, 1, 3); seed 5489 gives MT19937's reference first output.
    var rng = Mt19937.init(0);
    try std.testing.expectEqual(@as(f64, 0.5488135039273248), rng.nextDouble());
    try std.testing.expectEqual(@as(f64, 0.7151893663724195), rng.nextDouble());
    try std.testing.expectEqual(@as(f64, 0.6027633760716439), rng.nextDouble());
    var reference = Mt19937.init(5489);
    try std.testing.expectEqual(@as(u32, 3499211612), reference.next32());
}

test "Mt19937 stays on numpy's stream past the first twist" {
    var rng = Mt19937.init(0);
    for (0..1000) |_| _ = rng.nextDouble();
    // np.random.RandomState(0).uniform(0, 1, 1001)[1000]
    try std.testing.expectEqual(@as(f64, 0.5928802707811576), rng.nextDouble());
}
