//! Resampling (part of the nn family, see nn.zig): Resize (nearest, linear, cubic; every
//! coordinate_transformation_mode; antialias, exclude_outside, extrapolation, axes and
//! keep_aspect_ratio_policy) and Upsample. Interpolation is separable: each resized axis is one
//! pass that mixes `taps` input lines per output line with weights planned once per axis, as the
//! reference does (its weights and index choice are followed exactly).
const std = @import("std");
const common = @import("nn_common.zig");

const Context = common.Context;
const Tensor = common.Tensor;
const Error = common.Error;

const Mode = enum { nearest, linear, cubic };
const Transform = enum {
    half_pixel,
    half_pixel_symmetric,
    pytorch_half_pixel,
    align_corners,
    asymmetric,
    tf_crop_and_resize,
};
const Nearest = enum { round_prefer_floor, round_prefer_ceil, floor, ceil };

const Settings = struct {
    mode: Mode,
    transform: Transform,
    nearest: Nearest,
    cubic_a: f64 = -0.75,
    exclude_outside: bool = false,
    antialias: bool = false,
    extrapolation: f64 = 0,
};

/// One resized axis: per output index, `taps` clamped input indices and their weights.
const AxisPlan = struct {
    axis: usize,
    out: usize,
    taps: usize,
    index: []usize,
    weight: []f64,
    /// tf_crop_and_resize outputs whose source lies outside the input.
    extrapolated: []bool,
};

fn parseEnum(comptime E: type, ctx: *const Context, comptime name: []const u8, default: []const u8) Error!E {
    const text = ctx.node.attrString(name, default);
    if (std.mem.eql(u8, text, "bilinear")) {
        return std.meta.stringToEnum(E, "linear") orelse ctx.fail("{s} 'bilinear' is not supported", .{name});
    }
    const shown = text[0..@min(text.len, 64)];
    return std.meta.stringToEnum(E, text) orelse ctx.fail("{s} '{s}' is not supported", .{ name, shown });
}

fn coordinate(s: Settings, o: usize, scale: f64, in: usize, out: usize, roi: [2]f64) f64 {
    const y: f64 = @floatFromInt(o);
    const in_f: f64 = @floatFromInt(in);
    const out_f = scale * in_f; // the reference's (possibly fractional) output length
    return switch (s.transform) {
        .half_pixel => (y + 0.5) / scale - 0.5,
        .half_pixel_symmetric => blk: {
            const adjustment = @as(f64, @floatFromInt(out)) / out_f;
            break :blk in_f / 2 * (1 - adjustment) + (y + 0.5) / scale - 0.5;
        },
        .pytorch_half_pixel => if (out_f == 1) -0.5 else (y + 0.5) / scale - 0.5,
        .align_corners => if (out_f == 1) 0 else y * (in_f - 1) / (out_f - 1),
        .asymmetric => y / scale,
        .tf_crop_and_resize => (if (out_f == 1)
            (roi[1] - roi[0]) * (in_f - 1) / 2
        else
            y * (roi[1] - roi[0]) * (in_f - 1) / (out_f - 1)) + roi[0] * (in_f - 1),
    };
}

fn cubicKernel(x_signed: f64, a: f64) f64 {
    const x = @abs(x_signed);
    if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0;
}

/// The reference's coefficient count for a mode at a scale; null past 2^16 (a tiny antialias scale).
fn tapCount(s: Settings, scale: f64) ?usize {
    if (!s.antialias or s.mode == .nearest) return if (s.mode == .cubic) 4 else 2;
    const sc = @min(scale, 1.0);
    const reach: f64 = if (s.mode == .cubic) 2 else 1;
    const count = 2 - 2 * (@floor(-reach / sc) + 1);
    if (!(count <= 1 << 16)) return null;
    return @intFromFloat(count);
}

/// Weights for fraction `ratio` (1 when the source is on a sample), into `w`.
fn coefficients(s: Settings, ratio: f64, scale: f64, w: []f64) void {
    switch (s.mode) {
        .nearest => {
            const ceil_side = if (ratio == 1) true else switch (s.nearest) {
                .round_prefer_floor => ratio > 0.5,
                .round_prefer_ceil => ratio >= 0.5,
                .floor => false,
                .ceil => true,
            };
            w[0] = if (ceil_side) 0 else 1;
            w[1] = if (ceil_side) 1 else 0;
        },
        .linear, .cubic => if (!s.antialias) {
            if (s.mode == .linear) {
                w[0] = 1 - ratio;
                w[1] = ratio;
            } else for (w, 0..) |*c, k| {
                c.* = cubicKernel(@as(f64, @floatFromInt(k)) - 1 - ratio, s.cubic_a);
            }
        } else {
            const sc = @min(scale, 1.0);
            const start = 1 - @as(f64, @floatFromInt(w.len / 2));
            var sum: f64 = 0;
            for (w, 0..) |*c, k| {
                const arg = (start + @as(f64, @floatFromInt(k)) - ratio) * sc;
                c.* = if (s.mode == .linear) std.math.clamp(1 - @abs(arg), 0, 1) else cubicKernel(arg, s.cubic_a);
                sum += c.*;
            }
            if (sum != 0) for (w) |*c| {
                c.* /= sum;
            };
        },
    }
}

