//! Pooling (part of the nn family, see nn.zig): MaxPool with its int64 indices, AveragePool,
//! LpPool, the global pools, MaxUnpool and MaxRoiPool. Windows follow nn_common.window; taps in
//! the padding are skipped (AveragePool's count_include_pad only changes the divisor).
const std = @import("std");
const common = @import("nn_common.zig");

const Context = common.Context;
const Tensor = common.Tensor;
const Error = common.Error;
const Geometry = common.Geometry;
const max_spatial = common.max_spatial;

const Kind = enum { max, average, lp };

/// The taps t in [0, k) of the window at output o whose input position lies in [0, in).
fn tapRange(o: usize, g: Geometry, axis: usize) [2]usize {
    const start = @as(i64, @intCast(o * g.stride[axis])) - g.pad[axis];
    const d: i64 = @intCast(g.dilation[axis]);
    const k: i64 = @intCast(g.kernel[axis]);
    const lo: i64 = if (start >= 0) 0 else @divFloor(-start + d - 1, d);
    const room = @as(i64, @intCast(g.in[axis])) - start;
    const hi: i64 = if (room <= 0) 0 else @min(k, @divFloor(room + d - 1, d));
    return .{ @intCast(@min(lo, k)), @intCast(@max(hi, @min(lo, k))) };
}

/// Taps of the window at o inside the padded extent [-pad, in + pad_end): the divisor with
/// count_include_pad (ceil_mode's overhang past the end pad is not counted).
fn paddedTaps(o: usize, g: Geometry, pad_end: i64, axis: usize) usize {
    const start = @as(i64, @intCast(o * g.stride[axis])) - g.pad[axis];
    const limit = @as(i64, @intCast(g.in[axis])) + pad_end;
    const d: i64 = @intCast(g.dilation[axis]);
    const room = limit - start;
    if (room <= 0) return 0;
    return @intCast(@min(@as(i64, @intCast(g.kernel[axis])), @divFloor(room + d - 1, d)));
}

fn poolGeometry(ctx: *const Context, x: *const Tensor) Error!Geometry {
    if (x.rank() < 3) return ctx.fail("X has rank {d}; it needs N, C and a spatial axis", .{x.rank()});
    const kernel = ctx.node.attrInts("kernel_shape") orelse return ctx.fail("kernel_shape is required", .{});
    const ceil_mode = try common.flag(ctx, "ceil_mode", 0);
    const g = try common.window(ctx, x.shape[2..], .{ .kernel = kernel, .ceil_mode = ceil_mode });
    _ = try common.countOf(ctx, try g.outShape(ctx, common.dim(x, 0), common.dim(x, 1)));
    return g;
}

/// The end pads per axis (after window() resolved auto_pad), for count_include_pad.
fn endPads(ctx: *const Context, g: Geometry) [max_spatial]i64 {
    var out = [_]i64{0} ** max_spatial;
    const auto_pad = common.autoPad(ctx) catch .notset;
    for (0..g.rank) |i| {
        const j = max_spatial - g.rank + i;
        switch (auto_pad) {
            .notset => if (ctx.node.attrInts("pads")) |p| {
                out[j] = p[i + g.rank];
            },
            .valid => {},
            .same_upper, .same_lower => {
                const span: i64 = @intCast((g.kernel[j] - 1) * g.dilation[j] + 1);
                const reach = @as(i64, @intCast((g.out[j] - 1) * g.stride[j])) + span;
                const total = @max(0, reach - @as(i64, @intCast(g.in[j])));
                out[j] = total - g.pad[j];
            },
        }
    }
    return out;
}

