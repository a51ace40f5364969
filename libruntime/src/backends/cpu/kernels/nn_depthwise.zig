//! Depthwise f32 convolutions (one input channel per group, as in MobileNet and EfficientNet).
//! Their K is only the kernel size, so a GEMM would be all packing: instead each input plane is
//! copied once into a zero-padded scratch plane split by stride phase (column x of phase p holds
//! padded column x * stride + p), after which every output vector is a run of contiguous loads
//! and FMAs with no bounds checks, for any stride, dilation and padding. The copy stays in L1/L2,
//! so the kernel streams each input and output plane once from memory (it is bandwidth-bound:
//! 18 FMAs per 8 bytes moved for a 3x3 window). Planes are spread over the model's threads.
const std = @import("std");
const builtin = @import("builtin");
const common = @import("nn_common.zig");
const fused = @import("fused.zig");
const activation_module = @import("activation.zig");

const Context = common.Context;
const Error = common.Error;
const Geometry = common.Geometry;

const width = 8;
const V = @Vector(width, f32);
/// Output vectors per batch: 8 independent FMA chains cover the FMA latency on two ports.
const block = 8;
/// Window taps the weight table holds; larger windows take the generic path.
const max_taps = 128;

const has_fma = switch (builtin.cpu.arch) {
    .x86_64 => std.Target.x86.featureSetHas(builtin.cpu.features, .fma),
    .aarch64 => true,
    else => false,
};

/// Whether the fast path covers this window: 1-D or 2-D (no depth axis), pads not negative.
pub fn fits(g: Geometry) bool {
    return g.in[0] == 1 and g.out[0] == 1 and g.kernel[0] == 1 and g.pad[0] == 0 and
        g.pad[1] >= 0 and g.pad[2] >= 0 and g.kernel[1] * g.kernel[2] <= max_taps;
}

/// The padded, phase-split plane: `rows` padded rows of `stride` phases, `len` floats each.
const Layout = struct {
    rows: usize,
    cols: usize,
    len: usize,
    stride: usize,

    fn of(g: Geometry) Layout {
        const rows = (g.out[1] - 1) * g.stride[1] + (g.kernel[1] - 1) * g.dilation[1] + 1;
        const cols = (g.out[2] - 1) * g.stride[2] + (g.kernel[2] - 1) * g.dilation[2] + 1;
        return .{ .rows = rows, .cols = cols, .len = std.math.divCeil(usize, cols, g.stride[2]) catch unreachable, .stride = g.stride[2] };
    }

    /// Floats per scratch slot, with one vector of slack: the last partial output vector reads
    /// past its row (into the next row or the slack) and discards those lanes.
    fn size(self: Layout) usize {
        return std.mem.alignForward(usize, self.rows * self.stride * self.len + width, 16);
    }
};

