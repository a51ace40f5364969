//! The per-row half of the Attention kernel (linalg_attention.zig): for each query row of the
//! score matrix it applies the softcap, adds the mask bias (attn_mask, causal frontier, sliding
//! window, padded keys), takes the softmax and records the qk_matmul_output the node asks for.
//! The structural masks (causal, window, nonpad_kv_seqlen, a mask narrower than the keys) always
//! leave one interval of attendable keys per row, so they cost two comparisons per element.
const std = @import("std");
const kernel = @import("../kernel.zig");
const common = @import("linalg_common.zig");

const DType = kernel.DType;

/// Which intermediate qk_matmul_output holds (the attribute qk_matmul_output_mode).
pub const QkMode = enum(u2) {
    /// Q*K^T scaled, after the softcap (modes 0 and 1 agree in the reference).
    scores = 0,
    softcapped = 1,
    /// The scores plus the mask bias.
    with_bias = 2,
    /// The softmax probabilities (zero for a fully masked row).
    probabilities = 3,
};

/// Everything that masks keys, resolved to concrete sizes by the kernel.
pub fn Bias(comptime A: type) type {
    return struct {
        const Self = @This();

        /// attn_mask as additive values (bool already turned into 0 / -inf), broadcast from
        /// `mask_dims` (right-aligned to [batch, q_heads, q_seq, columns]).
        mask: ?[]const A = null,
        mask_dims: [4]usize = .{ 1, 1, 1, 0 },
        causal: bool = false,
        /// Window sizes (-1: unbounded on that side).
        left_window: i64 = -1,
        right_window: i64 = -1,
        /// Per batch: how many keys precede the query block (past length, or
        /// nonpad_kv_seqlen - q_seq for an external cache). Offsets may be negative.
        offsets: []const i64,
        /// Per batch: keys at or past this index are padding; null when not given.
        nonpad: ?[]const i64 = null,

        /// The attendable keys [begin, end) of query `i` of batch `b`, before attn_mask values.
        pub fn interval(self: *const Self, b: usize, i: usize, total: usize) [2]usize {
            const t: i64 = @intCast(total);
            const position = @as(i64, @intCast(i)) +| self.offsets[b];
            var begin: i64 = 0;
            var end: i64 = t;
            if (self.causal) end = @min(end, position +| 1);
            if (self.left_window >= 0) begin = @max(begin, position -| self.left_window);
            if (self.right_window >= 0) end = @min(end, position +| self.right_window +| 1);
            if (self.nonpad) |lengths| end = @min(end, lengths[b]);
            if (self.mask != null) end = @min(end, @as(i64, @intCast(self.mask_dims[3])));
            begin = std.math.clamp(begin, 0, t);
            end = std.math.clamp(end, begin, t);
            return .{ @intCast(begin), @intCast(end) };
        }

        /// attn_mask's row for (b, h, i), `mask_dims[3]` long; null without a mask.
        pub fn maskRow(self: *const Self, b: usize, h: usize, i: usize) ?[]const A {
            const mask = self.mask orelse return null;
            const d = self.mask_dims;
            const bb = if (d[0] == 1) 0 else b;
            const hh = if (d[1] == 1) 0 else h;
            const ii = if (d[2] == 1) 0 else i;
            return mask[((bb * d[1] + hh) * d[2] + ii) * d[3] ..][0..d[3]];
        }
    };
}