fn pool(comptime kind: Kind) fn (*Context) Error!void {
    return struct {
        fn run(ctx: *Context) Error!void {
            const x = try ctx.require(0);
            const g = try poolGeometry(ctx, x);
            const n = common.dim(x, 0);
            const c = common.dim(x, 1);
            const shape = try g.outShape(ctx, n, c);
            const options = Options{
                .storage_order = try common.flag(ctx, "storage_order", 0),
                .include_pad = try common.flag(ctx, "count_include_pad", 0),
                .pad_end = endPads(ctx, g),
                .p = pAttribute(ctx),
            };
            if (kind == .lp and options.p <= 0) return ctx.fail("p must be positive", .{});
            const indices = if (kind == .max and ctx.wantsOutput(1)) try ctx.output(1, .int64, shape) else null;
            switch (try common.precision(ctx, x.dtype, kind == .max)) {
                inline else => |p| {
                    const F = if (p == .f32) f32 else f64;
                    const values = try common.floats(F, ctx, x);
                    const out = try common.floatOutput(F, ctx, 0, x.dtype, shape);
                    var job: PlaneJob(F, kind) = .{
                        .g = g,
                        .options = options,
                        .src = values,
                        .dst = out.values,
                        .indices = if (indices) |t| t.items(i64) else null,
                        .columns = try fastColumns(ctx, kind, g, indices != null),
                    };
                    parallelPlanes(ctx, n * c, g.outCount() * g.kernelCount(), &job, PlaneJob(F, kind).run);
                    out.finish();
                },
            }
        }
    }.run;
}

/// Planes are independent: spread them over the model's threads when each gets enough work
/// (`cost` is about the element visits per plane) to pay for waking them.
fn parallelPlanes(ctx: *const Context, planes: usize, cost: usize, job: anytype, comptime func: fn (@TypeOf(job), usize, usize) void) void {
    if (planes * cost < 1 << 15 or planes < 2) return func(job, 0, planes);
    ctx.parallelFor(planes, job, func);
}

fn PlaneJob(comptime F: type, comptime kind: Kind) type {
    return struct {
        g: Geometry,
        options: Options,
        src: []const F,
        dst: []F,
        indices: ?[]i64,
        /// Per output column of a 2-D (or 1-D) window, its taps inside the input: the fast path
        /// (empty when the window does not qualify).
        columns: []const [2]usize = &.{},

        fn run(self: *const @This(), begin: usize, end: usize) void {
            const in_plane = self.g.inCount();
            const out_plane = self.g.outCount();
            for (begin..end) |plane| {
                const src = self.src[plane * in_plane ..][0..in_plane];
                const dst = self.dst[plane * out_plane ..][0..out_plane];
                if (self.columns.len > 0) {
                    poolPlane2d(F, kind, self.g, self.options, src, dst, self.columns);
                    continue;
                }
                const idx = if (self.indices) |t| t[plane * out_plane ..][0..out_plane] else null;
                poolPlane(F, kind, self.g, self.options, src, dst, idx, plane * in_plane);
            }
        }
    };
}

/// p is an int since opset 11 and was a float before.
fn pAttribute(ctx: *const Context) f64 {
    const a = (ctx.node.attr("p") orelse return 2).proto;
    return if (a.i == 0 and a.f != 0) a.f else @floatFromInt(a.i);
}

const Options = struct { storage_order: bool, include_pad: bool, pad_end: [max_spatial]i64, p: f64 };

/// The tap ranges per output column for poolPlane2d, or empty when it does not apply: max
/// without indices or average, over at most two spatial axes.
fn fastColumns(ctx: *const Context, comptime kind: Kind, g: Geometry, with_indices: bool) Error![]const [2]usize {
    if (kind == .lp or with_indices or g.in[0] != 1 or g.out[0] != 1 or g.kernel[0] != 1) return &.{};
    if (g.in[2] > max_fast_width) return &.{};
    const columns = try ctx.alloc([2]usize, g.out[2]);
    for (columns, 0..) |*c, ow| c.* = tapRange(ow, g, 2);
    return columns;
}

/// Widest input row poolPlane2d takes: its row of partial results lives on the stack.
const max_fast_width = 2048;

