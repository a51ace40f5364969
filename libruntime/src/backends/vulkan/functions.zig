//! The Vulkan functions the backend calls, loaded at run time from the loader that
//! device/vulkan_probe.zig opens: the library never links Vulkan. Each table is a struct whose
//! field names are the functions' names, filled by walking its fields.
const std = @import("std");
const status = @import("../../core/status.zig");
const vulkan_probe = @import("../../device/vulkan_probe.zig");

pub const vk = vulkan_probe.vk;

pub fn Fn(comptime pfn: type) type {
    return @typeInfo(pfn).optional.child;
}

pub const GetInstanceProcAddr = Fn(vk.PFN_vkGetInstanceProcAddr);

/// Functions of an instance (and its physical devices).
pub const Instance = struct {
    vkDestroyInstance: Fn(vk.PFN_vkDestroyInstance),
    vkEnumeratePhysicalDevices: Fn(vk.PFN_vkEnumeratePhysicalDevices),
    vkGetPhysicalDeviceProperties: Fn(vk.PFN_vkGetPhysicalDeviceProperties),
    vkGetPhysicalDeviceQueueFamilyProperties: Fn(vk.PFN_vkGetPhysicalDeviceQueueFamilyProperties),
    vkGetPhysicalDeviceMemoryProperties: Fn(vk.PFN_vkGetPhysicalDeviceMemoryProperties),
    vkCreateDevice: Fn(vk.PFN_vkCreateDevice),
    vkGetDeviceProcAddr: Fn(vk.PFN_vkGetDeviceProcAddr),
};

/// Functions of a logical device.
pub const Device = struct {
    vkDestroyDevice: Fn(vk.PFN_vkDestroyDevice),
    vkGetDeviceQueue: Fn(vk.PFN_vkGetDeviceQueue),
    vkDeviceWaitIdle: Fn(vk.PFN_vkDeviceWaitIdle),
    vkAllocateMemory: Fn(vk.PFN_vkAllocateMemory),
    vkFreeMemory: Fn(vk.PFN_vkFreeMemory),
    vkMapMemory: Fn(vk.PFN_vkMapMemory),
    vkCreateBuffer: Fn(vk.PFN_vkCreateBuffer),
    vkDestroyBuffer: Fn(vk.PFN_vkDestroyBuffer),
    vkGetBufferMemoryRequirements: Fn(vk.PFN_vkGetBufferMemoryRequirements),
    vkBindBufferMemory: Fn(vk.PFN_vkBindBufferMemory),
    vkCreateShaderModule: Fn(vk.PFN_vkCreateShaderModule),
    vkDestroyShaderModule: Fn(vk.PFN_vkDestroyShaderModule),
    vkCreateDescriptorSetLayout: Fn(vk.PFN_vkCreateDescriptorSetLayout),
    vkDestroyDescriptorSetLayout: Fn(vk.PFN_vkDestroyDescriptorSetLayout),
    vkCreatePipelineLayout: Fn(vk.PFN_vkCreatePipelineLayout),
    vkDestroyPipelineLayout: Fn(vk.PFN_vkDestroyPipelineLayout),
    vkCreatePipelineCache: Fn(vk.PFN_vkCreatePipelineCache),
    vkDestroyPipelineCache: Fn(vk.PFN_vkDestroyPipelineCache),
    vkGetPipelineCacheData: Fn(vk.PFN_vkGetPipelineCacheData),
    vkCreateComputePipelines: Fn(vk.PFN_vkCreateComputePipelines),
    vkDestroyPipeline: Fn(vk.PFN_vkDestroyPipeline),
    vkCreateDescriptorPool: Fn(vk.PFN_vkCreateDescriptorPool),
    vkDestroyDescriptorPool: Fn(vk.PFN_vkDestroyDescriptorPool),
    vkResetDescriptorPool: Fn(vk.PFN_vkResetDescriptorPool),
    vkAllocateDescriptorSets: Fn(vk.PFN_vkAllocateDescriptorSets),
    vkUpdateDescriptorSets: Fn(vk.PFN_vkUpdateDescriptorSets),
    vkCreateCommandPool: Fn(vk.PFN_vkCreateCommandPool),
    vkDestroyCommandPool: Fn(vk.PFN_vkDestroyCommandPool),
    vkResetCommandPool: Fn(vk.PFN_vkResetCommandPool),
    vkAllocateCommandBuffers: Fn(vk.PFN_vkAllocateCommandBuffers),
    vkBeginCommandBuffer: Fn(vk.PFN_vkBeginCommandBuffer),
    vkEndCommandBuffer: Fn(vk.PFN_vkEndCommandBuffer),
    vkCmdBindPipeline: Fn(vk.PFN_vkCmdBindPipeline),
    vkCmdBindDescriptorSets: Fn(vk.PFN_vkCmdBindDescriptorSets),
    vkCmdPushConstants: Fn(vk.PFN_vkCmdPushConstants),
    vkCmdDispatch: Fn(vk.PFN_vkCmdDispatch),
    vkCmdPipelineBarrier: Fn(vk.PFN_vkCmdPipelineBarrier),
    vkQueueSubmit: Fn(vk.PFN_vkQueueSubmit),
    vkCreateFence: Fn(vk.PFN_vkCreateFence),
    vkDestroyFence: Fn(vk.PFN_vkDestroyFence),
    vkWaitForFences: Fn(vk.PFN_vkWaitForFences),
    vkResetFences: Fn(vk.PFN_vkResetFences),
};