/// Processes rows [begin, end) of the [batch * q_heads * q_seq, total] score matrix in place:
/// on return each row holds the probabilities that multiply V.
pub fn RowJob(comptime A: type) type {
    return struct {
        const Self = @This();

        scores: []A,
        total: usize,
        q_seq: usize,
        q_heads: usize,
        softcap: A,
        bias: Bias(A),
        /// Where qk_matmul_output goes (same layout as scores), and which stage it records.
        qk: ?[]A,
        qk_mode: QkMode,

        pub fn run(self: *const Self, begin: usize, end: usize) void {
            for (begin..end) |r| self.row(r);
        }

        fn row(self: *const Self, r: usize) void {
            const i = r % self.q_seq;
            const h = (r / self.q_seq) % self.q_heads;
            const b = r / (self.q_seq * self.q_heads);
            const x = self.scores[r * self.total ..][0..self.total];
            const qk_row = if (self.qk) |q| q[r * self.total ..][0..self.total] else null;
            if (self.softcap > 0) for (x) |*v| {
                v.* = self.softcap * std.math.tanh(v.* / self.softcap);
            };
            if (qk_row) |q| if (self.qk_mode == .scores or self.qk_mode == .softcapped) @memcpy(q, x);
            const attend = self.bias.interval(b, i, self.total);
            const masked = addBias(A, x, attend, self.bias.maskRow(b, h, i));
            if (qk_row) |q| if (self.qk_mode == .with_bias) @memcpy(q, x);
            // The reference rounds the probabilities to Q's type before P*V; keeping them in
            // the compute type lands closer to its float16 results (test_attention_4d_causal_fp16).
            if (masked) @memset(x, 0) else softmax(A, x);
            if (qk_row) |q| if (self.qk_mode == .probabilities) @memcpy(q, x);
        }
    };
}

/// Adds the bias to one row: -inf outside `attend`, the mask values inside. Returns whether the
/// bias masks every key, which zeroes the row whatever the scores are (even NaN or inf).
fn addBias(comptime A: type, x: []A, attend: [2]usize, mask: ?[]const A) bool {
    const minus_inf = -std.math.inf(A);
    @memset(x[0..attend[0]], minus_inf);
    @memset(x[attend[1]..], minus_inf);
    const inside = x[attend[0]..attend[1]];
    const values = mask orelse return inside.len == 0;
    var all_masked = true;
    for (inside, values[attend[0]..attend[1]]) |*v, m| {
        v.* += m;
        all_masked = all_masked and m == minus_inf;
    }
    return all_masked;
}

/// Softmax of one row; a row whose maximum is -inf gives zeros instead of NaN.
fn softmax(comptime A: type, x: []A) void {
    var max: A = -std.math.inf(A);
    for (x) |v| max = @max(max, v);
    if (max == -std.math.inf(A)) return @memset(x, 0);
    var sum: A = 0;
    for (x) |*v| {
        v.* = @exp(v.* - max);
        sum += v.*;
    }
    const inverse = 1 / sum;
    for (x) |*v| v.* *= inverse;
}

/// `v` rounded to the precision of `dtype` (float16 and bfloat16; wider types keep it).
pub fn roundTo(comptime A: type, dtype: DType, v: A) A {
    return switch (dtype) {
        .float16 => @floatCast(@as(f16, @floatCast(v))),
        .bfloat16 => @floatCast(common.load(common.BF16, common.bf16FromF32(@floatCast(v)))),
        else => v,
    };
}

test "the structural masks leave one interval of keys" {
    const offsets = [_]i64{ 2, -3 };
    const nonpad = [_]i64{ 5, 6 };
    const bias: Bias(f32) = .{ .causal = true, .left_window = 1, .offsets = &offsets, .nonpad = &nonpad };
    // Query 1 of batch 0 sits at key 3: the window keeps keys 2 and 3.
    try std.testing.expectEqual([2]usize{ 2, 4 }, bias.interval(0, 1, 8));
    // A negative offset before the first key masks the whole row.
    try std.testing.expectEqual([2]usize{ 0, 0 }, bias.interval(1, 0, 8));
}

test "a fully masked row softmaxes to zeros, not NaN" {
    var row = [_]f32{ std.math.nan(f32), 1, 2 };
    const minus_inf = -std.math.inf(f32);
    const mask = [_]f32{ minus_inf, minus_inf, minus_inf };
    try std.testing.expect(addBias(f32, &row, .{ 0, 3 }, &mask));
    var open = [_]f32{ 0, 0 };
    try std.testing.expect(!addBias(f32, &open, .{ 0, 2 }, null));
    softmax(f32, &open);
    try std.testing.expectApproxEqAbs(@as(f32, 0.5), open[1], 1e-6);
}
