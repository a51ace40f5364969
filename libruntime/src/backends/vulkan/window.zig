//! The placement of a convolution's or a pool's window over 1-D and 2-D inputs, from the node's
//! strides, dilations, pads, auto_pad and ceil_mode: decoded once at compile (`Attributes`), and
//! resolved against the run's input extents (`Geometry`), as ONNX defines them. A 1-D window is a
//! 2-D one whose first axis is a unit axis, so the shaders index two axes always.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../../model/ir.zig");

/// The spatial axes the Vulkan kernels take.
pub const max_spatial = 2;
/// Attribute values above this are refused, so window arithmetic fits in 32 bits.
const max_attribute: i64 = 1 << 24;

pub const AutoPad = enum { notset, same_upper, same_lower, valid };

pub const Attributes = struct {
    spatial: usize,
    strides: [max_spatial]i64 = .{ 1, 1 },
    dilations: [max_spatial]i64 = .{ 1, 1 },
    pads_begin: [max_spatial]i64 = .{ 0, 0 },
    pads_end: [max_spatial]i64 = .{ 0, 0 },
    auto_pad: AutoPad = .notset,
    ceil_mode: bool = false,
};

/// Per axis (the unit axis first for 1-D): extents, kernel, stride, dilation and pads.
pub const Geometry = struct {
    in: [max_spatial]u32 = .{ 1, 1 },
    out: [max_spatial]u32 = .{ 1, 1 },
    kernel: [max_spatial]u32 = .{ 1, 1 },
    stride: [max_spatial]u32 = .{ 1, 1 },
    dilation: [max_spatial]u32 = .{ 1, 1 },
    pad_begin: [max_spatial]i32 = .{ 0, 0 },
    pad_end: [max_spatial]i32 = .{ 0, 0 },

    pub fn outCount(self: Geometry) u64 {
        return @as(u64, self.out[0]) * self.out[1];
    }
};

/// Attributes, or why the node's are malformed or not what the kernels take.
pub const Decoded = union(enum) { ok: Attributes, refused: []const u8 };

/// The node's window attributes over `spatial` axes.
pub fn decode(node: *const ir.Node, spatial: usize) Decoded {
    if (spatial == 0 or spatial > max_spatial) {
        return .{ .refused = "the Vulkan convolution and pooling kernels take 1-D and 2-D windows only" };
    }
    var a: Attributes = .{ .spatial = spatial };
    const text = node.attrString("auto_pad", "NOTSET");
    a.auto_pad = if (text.len == 0 or std.mem.eql(u8, text, "NOTSET")) .notset else if (std.mem.eql(u8, text, "SAME_UPPER")) .same_upper else if (std.mem.eql(u8, text, "SAME_LOWER")) .same_lower else if (std.mem.eql(u8, text, "VALID")) .valid else {
        return .{ .refused = "auto_pad is not NOTSET, SAME_UPPER, SAME_LOWER or VALID" };
    };
    const first = max_spatial - spatial;
    if (!perAxis(node.attrInts("strides"), spatial, 1, a.strides[first..]) or !perAxis(node.attrInts("dilations"), spatial, 1, a.dilations[first..])) {
        return .{ .refused = "strides and dilations must hold one value in [1, 2^24] per spatial axis" };
    }
    if (a.auto_pad == .notset) if (node.attrInts("pads")) |pads| {
        if (pads.len != 2 * spatial) {
            return .{ .refused = "pads must hold two values per spatial axis" };
        }
        for (0..spatial) |i| {
            for ([2]i64{ pads[i], pads[i + spatial] }) |v| if (v < 0 or v > max_attribute) {
                return .{ .refused = "pads must be in [0, 2^24]" };
            };
            a.pads_begin[first + i] = pads[i];
            a.pads_end[first + i] = pads[i + spatial];
        }
    };
    a.ceil_mode = node.attrInt("ceil_mode", 0) != 0;
    return .{ .ok = a };
}

fn perAxis(values: ?[]const i64, n: usize, min: i64, out: []i64) bool {
    const given = values orelse return true;
    if (given.len != n) return false;
    for (given, out) |v, *slot| {
        if (v < min or v > max_attribute) return false;
        slot.* = v;
    }
    return true;
}

/// The window of `kernel` over the input extents `spatial` (as many as the attributes' axes).
pub fn geometry(a: Attributes, spatial: []const i64, kernel: []const i64) status.Error!Geometry {
    if (spatial.len != a.spatial or kernel.len != a.spatial) return status.fail(error.ShapeError, "the window has {d} axes; the input has {d} spatial axes", .{ kernel.len, spatial.len });
    var g: Geometry = .{};
    const first = max_spatial - a.spatial;
    for (spatial, kernel, first..) |in, k, j| {
        if (k < 1 or k > max_attribute) return status.fail(error.ShapeError, "kernel extent {d} is out of range", .{k});
        if (in < 0 or in > std.math.maxInt(i32)) return status.fail(error.NotImplemented, "the Vulkan kernels index with 32 bits: the tensor is too large", .{});
        const s = a.strides[j];
        const span = (k - 1) * a.dilations[j] + 1;
        var begin = a.pads_begin[j];
        var end = a.pads_end[j];
        var out: i64 = undefined;
        switch (a.auto_pad) {
            .same_upper, .same_lower => {
                out = @divFloor(in + s - 1, s);
                const total = @max(0, (out - 1) * s + span - in);
                begin = if (a.auto_pad == .same_upper) @divFloor(total, 2) else total - @divFloor(total, 2);
                end = total - begin;
            },
            .valid, .notset => {
                const padded = in + begin + end;
                if (padded < span) return status.fail(error.ShapeError, "the window spans {d}, more than the padded input {d}", .{ span, padded });
                out = @divFloor(padded - span, s) + 1;
                if (a.ceil_mode) {
                    out = @divFloor(padded - span + s - 1, s) + 1;
                    // The last window must start inside the input or its leading pad.
                    if ((out - 1) * s >= in + begin) out -= 1;
                }
            },
        }
        g.in[j] = @intCast(in);
        g.out[j] = std.math.cast(u32, out) orelse return status.fail(error.NotImplemented, "the Vulkan kernels index with 32 bits: the tensor is too large", .{});
        g.kernel[j] = @intCast(k);
        g.stride[j] = @intCast(s);
        g.dilation[j] = @intCast(a.dilations[j]);
        g.pad_begin[j] = @intCast(begin);
        g.pad_end[j] = @intCast(end);
    }
    return g;
}

test "SAME_UPPER pads the end more, ceil_mode keeps a last window that starts inside" {
    var a: Attributes = .{ .spatial = 2, .strides = .{ 2, 2 }, .auto_pad = .same_upper };
    const g = try geometry(a, &.{ 10, 10 }, &.{ 3, 3 });
    try std.testing.expectEqual([2]u32{ 5, 5 }, g.out);
    try std.testing.expectEqual([2]i32{ 0, 0 }, g.pad_begin);
    try std.testing.expectEqual([2]i32{ 1, 1 }, g.pad_end);
    a = .{ .spatial = 1, .strides = .{ 1, 2 }, .ceil_mode = true };
    const h = try geometry(a, &.{15}, &.{2});
    try std.testing.expectEqual([2]u32{ 1, 8 }, h.out);
}
