//! Sampling and detection ops (part of the nn family, see nn.zig): GridSample (1-3 spatial axes,
//! nearest/linear/cubic, zeros/border/reflection padding), AffineGrid, RoiAlign and
//! NonMaxSuppression, following the onnx reference's arithmetic (coordinates in the data type).
const std = @import("std");
const common = @import("nn_common.zig");

const Context = common.Context;
const Tensor = common.Tensor;
const Error = common.Error;

const Padding = enum { zeros, border, reflection };
const SampleMode = enum { nearest, linear, cubic };

fn sampleMode(ctx: *const Context) Error!SampleMode {
    const text = ctx.node.attrString("mode", if (ctx.node.opset < 20) "bilinear" else "linear");
    if (std.mem.eql(u8, text, "bilinear") or std.mem.eql(u8, text, "linear")) return .linear;
    if (std.mem.eql(u8, text, "bicubic") or std.mem.eql(u8, text, "cubic")) return .cubic;
    if (std.mem.eql(u8, text, "nearest")) return .nearest;
    return ctx.fail("mode '{s}' is not supported", .{text[0..@min(text.len, 64)]});
}

/// Folds x back into [lo, hi] by mirroring at the borders, as often as it takes.
fn reflect(comptime F: type, x: F, lo: F, hi: F) F {
    const range = hi - lo;
    if (range <= 0) return lo;
    if (x < lo) {
        const d = lo - x;
        const n = @floor(d / range);
        const r = d - n * range;
        return if (@mod(n, 2) == 0) lo + r else hi - r;
    }
    if (x > hi) {
        const d = x - hi;
        const n = @floor(d / range);
        const r = d - n * range;
        return if (@mod(n, 2) == 0) hi - r else lo + r;
    }
    return x;
}

fn roundHalfEven(comptime F: type, x: F) F {
    if (@abs(x - @trunc(x)) == 0.5) return 2 * @round(x / 2);
    return @round(x);
}

