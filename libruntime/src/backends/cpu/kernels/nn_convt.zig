//! The adjoint and deformable convolutions (part of the nn family, see nn.zig): ConvTranspose
//! (a GEMM W^T * X per group, then col2im into the output), Col2Im itself, and DeformConv
//! (im2col with bilinear samples at learned offsets, then the same GEMM as Conv).
const common = @import("nn_common.zig");
const im2col_module = @import("nn_im2col.zig");
const conv_module = @import("nn_conv.zig");

const Context = common.Context;
const Tensor = common.Tensor;
const Error = common.Error;
const Geometry = common.Geometry;
const max_spatial = common.max_spatial;

/// The col2im geometry of a transposed convolution: `in` holds the output's extents, `out`
/// X's (the grid of windows), and pads may be negative when output_shape crops or extends.
fn transposedGeometry(ctx: *const Context, x: *const Tensor, w: *const Tensor) Error!Geometry {
    const n = x.rank() - 2;
    if (n > max_spatial) return common.notImplemented(ctx, "{d} spatial axes (at most 3 are supported)", .{n});
    const kernel = try common.kernelFromWeight(ctx, w);
    const strides = try common.perAxis(ctx, "strides", n, 1, 1);
    const dilations = try common.perAxis(ctx, "dilations", n, 1, 1);
    const output_padding = try common.perAxis(ctx, "output_padding", n, 0, 0);
    const auto_pad = try common.autoPad(ctx);
    const pads = ctx.node.attrInts("pads");
    if (pads) |p| {
        if (p.len != 2 * n) return ctx.fail("pads has {d} values for {d} spatial axes", .{ p.len, n });
        for (p) |v| if (v < 0 or v > 1 << 31) return ctx.fail("pads holds {d}", .{v});
    }
    var given: ?[]const i64 = ctx.node.attrInts("output_shape");
    if (given) |s| {
        if (s.len != n and s.len != n + 2) {
            return ctx.fail("output_shape has {d} values for {d} spatial axes", .{ s.len, n });
        }
        given = s[s.len - n ..];
    }
    var g = Geometry{ .rank = n };
    for (0..n) |i| {
        const j = max_spatial - n + i;
        const in = x.shape[2 + i];
        const k = kernel[i];
        if (k < 1 or k > 1 << 31) return ctx.fail("kernel extent {d} is out of range", .{k});
        if (in > 1 << 40) return ctx.fail("spatial axis {d} is too large", .{i});
        // Every term is below 2^71 at most, so the sum is formed in i128 and then bounded.
        const wide = @as(i128, strides[i]) * @max(in - 1, 0) + output_padding[i] + @as(i128, k - 1) * dilations[i] + 1;
        if (wide > 1 << 40) return ctx.fail("spatial axis {d}: the output would be too large", .{i});
        const full: i64 = @intCast(wide);
        var out: i64 = undefined;
        var begin: i64 = undefined;
        if (given != null or auto_pad == .same_upper or auto_pad == .same_lower) {
            const wanted: i128 = if (given) |s| s[i] else @as(i128, in) * strides[i];
            if (wanted < 0 or wanted > 1 << 40) return ctx.fail("spatial axis {d}: output extent {d}", .{ i, wanted });
            out = @intCast(wanted);
            // The spec's split of the total padding; floor division keeps a negative total
            // (an output larger than the windows reach) at the end.
            const total = full - out;
            begin = if (auto_pad == .same_upper) @divFloor(total, 2) else total - @divFloor(total, 2);
        } else {
            const head = if (pads) |p| p[i] else 0;
            const tail = if (pads) |p| p[i + n] else 0;
            out = full - head - tail;
            if (out < 0) return ctx.fail("spatial axis {d}: pads exceed the output ({d})", .{ i, out });
            begin = head;
        }
        g.in[j] = @intCast(out);
        g.out[j] = @intCast(in);
        g.kernel[j] = @intCast(k);
        g.stride[j] = @intCast(strides[i]);
        g.dilation[j] = @intCast(dilations[i]);
        g.pad[j] = begin;
    }
    try g.checkCounts(ctx);
    return g;
}

fn imageShape(ctx: *const Context, g: Geometry, n: usize, c: usize) Error![]i64 {
    const shape = try ctx.alloc(i64, g.rank + 2);
    shape[0] = @intCast(n);
    shape[1] = @intCast(c);
    for (0..g.rank) |i| shape[2 + i] = @intCast(g.in[max_spatial - g.rank + i]);
    _ = try common.countOf(ctx, shape);
    return shape;
}