/// poolPlane for one 2-D plane in two passes per output row: the window's input rows combined
/// into one (vectors along the row), then each output's columns of that row (ranges computed
/// once per node). A max ignores NaN taps unless all are NaN (@max's rule).
fn poolPlane2d(comptime F: type, comptime kind: Kind, g: Geometry, o: Options, src: []const F, dst: []F, columns: []const [2]usize) void {
    const W = 8;
    var buffer: [max_fast_width]F = undefined;
    const acc = buffer[0..g.in[2]];
    const vectors = acc.len / W * W;
    for (0..g.out[1]) |oh| {
        const rows = tapRange(oh, g, 1);
        const top = @as(i64, @intCast(oh * g.stride[1])) - g.pad[1];
        @memset(acc, if (kind == .max) -std.math.inf(F) else 0);
        for (rows[0]..rows[1]) |th| {
            const ih: usize = @intCast(top + @as(i64, @intCast(th * g.dilation[1])));
            const row = src[ih * g.in[2] ..][0..g.in[2]];
            var i: usize = 0;
            while (i < vectors) : (i += W) {
                const a: @Vector(W, F) = acc[i..][0..W].*;
                const b: @Vector(W, F) = row[i..][0..W].*;
                acc[i..][0..W].* = if (kind == .max) @max(a, b) else a + b;
            }
            for (acc[vectors..], row[vectors..]) |*a, b| a.* = if (kind == .max) @max(a.*, b) else a.* + b;
        }
        const row_divisor = if (o.include_pad) paddedTaps(oh, g, o.pad_end[1], 1) else rows[1] - rows[0];
        const line = dst[oh * g.out[2] ..][0..g.out[2]];
        for (line, columns, 0..) |*out, cols, ow| {
            const left = @as(i64, @intCast(ow * g.stride[2])) - g.pad[2];
            var best = -std.math.inf(F);
            var sum: F = 0;
            for (cols[0]..cols[1]) |tw| {
                const v = acc[@intCast(left + @as(i64, @intCast(tw * g.dilation[2])))];
                if (kind == .max) best = @max(best, v) else sum += v;
            }
            if (kind == .max) {
                out.* = best;
            } else {
                const col_divisor = if (o.include_pad) paddedTaps(ow, g, o.pad_end[2], 2) else cols[1] - cols[0];
                const divisor = row_divisor * col_divisor;
                out.* = if (divisor == 0) std.math.nan(F) else sum / @as(F, @floatFromInt(divisor));
            }
        }
    }
}

fn poolPlane(
    comptime F: type,
    comptime kind: Kind,
    g: Geometry,
    o: Options,
    src: []const F,
    dst: []F,
    indices: ?[]i64,
    base: usize,
) void {
    var at: usize = 0;
    for (0..g.out[0]) |od| for (0..g.out[1]) |oh| for (0..g.out[2]) |ow| {
        const pos = [3]usize{ od, oh, ow };
        var ranges: [3][2]usize = undefined;
        var starts: [3]i64 = undefined;
        for (0..3) |a| {
            ranges[a] = tapRange(pos[a], g, a);
            starts[a] = @as(i64, @intCast(pos[a] * g.stride[a])) - g.pad[a];
        }
        var best: F = -std.math.inf(F);
        var best_index: usize = 0;
        var sum: F = 0;
        var count: usize = 0;
        for (ranges[0][0]..ranges[0][1]) |td| {
            const id: usize = @intCast(starts[0] + @as(i64, @intCast(td * g.dilation[0])));
            for (ranges[1][0]..ranges[1][1]) |th| {
                const ih: usize = @intCast(starts[1] + @as(i64, @intCast(th * g.dilation[1])));
                for (ranges[2][0]..ranges[2][1]) |tw| {
                    const iw: usize = @intCast(starts[2] + @as(i64, @intCast(tw * g.dilation[2])));
                    const flat = (id * g.in[1] + ih) * g.in[2] + iw;
                    const v = src[flat];
                    switch (kind) {
                        .max => if (v > best or (count == 0 and std.math.isNan(v))) {
                            best = v;
                            best_index = flat;
                        },
                        .average => sum += v,
                        .lp => sum += std.math.pow(F, @abs(v), @floatCast(o.p)),
                    }
                    count += 1;
                }
            }
        }
        dst[at] = switch (kind) {
            .max => best,
            .average => blk: {
                var divisor = count;
                if (o.include_pad) {
                    divisor = 1;
                    for (0..3) |a| divisor *= paddedTaps(pos[a], g, o.pad_end[a], a);
                }
                break :blk if (divisor == 0) std.math.nan(F) else sum / @as(F, @floatFromInt(divisor));
            },
            .lp => std.math.pow(F, sum, @floatCast(1.0 / o.p)),
        };
        if (indices) |idx| idx[at] = @intCast(base + if (o.storage_order) columnMajor(g, best_index) else best_index);
        at += 1;
    };
}

