//! Recording and submitting dispatches. Nodes record into one open command buffer (a batch),
//! with a memory barrier after each dispatch so that the next one sees its writes; `finish`
//! submits the batch with a fence and waits for every batch submitted before it. So an island of
//! GPU nodes between two copies is one command buffer and one submit.
//! Requests of one model share the device and may run at once: recording and submitting are
//! under `mutex`, and the fence waits under `wait_mutex` alone, so other requests keep recording
//! meanwhile. Batches complete in submission order; the waiter recycles each one it saw finish
//! (command pool, descriptor pools and fence reset) for later recording.
const std = @import("std");
const status = @import("../../core/status.zig");
const memory = @import("../../core/memory.zig");
const functions = @import("functions.zig");
const Context = @import("context.zig").Context;
const pipelines = @import("pipelines.zig");

const vk = functions.vk;

/// Descriptor sets per pool; a batch that needs more chains another pool.
const sets_per_pool = 256;
/// How long a wait for the device may take before it counts as lost.
const fence_timeout_ns: u64 = 120 * std.time.ns_per_s;

pub const Binding = struct { buffer: vk.VkBuffer, offset: u64, range: u64 };

pub const Dispatch = struct {
    pipeline: vk.VkPipeline,
    /// Up to pipelines.max_bindings; bindings past these repeat the first, since every binding
    /// of the shared layout must hold a valid buffer.
    bindings: []const Binding,
    push: []const u8,
    groups: [3]u32,
};

const Batch = struct {
    command_pool: vk.VkCommandPool,
    command_buffer: vk.VkCommandBuffer,
    fence: vk.VkFence,
    descriptor_pools: std.ArrayList(vk.VkDescriptorPool) = .empty,
    /// Sets left in the last descriptor pool.
    sets_left: u32 = 0,
    serial: u64 = 0,
};