const Job = struct {
    g: Geometry,
    layout: Layout,
    /// Output channels per input channel (the depth multiplier).
    multiplier: usize,
    channels_in: usize,
    channels_out: usize,
    x: []const f32,
    w: []const f32,
    bias: ?[]const f32,
    y: []f32,
    /// Laid out like `y`: added to each output vector before `activation` (fused.zig).
    residual: ?[]const f32,
    activation: fused.Activation,
    scratch: []f32,

    /// Unit = one output plane (image, output channel).
    fn plane(self: *const Job, slot: usize, unit: usize) void {
        const g = self.g;
        const image = unit / self.channels_out;
        const oc = unit % self.channels_out;
        const ic = oc / self.multiplier;
        const in_plane = g.in[1] * g.in[2];
        const out_plane = g.out[1] * g.out[2];
        const buffer = self.scratch[slot * self.layout.size() ..][0..self.layout.size()];
        fill(g, self.layout, self.x[(image * self.channels_in + ic) * in_plane ..][0..in_plane], buffer);
        const taps = g.kernel[1] * g.kernel[2];
        var weights: [max_taps]f32 = undefined;
        var offsets: [max_taps]usize = undefined;
        for (0..g.kernel[1]) |kh| for (0..g.kernel[2]) |kw| {
            const t = kh * g.kernel[2] + kw;
            weights[t] = self.w[oc * taps + t];
            const col = kw * g.dilation[2];
            const row = kh * g.dilation[1];
            offsets[t] = (row * self.layout.stride + col % self.layout.stride) * self.layout.len + col / self.layout.stride;
        };
        const bias: f32 = if (self.bias) |b| b[oc] else 0;
        const planes: Planes = .{
            .src = buffer.ptr,
            .dst = self.y[unit * out_plane ..][0..out_plane].ptr,
            .residual = if (self.residual) |r| r[unit * out_plane ..][0..out_plane].ptr else undefined,
        };
        const tap_table: Taps = .{ .weights = weights[0..taps], .offsets = offsets[0..taps], .bias = bias };
        // One loop per activation and residual, fixed at compile time: the store stays a few
        // vector instructions.
        switch (self.activation.kind) {
            inline else => |kind| if (self.residual != null)
                self.outputPlane(.{ .kind = kind, .residual = true }, planes, tap_table)
            else
                self.outputPlane(.{ .kind = kind, .residual = false }, planes, tap_table),
        }
    }

    fn outputPlane(self: *const Job, comptime store: Store, planes: Planes, taps: Taps) void {
        const g = self.g;
        const row_step = g.stride[1] * self.layout.stride * self.layout.len;
        // Output vectors go out in batches of `block`, across rows when rows are short (7, 14,
        // 28 wide), so that every tap feeds `block` independent FMA chains.
        var batch: [block]Spot = undefined;
        var count: usize = 0;
        for (0..g.out[1]) |oh| {
            var ow: usize = 0;
            while (ow < g.out[2]) : (ow += width) {
                const at = oh * g.out[2] + ow;
                batch[count] = .{ .src = planes.src + oh * row_step + ow, .at = at, .lanes = @min(width, g.out[2] - ow) };
                count += 1;
                if (count == block) {
                    outputVectors(block, store, &batch, planes, taps, self.activation);
                    count = 0;
                }
            }
        }
        for (batch[0..count]) |*spot| outputVectors(1, store, spot[0..1], planes, taps, self.activation);
    }
};

/// What the store does besides writing: fixed per plane, so each variant is its own loop.
const Store = struct { kind: activation_module.Kind, residual: bool };

/// Where one plane is read and written.
const Planes = struct {
    /// The padded, phase-split input copy.
    src: [*]const f32,
    dst: [*]f32,
    /// The residual's plane (read only when the store adds one).
    residual: [*]const f32,
};

/// One output channel's window: its weights, the scratch offset of each tap, and its bias.
const Taps = struct { weights: []const f32, offsets: []const usize, bias: f32 };

/// Copies one input plane into the padded, phase-split layout (zeros in the padding).
fn fill(g: Geometry, layout: Layout, src: []const f32, dst: []f32) void {
    const pad_h: usize = @intCast(g.pad[1]);
    const pad_w: usize = @intCast(g.pad[2]);
    const s = layout.stride;
    @memset(dst, 0);
    for (0..layout.rows) |r| {
        if (r < pad_h or r - pad_h >= g.in[1]) continue;
        const line = src[(r - pad_h) * g.in[2] ..][0..g.in[2]];
        // Input columns that land inside the padded row.
        const last = @min(g.in[2], layout.cols -| pad_w);
        const row = dst[r * s * layout.len ..];
        if (s == 1) {
            @memcpy(row[pad_w..][0..last], line[0..last]);
            continue;
        }
        if (s == 2) {
            // Input column i is padded column pad_w + i: an even pad keeps its parity.
            const q = pad_w / 2;
            if (pad_w % 2 == 0) {
                splitPairs(line[0..last], row[q..], row[layout.len + q ..]);
            } else {
                splitPairs(line[0..last], row[layout.len + q ..], row[q + 1 ..]);
            }
            continue;
        }
        // Phase p holds padded columns x * s + p, i.e. input columns x * s + p - pad_w.
        for (0..s) |p| {
            const phase = row[p * layout.len ..][0..layout.len];
            // First x whose input column is >= 0, then every s-th input column below `last`.
            const x0 = std.math.divCeil(usize, pad_w -| p, s) catch unreachable;
            var col = x0 * s + p - pad_w;
            var x = x0;
            while (col < last) : ({
                col += s;
                x += 1;
            }) phase[x] = line[col];
        }
    }
}