fn convTranspose(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const w = try ctx.require(1);
    if (x.dtype != w.dtype) return ctx.fail("X is {s} but W is {s}", .{ @tagName(x.dtype), @tagName(w.dtype) });
    if (x.rank() < 3) return ctx.fail("X has rank {d}; it needs N, C and a spatial axis", .{x.rank()});
    if (w.rank() != x.rank()) return ctx.fail("W has rank {d} but X has rank {d}", .{ w.rank(), x.rank() });
    const group_attribute = ctx.node.attrInt("group", 1);
    if (group_attribute < 1) return ctx.fail("group is {d}; it must be >= 1", .{group_attribute});
    const group: usize = @intCast(group_attribute);
    const c = common.dim(x, 1);
    if (common.dim(w, 0) != c) return ctx.fail("X has {d} channels but W.shape[0] is {d}", .{ c, common.dim(w, 0) });
    if (c % group != 0) return ctx.fail("{d} channels do not split into {d} groups", .{ c, group });
    const m = try common.mulChecked(ctx, common.dim(w, 1), group);
    try conv_module.checkBias(ctx, ctx.input(2), m);
    const g = try transposedGeometry(ctx, x, w);
    const shape = try imageShape(ctx, g, common.dim(x, 0), m);
    _ = try common.mulChecked(ctx, try common.mulChecked(ctx, m, g.kernelCount()), g.outCount());
    switch (try common.precision(ctx, x.dtype, false)) {
        inline else => |p| {
            const F = if (p == .f32) f32 else f64;
            const bias = if (ctx.input(2)) |b| try common.floats(F, ctx, b) else null;
            const out = try common.floatOutput(F, ctx, 0, x.dtype, shape);
            const sizes = Sizes{ .n = common.dim(x, 0), .c = c, .m = m, .group = group };
            const xs = try common.floats(F, ctx, x);
            try transposed(F, ctx, g, sizes, xs, try common.floats(F, ctx, w), bias, out.values);
            out.finish();
        },
    }
}

const Sizes = struct { n: usize, c: usize, m: usize, group: usize };

fn transposed(
    comptime T: type,
    ctx: *const Context,
    g: Geometry,
    s: Sizes,
    x: []const T,
    w: []const T,
    bias: ?[]const T,
    y: []T,
) Error!void {
    const cg = s.c / s.group;
    const mg = s.m / s.group;
    const rows = mg * g.kernelCount();
    const in_plane = g.outCount(); // X's positions are the window grid
    const out_plane = g.inCount();
    const col = try ctx.alloc(T, rows * in_plane);
    defer ctx.arena.free(col);
    for (0..s.n) |image| {
        for (0..s.group) |group| {
            const xg = x[(image * s.c + group * cg) * in_plane ..][0 .. cg * in_plane];
            const wg = w[group * cg * rows ..][0 .. cg * rows];
            try im2col_module.matmul(T, ctx, .{ .m = rows, .n = in_plane, .k = cg, .trans_a = true }, wg, xg, col);
            const first = image * s.m + group * mg;
            const yg = y[first * out_plane ..][0 .. mg * out_plane];
            for (0..mg) |i| @memset(yg[i * out_plane ..][0..out_plane], if (bias) |b| b[group * mg + i] else 0);
            im2col_module.col2im(T, g, col, mg, yg);
        }
    }
}