/// Fills a table of `T` with `lookup(handle, name)` for each field; DeviceError naming the first
/// function the driver lacks.
pub fn loadTable(comptime T: type, lookup: anytype, handle: anytype) status.Error!T {
    var table: T = undefined;
    inline for (@typeInfo(T).@"struct".fields) |field| {
        const function = lookup(handle, field.name) orelse
            return status.fail(error.DeviceError, "the Vulkan driver has no {s}", .{field.name});
        @field(table, field.name) = @ptrCast(function);
    }
    return table;
}

/// A Vulkan result as the library's error: a lost device is a DeviceError, exhausted memory an
/// OutOfResource; `what` names the call that failed.
pub fn check(result: vk.VkResult, what: []const u8) status.Error!void {
    switch (result) {
        vk.VK_SUCCESS => return,
        vk.VK_ERROR_DEVICE_LOST => return status.fail(error.DeviceError, "{s}: the Vulkan device was lost", .{what}),
        vk.VK_ERROR_OUT_OF_HOST_MEMORY => return status.fail(error.OutOfResource, "{s}: out of host memory (Vulkan)", .{what}),
        vk.VK_ERROR_OUT_OF_DEVICE_MEMORY => return status.fail(error.OutOfResource, "{s}: out of device memory (Vulkan)", .{what}),
        vk.VK_ERROR_OUT_OF_POOL_MEMORY, vk.VK_ERROR_FRAGMENTED_POOL => return status.fail(error.OutOfResource, "{s}: a descriptor pool is full", .{what}),
        vk.VK_TIMEOUT => return status.fail(error.DeviceError, "{s}: the Vulkan device did not finish in time", .{what}),
        else => return status.fail(error.DeviceError, "{s} failed: VkResult {d}", .{ what, result }),
    }
}

test "Vulkan results map to the library's typed errors" {
    try check(vk.VK_SUCCESS, "x");
    try std.testing.expectError(error.DeviceError, check(vk.VK_ERROR_DEVICE_LOST, "vkQueueSubmit"));
    try std.testing.expectError(error.OutOfResource, check(vk.VK_ERROR_OUT_OF_DEVICE_MEMORY, "vkAllocateMemory"));
    try std.testing.expectError(error.OutOfResource, check(vk.VK_ERROR_OUT_OF_HOST_MEMORY, "vkAllocateMemory"));
    try std.testing.expectError(error.DeviceError, check(vk.VK_ERROR_INITIALIZATION_FAILED, "vkCreateDevice"));
}