fn planAxis(
    ctx: *const Context,
    s: Settings,
    axis: usize,
    in: usize,
    out: usize,
    scale: f64,
    roi: [2]f64,
) Error!AxisPlan {
    if (in == 0 and out > 0) return ctx.fail("axis {d} is empty and cannot be resized", .{axis});
    const taps = tapCount(s, scale) orelse return ctx.fail("axis {d}: the antialias footprint is too wide", .{axis});
    const total = try common.mulChecked(ctx, out, taps);
    const plan = AxisPlan{
        .axis = axis,
        .out = out,
        .taps = taps,
        .index = try ctx.alloc(usize, total),
        .weight = try ctx.alloc(f64, total),
        .extrapolated = try ctx.alloc(bool, out),
    };
    const last: f64 = @floatFromInt(in -| 1);
    for (0..out) |o| {
        const x = coordinate(s, o, scale, in, out, roi);
        plan.extrapolated[o] = s.transform == .tf_crop_and_resize and (x < 0 or x > last);
        const w = plan.weight[o * taps ..][0..taps];
        const index = plan.index[o * taps ..][0..taps];
        // A source far outside (or NaN) is clamped: its taps all land on an edge sample.
        const xc = if (std.math.isNan(x)) 0 else std.math.clamp(x, -1e15, 1e15);
        const p = @floor(xc);
        const on_sample = xc == p;
        coefficients(s, if (on_sample) 1 else xc - p, scale, w);
        const half: i64 = @intCast(taps / 2);
        const first = @as(i64, @intFromFloat(p)) - half + @as(i64, if (on_sample) 0 else 1);
        var sum: f64 = 0;
        for (index, w, 0..) |*ix, *wk, k| {
            const raw = first + @as(i64, @intCast(k));
            if (s.exclude_outside and (raw < 0 or raw >= in)) wk.* = 0;
            sum += wk.*;
            ix.* = @intCast(std.math.clamp(raw, 0, @as(i64, @intCast(in)) - 1));
        }
        if (s.exclude_outside and sum != 0) for (w) |*wk| {
            wk.* /= sum;
        };
    }
    return plan;
}

/// One separable pass: `src` viewed as outer x in x inner becomes outer x plan.out x inner.
fn resample(
    comptime F: type,
    plan: AxisPlan,
    s: Settings,
    src: []const F,
    dst: []F,
    outer: usize,
    in: usize,
    inner: usize,
) void {
    const extrapolation: F = @floatCast(s.extrapolation);
    for (0..outer) |b| {
        const from = src[b * in * inner ..][0 .. in * inner];
        for (0..plan.out) |o| {
            const line = dst[(b * plan.out + o) * inner ..][0..inner];
            if (plan.extrapolated[o]) {
                @memset(line, extrapolation);
                continue;
            }
            const index = plan.index[o * plan.taps ..][0..plan.taps];
            const weight = plan.weight[o * plan.taps ..][0..plan.taps];
            @memset(line, 0);
            for (index, weight) |ix, w| {
                if (w == 0) continue;
                const wf: F = @floatCast(w);
                for (line, from[ix * inner ..][0..inner]) |*d, v| d.* += wf * v;
            }
        }
    }
}

/// Runs the planned passes in order and writes the output (X's type; integers round and saturate).
fn run(ctx: *const Context, x: *const Tensor, s: Settings, plans: []const AxisPlan, out_shape: []const i64) Error!void {
    if (plans.len == 0) {
        try ctx.alias(0, 0, x.shape);
        return;
    }
    for (out_shape, 0..) |d, a| {
        if (d > 0 and x.shape[a] == 0) return ctx.fail("axis {d} is empty and cannot be resized", .{a});
    }
    switch (try common.precision(ctx, x.dtype, true)) {
        inline else => |p| {
            const F = if (p == .f32) f32 else f64;
            var current: []const F = try common.floats(F, ctx, x);
            const shape = try ctx.alloc(i64, x.rank());
            @memcpy(shape, x.shape);
            const out = try common.floatOutput(F, ctx, 0, x.dtype, out_shape);
            for (plans, 0..) |plan, k| {
                var outer: usize = 1;
                for (shape[0..plan.axis]) |d| outer *= @intCast(d);
                var inner: usize = 1;
                for (shape[plan.axis + 1 ..]) |d| inner *= @intCast(d);
                const in: usize = @intCast(shape[plan.axis]);
                const size = try common.mulChecked(ctx, outer * plan.out, inner);
                const dst = if (k + 1 == plans.len) out.values else try ctx.alloc(F, size);
                resample(F, plan, s, current, dst, outer, in, inner);
                shape[plan.axis] = @intCast(plan.out);
                current = dst;
            }
            out.finish();
        },
    }
}