fn cubicWeights(comptime F: type, t: F) [4]F {
    const a: F = -0.75;
    const x = @abs(t);
    return .{
        ((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a,
        ((a + 2) * x - (a + 3)) * x * x + 1,
        ((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1,
        ((a * (2 - x) - 5 * a) * (2 - x) + 8 * a) * (2 - x) - 4 * a,
    };
}

fn GridSampler(comptime F: type) type {
    return struct {
        const Self = @This();
        mode: SampleMode,
        padding: Padding,
        align_corners: bool,
        rank: usize,
        dims: [3]usize,

        fn border(self: Self, axis: usize) [2]F {
            const d: F = @floatFromInt(self.dims[axis]);
            return if (self.align_corners) .{ 0, d - 1 } else .{ -0.5, d - 0.5 };
        }

        /// An input index along `axis` after padding: null reads as zero.
        fn resolve(self: Self, axis: usize, i: i64) ?usize {
            const d: i64 = @intCast(self.dims[axis]);
            if (i >= 0 and i < d) return @intCast(i);
            switch (self.padding) {
                .zeros => return null,
                .border => return @intCast(std.math.clamp(i, 0, d - 1)),
                .reflection => {
                    const b = self.border(axis);
                    const r: i64 = @intFromFloat(reflect(F, @floatFromInt(i), b[0], b[1]));
                    return @intCast(std.math.clamp(r, 0, d - 1));
                },
            }
        }

        /// The value at normalized grid coordinates `g` (x first, i.e. the last axis first).
        fn sample(self: Self, plane: []const F, g: []const F) F {
            var taps: [3][4]?usize = undefined;
            var weights: [3][4]F = undefined;
            var counts: [3]usize = .{ 1, 1, 1 };
            for (0..self.rank) |axis| {
                const d: F = @floatFromInt(self.dims[axis]);
                const n = g[self.rank - 1 - axis];
                var x = if (self.align_corners) (n + 1) / 2 * (d - 1) else ((n + 1) * d - 1) / 2;
                x = if (std.math.isNan(x)) -1e9 else std.math.clamp(x, -1e9, 1e9);
                if (self.mode == .nearest) x = roundHalfEven(F, x); // numpy's rint, as PyTorch rounds
                const b = self.border(axis);
                if (x < b[0] or x > b[1]) {
                    if (self.padding == .border) x = std.math.clamp(x, 0, d - 1);
                    if (self.padding == .reflection) x = reflect(F, x, b[0], b[1]);
                }
                switch (self.mode) {
                    .nearest => {
                        taps[axis][0] = self.resolve(axis, @intFromFloat(@trunc(x)));
                        weights[axis][0] = 1;
                    },
                    .linear => {
                        const x0 = @floor(x);
                        const first: i64 = @intFromFloat(x0);
                        taps[axis][0] = self.resolve(axis, first);
                        taps[axis][1] = self.resolve(axis, first + 1);
                        weights[axis][0] = 1 - (x - x0);
                        weights[axis][1] = x - x0;
                        counts[axis] = 2;
                    },
                    .cubic => {
                        const x0 = @floor(x);
                        const first: i64 = @intFromFloat(x0);
                        weights[axis] = cubicWeights(F, x - x0);
                        for (0..4) |k| taps[axis][k] = self.resolve(axis, first - 1 + @as(i64, @intCast(k)));
                        counts[axis] = 4;
                    },
                }
            }
            for (self.rank..3) |axis| {
                taps[axis][0] = 0;
                weights[axis][0] = 1;
            }
            const strides = [3]usize{ self.dims[1] * self.dims[2], self.dims[2], 1 };
            var sum: F = 0;
            for (0..counts[0]) |a| for (0..counts[1]) |b| for (0..counts[2]) |c| {
                const t0 = taps[0][a] orelse continue;
                const t1 = taps[1][b] orelse continue;
                const t2 = taps[2][c] orelse continue;
                const v = plane[t0 * strides[0] + t1 * strides[1] + t2 * strides[2]];
                sum += weights[0][a] * weights[1][b] * weights[2][c] * v;
            };
            return sum;
        }
    };
}

fn gridSample(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const grid = try ctx.require(1);
    const r = x.rank();
    if (r < 3 or r > 5) return common.notImplemented(ctx, "GridSample on rank {d} (1 to 3 spatial axes)", .{r});
    if (grid.rank() != r or common.dim(grid, 0) != common.dim(x, 0) or common.dim(grid, r - 1) != r - 2) {
        return ctx.fail("grid must be (N, out..., {d}) for X of rank {d}", .{ r - 2, r });
    }
    const padding = std.meta.stringToEnum(Padding, ctx.node.attrString("padding_mode", "zeros")) orelse
        return ctx.fail("padding_mode is not zeros, border or reflection", .{});
    const shape = try ctx.alloc(i64, r);
    shape[0] = x.shape[0];
    shape[1] = x.shape[1];
    @memcpy(shape[2..], grid.shape[1 .. r - 1]);
    switch (try common.precision(ctx, x.dtype, false)) {
        inline else => |p| {
            const F = if (p == .f32) f32 else f64;
            var sampler = GridSampler(F){
                .mode = try sampleMode(ctx),
                .padding = padding,
                .align_corners = try common.flag(ctx, "align_corners", 0),
                .rank = r - 2,
                .dims = .{ 1, 1, 1 },
            };
            for (0..r - 2) |i| sampler.dims[i] = common.dim(x, 2 + i);
            const empty = sampler.dims[0] * sampler.dims[1] * sampler.dims[2] == 0;
            if (empty and try common.countOf(ctx, shape) > 0) return ctx.fail("X has an empty spatial axis", .{});
            const values = try common.floats(F, ctx, x);
            const coords = try common.floats(F, ctx, grid);
            const out = try common.floatOutput(F, ctx, 0, x.dtype, shape);
            const n = common.dim(x, 0);
            const c = common.dim(x, 1);
            const in_plane = sampler.dims[0] * sampler.dims[1] * sampler.dims[2];
            const points = if (n * c == 0) 0 else out.values.len / (n * c);
            for (0..n) |b| for (0..c) |ch| {
                const plane = values[(b * c + ch) * in_plane ..][0..in_plane];
                const dst = out.values[(b * c + ch) * points ..][0..points];
                for (dst, 0..) |*o, k| o.* = sampler.sample(plane, coords[(b * points + k) * (r - 2) ..][0 .. r - 2]);
            };
            out.finish();
        },
    }
}

/// AffineGrid: theta (N, 2, 3) or (N, 3, 4) and size (N, C, H, W) or (N, C, D, H, W) give the
/// sampling grid theta * (x, y[, z], 1) over normalized output coordinates.
fn affineGrid(ctx: *Context) Error!void {
    const theta = try ctx.require(0);
    const size = try @import("nn_convt.zig").intVector(ctx, try ctx.require(1), "size");
    if (size.len != 4 and size.len != 5) return ctx.fail("size has {d} values; it needs 4 or 5", .{size.len});
    const n = size.len - 2;
    if (theta.rank() != 3 or common.dim(theta, 1) != n or common.dim(theta, 2) != n + 1 or theta.shape[0] != size[0]) {
        return ctx.fail("theta must be (N, {d}, {d})", .{ n, n + 1 });
    }
    for (size) |d| if (d < 0 or d > 1 << 40) return ctx.fail("size holds {d}", .{d});
    const align_corners = try common.flag(ctx, "align_corners", 0);
    const shape = try ctx.alloc(i64, n + 2);
    shape[0] = size[0];
    @memcpy(shape[1 .. n + 1], size[2..]);
    shape[n + 1] = @intCast(n);
    _ = try common.countOf(ctx, shape);
    switch (try common.precision(ctx, theta.dtype, false)) {
        inline else => |p| {
            const F = if (p == .f32) f32 else f64;
            const t = try common.floats(F, ctx, theta);
            const out = try common.floatOutput(F, ctx, 0, theta.dtype, shape);
            var spatial = [3]usize{ 1, 1, 1 }; // D, H, W
            for (0..n) |i| spatial[3 - n + i] = @intCast(size[2 + i]);
            var at: usize = 0;
            for (0..@as(usize, @intCast(size[0]))) |b| {
                const m = t[b * n * (n + 1) ..][0 .. n * (n + 1)];
                for (0..spatial[0]) |d| for (0..spatial[1]) |h| for (0..spatial[2]) |w| {
                    // Homogeneous point (x, y[, z], 1): x runs along W.
                    const point = [4]F{
                        base(F, w, spatial[2], align_corners),
                        base(F, h, spatial[1], align_corners),
                        base(F, d, spatial[0], align_corners),
                        1,
                    };
                    for (0..n) |row| {
                        var v: F = m[row * (n + 1) + n];
                        for (0..n) |k| v += m[row * (n + 1) + k] * point[k];
                        out.values[at] = v;
                        at += 1;
                    }
                };
            }
            out.finish();
        },
    }
}

fn base(comptime F: type, i: usize, len: usize, align_corners: bool) F {
    const fi: F = @floatFromInt(i);
    const fl: F = @floatFromInt(len);
    if (align_corners) return if (len <= 1) -1 else -1 + 2 * fi / (fl - 1);
    return -1 + (2 * fi + 1) / fl;
}

/// RoiAlign: X (N, C, H, W), rois (R, 4: x1, y1, x2, y2), batch_indices (R) -> (R, C, oh, ow);
/// each bin averages (or maxes) bilinear samples on a regular grid.
fn roiAlign(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const rois_tensor = try ctx.require(1);
    const batch_tensor = try ctx.require(2);
    if (x.rank() != 4) return ctx.fail("X has rank {d}; it needs 4", .{x.rank()});
    if (rois_tensor.rank() != 2 or common.dim(rois_tensor, 1) != 4) return ctx.fail("rois must be (num_rois, 4)", .{});
    const r = common.dim(rois_tensor, 0);
    if (batch_tensor.count() != r) return ctx.fail("batch_indices needs {d} values", .{r});
    const batches = try common.floats(f64, ctx, batch_tensor);
    const oh = ctx.node.attrInt("output_height", 1);
    const ow = ctx.node.attrInt("output_width", 1);
    const ratio = ctx.node.attrInt("sampling_ratio", 0);
    if (oh < 1 or ow < 1 or oh > 1 << 20 or ow > 1 << 20) return ctx.fail("the output size must be positive", .{});
    if (ratio < 0 or ratio > 1 << 16) return ctx.fail("sampling_ratio is {d}", .{ratio});
    const max_mode = std.mem.eql(u8, ctx.node.attrString("mode", "avg"), "max");
    const default_mode = if (ctx.node.opset >= 16) "half_pixel" else "output_half_pixel";
    const transform = ctx.node.attrString("coordinate_transformation_mode", default_mode);
    const half_pixel = std.mem.eql(u8, transform, "half_pixel");
    const c = common.dim(x, 1);
    const shape = [4]i64{ @intCast(r), @intCast(c), oh, ow };
    _ = try common.countOf(ctx, &shape);
    switch (try common.precision(ctx, x.dtype, false)) {
        inline else => |p| {
            const F = if (p == .f32) f32 else f64;
            const values = try common.floats(F, ctx, x);
            const rois = try common.floats(F, ctx, rois_tensor);
            const out = try common.floatOutput(F, ctx, 0, x.dtype, &shape);
            const job = RoiJob(F){
                .height = common.dim(x, 2),
                .width = common.dim(x, 3),
                .ph = @intCast(oh),
                .pw = @intCast(ow),
                .ratio = @intCast(ratio),
                .scale = ctx.node.attrFloat("spatial_scale", 1.0),
                .offset = if (half_pixel) 0.5 else 0,
                .max_mode = max_mode,
            };
            const plane = job.height * job.width;
            for (0..r) |i| {
                const b = batches[i];
                if (!(b >= 0 and b < @as(f64, @floatFromInt(common.dim(x, 0))))) {
                    return ctx.fail("roi {d} names batch {d}", .{ i, b });
                }
                const batch: usize = @intFromFloat(b);
                for (0..c) |ch| {
                    const src = values[(batch * c + ch) * plane ..][0..plane];
                    const dst = out.values[(i * c + ch) * job.ph * job.pw ..][0 .. job.ph * job.pw];
                    job.pool(src, rois[i * 4 ..][0..4], dst, half_pixel);
                }
            }
            out.finish();
        },
    }
}

fn RoiJob(comptime F: type) type {
    return struct {
        height: usize,
        width: usize,
        ph: usize,
        pw: usize,
        ratio: usize,
        scale: F,
        offset: F,
        max_mode: bool,

        fn pool(self: @This(), src: []const F, box: []const F, dst: []F, half_pixel: bool) void {
            const start_w = box[0] * self.scale - self.offset;
            const start_h = box[1] * self.scale - self.offset;
            var roi_w = box[2] * self.scale - self.offset - start_w;
            var roi_h = box[3] * self.scale - self.offset - start_h;
            if (!half_pixel) {
                roi_w = @max(roi_w, 1);
                roi_h = @max(roi_h, 1);
            }
            const bin_h = roi_h / @as(F, @floatFromInt(self.ph));
            const bin_w = roi_w / @as(F, @floatFromInt(self.pw));
            const grid_h: usize = if (self.ratio > 0) self.ratio else gridCount(F, bin_h);
            const grid_w: usize = if (self.ratio > 0) self.ratio else gridCount(F, bin_w);
            const step_h = bin_h / @as(F, @floatFromInt(grid_h));
            const step_w = bin_w / @as(F, @floatFromInt(grid_w));
            const count: F = @floatFromInt(@max(grid_h * grid_w, 1));
            for (0..self.ph) |i| for (0..self.pw) |j| {
                var acc: F = 0;
                var first = true;
                for (0..grid_h) |iy| {
                    const y = start_h + @as(F, @floatFromInt(i)) * bin_h + (float(F, iy) + 0.5) * step_h;
                    for (0..grid_w) |ix| {
                        const x = start_w + @as(F, @floatFromInt(j)) * bin_w + (float(F, ix) + 0.5) * step_w;
                        const v = self.bilinear(src, y, x);
                        if (self.max_mode) {
                            acc = if (first) v else @max(acc, v);
                        } else acc += v;
                        first = false;
                    }
                }
                dst[i * self.pw + j] = if (self.max_mode) acc else acc / count;
            };
        }

        /// onnxruntime's sample: zero beyond one pixel outside; max mode keeps the largest
        /// weighted corner rather than the interpolated sum.
        fn bilinear(self: @This(), src: []const F, y_in: F, x_in: F) F {
            const h: F = @floatFromInt(self.height);
            const w: F = @floatFromInt(self.width);
            if (!(y_in >= -1 and y_in <= h and x_in >= -1 and x_in <= w)) return 0;
            var y = @max(y_in, 0);
            var x = @max(x_in, 0);
            var y_low: usize = @intFromFloat(@floor(y));
            var x_low: usize = @intFromFloat(@floor(x));
            var y_high = y_low + 1;
            var x_high = x_low + 1;
            if (y_low >= self.height -| 1) {
                y_low = self.height -| 1;
                y_high = y_low;
                y = @floatFromInt(y_low);
            }
            if (x_low >= self.width -| 1) {
                x_low = self.width -| 1;
                x_high = x_low;
                x = @floatFromInt(x_low);
            }
            if (self.height == 0 or self.width == 0) return 0;
            const ly = y - @as(F, @floatFromInt(y_low));
            const lx = x - @as(F, @floatFromInt(x_low));
            const hy = 1 - ly;
            const hx = 1 - lx;
            const v = [4]F{
                hy * hx * src[y_low * self.width + x_low],
                hy * lx * src[y_low * self.width + x_high],
                ly * hx * src[y_high * self.width + x_low],
                ly * lx * src[y_high * self.width + x_high],
            };
            if (self.max_mode) return @max(@max(v[0], v[1]), @max(v[2], v[3]));
            return v[0] + v[1] + v[2] + v[3];
        }
    };
}

fn float(comptime F: type, i: usize) F {
    return @floatFromInt(i);
}

/// ceil(extent), bounded: the number of samples per bin when sampling_ratio is 0.
fn gridCount(comptime F: type, extent: F) usize {
    if (!(extent > 0)) return 0;
    return @intFromFloat(@min(@ceil(extent), 1 << 16));
}

/// NonMaxSuppression: per batch and class, greedily keeps the best-scoring boxes whose IoU with
/// every kept box is at most iou_threshold; output rows are (batch, class, box).
fn nonMaxSuppression(ctx: *Context) Error!void {
    const boxes_tensor = try ctx.require(0);
    const scores_tensor = try ctx.require(1);
    if (boxes_tensor.rank() != 3 or common.dim(boxes_tensor, 2) != 4) {
        return ctx.fail("boxes must be (batches, boxes, 4)", .{});
    }
    if (scores_tensor.rank() != 3) return ctx.fail("scores must be (batches, classes, boxes)", .{});
    const batches = common.dim(boxes_tensor, 0);
    const count = common.dim(boxes_tensor, 1);
    const classes = common.dim(scores_tensor, 1);
    if (common.dim(scores_tensor, 0) != batches or common.dim(scores_tensor, 2) != count) {
        return ctx.fail("boxes and scores disagree on batches or boxes", .{});
    }
    const center = ctx.node.attrInt("center_point_box", 0);
    if (center != 0 and center != 1) return ctx.fail("center_point_box must be 0 or 1", .{});
    var limit: usize = 0;
    if (ctx.input(2)) |t| if (t.count() > 0) {
        const v = (try common.floats(f64, ctx, t))[0];
        limit = if (v > 0) @intFromFloat(@min(v, 1 << 40)) else 0;
    };
    const iou: f32 = if (ctx.input(3)) |t| (if (t.count() > 0) (try common.floats(f32, ctx, t))[0] else 0) else 0;
    var threshold: ?f32 = null;
    if (ctx.input(4)) |t| if (t.count() > 0) {
        threshold = (try common.floats(f32, ctx, t))[0];
    };
    const boxes = try common.floats(f32, ctx, boxes_tensor);
    const scores = try common.floats(f32, ctx, scores_tensor);
    var selected = std.ArrayList([3]i64).empty;
    const order = try ctx.alloc(u32, count);
    const kept = try ctx.alloc(u32, count);
    if (count > std.math.maxInt(u32)) return ctx.fail("too many boxes", .{});
    for (0..batches) |b| for (0..classes) |c| {
        const s = scores[(b * classes + c) * count ..][0..count];
        var n: usize = 0;
        for (0..count) |i| if (threshold == null or s[i] > threshold.?) {
            order[n] = @intCast(i);
            n += 1;
        };
        std.mem.sort(u32, order[0..n], s, struct {
            fn before(sc: []const f32, a: u32, b2: u32) bool {
                return sc[a] > sc[b2] or (sc[a] == sc[b2] and a < b2);
            }
        }.before);
        var kept_count: usize = 0;
        for (order[0..n]) |candidate| {
            if (kept_count >= limit) break;
            const box = boxes[(b * count + candidate) * 4 ..][0..4];
            const suppressed = for (kept[0..kept_count]) |k| {
                if (overlaps(box, boxes[(b * count + k) * 4 ..][0..4], center == 1, iou)) break true;
            } else false;
            if (suppressed) continue;
            kept[kept_count] = candidate;
            kept_count += 1;
            const row = [3]i64{ @intCast(b), @intCast(c), candidate };
            selected.append(ctx.arena, row) catch return ctx.fail("out of memory", .{});
        }
    };
    const out = try ctx.output(0, .int64, &.{ @intCast(selected.items.len), 3 });
    for (selected.items, 0..) |row, i| @memcpy(out.items(i64)[i * 3 ..][0..3], &row);
}

/// Whether IoU(a, b) exceeds the threshold; corners (y1, x1, y2, x2) in any order, or centers.
fn overlaps(a: []const f32, b: []const f32, centers: bool, threshold: f32) bool {
    const ea = extents(a, centers);
    const eb = extents(b, centers);
    const ix = @min(ea[1], eb[1]) - @max(ea[0], eb[0]);
    if (!(ix > 0)) return false;
    const iy = @min(ea[3], eb[3]) - @max(ea[2], eb[2]);
    if (!(iy > 0)) return false;
    const inter = ix * iy;
    const area_a = (ea[1] - ea[0]) * (ea[3] - ea[2]);
    const area_b = (eb[1] - eb[0]) * (eb[3] - eb[2]);
    const union_area = area_a + area_b - inter;
    if (!(area_a > 0 and area_b > 0 and union_area > 0)) return false;
    return inter / union_area > threshold;
}

/// x min, x max, y min, y max.
fn extents(box: []const f32, centers: bool) [4]f32 {
    if (centers) return .{ box[0] - box[2] / 2, box[0] + box[2] / 2, box[1] - box[3] / 2, box[1] + box[3] / 2 };
    return .{ @min(box[1], box[3]), @max(box[1], box[3]), @min(box[0], box[2]), @max(box[0], box[2]) };
}

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .op = "GridSample", .run = gridSample },
    .{ .op = "AffineGrid", .run = affineGrid },
    .{ .op = "RoiAlign", .run = roiAlign },
    .{ .op = "NonMaxSuppression", .run = nonMaxSuppression },
};
