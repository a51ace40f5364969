//! C exports: the host and its devices. Device handles are borrowed: they stay valid until the
//! last tsr_finalize and are never destroyed by the caller.
const args = @import("args.zig");
const context = @import("context.zig");
const device = @import("../device/device.zig");
const kernel_report = @import("../backends/cpu/kernel_report.zig");
const registry = @import("../core/registry.zig");
const status = @import("../core/status.zig");

const Device = device.Device;

pub fn tsr_host_get_string(key: i32, value: ?*?[*:0]const u8) callconv(.c) i32 {
    return status.report(hostString(key, value));
}

fn hostString(key: i32, value: ?*?[*:0]const u8) status.Error!void {
    const out = try args.out(?[*:0]const u8, value, "value");
    const info = try context.hostInfo();
    out.* = try info.get(key);
}

pub fn tsr_device_count(count: ?*u32) callconv(.c) i32 {
    return status.report(deviceCount(count));
}

fn deviceCount(count: ?*u32) status.Error!void {
    const out = try args.out(u32, count, "count");
    out.* = @intCast((try context.deviceList()).len);
}

pub fn tsr_device_get(index: u32, handle: ?*?*Device) callconv(.c) i32 {
    return status.report(deviceGet(index, handle));
}

fn deviceGet(index: u32, handle: ?*?*Device) status.Error!void {
    const out = try args.out(?*Device, handle, "device");
    const list = try context.deviceList();
    if (index >= list.len) {
        return status.fail(error.InvalidArgument, "device index {d} out of range: {d} device(s)", .{ index, list.len });
    }
    out.* = &list[index];
}

pub fn tsr_device_get_u64(handle: ?*const Device, key: i32, value: ?*u64) callconv(.c) i32 {
    return status.report(deviceNumber(handle, key, value));
}

fn deviceNumber(handle: ?*const Device, key: i32, value: ?*u64) status.Error!void {
    const out = try args.out(u64, value, "value");
    const self = try registry.get(Device, handle, .device);
    out.* = try self.number(key);
}

pub fn tsr_device_get_string(handle: ?*const Device, key: i32, value: ?*?[*:0]const u8) callconv(.c) i32 {
    return status.report(deviceString(handle, key, value));
}

fn deviceString(handle: ?*const Device, key: i32, value: ?*?[*:0]const u8) status.Error!void {
    const out = try args.out(?[*:0]const u8, value, "value");
    const self = try registry.get(Device, handle, .device);
    out.* = try self.string(key);
    // The device layer knows no kernels: the CPU backend answers for itself.
    if (key == @intFromEnum(device.StringKey.kernels) and self.platform == .cpu) out.* = kernel_report.describe();
}

pub fn tsr_device_get_heap(handle: ?*const Device, index: u32, size_bytes: ?*u64, flags: ?*u32) callconv(.c) i32 {
    return status.report(deviceHeap(handle, index, size_bytes, flags));
}

fn deviceHeap(handle: ?*const Device, index: u32, size_bytes: ?*u64, flags: ?*u32) status.Error!void {
    const size_out = try args.out(u64, size_bytes, "size_bytes");
    const flags_out = try args.out(u32, flags, "flags");
    const self = try registry.get(Device, handle, .device);
    const heap = try self.heap(index);
    size_out.* = heap.size_bytes;
    flags_out.* = heap.flags;
}