fn floatList(ctx: *const Context, t: *const Tensor) Error![]const f64 {
    _ = try common.precision(ctx, t.dtype, false);
    return common.floats(f64, ctx, t);
}

fn resize(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const r = x.rank();
    const old = ctx.node.opset < 11;
    var s = Settings{
        .mode = try parseEnum(Mode, ctx, "mode", "nearest"),
        .transform = if (old)
            .asymmetric
        else
            try parseEnum(Transform, ctx, "coordinate_transformation_mode", "half_pixel"),
        .nearest = if (old) .floor else try parseEnum(Nearest, ctx, "nearest_mode", "round_prefer_floor"),
        .cubic_a = ctx.node.attrFloat("cubic_coeff_a", -0.75),
        .exclude_outside = try common.flag(ctx, "exclude_outside", 0),
        .antialias = try common.flag(ctx, "antialias", 0),
        .extrapolation = ctx.node.attrFloat("extrapolation_value", 0),
    };
    if (s.mode == .nearest) s.antialias = false;
    // The axes that scales, sizes and roi list (opset 18), in their order.
    const axes = try ctx.alloc(usize, if (ctx.node.attrInts("axes")) |a| a.len else r);
    if (ctx.node.attrInts("axes")) |list| {
        for (list, axes, 0..) |a, *slot, k| {
            slot.* = try common.normalizeAxis(ctx, a, r);
            if (std.mem.indexOfScalar(usize, axes[0..k], slot.*) != null) return ctx.fail("axis {d} is repeated", .{a});
        }
    } else for (axes, 0..) |*slot, k| {
        slot.* = k;
    }
    const scales_input = ctx.input(if (old) 1 else 2);
    const sizes_input = if (old) null else ctx.input(3);
    const scales_given = scales_input != null and scales_input.?.count() > 0;
    const sizes_given = sizes_input != null and sizes_input.?.count() > 0;
    if (scales_given == sizes_given) return ctx.fail("needs exactly one of scales and sizes", .{});
    const scale = try ctx.alloc(f64, axes.len);
    const out_shape = try ctx.alloc(i64, r);
    @memcpy(out_shape, x.shape);
    if (scales_given) {
        const values = try floatList(ctx, scales_input.?);
        if (values.len != axes.len) return ctx.fail("scales has {d} values for {d} axes", .{ values.len, axes.len });
        for (values, axes, scale) |v, a, *sc| {
            if (!(v > 0) or std.math.isInf(v)) return ctx.fail("scale {d} is not a positive number", .{v});
            const extent = @floor(@as(f64, @floatFromInt(x.shape[a])) * v);
            if (extent >= 1 << 40) return ctx.fail("scale {d} makes axis {d} too large", .{ v, a });
            out_shape[a] = @intFromFloat(extent);
            sc.* = v;
        }
    } else {
        const sizes = try @import("nn_convt.zig").intVector(ctx, sizes_input.?, "sizes");
        try sizesToScales(ctx, x, axes, sizes, scale, out_shape);
    }
    _ = try common.countOf(ctx, out_shape);
    const roi = try roiOf(ctx, if (old) null else ctx.input(1), axes, r);
    var plans = std.ArrayList(AxisPlan).empty;
    for (axes, scale) |a, sc| {
        const in: usize = @intCast(x.shape[a]);
        const out: usize = @intCast(out_shape[a]);
        const trivial_roi = s.transform != .tf_crop_and_resize or (roi[a][0] == 0 and roi[a][1] == 1);
        if (std.math.approxEqRel(f64, sc, 1, 1e-9) and in == out and trivial_roi) continue;
        const plan = try planAxis(ctx, s, a, in, out, sc, roi[a]);
        plans.append(ctx.arena, plan) catch return ctx.fail("out of memory", .{});
    }
    try run(ctx, x, s, plans.items, out_shape);
}

