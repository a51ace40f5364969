//! Finds Vulkan physical devices by loading the Vulkan loader at run time (libvulkan.so.1,
//! vulkan-1.dll, libvulkan.1.dylib). The library never links Vulkan, so it loads and works on
//! machines without it; there the probe just finds nothing.
const std = @import("std");
const builtin = @import("builtin");
const env = @import("../core/env.zig");
const os_error = @import("../core/os_error.zig");
const text = @import("../core/text.zig");
const log = @import("../core/log.zig");

pub const vk = @cImport({
    @cDefine("VK_NO_PROTOTYPES", "1");
    @cInclude("vulkan/vulkan.h");
});

pub const max_heaps = 16;

pub const Heap = struct { size_bytes: u64, flags: u32 };

pub const PhysicalDevice = struct {
    name: [vk.VK_MAX_PHYSICAL_DEVICE_NAME_SIZE]u8 = [_]u8{0} ** vk.VK_MAX_PHYSICAL_DEVICE_NAME_SIZE,
    driver: [vk.VK_MAX_DRIVER_NAME_SIZE + vk.VK_MAX_DRIVER_INFO_SIZE + 2]u8 = [_]u8{0} ** (vk.VK_MAX_DRIVER_NAME_SIZE + vk.VK_MAX_DRIVER_INFO_SIZE + 2),
    vendor_id: u32 = 0,
    device_id: u32 = 0,
    device_type: u32 = 0,
    api_version: u32 = 0,
    driver_version: u32 = 0,
    subgroup_size: u32 = 0,
    fp16: bool = false,
    int8: bool = false,
    heap_count: u32 = 0,
    heaps: [max_heaps]Heap = undefined,
};

/// The loader's names on this OS, the usual one first. macOS has no system loader: the SDK's
/// libvulkan, or else MoltenVK itself, which exports vkGetInstanceProcAddr too.
const library_names: []const []const u8 = switch (builtin.os.tag) {
    .windows => &.{"vulkan-1.dll"},
    .macos => &.{ "libvulkan.1.dylib", "libMoltenVK.dylib" },
    else => &.{ "libvulkan.so.1", "libvulkan.so" },
};

/// Fills `out` with the physical devices and returns how many; 0 when Vulkan is absent or broken.
pub fn probe(out: []PhysicalDevice) usize {
    var library = openLoader() orelse return 0;
    defer library.close();
    const get_proc = library.lookup(vk.PFN_vkGetInstanceProcAddr, "vkGetInstanceProcAddr") orelse {
        log.write(.warn, "the Vulkan loader has no vkGetInstanceProcAddr", .{});
        return 0;
    } orelse return 0;
    return probeWithLoader(get_proc, out) catch |e| {
        log.write(.info, "Vulkan probe failed: {s}", .{os_error.describe(e)});
        return 0;
    };
}

/// TESSERA_VULKAN_LOADER names a loader to use instead of the system's (and, set to a missing
/// file, simulates a machine without Vulkan).
pub fn openLoader() ?std.DynLib {
    var buffer: env.Buffer = undefined;
    if (env.get("TESSERA_VULKAN_LOADER", &buffer)) |path| {
        if (std.DynLib.open(path)) |library| return library else |_| {}
        log.write(.info, "TESSERA_VULKAN_LOADER={s} cannot be loaded: Vulkan devices are unavailable", .{path});
        return null;
    }
    for (library_names) |name| {
        if (std.DynLib.open(name)) |library| return library else |_| {}
    }
    log.write(.debug, "no Vulkan loader ({s}): Vulkan devices are unavailable", .{library_names[0]});
    return null;
}

fn load(comptime T: type, get_proc: anytype, instance: vk.VkInstance, name: [*:0]const u8) !@typeInfo(T).optional.child {
    const function = get_proc(instance, name) orelse return error.MissingVulkanFunction;
    return @ptrCast(function);
}

