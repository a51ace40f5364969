//! A packed GEMM operand that several owners hold: the models that share a weight after a hot
//! update (weight_store.zig), or an operand read in place from a mapped compiled-model cache
//! entry (exec/cache_file.zig). The last reference frees the memory, or lets go of the entry.
const std = @import("std");
const memory = @import("../../core/memory.zig");
const status = @import("../../core/status.zig");
const cache_file = @import("../../exec/cache_file.zig");

pub const SharedPack = struct {
    refs: std.atomic.Value(u32) = .init(1),
    /// Read-only for every holder. For a mapped entry the pages are mapped read-only too.
    data: []align(64) f32,
    backing: union(enum) { heap, entry: *cache_file.Entry },

    /// Takes `data` (from memory.allocator) with one reference.
    pub fn adopt(data: []align(64) f32) status.Error!*SharedPack {
        const self = memory.allocator.create(SharedPack) catch return oom();
        self.* = .{ .data = data, .backing = .heap };
        return self;
    }

    /// Section `index` of `entry`, with one reference; holds a reference on the entry.
    pub fn mapped(entry: *cache_file.Entry, index: usize) status.Error!*SharedPack {
        const bytes = entry.data(index);
        std.debug.assert(bytes.len % @sizeOf(f32) == 0);
        const self = memory.allocator.create(SharedPack) catch return oom();
        // Never written through: the type is the one PackedA and PackedB carry for their own.
        const floats: [*]align(64) f32 = @ptrCast(@constCast(bytes.ptr));
        self.* = .{ .data = floats[0 .. bytes.len / @sizeOf(f32)], .backing = .{ .entry = entry } };
        entry.retain();
        return self;
    }

    pub fn retain(self: *SharedPack) void {
        _ = self.refs.fetchAdd(1, .monotonic);
    }

    pub fn release(self: *SharedPack) void {
        if (self.refs.fetchSub(1, .acq_rel) != 1) return;
        switch (self.backing) {
            .heap => memory.allocator.free(self.data),
            .entry => |entry| entry.release(),
        }
        memory.allocator.destroy(self);
    }

    pub fn byteSize(self: *const SharedPack) u64 {
        return self.data.len * @sizeOf(f32);
    }
};

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory sharing a packed weight", .{});
}