/// sizes -> output extents and scales, with keep_aspect_ratio_policy's single scale (opset 18).
fn sizesToScales(
    ctx: *const Context,
    x: *const Tensor,
    axes: []const usize,
    sizes: []const i64,
    scale: []f64,
    out_shape: []i64,
) Error!void {
    if (sizes.len != axes.len) return ctx.fail("sizes has {d} values for {d} axes", .{ sizes.len, axes.len });
    for (sizes) |v| if (v < 0 or v > 1 << 40) return ctx.fail("sizes holds {d}", .{v});
    const policy = if (ctx.node.opset >= 18) ctx.node.attrString("keep_aspect_ratio_policy", "stretch") else "stretch";
    for (axes, sizes, scale) |a, v, *sc| {
        sc.* = @as(f64, @floatFromInt(v)) / @as(f64, @floatFromInt(x.shape[a]));
        out_shape[a] = v;
    }
    if (std.mem.eql(u8, policy, "stretch")) return;
    const larger = std.mem.eql(u8, policy, "not_smaller");
    if (!larger and !std.mem.eql(u8, policy, "not_larger")) {
        return ctx.fail("keep_aspect_ratio_policy '{s}' is unknown", .{policy[0..@min(policy.len, 64)]});
    }
    var chosen = scale[0];
    for (scale) |sc| chosen = if (larger) @max(chosen, sc) else @min(chosen, sc);
    for (axes, scale) |a, *sc| {
        sc.* = chosen;
        const extent = @floor(chosen * @as(f64, @floatFromInt(x.shape[a])) + 0.5);
        if (!(extent < 1 << 40)) return ctx.fail("axis {d} would be too large", .{a});
        out_shape[a] = @intFromFloat(extent);
    }
}

/// Per axis of X, the roi's start and end (0 and 1 where not given).
fn roiOf(ctx: *const Context, t: ?*const Tensor, axes: []const usize, r: usize) Error![][2]f64 {
    const out = try ctx.alloc([2]f64, r);
    @memset(out, .{ 0, 1 });
    const roi = t orelse return out;
    if (roi.count() == 0) return out;
    const values = try floatList(ctx, roi);
    if (values.len != 2 * axes.len) return ctx.fail("roi has {d} values for {d} axes", .{ values.len, axes.len });
    for (axes, 0..) |a, k| out[a] = .{ values[k], values[k + axes.len] };
    return out;
}

/// Upsample: asymmetric coordinates; scales from an attribute (opset 7), an input (opset 9), or
/// height_scale/width_scale (opset 1).
fn upsample(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const r = x.rank();
    const mode = try parseEnum(Mode, ctx, "mode", "nearest");
    const s = Settings{ .mode = mode, .transform = .asymmetric, .nearest = .floor };
    if (s.mode == .cubic) return ctx.fail("mode 'cubic' is not an Upsample mode", .{});
    const scales = try ctx.alloc(f64, r);
    if (ctx.node.opset >= 9) {
        const values = try floatList(ctx, try ctx.require(1));
        if (values.len != r) return ctx.fail("scales has {d} values for rank {d}", .{ values.len, r });
        @memcpy(scales, values);
    } else if (ctx.node.opset >= 7) {
        const values = ctx.node.attrFloats("scales") orelse return ctx.fail("scales is required", .{});
        if (values.len != r) return ctx.fail("scales has {d} values for rank {d}", .{ values.len, r });
        for (scales, values) |*o, v| o.* = v;
    } else {
        if (r != 4) return ctx.fail("Upsample-1 needs N x C x H x W", .{});
        scales[0] = 1;
        scales[1] = 1;
        scales[2] = ctx.node.attrFloat("height_scale", 1);
        scales[3] = ctx.node.attrFloat("width_scale", 1);
    }
    const out_shape = try ctx.alloc(i64, r);
    var plans = std.ArrayList(AxisPlan).empty;
    for (scales, 0..) |sc, a| {
        if (!(sc > 0) or std.math.isInf(sc)) return ctx.fail("scale {d} is not a positive number", .{sc});
        const extent = @floor(@as(f64, @floatFromInt(x.shape[a])) * sc);
        if (extent >= 1 << 40) return ctx.fail("scale {d} makes axis {d} too large", .{ sc, a });
        out_shape[a] = @intFromFloat(extent);
        if (sc == 1) continue;
        const plan = try planAxis(ctx, s, a, @intCast(x.shape[a]), @intCast(out_shape[a]), sc, .{ 0, 1 });
        plans.append(ctx.arena, plan) catch return ctx.fail("out of memory", .{});
    }
    _ = try common.countOf(ctx, out_shape);
    try run(ctx, x, s, plans.items, out_shape);
}

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .op = "Resize", .run = resize },
    .{ .op = "Upsample", .run = upsample },
};
