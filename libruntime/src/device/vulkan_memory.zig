//! A Vulkan device's memory now: its device-local heaps' sizes and, where the driver has
//! VK_EXT_memory_budget, this process's use of them and the budget it may still allocate from
//! (which accounts for other processes). Asked on demand: it opens the loader and an instance of
//! its own for the query, as the probe does, so it works whether or not a model uses the device.
const std = @import("std");
const vulkan_probe = @import("vulkan_probe.zig");
const os_error = @import("../core/os_error.zig");
const log = @import("../core/log.zig");

const vk = vulkan_probe.vk;

pub const Figures = struct {
    total_bytes: u64 = 0,
    /// This process's use, and what it may still allocate; null without VK_EXT_memory_budget.
    usage_bytes: ?u64 = null,
    budget_bytes: ?u64 = null,
};

/// The figures of Vulkan device `index` (as the probe numbers them); null when it cannot be read.
pub fn read(index: u32) ?Figures {
    var library = vulkan_probe.openLoader() orelse return null;
    defer library.close();
    const get_proc = (library.lookup(vk.PFN_vkGetInstanceProcAddr, "vkGetInstanceProcAddr") orelse return null) orelse return null;
    return readWith(get_proc, index) catch |e| {
        log.write(.info, "reading Vulkan device {d}'s memory failed: {s}", .{ index, os_error.describe(e) });
        return null;
    };
}

const GetProc = @typeInfo(vk.PFN_vkGetInstanceProcAddr).optional.child;

fn load(comptime T: type, get_proc: GetProc, instance: vk.VkInstance, name: [*:0]const u8) !@typeInfo(T).optional.child {
    const function = get_proc(instance, name) orelse return error.MissingVulkanFunction;
    return @ptrCast(function);
}

fn readWith(get_proc: GetProc, index: u32) !?Figures {
    const create_instance = try load(vk.PFN_vkCreateInstance, get_proc, null, "vkCreateInstance");
    const app_info = vk.VkApplicationInfo{
        .sType = vk.VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "tessera",
        .pEngineName = "tessera",
        .apiVersion = vulkan_probe.makeApiVersion(1, 1),
    };
    const create_info = vk.VkInstanceCreateInfo{ .sType = vk.VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app_info };
    var instance: vk.VkInstance = null;
    if (create_instance(&create_info, null, &instance) != vk.VK_SUCCESS) return error.InstanceCreationFailed;
    const destroy_instance = try load(vk.PFN_vkDestroyInstance, get_proc, instance, "vkDestroyInstance");
    defer destroy_instance(instance, null);
    const enumerate = try load(vk.PFN_vkEnumeratePhysicalDevices, get_proc, instance, "vkEnumeratePhysicalDevices");
    var handles: [16]vk.VkPhysicalDevice = undefined;
    var count: u32 = handles.len;
    const result = enumerate(instance, &count, &handles);
    if (result != vk.VK_SUCCESS and result != vk.VK_INCOMPLETE) return error.EnumerationFailed;
    if (index >= count) return null;
    const handle = handles[index];
    const has_budget = try hasExtension(get_proc, instance, handle, "VK_EXT_memory_budget");
    const properties2 = try load(vk.PFN_vkGetPhysicalDeviceMemoryProperties2, get_proc, instance, "vkGetPhysicalDeviceMemoryProperties2");
    var budget = std.mem.zeroInit(vk.VkPhysicalDeviceMemoryBudgetPropertiesEXT, .{
        .sType = vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT,
    });
    var properties = std.mem.zeroInit(vk.VkPhysicalDeviceMemoryProperties2, .{
        .sType = vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2,
        // Chaining the budget struct is valid only when the device has the extension.
        .pNext = if (has_budget) @as(?*anyopaque, &budget) else null,
    });
    properties2(handle, &properties);
    return sum(&properties.memoryProperties, if (has_budget) &budget else null);
}

/// The device-local heaps' figures, added up (every heap's when none is device-local).
fn sum(memory: *const vk.VkPhysicalDeviceMemoryProperties, budget: ?*const vk.VkPhysicalDeviceMemoryBudgetPropertiesEXT) Figures {
    const heap_count = @min(memory.memoryHeapCount, vk.VK_MAX_MEMORY_HEAPS);
    var any_local = false;
    for (memory.memoryHeaps[0..heap_count]) |heap| any_local = any_local or heap.flags & vk.VK_MEMORY_HEAP_DEVICE_LOCAL_BIT != 0;
    var figures: Figures = .{ .usage_bytes = if (budget != null) 0 else null, .budget_bytes = if (budget != null) 0 else null };
    for (memory.memoryHeaps[0..heap_count], 0..) |heap, i| {
        if (any_local and heap.flags & vk.VK_MEMORY_HEAP_DEVICE_LOCAL_BIT == 0) continue;
        figures.total_bytes += heap.size;
        if (budget) |b| {
            figures.usage_bytes.? += b.heapUsage[i];
            figures.budget_bytes.? += @min(b.heapBudget[i], heap.size);
        }
    }
    return figures;
}

fn hasExtension(get_proc: GetProc, instance: vk.VkInstance, handle: vk.VkPhysicalDevice, name: []const u8) !bool {
    const enumerate = try load(vk.PFN_vkEnumerateDeviceExtensionProperties, get_proc, instance, "vkEnumerateDeviceExtensionProperties");
    var extensions: [512]vk.VkExtensionProperties = undefined;
    var count: u32 = extensions.len;
    const result = enumerate(handle, null, &count, &extensions);
    if (result != vk.VK_SUCCESS and result != vk.VK_INCOMPLETE) return error.EnumerationFailed;
    for (extensions[0..count]) |extension| {
        if (std.mem.eql(u8, std.mem.sliceTo(&extension.extensionName, 0), name)) return true;
    }
    return false;
}

test "heaps add up, device-local ones only, with the budget where given" {
    var memory = std.mem.zeroes(vk.VkPhysicalDeviceMemoryProperties);
    memory.memoryHeapCount = 2;
    memory.memoryHeaps[0] = .{ .size = 8 << 30, .flags = vk.VK_MEMORY_HEAP_DEVICE_LOCAL_BIT };
    memory.memoryHeaps[1] = .{ .size = 16 << 30, .flags = 0 };
    try std.testing.expectEqual(Figures{ .total_bytes = 8 << 30 }, sum(&memory, null));
    var budget = std.mem.zeroes(vk.VkPhysicalDeviceMemoryBudgetPropertiesEXT);
    budget.heapUsage[0] = 1 << 30;
    budget.heapBudget[0] = 6 << 30;
    try std.testing.expectEqual(Figures{ .total_bytes = 8 << 30, .usage_bytes = 1 << 30, .budget_bytes = 6 << 30 }, sum(&memory, &budget));
}