/// storage_order = 1: the index of a spatial position counted with the first axis fastest.
fn columnMajor(g: Geometry, flat: usize) usize {
    const iw = flat % g.in[2];
    const ih = (flat / g.in[2]) % g.in[1];
    const id = flat / (g.in[2] * g.in[1]);
    return (iw * g.in[1] + ih) * g.in[0] + id;
}

fn globalPool(comptime kind: Kind) fn (*Context) Error!void {
    return struct {
        fn run(ctx: *Context) Error!void {
            const x = try ctx.require(0);
            if (x.rank() < 2) return ctx.fail("X has rank {d}; it needs N and C", .{x.rank()});
            const shape = try ctx.alloc(i64, x.rank());
            @memset(shape, 1);
            shape[0] = x.shape[0];
            shape[1] = x.shape[1];
            const p = pAttribute(ctx);
            if (kind == .lp and p <= 0) return ctx.fail("p must be positive", .{});
            switch (try common.precision(ctx, x.dtype, kind == .max)) {
                inline else => |prec| {
                    const F = if (prec == .f32) f32 else f64;
                    const values = try common.floats(F, ctx, x);
                    const out = try common.floatOutput(F, ctx, 0, x.dtype, shape);
                    const planes = common.dim(x, 0) * common.dim(x, 1);
                    const size = if (planes == 0) 0 else values.len / planes;
                    const Job = struct {
                        values: []const F,
                        out: []F,
                        size: usize,
                        p: F,
                        fn run(self: *const @This(), begin: usize, end: usize) void {
                            for (self.out[begin..end], begin..) |*o, i| {
                                o.* = reducePlane(F, kind, self.values[i * self.size ..][0..self.size], self.p);
                            }
                        }
                    };
                    const job: Job = .{ .values = values, .out = out.values, .size = size, .p = @floatCast(p) };
                    parallelPlanes(ctx, planes, size, &job, Job.run);
                    out.finish();
                },
            }
        }
    }.run;
}

fn reducePlane(comptime F: type, comptime kind: Kind, plane: []const F, p: F) F {
    switch (kind) {
        .max => {
            var best = -std.math.inf(F);
            for (plane) |v| best = @max(best, v);
            return best;
        },
        .average => {
            // Several accumulators: a plain running sum would serialize on the add latency.
            var acc: @Vector(8, F) = @splat(0);
            var i: usize = 0;
            while (i + 8 <= plane.len) : (i += 8) acc += plane[i..][0..8].*;
            var sum = @reduce(.Add, acc);
            for (plane[i..]) |v| sum += v;
            return if (plane.len == 0) std.math.nan(F) else sum / @as(F, @floatFromInt(plane.len));
        },
        .lp => {
            var sum: F = 0;
            for (plane) |v| sum += if (p == 2) v * v else std.math.pow(F, @abs(v), p);
            return if (p == 2) @sqrt(sum) else std.math.pow(F, sum, 1 / p);
        },
    }
}