fn probeWithLoader(get_proc: @typeInfo(vk.PFN_vkGetInstanceProcAddr).optional.child, out: []PhysicalDevice) !usize {
    const create_instance = try load(vk.PFN_vkCreateInstance, get_proc, null, "vkCreateInstance");
    const app_info = vk.VkApplicationInfo{
        .sType = vk.VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "tessera",
        .pEngineName = "tessera",
        .apiVersion = makeApiVersion(1, 1),
    };
    const create_info = vk.VkInstanceCreateInfo{
        .sType = vk.VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pApplicationInfo = &app_info,
    };
    var instance: vk.VkInstance = null;
    if (create_instance(&create_info, null, &instance) != vk.VK_SUCCESS) return error.InstanceCreationFailed;
    const destroy_instance = try load(vk.PFN_vkDestroyInstance, get_proc, instance, "vkDestroyInstance");
    defer destroy_instance(instance, null);

    const enumerate = try load(vk.PFN_vkEnumeratePhysicalDevices, get_proc, instance, "vkEnumeratePhysicalDevices");
    var handles: [16]vk.VkPhysicalDevice = undefined;
    var count: u32 = @intCast(@min(handles.len, out.len));
    const result = enumerate(instance, &count, &handles);
    if (result != vk.VK_SUCCESS and result != vk.VK_INCOMPLETE) return error.EnumerationFailed;

    const functions = Functions{
        .properties2 = try load(vk.PFN_vkGetPhysicalDeviceProperties2, get_proc, instance, "vkGetPhysicalDeviceProperties2"),
        .features2 = try load(vk.PFN_vkGetPhysicalDeviceFeatures2, get_proc, instance, "vkGetPhysicalDeviceFeatures2"),
        .memory = try load(vk.PFN_vkGetPhysicalDeviceMemoryProperties, get_proc, instance, "vkGetPhysicalDeviceMemoryProperties"),
    };
    for (handles[0..count], out[0..count]) |handle, *device| describe(functions, handle, device);
    return count;
}

const Functions = struct {
    properties2: @typeInfo(vk.PFN_vkGetPhysicalDeviceProperties2).optional.child,
    features2: @typeInfo(vk.PFN_vkGetPhysicalDeviceFeatures2).optional.child,
    memory: @typeInfo(vk.PFN_vkGetPhysicalDeviceMemoryProperties).optional.child,
};

fn describe(functions: Functions, handle: vk.VkPhysicalDevice, device: *PhysicalDevice) void {
    device.* = .{};
    var subgroup = std.mem.zeroInit(vk.VkPhysicalDeviceSubgroupProperties, .{
        .sType = vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
    });
    var driver = std.mem.zeroInit(vk.VkPhysicalDeviceDriverProperties, .{
        .sType = vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES,
    });
    var properties = std.mem.zeroInit(vk.VkPhysicalDeviceProperties2, .{
        .sType = vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
        .pNext = &subgroup,
    });
    functions.properties2(handle, &properties);
    const api = properties.properties.apiVersion;
    // Driver properties are core only from Vulkan 1.2; chaining them earlier is invalid.
    if (api >= makeApiVersion(1, 2)) {
        subgroup.pNext = &driver;
        functions.properties2(handle, &properties);
    }
    const props = properties.properties;
    text.copyZ(&device.name, std.mem.sliceTo(&props.deviceName, 0));
    device.vendor_id = props.vendorID;
    device.device_id = props.deviceID;
    device.device_type = props.deviceType;
    device.api_version = api;
    device.driver_version = props.driverVersion;
    device.subgroup_size = subgroup.subgroupSize;
    if (api >= makeApiVersion(1, 2)) {
        var text_buffer: [device.driver.len]u8 = undefined;
        const driver_text = std.fmt.bufPrint(&text_buffer, "{s} {s}", .{
            std.mem.sliceTo(&driver.driverName, 0), std.mem.sliceTo(&driver.driverInfo, 0),
        }) catch "";
        text.copyZ(&device.driver, driver_text);
        var float16_int8 = std.mem.zeroInit(vk.VkPhysicalDeviceShaderFloat16Int8Features, .{
            .sType = vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES,
        });
        var features = std.mem.zeroInit(vk.VkPhysicalDeviceFeatures2, .{
            .sType = vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
            .pNext = &float16_int8,
        });
        functions.features2(handle, &features);
        device.fp16 = float16_int8.shaderFloat16 == vk.VK_TRUE;
        device.int8 = float16_int8.shaderInt8 == vk.VK_TRUE;
    }
    var memory: vk.VkPhysicalDeviceMemoryProperties = undefined;
    functions.memory(handle, &memory);
    device.heap_count = @min(memory.memoryHeapCount, max_heaps);
    for (0..device.heap_count) |i| {
        device.heaps[i] = .{ .size_bytes = memory.memoryHeaps[i].size, .flags = memory.memoryHeaps[i].flags };
    }
}

pub fn makeApiVersion(major: u32, minor: u32) u32 {
    return (major << 22) | (minor << 12);
}