/// Col2Im: input (N, C * prod(block_shape), L), image_shape, block_shape -> (N, C, image...).
fn col2Im(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    if (x.rank() != 3) return ctx.fail("the input has rank {d}; it needs 3", .{x.rank()});
    const image = try intVector(ctx, try ctx.require(1), "image_shape");
    const block = try intVector(ctx, try ctx.require(2), "block_shape");
    if (image.len != block.len) {
        return ctx.fail("image_shape has {d} values but block_shape has {d}", .{ image.len, block.len });
    }
    for (image) |v| if (v < 0 or v > 1 << 40) return ctx.fail("image_shape holds {d}", .{v});
    const g = try common.window(ctx, image, .{ .kernel = block });
    const taps = g.kernelCount();
    if (common.dim(x, 1) % taps != 0) {
        return ctx.fail("input.shape[1] is not a multiple of the block size {d}", .{taps});
    }
    if (common.dim(x, 2) != g.outCount()) {
        return ctx.fail("the input has {d} blocks but the image holds {d}", .{ common.dim(x, 2), g.outCount() });
    }
    const c = common.dim(x, 1) / taps;
    const n = common.dim(x, 0);
    const shape = try imageShape(ctx, g, n, c); // col2im writes into `in`: here the image
    switch (try common.precision(ctx, x.dtype, false)) {
        inline else => |p| {
            const F = if (p == .f32) f32 else f64;
            const values = try common.floats(F, ctx, x);
            const out = try common.floatOutput(F, ctx, 0, x.dtype, shape);
            @memset(out.values, 0);
            const plane = g.inCount() * c;
            const cols = c * taps * g.outCount();
            for (0..n) |i| {
                im2col_module.col2im(F, g, values[i * cols ..][0..cols], c, out.values[i * plane ..][0..plane]);
            }
            out.finish();
        },
    }
}

/// A 1-D int64 (or int32) input's values.
pub fn intVector(ctx: *const Context, t: *const Tensor, comptime name: []const u8) Error![]const i64 {
    if (t.rank() != 1) return ctx.fail(name ++ " must be 1-D", .{});
    return switch (t.dtype) {
        .int64 => common.alignedItems(i64, ctx, t),
        .int32 => blk: {
            const out = try ctx.alloc(i64, t.count());
            for (out, try common.alignedItems(i32, ctx, t)) |*o, v| o.* = v;
            break :blk out;
        },
        else => ctx.fail(name ++ " must be int64, not {s}", .{@tagName(t.dtype)}),
    };
}

// ---- DeformConv ------------------------------------------------------------------------------

/// X, W, offset, optional B, optional mask; 2-D only (as in onnxruntime).
fn deformConv(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    const w = try ctx.require(1);
    const offset = try ctx.require(2);
    if (x.rank() != 4) return common.notImplemented(ctx, "DeformConv on rank {d} (only 2-D images)", .{x.rank()});
    const shape = try conv_module.convShape(ctx, x, w);
    try conv_module.checkBias(ctx, ctx.input(3), shape.m);
    const og_attribute = ctx.node.attrInt("offset_group", 1);
    if (og_attribute < 1) return ctx.fail("offset_group is {d}; it must be >= 1", .{og_attribute});
    const og: usize = @intCast(og_attribute);
    if (shape.c % og != 0) return ctx.fail("{d} channels do not split into {d} offset groups", .{ shape.c, og });
    const g = shape.geo;
    const taps = g.kernelCount();
    const og_taps = try common.mulChecked(ctx, og, taps);
    const expected = [4]usize{ shape.n, try common.mulChecked(ctx, og_taps, 2), g.out[1], g.out[2] };
    try checkShape(ctx, offset, expected, "offset");
    const mask = ctx.input(4);
    if (mask) |m| try checkShape(ctx, m, .{ shape.n, og_taps, g.out[1], g.out[2] }, "mask");
    switch (try common.precision(ctx, x.dtype, false)) {
        inline else => |p| {
            const F = if (p == .f32) f32 else f64;
            const data = Deform(F){
                .s = shape,
                .og = og,
                .x = try common.floats(F, ctx, x),
                .offset = try common.floats(F, ctx, offset),
                .mask = if (mask) |m| try common.floats(F, ctx, m) else null,
            };
            const bias = if (ctx.input(3)) |b| try common.floats(F, ctx, b) else null;
            const out = try common.floatOutput(F, ctx, 0, x.dtype, try g.outShape(ctx, shape.n, shape.m));
            try data.run(ctx, try common.floats(F, ctx, w), bias, out.values);
            out.finish();
        },
    }
}

fn checkShape(ctx: *const Context, t: *const Tensor, expected: [4]usize, comptime name: []const u8) Error!void {
    if (t.rank() != 4) return ctx.fail(name ++ " has rank {d}; it needs 4", .{t.rank()});
    for (0..4) |i| if (common.dim(t, i) != expected[i]) {
        return ctx.fail(name ++ " dim {d} is {d}; expected {d}", .{ i, common.dim(t, i), expected[i] });
    };
}

