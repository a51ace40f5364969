//! The device's memory for tensors: large blocks of VkDeviceMemory, each bound to one storage
//! VkBuffer and mapped for the block's life, with buffers placed inside by suballocator.zig.
//! Blocks are host-visible and coherent, so uploads and downloads are plain copies through the
//! mapping: device-local memory where the device has it host-visible (lavapipe, integrated GPUs,
//! resizable BAR), else host memory the device reads over the bus. Staging copies into
//! device-local memory that the host cannot map are not done yet.
const std = @import("std");
const status = @import("../../core/status.zig");
const memory = @import("../../core/memory.zig");
const functions = @import("functions.zig");
const Context = @import("context.zig").Context;
const Ranges = @import("suballocator.zig").Ranges;

const vk = functions.vk;

/// The size of a block; a larger buffer gets a block of its own.
pub const block_size: u64 = 64 << 20;

pub const Block = struct {
    memory: vk.VkDeviceMemory,
    buffer: vk.VkBuffer,
    mapped: [*]u8,
    ranges: Ranges,
};

/// One buffer: its block and its place there. value.Buffer's handle points at it.
pub const Allocation = struct {
    block: *Block,
    offset: u64,
    size: u64,

    pub fn bytes(self: *const Allocation) []u8 {
        return self.block.mapped[self.offset..][0..self.size];
    }
};

pub const Pool = struct {
    context: *const Context,
    mutex: std.Thread.Mutex = .{},
    blocks: std.ArrayList(*Block) = .empty,
    memory_type: u32,
    /// Offsets of buffers in a block: storage buffers must start at a multiple of this.
    alignment: u64,
    used: u64 = 0,
    /// The size of the heap the memory type draws from.
    total: u64,

    pub fn init(context: *const Context) status.Error!Pool {
        const chosen = try chooseMemoryType(context);
        const props = &context.memory_properties;
        const heap = props.memoryHeaps[props.memoryTypes[chosen].heapIndex];
        return .{
            .context = context,
            .memory_type = chosen,
            .alignment = @max(16, context.limits().minStorageBufferOffsetAlignment),
            .total = heap.size,
        };
    }

    pub fn deinit(self: *Pool) void {
        for (self.blocks.items) |block| self.destroyBlock(block);
        self.blocks.deinit(memory.allocator);
    }

    /// `size` bytes (at least 4: a descriptor's range cannot be empty).
    pub fn alloc(self: *Pool, size: u64) status.Error!*Allocation {
        const rounded = std.mem.alignForward(u64, @max(size, 4), 4);
        self.mutex.lock();
        defer self.mutex.unlock();
        const allocation = memory.allocator.create(Allocation) catch return oom();
        errdefer memory.allocator.destroy(allocation);
        for (self.blocks.items) |block| {
            const offset = block.ranges.take(memory.allocator, rounded, self.alignment) catch return oom();
            if (offset) |at| return self.placed(allocation, block, at, rounded);
        }
        const block = try self.createBlock(@max(block_size, std.mem.alignForward(u64, rounded, self.alignment)));
        const at = (block.ranges.take(memory.allocator, rounded, self.alignment) catch return oom()).?;
        return self.placed(allocation, block, at, rounded);
    }

    fn placed(self: *Pool, allocation: *Allocation, block: *Block, offset: u64, size: u64) *Allocation {
        allocation.* = .{ .block = block, .offset = offset, .size = size };
        self.used += size;
        return allocation;
    }

    /// Gives the allocation back; a block left empty is released unless it is the only one.
    pub fn free(self: *Pool, allocation: *Allocation) void {
        self.mutex.lock();
        defer self.mutex.unlock();
        const block = allocation.block;
        // Merging may need one more list entry; if that fails the range is leaked, not reused.
        block.ranges.give(memory.allocator, allocation.offset, allocation.size) catch {};
        self.used -= allocation.size;
        memory.allocator.destroy(allocation);
        if (block.ranges.empty() and self.blocks.items.len > 1) {
            for (self.blocks.items, 0..) |b, i| if (b == block) {
                _ = self.blocks.swapRemove(i);
                break;
            };
            self.destroyBlock(block);
        }
    }

    fn createBlock(self: *Pool, size: u64) status.Error!*Block {
        const fns = &self.context.fns;
        const device = self.context.device;
        const block = memory.allocator.create(Block) catch return oom();
        errdefer memory.allocator.destroy(block);
        const buffer_info = std.mem.zeroInit(vk.VkBufferCreateInfo, .{
            .sType = vk.VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
            .size = size,
            .usage = vk.VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT,
            .sharingMode = vk.VK_SHARING_MODE_EXCLUSIVE,
        });
        try functions.check(fns.vkCreateBuffer(device, &buffer_info, null, &block.buffer), "vkCreateBuffer");
        errdefer fns.vkDestroyBuffer(device, block.buffer, null);
        var requirements: vk.VkMemoryRequirements = undefined;
        fns.vkGetBufferMemoryRequirements(device, block.buffer, &requirements);
        if (requirements.memoryTypeBits & (@as(u32, 1) << @intCast(self.memory_type)) == 0)
            return status.fail(error.DeviceError, "the Vulkan device cannot place storage buffers in memory type {d}", .{self.memory_type});
        const allocate_info = std.mem.zeroInit(vk.VkMemoryAllocateInfo, .{
            .sType = vk.VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
            .allocationSize = requirements.size,
            .memoryTypeIndex = self.memory_type,
        });
        try functions.check(fns.vkAllocateMemory(device, &allocate_info, null, &block.memory), "vkAllocateMemory");
        errdefer fns.vkFreeMemory(device, block.memory, null);
        try functions.check(fns.vkBindBufferMemory(device, block.buffer, block.memory, 0), "vkBindBufferMemory");
        var mapped: ?*anyopaque = null;
        try functions.check(fns.vkMapMemory(device, block.memory, 0, vk.VK_WHOLE_SIZE, 0, &mapped), "vkMapMemory");
        block.mapped = @ptrCast(mapped.?);
        block.ranges = Ranges.init(memory.allocator, size) catch return oom();
        errdefer block.ranges.deinit(memory.allocator);
        self.blocks.append(memory.allocator, block) catch return oom();
        return block;
    }

    fn destroyBlock(self: *Pool, block: *Block) void {
        const fns = &self.context.fns;
        fns.vkDestroyBuffer(self.context.device, block.buffer, null);
        // Freeing the memory unmaps it.
        fns.vkFreeMemory(self.context.device, block.memory, null);
        block.ranges.deinit(memory.allocator);
        memory.allocator.destroy(block);
    }
};

/// Host-visible coherent memory, device-local if the device has it so.
fn chooseMemoryType(context: *const Context) status.Error!u32 {
    const props = &context.memory_properties;
    const mappable = vk.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | vk.VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    for ([_]u32{ mappable | vk.VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, mappable }) |wanted| {
        for (props.memoryTypes[0..props.memoryTypeCount], 0..) |t, i| {
            if (t.propertyFlags & wanted == wanted) return @intCast(i);
        }
    }
    return status.fail(error.DeviceError, "Vulkan device {s} has no host-visible coherent memory", .{context.name()});
}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of host memory for Vulkan buffers", .{});
}
