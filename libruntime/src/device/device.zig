//! The devices Tessera can run on: the host CPU first, then every Vulkan physical device.
//! Each is described once at discovery and answers keyed queries (tsr_device_get_*).
const std = @import("std");
const text = @import("../core/text.zig");
const cpu = @import("cpu.zig");
const cpu_level = @import("cpu_level.zig");
const vulkan_probe = @import("vulkan_probe.zig");
const status = @import("../core/status.zig");
const memory = @import("../core/memory.zig");

/// TSR_PLATFORM_*: which API drives the device.
pub const Platform = enum(u32) { cpu = 0, vulkan = 1 };

/// TSR_DEVICE_KIND_*: what sort of hardware it is.
pub const Kind = enum(u32) { cpu = 0, integrated_gpu = 1, discrete_gpu = 2, virtual_gpu = 3, software = 4, other = 5 };

/// TSR_DEVICE_* keys of tsr_device_get_u64.
pub const NumberKey = enum(i32) {
    platform = 0,
    kind = 1,
    index = 2,
    features = 3,
    cores = 4,
    threads = 5,
    cache_l1d_bytes = 6,
    cache_l2_bytes = 7,
    cache_l3_bytes = 8,
    memory_bytes = 9,
    vendor_id = 10,
    device_id = 11,
    api_version = 12,
    driver_version = 13,
    subgroup_size = 14,
    fp16 = 15,
    int8 = 16,
    heap_count = 17,
    memory_used_bytes = 18,
};

/// TSR_DEVICE_* keys of tsr_device_get_string.
pub const StringKey = enum(i32) { id = 0, name = 1, vendor = 2, driver = 3, cpu_level = 4, kernels = 5 };

pub const Device = struct {
    platform: Platform,
    kind: Kind,
    index: u32,
    id: [32]u8 = [_]u8{0} ** 32,
    vendor: [64]u8 = [_]u8{0} ** 64,
    cpu: cpu.Info = .{},
    /// The CPU's: which level's code runs, and why (cpu_level.describe).
    level: [192]u8 = [_]u8{0} ** 192,
    gpu: vulkan_probe.PhysicalDevice = .{},

    pub fn number(self: *const Device, key: i32) status.Error!u64 {
        const k = std.meta.intToEnum(NumberKey, key) catch
            return status.fail(error.InvalidArgument, "unknown device number key {d}", .{key});
        const c = &self.cpu;
        const g = &self.gpu;
        return switch (k) {
            .platform => @intFromEnum(self.platform),
            .kind => @intFromEnum(self.kind),
            .index => self.index,
            .features => c.features,
            .cores => if (self.platform == .cpu) c.cores_physical else 0,
            .threads => if (self.platform == .cpu) c.cores_logical else 0,
            .cache_l1d_bytes => c.cache_l1d_bytes,
            .cache_l2_bytes => c.cache_l2_bytes,
            .cache_l3_bytes => c.cache_l3_bytes,
            .memory_bytes => if (self.platform == .cpu) c.memory_bytes else self.deviceLocalBytes(),
            .vendor_id => g.vendor_id,
            .device_id => g.device_id,
            .api_version => g.api_version,
            .driver_version => g.driver_version,
            .subgroup_size => g.subgroup_size,
            .fp16 => if (self.platform == .cpu) @intFromBool(c.features & cpu.bit(.f16c) != 0) else @intFromBool(g.fp16),
            .int8 => if (self.platform == .cpu) 1 else @intFromBool(g.int8),
            .heap_count => g.heap_count,
            // The CPU's share is host memory, which every model allocates from. Nothing of this
            // library's lives in a Vulkan device's memory until a backend allocates there.
            .memory_used_bytes => if (self.platform == .cpu) memory.liveBytes() else 0,
        };
    }

    pub fn string(self: *const Device, key: i32) status.Error![*:0]const u8 {
        const k = std.meta.intToEnum(StringKey, key) catch
            return status.fail(error.InvalidArgument, "unknown device string key {d}", .{key});
        return switch (k) {
            .id => @ptrCast(&self.id),
            .name => if (self.platform == .cpu) @ptrCast(&self.cpu.name) else @ptrCast(&self.gpu.name),
            .vendor => @ptrCast(&self.vendor),
            .driver => if (self.platform == .cpu) "tessera-cpu" else @ptrCast(&self.gpu.driver),
            .cpu_level => if (self.platform == .cpu) @ptrCast(&self.level) else "",
            // The CPU backend describes its kernels (api/device_api.zig asks it); a GPU has none here.
            .kernels => "",
        };
    }

    pub fn heap(self: *const Device, index: u32) status.Error!vulkan_probe.Heap {
        if (index >= self.gpu.heap_count) {
            return status.fail(error.InvalidArgument, "heap {d} out of range: device has {d}", .{ index, self.gpu.heap_count });
        }
        return self.gpu.heaps[index];
    }

    fn deviceLocalBytes(self: *const Device) u64 {
        var total: u64 = 0;
        for (self.gpu.heaps[0..self.gpu.heap_count]) |h| {
            if (h.flags & vulkan_probe.vk.VK_MEMORY_HEAP_DEVICE_LOCAL_BIT != 0) total += h.size_bytes;
        }
        return total;
    }
};

