//! One Vulkan device opened for compute: the loader (opened as device/vulkan_probe.zig opens it),
//! an instance, the physical device `vulkan:N` names (in the order the loader lists them, as
//! tsr_device_get does; software devices such as lavapipe included), a logical device with one
//! compute queue, and the device's properties that the rest of the backend needs.
const std = @import("std");
const status = @import("../../core/status.zig");
const vulkan_probe = @import("../../device/vulkan_probe.zig");
const functions = @import("functions.zig");

const vk = functions.vk;

pub const Context = struct {
    library: std.DynLib,
    instance: vk.VkInstance,
    instance_fns: functions.Instance,
    physical: vk.VkPhysicalDevice,
    properties: vk.VkPhysicalDeviceProperties,
    memory_properties: vk.VkPhysicalDeviceMemoryProperties,
    device: vk.VkDevice,
    fns: functions.Device,
    queue: vk.VkQueue,
    queue_family: u32,

    /// Opens physical device `index`; DeviceError when Vulkan is absent or has no such device.
    pub fn open(index: u32) status.Error!Context {
        var library = vulkan_probe.openLoader() orelse
            return status.fail(error.DeviceError, "no Vulkan device {d}: the Vulkan loader (libvulkan) is not installed", .{index});
        errdefer library.close();
        const get_proc = (library.lookup(vk.PFN_vkGetInstanceProcAddr, "vkGetInstanceProcAddr") orelse null) orelse
            return status.fail(error.DeviceError, "no Vulkan device {d}: the Vulkan loader has no vkGetInstanceProcAddr", .{index});
        const instance = try createInstance(get_proc);
        const destroy_instance: functions.Fn(vk.PFN_vkDestroyInstance) = @ptrCast(get_proc(instance, "vkDestroyInstance") orelse
            return status.fail(error.DeviceError, "the Vulkan loader has no vkDestroyInstance", .{}));
        errdefer destroy_instance(instance, null);
        const instance_fns = try functions.loadTable(functions.Instance, get_proc, instance);
        const physical = try choosePhysical(instance_fns, instance, index);
        var self: Context = .{
            .library = library,
            .instance = instance,
            .instance_fns = instance_fns,
            .physical = physical,
            .properties = undefined,
            .memory_properties = undefined,
            .device = null,
            .fns = undefined,
            .queue = null,
            .queue_family = try computeFamily(instance_fns, physical, index),
        };
        instance_fns.vkGetPhysicalDeviceProperties(physical, &self.properties);
        instance_fns.vkGetPhysicalDeviceMemoryProperties(physical, &self.memory_properties);
        try self.createDevice();
        return self;
    }

    fn createDevice(self: *Context) status.Error!void {
        const priority: f32 = 1;
        const queue_info = std.mem.zeroInit(vk.VkDeviceQueueCreateInfo, .{
            .sType = vk.VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
            .queueFamilyIndex = self.queue_family,
            .queueCount = 1,
            .pQueuePriorities = &priority,
        });
        const device_info = std.mem.zeroInit(vk.VkDeviceCreateInfo, .{
            .sType = vk.VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
            .queueCreateInfoCount = 1,
            .pQueueCreateInfos = &queue_info,
        });
        try functions.check(self.instance_fns.vkCreateDevice(self.physical, &device_info, null, &self.device), "vkCreateDevice");
        const lookup = self.instance_fns.vkGetDeviceProcAddr;
        self.fns = functions.loadTable(functions.Device, lookup, self.device) catch |e| {
            const destroy: functions.Fn(vk.PFN_vkDestroyDevice) = @ptrCast(lookup(self.device, "vkDestroyDevice").?);
            destroy(self.device, null);
            return e;
        };
        self.fns.vkGetDeviceQueue(self.device, self.queue_family, 0, &self.queue);
    }

    /// The caller has waited for the device to be idle and destroyed everything made from it.
    pub fn close(self: *Context) void {
        self.fns.vkDestroyDevice(self.device, null);
        self.instance_fns.vkDestroyInstance(self.instance, null);
        self.library.close();
    }

    pub fn name(self: *const Context) []const u8 {
        return std.mem.sliceTo(&self.properties.deviceName, 0);
    }

    pub fn limits(self: *const Context) *const vk.VkPhysicalDeviceLimits {
        return &self.properties.limits;
    }
};

fn createInstance(get_proc: functions.GetInstanceProcAddr) status.Error!vk.VkInstance {
    const create: functions.Fn(vk.PFN_vkCreateInstance) = @ptrCast(get_proc(null, "vkCreateInstance") orelse
        return status.fail(error.DeviceError, "the Vulkan loader has no vkCreateInstance", .{}));
    const app_info = std.mem.zeroInit(vk.VkApplicationInfo, .{
        .sType = vk.VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "tessera",
        .pEngineName = "tessera",
        .apiVersion = vulkan_probe.makeApiVersion(1, 1),
    });
    const create_info = std.mem.zeroInit(vk.VkInstanceCreateInfo, .{
        .sType = vk.VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pApplicationInfo = &app_info,
    });
    var instance: vk.VkInstance = null;
    try functions.check(create(&create_info, null, &instance), "vkCreateInstance");
    return instance;
}

fn choosePhysical(fns: functions.Instance, instance: vk.VkInstance, index: u32) status.Error!vk.VkPhysicalDevice {
    var handles: [16]vk.VkPhysicalDevice = undefined;
    var count: u32 = handles.len;
    const result = fns.vkEnumeratePhysicalDevices(instance, &count, &handles);
    if (result != vk.VK_INCOMPLETE) try functions.check(result, "vkEnumeratePhysicalDevices");
    if (index >= count) return status.fail(error.DeviceError, "no Vulkan device {d}: this machine has {d}", .{ index, count });
    return handles[index];
}

/// The first queue family that runs compute work.
fn computeFamily(fns: functions.Instance, physical: vk.VkPhysicalDevice, index: u32) status.Error!u32 {
    var families: [32]vk.VkQueueFamilyProperties = undefined;
    var count: u32 = families.len;
    fns.vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, &families);
    for (families[0..count], 0..) |family, i| {
        if (family.queueFlags & vk.VK_QUEUE_COMPUTE_BIT != 0 and family.queueCount > 0) return @intCast(i);
    }
    return status.fail(error.DeviceError, "Vulkan device {d} has no compute queue", .{index});
}