/// MaxUnpool: X, I (flat indices into the unpooled tensor, as MaxPool gives them), and an
/// optional output_shape; a larger output_shape holds the unpooled tensor at its origin.
fn maxUnpool(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const indices = try ctx.require(1);
    if (indices.dtype != .int64) return ctx.fail("the indices must be int64", .{});
    if (!std.mem.eql(i64, x.shape, indices.shape)) return ctx.fail("X and I have different shapes", .{});
    if (x.rank() < 3) return ctx.fail("X has rank {d}; it needs N, C and a spatial axis", .{x.rank()});
    const n = x.rank() - 2;
    const kernel = ctx.node.attrInts("kernel_shape") orelse return ctx.fail("kernel_shape is required", .{});
    if (kernel.len != n) return ctx.fail("kernel_shape has {d} values for {d} spatial axes", .{ kernel.len, n });
    const strides = try common.perAxis(ctx, "strides", n, 1, 1);
    const pads = ctx.node.attrInts("pads");
    if (pads) |p| if (p.len != 2 * n) return ctx.fail("pads has {d} values for {d} spatial axes", .{ p.len, n });
    const inferred = try ctx.alloc(i64, x.rank());
    inferred[0] = x.shape[0];
    inferred[1] = x.shape[1];
    for (0..n) |i| {
        const k = kernel[i];
        if (x.shape[2 + i] > 1 << 40) return ctx.fail("spatial axis {d} is too large", .{i});
        const pad_total = if (pads) |p| p[i] + p[i + n] else 0;
        if (k < 1 or k > 1 << 31 or pad_total < 0 or pad_total > 1 << 32) {
            return ctx.fail("kernel_shape or pads are out of range", .{});
        }
        const extent = (@max(x.shape[2 + i], 1) - 1) * strides[i] + k - pad_total;
        if (extent < 0) return ctx.fail("spatial axis {d}: pads exceed the output", .{i});
        inferred[2 + i] = extent;
    }
    var shape: []const i64 = inferred;
    if (ctx.input(2)) |given| {
        shape = try @import("nn_convt.zig").intVector(ctx, given, "output_shape");
        if (shape.len != x.rank()) {
            return ctx.fail("output_shape has {d} values for rank {d}", .{ shape.len, x.rank() });
        }
        for (shape, inferred) |a, b| if (a < b) return ctx.fail("output_shape is smaller than the unpooled shape", .{});
    }
    const inferred_count = try common.countOf(ctx, inferred);
    _ = try common.countOf(ctx, shape);
    const size = x.dtype.bits() / 8;
    if (x.dtype == .string or x.dtype.isPacked()) return ctx.unsupported(x.dtype);
    const scratch = try ctx.alloc(u8, inferred_count * size);
    @memset(scratch, 0);
    for (try common.alignedItems(i64, ctx, indices), 0..) |index, i| {
        if (index < 0 or index >= inferred_count) return ctx.fail("index {d} is out of range", .{index});
        const at: usize = @intCast(index);
        @memcpy(scratch[at * size ..][0..size], x.data[i * size ..][0..size]);
    }
    const out = try ctx.output(0, x.dtype, shape);
    @memset(out.data, 0);
    embed(inferred, shape, size, scratch, out.data);
}

/// Copies a row-major tensor of shape `small` into the origin corner of one of shape `big`.
fn embed(small: []const i64, big: []const i64, size: usize, src: []const u8, dst: []u8) void {
    if (std.mem.eql(i64, small, big)) return @memcpy(dst[0..src.len], src);
    const last = small.len - 1;
    const row_bytes: usize = @as(usize, @intCast(small[last])) * size;
    var index = [_]usize{0} ** 64;
    if (small.len > 64) return;
    const rows = if (row_bytes == 0) 0 else src.len / row_bytes;
    for (0..rows) |r| {
        var offset: usize = 0;
        for (0..last) |a| offset = offset * @as(usize, @intCast(big[a])) + index[a];
        offset *= @as(usize, @intCast(big[last])) * size;
        @memcpy(dst[offset..][0..row_bytes], src[r * row_bytes ..][0..row_bytes]);
        var a = last;
        while (a > 0) {
            a -= 1;
            index[a] += 1;
            if (index[a] < small[a]) break;
            index[a] = 0;
        }
    }
}

