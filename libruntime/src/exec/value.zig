//! Values as the executor passes them between kernels. Mostly tensors: an element type, concrete
//! dims, and little-endian bytes (packed for sub-byte types), or one byte string per element for
//! strings. Sequences and optionals are values whose `elements` point at tensors (or, for an
//! optional sequence, at a sequence value; a sequence of maps points at map values). A map is two
//! 1-D tensors of the same length in `elements`: its keys (int64 or string, no two equal) and its
//! values.
//! Memory comes from the run's arena, or points at constants and caller buffers without a copy;
//! a value on a device with memory of its own (exec/backend.zig) is a buffer of that device.
const std = @import("std");
const dtype_module = @import("../tensor/dtype.zig");

pub const DType = dtype_module.DType;

/// What a run value is. Sequences, optionals and maps hold other values in `elements`; their own
/// shape is empty, and their dtype is the element type (a map's: its key type).
pub const Kind = enum { tensor, sequence, optional, map };

/// Memory of a device that has its own (exec/backend.zig Buffers): the device's handle for it,
/// which only that device reads, and its size.
pub const Buffer = struct {
    handle: *anyopaque,
    bytes: usize,
};

pub const Tensor = struct {
    kind: Kind = .tensor,
    dtype: DType,
    shape: []const i64,
    /// Element bytes; empty for strings.
    data: []u8 = &.{},
    /// One entry per element for string tensors.
    strings: [][]const u8 = &.{},
    /// A sequence's tensors in order; an optional's value (one entry) or none (empty); a map's
    /// keys and values (two entries: map_keys, map_values).
    elements: []const *const Tensor = &.{},
    /// Set when the elements live in a device's own memory; `data` is then empty. Only nodes on
    /// that device see such a tensor: the executor copies it to host memory for everyone else.
    buffer: ?Buffer = null,

    pub const map_keys = 0;
    pub const map_values = 1;

    pub fn isTensor(self: *const Tensor) bool {
        return self.kind == .tensor;
    }

    /// A map's entry count (its keys' length).
    pub fn mapCount(self: *const Tensor) usize {
        std.debug.assert(self.kind == .map);
        return self.elements[map_keys].count();
    }

    pub fn count(self: *const Tensor) usize {
        var n: usize = 1;
        for (self.shape) |d| n *= @intCast(d);
        return n;
    }

    pub fn rank(self: *const Tensor) usize {
        return self.shape.len;
    }

    /// The elements as a typed slice; the dtype must be stored as T (checked in safe builds).
    pub fn items(self: *const Tensor, comptime T: type) []T {
        std.debug.assert(self.dtype.bits() == @bitSizeOf(T) or self.data.len == 0);
        // An empty tensor's bytes may start anywhere (a caller's zero-length buffer): there is
        // nothing to align, and casting its pointer would trip the alignment check.
        if (self.data.len < @sizeOf(T)) return &.{};
        const aligned: [*]T = @ptrCast(@alignCast(self.data.ptr));
        return aligned[0 .. self.data.len / @sizeOf(T)];
    }

    /// The dims after `axis` multiplied: the stride of `axis` in elements.
    pub fn stride(self: *const Tensor, axis: usize) usize {
        var n: usize = 1;
        for (self.shape[axis + 1 ..]) |d| n *= @intCast(d);
        return n;
    }
};

/// Row-major strides of `shape`, in elements.
pub fn strides(allocator: std.mem.Allocator, shape: []const i64) ![]usize {
    const out = try allocator.alloc(usize, shape.len);
    var running: usize = 1;
    var i = shape.len;
    while (i > 0) {
        i -= 1;
        out[i] = running;
        running *= @intCast(shape[i]);
    }
    return out;
}