fn Deform(comptime T: type) type {
    return struct {
        s: conv_module.ConvShape,
        og: usize,
        x: []const T,
        offset: []const T,
        mask: ?[]const T,

        fn run(self: @This(), ctx: *const Context, w: []const T, bias: ?[]const T, y: []T) Error!void {
            const s = self.s;
            const out_plane = s.geo.outCount();
            const k = s.depth();
            const col = try ctx.alloc(T, k * out_plane);
            for (0..s.n) |image| for (0..s.group) |group| {
                self.sample(image, group, col);
                const first = image * s.m + group * s.mg();
                const yg = y[first * out_plane ..][0 .. s.mg() * out_plane];
                for (0..s.mg()) |i| {
                    @memset(yg[i * out_plane ..][0..out_plane], if (bias) |b| b[group * s.mg() + i] else 0);
                }
                const wg = w[group * s.mg() * k ..][0 .. s.mg() * k];
                const dims = im2col_module.Dims{ .m = s.mg(), .n = out_plane, .k = k, .accumulate = true };
                try im2col_module.matmul(T, ctx, dims, wg, col, yg);
            };
        }

        /// The im2col matrix of one group, each tap sampled bilinearly at its offset position.
        fn sample(self: @This(), image: usize, group: usize, col: []T) void {
            const s = self.s;
            const g = s.geo;
            const taps = g.kernelCount();
            const out_plane = g.outCount();
            const height = g.in[1];
            const width = g.in[2];
            const per_offset_group = s.c / self.og;
            for (0..s.cg()) |ci| {
                const channel = group * s.cg() + ci;
                const og = channel / per_offset_group;
                const plane = self.x[(image * s.c + channel) * height * width ..][0 .. height * width];
                const offsets = self.offset[(image * self.og + og) * taps * 2 * out_plane ..];
                for (0..g.kernel[1]) |i| for (0..g.kernel[2]) |j| {
                    const tap = i * g.kernel[2] + j;
                    const row = col[(ci * taps + tap) * out_plane ..][0..out_plane];
                    const dy = offsets[(tap * 2) * out_plane ..][0..out_plane];
                    const dx = offsets[(tap * 2 + 1) * out_plane ..][0..out_plane];
                    const mask_at = ((image * self.og + og) * taps + tap) * out_plane;
                    const mask = if (self.mask) |m| m[mask_at..][0..out_plane] else null;
                    for (0..g.out[1]) |oy| for (0..g.out[2]) |ox| {
                        const at = oy * g.out[2] + ox;
                        const base_y = @as(i64, @intCast(oy * g.stride[1] + i * g.dilation[1])) - g.pad[1];
                        const base_x = @as(i64, @intCast(ox * g.stride[2] + j * g.dilation[2])) - g.pad[2];
                        const py = @as(T, @floatFromInt(base_y)) + dy[at];
                        const px = @as(T, @floatFromInt(base_x)) + dx[at];
                        const v = bilinearZeros(T, plane, height, width, py, px);
                        row[at] = if (mask) |m| v * m[at] else v;
                    };
                };
            }
        }
    };
}

/// Bilinear sample at (y, x) where taps outside the plane read as zero.
pub fn bilinearZeros(comptime T: type, plane: []const T, height: usize, width: usize, y: T, x: T) T {
    if (!(y > -1 and x > -1 and y < @as(T, @floatFromInt(height)) and x < @as(T, @floatFromInt(width)))) return 0;
    const y0f = @floor(y);
    const x0f = @floor(x);
    const ly = y - y0f;
    const lx = x - x0f;
    const y0: i64 = @intFromFloat(y0f);
    const x0: i64 = @intFromFloat(x0f);
    var sum: T = 0;
    const corners = [4][3]T{
        .{ 0, 0, (1 - ly) * (1 - lx) },
        .{ 0, 1, (1 - ly) * lx },
        .{ 1, 0, ly * (1 - lx) },
        .{ 1, 1, ly * lx },
    };
    for (corners) |corner| {
        const yy = y0 + @as(i64, @intFromFloat(corner[0]));
        const xx = x0 + @as(i64, @intFromFloat(corner[1]));
        if (yy < 0 or xx < 0 or yy >= height or xx >= width) continue;
        sum += corner[2] * plane[@as(usize, @intCast(yy)) * width + @as(usize, @intCast(xx))];
    }
    return sum;
}

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .op = "ConvTranspose", .run = convTranspose },
    .{ .op = "Col2Im", .run = col2Im },
    .{ .op = "DeformConv", .run = deformConv },
};