/// MaxRoiPool: X (N, C, H, W), rois (R, 5): batch index and x1, y1, x2, y2 in input pixels.
fn maxRoiPool(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const rois_tensor = try ctx.require(1);
    if (x.rank() != 4) return ctx.fail("X has rank {d}; it needs 4", .{x.rank()});
    if (rois_tensor.rank() != 2 or common.dim(rois_tensor, 1) != 5) return ctx.fail("rois must be (num_rois, 5)", .{});
    const pooled = ctx.node.attrInts("pooled_shape") orelse return ctx.fail("pooled_shape is required", .{});
    if (pooled.len != 2 or pooled[0] < 1 or pooled[1] < 1 or pooled[0] > 1 << 20 or pooled[1] > 1 << 20) {
        return ctx.fail("pooled_shape must be two positive values", .{});
    }
    const scale: f64 = ctx.node.attrFloat("spatial_scale", 1.0);
    const r = common.dim(rois_tensor, 0);
    const c = common.dim(x, 1);
    const shape = [4]i64{ @intCast(r), @intCast(c), pooled[0], pooled[1] };
    _ = try common.countOf(ctx, &shape);
    switch (try common.precision(ctx, x.dtype, false)) {
        inline else => |p| {
            const F = if (p == .f32) f32 else f64;
            const values = try common.floats(F, ctx, x);
            const rois = try common.floats(F, ctx, rois_tensor);
            const out = try common.floatOutput(F, ctx, 0, x.dtype, &shape);
            const height = common.dim(x, 2);
            const width = common.dim(x, 3);
            const ph: usize = @intCast(pooled[0]);
            const pw: usize = @intCast(pooled[1]);
            for (0..r) |roi| {
                const box = rois[roi * 5 ..][0..5];
                const batch_f: f64 = @floatCast(box[0]);
                if (!(batch_f >= 0 and batch_f < @as(f64, @floatFromInt(common.dim(x, 0))))) {
                    return ctx.fail("roi {d} names batch {d}", .{ roi, batch_f });
                }
                const batch: usize = @intFromFloat(batch_f);
                const start_w = roundCoordinate(box[1], scale);
                const start_h = roundCoordinate(box[2], scale);
                const end_w = roundCoordinate(box[3], scale);
                const end_h = roundCoordinate(box[4], scale);
                const roi_h: f64 = @floatFromInt(@max(end_h - start_h + 1, 1));
                const roi_w: f64 = @floatFromInt(@max(end_w - start_w + 1, 1));
                const bin_h = roi_h / @as(f64, @floatFromInt(ph));
                const bin_w = roi_w / @as(f64, @floatFromInt(pw));
                for (0..c) |ch| {
                    const plane = values[(batch * c + ch) * height * width ..][0 .. height * width];
                    const dst = out.values[(roi * c + ch) * ph * pw ..][0 .. ph * pw];
                    for (0..ph) |i| for (0..pw) |j| {
                        const h = binRange(i, bin_h, start_h, height);
                        const w = binRange(j, bin_w, start_w, width);
                        var best: F = if (h[1] <= h[0] or w[1] <= w[0]) 0 else -std.math.floatMax(F);
                        for (h[0]..h[1]) |y| for (w[0]..w[1]) |xx| {
                            best = @max(best, plane[y * width + xx]);
                        };
                        dst[i * pw + j] = best;
                    };
                }
            }
            out.finish();
        },
    }
}

/// round(v * scale), clamped far outside any image so that later arithmetic cannot overflow.
fn roundCoordinate(v: anytype, scale: f64) i64 {
    const scaled = @as(f64, @floatCast(v)) * scale;
    if (std.math.isNan(scaled)) return 0;
    return @intFromFloat(std.math.clamp(@round(scaled), -(1 << 40), 1 << 40));
}

fn binRange(i: usize, bin: f64, start: i64, limit: usize) [2]usize {
    const lo = @as(i64, @intFromFloat(@floor(@as(f64, @floatFromInt(i)) * bin))) + start;
    const hi = @as(i64, @intFromFloat(@ceil(@as(f64, @floatFromInt(i + 1)) * bin))) + start;
    const l: i64 = @intCast(limit);
    return .{ @intCast(std.math.clamp(lo, 0, l)), @intCast(std.math.clamp(hi, 0, l)) };
}

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .op = "MaxPool", .run = pool(.max) },
    .{ .op = "AveragePool", .run = pool(.average) },
    .{ .op = "LpPool", .run = pool(.lp) },
    .{ .op = "GlobalMaxPool", .run = globalPool(.max) },
    .{ .op = "GlobalAveragePool", .run = globalPool(.average) },
    .{ .op = "GlobalLpPool", .run = globalPool(.lp) },
    .{ .op = "MaxUnpool", .run = maxUnpool },
    .{ .op = "MaxRoiPool", .run = maxRoiPool },
};