pub const max_devices = 17;

/// Fills `out` with the CPU and the Vulkan devices; returns how many.
pub fn discover(out: *[max_devices]Device) usize {
    out[0] = .{ .platform = .cpu, .kind = .cpu, .index = 0, .cpu = cpu.detect() };
    text.copyZ(&out[0].id, "cpu:0");
    text.copyZ(&out[0].vendor, cpuVendor());
    var level_buffer: [192]u8 = undefined;
    text.copyZ(&out[0].level, cpu_level.describeThisCopy(out[0].cpu.features, &level_buffer));
    var physical: [max_devices - 1]vulkan_probe.PhysicalDevice = undefined;
    const found = vulkan_probe.probe(&physical);
    for (physical[0..found], 0..) |gpu, i| {
        const device = &out[1 + i];
        device.* = .{ .platform = .vulkan, .kind = kindOf(gpu.device_type), .index = @intCast(i), .gpu = gpu };
        var id_buffer: [32]u8 = undefined;
        text.copyZ(&device.id, std.fmt.bufPrint(&id_buffer, "vulkan:{d}", .{i}) catch "vulkan");
        text.copyZ(&device.vendor, vendorName(gpu.vendor_id));
    }
    return 1 + found;
}

fn kindOf(device_type: u32) Kind {
    const vk = vulkan_probe.vk;
    return switch (device_type) {
        vk.VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU => .integrated_gpu,
        vk.VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU => .discrete_gpu,
        vk.VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU => .virtual_gpu,
        vk.VK_PHYSICAL_DEVICE_TYPE_CPU => .software,
        else => .other,
    };
}

/// PCI vendor ids as Vulkan reports them; Mesa's software devices use 0x10005.
fn vendorName(vendor_id: u32) []const u8 {
    return switch (vendor_id) {
        0x10DE => "NVIDIA",
        0x1002 => "AMD",
        0x8086 => "Intel",
        0x13B5 => "ARM",
        0x5143 => "Qualcomm",
        0x106B => "Apple",
        0x10005 => "Mesa",
        else => "unknown",
    };
}

fn cpuVendor() []const u8 {
    const builtin = @import("builtin");
    return switch (builtin.cpu.arch) {
        .x86_64 => "x86_64",
        .aarch64 => "arm64",
        else => @tagName(builtin.cpu.arch),
    };
}


test "the CPU is always device 0" {
    var devices: [max_devices]Device = undefined;
    const count = discover(&devices);
    try std.testing.expect(count >= 1);
    try std.testing.expectEqual(Platform.cpu, devices[0].platform);
    try std.testing.expectEqualStrings("cpu:0", std.mem.span(try devices[0].string(@intFromEnum(StringKey.id))));
    try std.testing.expectError(error.InvalidArgument, devices[0].number(999));
}

test "the CPU's memory used is what the library holds, its total the system's" {
    var devices: [max_devices]Device = undefined;
    _ = discover(&devices);
    const block = try memory.allocator.alloc(u8, 1 << 16);
    defer memory.allocator.free(block);
    const used = try devices[0].number(@intFromEnum(NumberKey.memory_used_bytes));
    try std.testing.expectEqual(memory.liveBytes(), used);
    try std.testing.expect(used >= block.len);
    try std.testing.expect(used < try devices[0].number(@intFromEnum(NumberKey.memory_bytes)));
}