/// Even and odd elements of `line` into `even` and `odd` (the two phases of a stride-2 row), 16
/// at a time with one shuffle each: the scalar split cost a fifth of the depthwise time.
fn splitPairs(line: []const f32, even: []f32, odd: []f32) void {
    const evens = comptime std.simd.iota(i32, width) * @as(@Vector(width, i32), @splat(2));
    const odds = comptime evens + @as(@Vector(width, i32), @splat(1));
    var i: usize = 0;
    while (i + 2 * width <= line.len) : (i += 2 * width) {
        const lo: V = line[i..][0..width].*;
        const hi: V = line[i + width ..][0..width].*;
        even[i / 2 ..][0..width].* = @shuffle(f32, lo, hi, mask(evens));
        odd[i / 2 ..][0..width].* = @shuffle(f32, lo, hi, mask(odds));
    }
    while (i < line.len) : (i += 1) {
        if (i % 2 == 0) even[i / 2] = line[i] else odd[i / 2] = line[i];
    }
}

/// @shuffle's mask: indices past the first vector are written ~(i - width).
fn mask(comptime indices: @Vector(width, i32)) @Vector(width, i32) {
    comptime {
        var out: [width]i32 = undefined;
        for (0..width) |k| out[k] = if (indices[k] < width) indices[k] else ~(indices[k] - width);
        return out;
    }
}

/// One output vector: where its first tap reads, its index in the output plane, and how many
/// lanes are valid.
const Spot = struct { src: [*]const f32, at: usize, lanes: usize };

/// n output vectors: out = act(bias + sum over taps of weight * src[offset ..][0..width] +
/// residual). Lanes past `lanes` read the scratch plane's next values (or its slack) and are
/// not stored.
fn outputVectors(comptime n: usize, comptime store: Store, spots: *const [n]Spot, planes: Planes, taps: Taps, activation: fused.Activation) void {
    var acc: [n]V = @splat(@splat(taps.bias));
    for (taps.weights, taps.offsets) |weight, offset| {
        const wv: V = @splat(weight);
        inline for (0..n) |b| acc[b] = fma(wv, (spots[b].src + offset)[0..width].*, acc[b]);
    }
    inline for (0..n) |b| {
        const spot = spots[b];
        var v = acc[b];
        if (spot.lanes == width) {
            if (store.residual) v += @as(V, planes.residual[spot.at..][0..width].*);
            planes.dst[spot.at..][0..width].* = activation.applyAs(store.kind, width, v);
        } else {
            if (store.residual) {
                var part: [width]f32 = @splat(0);
                @memcpy(part[0..spot.lanes], planes.residual[spot.at..][0..spot.lanes]);
                v += @as(V, part);
            }
            const lanes: [width]f32 = activation.applyAs(store.kind, width, v);
            @memcpy(planes.dst[spot.at..][0..spot.lanes], lanes[0..spot.lanes]);
        }
    }
}

inline fn fma(a: V, b: V, c: V) V {
    return if (has_fma) @mulAdd(V, a, b, c) else a * b + c;
}

/// Y = act(depthwise conv(X, W) + bias + residual) for `n` images of `channels_in` planes,
/// `channels_out` a multiple of it (`fusion`: the residual and activation, or none). The caller
/// checked shapes and `fits(g)`.
pub fn run(
    ctx: *const Context,
    g: Geometry,
    n: usize,
    channels_in: usize,
    channels_out: usize,
    x: []const f32,
    w: []const f32,
    bias: ?[]const f32,
    fusion: fused.ConvFusion,
    y: []f32,
) Error!void {
    std.debug.assert(fits(g) and channels_out % channels_in == 0);
    const units = n * channels_out;
    if (units == 0 or g.outCount() == 0) return;
    const layout = Layout.of(g);
    // A plane is a few µs of work; spreading fewer than a few per thread costs more than it saves.
    const slots = @max(1, @min(ctx.threadCount(), units / 4));
    var job = Job{
        .g = g,
        .layout = layout,
        .multiplier = channels_out / channels_in,
        .channels_in = channels_in,
        .channels_out = channels_out,
        .x = x,
        .w = w,
        .bias = bias,
        .y = y,
        .residual = fusion.residual,
        .activation = fusion.activation,
        .scratch = try ctx.alloc(f32, try common.mulChecked(ctx, layout.size(), slots)),
    };
    common.runUnits(ctx, units, slots, &job, Job.plane);
}