pub const Stream = struct {
    context: *const Context,
    pipelines: *const pipelines.Pipelines,
    mutex: std.Thread.Mutex = .{},
    wait_mutex: std.Thread.Mutex = .{},
    recording: ?*Batch = null,
    /// Submitted, oldest first.
    in_flight: std.ArrayList(*Batch) = .empty,
    spare: std.ArrayList(*Batch) = .empty,
    all: std.ArrayList(*Batch) = .empty,
    submitted: u64 = 0,
    /// Set once the device is lost: every later call fails at once.
    lost: bool = false,

    /// Waits for the device to be idle, then frees every batch.
    pub fn deinit(self: *Stream) void {
        const fns = &self.context.fns;
        _ = fns.vkDeviceWaitIdle(self.context.device);
        for (self.all.items) |batch| {
            for (batch.descriptor_pools.items) |pool| fns.vkDestroyDescriptorPool(self.context.device, pool, null);
            batch.descriptor_pools.deinit(memory.allocator);
            fns.vkDestroyFence(self.context.device, batch.fence, null);
            fns.vkDestroyCommandPool(self.context.device, batch.command_pool, null);
            memory.allocator.destroy(batch);
        }
        self.all.deinit(memory.allocator);
        self.in_flight.deinit(memory.allocator);
        self.spare.deinit(memory.allocator);
    }

    /// Records one dispatch into the open batch, opening one if none is.
    pub fn record(self: *Stream, dispatch: Dispatch) status.Error!void {
        const fns = &self.context.fns;
        const limits = self.context.limits();
        for (dispatch.groups, 0..) |g, i| if (g == 0 or g > limits.maxComputeWorkGroupCount[i])
            return status.fail(error.NotImplemented, "a dispatch of {d} workgroups along axis {d} is past the device's limit {d}", .{ g, i, limits.maxComputeWorkGroupCount[i] });
        self.mutex.lock();
        defer self.mutex.unlock();
        if (self.lost) return status.fail(error.DeviceError, "the Vulkan device was lost", .{});
        const batch = self.recording orelse try self.open();
        const set = try self.descriptorSet(batch);
        var infos: [pipelines.max_bindings]vk.VkDescriptorBufferInfo = undefined;
        var writes: [pipelines.max_bindings]vk.VkWriteDescriptorSet = undefined;
        for (&infos, &writes, 0..) |*info, *write, i| {
            const b = dispatch.bindings[if (i < dispatch.bindings.len) i else 0];
            info.* = .{ .buffer = b.buffer, .offset = b.offset, .range = b.range };
            write.* = std.mem.zeroInit(vk.VkWriteDescriptorSet, .{
                .sType = vk.VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                .dstSet = set,
                .dstBinding = @as(u32, @intCast(i)),
                .descriptorCount = 1,
                .descriptorType = vk.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                .pBufferInfo = info,
            });
        }
        fns.vkUpdateDescriptorSets(self.context.device, pipelines.max_bindings, &writes, 0, null);
        const cb = batch.command_buffer;
        fns.vkCmdBindPipeline(cb, vk.VK_PIPELINE_BIND_POINT_COMPUTE, dispatch.pipeline);
        fns.vkCmdBindDescriptorSets(cb, vk.VK_PIPELINE_BIND_POINT_COMPUTE, self.pipelines.layout, 0, 1, &set, 0, null);
        fns.vkCmdPushConstants(cb, self.pipelines.layout, vk.VK_SHADER_STAGE_COMPUTE_BIT, 0, @intCast(dispatch.push.len), dispatch.push.ptr);
        fns.vkCmdDispatch(cb, dispatch.groups[0], dispatch.groups[1], dispatch.groups[2]);
        barrier(fns, cb, vk.VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, vk.VK_ACCESS_SHADER_READ_BIT | vk.VK_ACCESS_SHADER_WRITE_BIT);
    }

    /// Submits the open batch, then waits for it and every batch submitted before it.
    pub fn finish(self: *Stream) status.Error!void {
        const target = try self.submit();
        self.wait_mutex.lock();
        defer self.wait_mutex.unlock();
        while (true) {
            const batch = self.oldestUpTo(target) orelse return;
            const result = self.context.fns.vkWaitForFences(self.context.device, 1, &batch.fence, vk.VK_TRUE, fence_timeout_ns);
            self.mutex.lock();
            defer self.mutex.unlock();
            if (result != vk.VK_SUCCESS) {
                self.lost = true;
                return functions.check(result, "vkWaitForFences");
            }
            _ = self.in_flight.orderedRemove(0);
            try self.recycle(batch);
        }
    }

    fn oldestUpTo(self: *Stream, serial: u64) ?*Batch {
        self.mutex.lock();
        defer self.mutex.unlock();
        if (self.in_flight.items.len == 0 or self.in_flight.items[0].serial > serial) return null;
        return self.in_flight.items[0];
    }

    /// The serial of the last batch submitted, the open one included.
    fn submit(self: *Stream) status.Error!u64 {
        self.mutex.lock();
        defer self.mutex.unlock();
        if (self.lost) return status.fail(error.DeviceError, "the Vulkan device was lost", .{});
        const batch = self.recording orelse return self.submitted;
        const fns = &self.context.fns;
        // The host reads what the batch wrote once the fence is signalled.
        barrier(fns, batch.command_buffer, vk.VK_PIPELINE_STAGE_HOST_BIT, vk.VK_ACCESS_HOST_READ_BIT);
        try functions.check(fns.vkEndCommandBuffer(batch.command_buffer), "vkEndCommandBuffer");
        self.in_flight.ensureUnusedCapacity(memory.allocator, 1) catch return oom();
        const submit_info = std.mem.zeroInit(vk.VkSubmitInfo, .{
            .sType = vk.VK_STRUCTURE_TYPE_SUBMIT_INFO,
            .commandBufferCount = 1,
            .pCommandBuffers = &batch.command_buffer,
        });
        const result = fns.vkQueueSubmit(self.context.queue, 1, &submit_info, batch.fence);
        self.recording = null;
        if (result != vk.VK_SUCCESS) {
            if (result == vk.VK_ERROR_DEVICE_LOST) self.lost = true;
            self.recycle(batch) catch {};
            try functions.check(result, "vkQueueSubmit");
            unreachable;
        }
        self.submitted += 1;
        batch.serial = self.submitted;
        self.in_flight.appendAssumeCapacity(batch);
        return self.submitted;
    }

    /// A batch begun for recording: a spare one, or a new one.
    fn open(self: *Stream) status.Error!*Batch {
        const batch = self.spare.pop() orelse try self.create();
        const begin = std.mem.zeroInit(vk.VkCommandBufferBeginInfo, .{
            .sType = vk.VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
            .flags = vk.VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
        });
        functions.check(self.context.fns.vkBeginCommandBuffer(batch.command_buffer, &begin), "vkBeginCommandBuffer") catch |e| {
            self.spare.append(memory.allocator, batch) catch {};
            return e;
        };
        self.recording = batch;
        return batch;
    }

    fn create(self: *Stream) status.Error!*Batch {
        const fns = &self.context.fns;
        const device = self.context.device;
        const batch = memory.allocator.create(Batch) catch return oom();
        errdefer memory.allocator.destroy(batch);
        batch.* = .{ .command_pool = null, .command_buffer = null, .fence = null };
        const pool_info = std.mem.zeroInit(vk.VkCommandPoolCreateInfo, .{
            .sType = vk.VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
            .queueFamilyIndex = self.context.queue_family,
        });
        try functions.check(fns.vkCreateCommandPool(device, &pool_info, null, &batch.command_pool), "vkCreateCommandPool");
        errdefer fns.vkDestroyCommandPool(device, batch.command_pool, null);
        const allocate = std.mem.zeroInit(vk.VkCommandBufferAllocateInfo, .{
            .sType = vk.VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
            .commandPool = batch.command_pool,
            .level = vk.VK_COMMAND_BUFFER_LEVEL_PRIMARY,
            .commandBufferCount = 1,
        });
        try functions.check(fns.vkAllocateCommandBuffers(device, &allocate, &batch.command_buffer), "vkAllocateCommandBuffers");
        const fence_info = std.mem.zeroInit(vk.VkFenceCreateInfo, .{ .sType = vk.VK_STRUCTURE_TYPE_FENCE_CREATE_INFO });
        try functions.check(fns.vkCreateFence(device, &fence_info, null, &batch.fence), "vkCreateFence");
        errdefer fns.vkDestroyFence(device, batch.fence, null);
        self.all.append(memory.allocator, batch) catch return oom();
        return batch;
    }

    fn descriptorSet(self: *Stream, batch: *Batch) status.Error!vk.VkDescriptorSet {
        const fns = &self.context.fns;
        const device = self.context.device;
        if (batch.sets_left == 0) {
            const size: vk.VkDescriptorPoolSize = .{ .type = vk.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = sets_per_pool * pipelines.max_bindings };
            const info = std.mem.zeroInit(vk.VkDescriptorPoolCreateInfo, .{
                .sType = vk.VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                .maxSets = sets_per_pool,
                .poolSizeCount = 1,
                .pPoolSizes = &size,
            });
            batch.descriptor_pools.ensureUnusedCapacity(memory.allocator, 1) catch return oom();
            var pool: vk.VkDescriptorPool = null;
            try functions.check(fns.vkCreateDescriptorPool(device, &info, null, &pool), "vkCreateDescriptorPool");
            batch.descriptor_pools.appendAssumeCapacity(pool);
            batch.sets_left = sets_per_pool;
        }
        const allocate = std.mem.zeroInit(vk.VkDescriptorSetAllocateInfo, .{
            .sType = vk.VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
            .descriptorPool = batch.descriptor_pools.items[batch.descriptor_pools.items.len - 1],
            .descriptorSetCount = 1,
            .pSetLayouts = &self.pipelines.set_layout,
        });
        var set: vk.VkDescriptorSet = null;
        try functions.check(fns.vkAllocateDescriptorSets(device, &allocate, &set), "vkAllocateDescriptorSets");
        batch.sets_left -= 1;
        return set;
    }

    /// Makes a finished batch ready to record again; the caller holds `mutex`.
    fn recycle(self: *Stream, batch: *Batch) status.Error!void {
        const fns = &self.context.fns;
        const device = self.context.device;
        try functions.check(fns.vkResetFences(device, 1, &batch.fence), "vkResetFences");
        try functions.check(fns.vkResetCommandPool(device, batch.command_pool, 0), "vkResetCommandPool");
        // One pool is kept and reset; the extra ones a long batch chained are destroyed.
        const pools = batch.descriptor_pools.items;
        if (pools.len > 1) for (pools[1..]) |pool| fns.vkDestroyDescriptorPool(device, pool, null);
        batch.descriptor_pools.shrinkRetainingCapacity(@min(pools.len, 1));
        if (pools.len > 0) try functions.check(fns.vkResetDescriptorPool(device, pools[0], 0), "vkResetDescriptorPool");
        batch.sets_left = if (pools.len > 0) sets_per_pool else 0;
        self.spare.append(memory.allocator, batch) catch return oom();
    }
};

/// Makes compute shader writes visible to `stage`'s `access`.
fn barrier(fns: *const functions.Device, cb: vk.VkCommandBuffer, stage: u32, access: u32) void {
    const b = std.mem.zeroInit(vk.VkMemoryBarrier, .{
        .sType = vk.VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = vk.VK_ACCESS_SHADER_WRITE_BIT,
        .dstAccessMask = access,
    });
    fns.vkCmdPipelineBarrier(cb, vk.VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, stage, 0, 1, &b, 0, null, 0, null);
}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of host memory recording Vulkan work", .{});
}
