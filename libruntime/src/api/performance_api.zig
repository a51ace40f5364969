//! C exports for tuning a model to its machine: what a performance hint chose for a model
//! (exec/performance.zig), the threads its CPU kernels use (changeable after load), and a
//! device's memory now (total, used, free, and this process's share).
const std = @import("std");
const args = @import("args.zig");
const registry = @import("../core/registry.zig");
const status = @import("../core/status.zig");
const device = @import("../device/device.zig");
const host_memory = @import("../device/host_memory.zig");
const vulkan_memory = @import("../device/vulkan_memory.zig");
const model_module = @import("../model/model.zig");
const ModelState = @import("../exec/model_state.zig").ModelState;
const cpu_backend = @import("../backends/cpu/backend.zig");

const Model = model_module.Model;

/// TSR_CONFIG_* keys of tsr_model_get_config.
pub const ConfigKey = enum(i32) { performance_hint = 0, num_requests = 1, threads = 2, streams = 3, queue_size = 4 };
/// TSR_MEMORY_SOURCE_*: where tsr_device_memory's figures come from.
pub const MemorySource = enum(u32) { os = 0, budget = 1, heaps = 2 };

/// tsr_device_memory: the caller sets `size` to sizeof(tsr_device_memory), so it may grow.
pub const DeviceMemory = extern struct {
    size: u32,
    source: u32,
    total_bytes: u64,
    used_bytes: u64,
    free_bytes: u64,
    process_bytes: u64,
};

comptime {
    std.debug.assert(@sizeOf(DeviceMemory) == 40 and @alignOf(DeviceMemory) == 8);
    std.debug.assert(@offsetOf(DeviceMemory, "total_bytes") == 8);
}

fn stateOf(handle: ?*const Model) status.Error!*ModelState {
    return ModelState.of(try registry.get(Model, handle, .model));
}

pub fn tsr_model_get_config(model: ?*const Model, key: i32, value: ?*i64) callconv(.c) i32 {
    return status.report(modelConfig(model, key, value));
}

fn modelConfig(model: ?*const Model, key: i32, value: ?*i64) status.Error!void {
    const out = try args.out(i64, value, "value");
    const self = try registry.get(Model, model, .model);
    const state = ModelState.of(self);
    const k = std.meta.intToEnum(ConfigKey, key) catch return status.fail(error.InvalidArgument, "unknown config key {d}", .{key});
    out.* = switch (k) {
        .performance_hint => @intFromEnum(self.options.performance_hint),
        .num_requests => self.options.num_requests,
        .threads => cpu_backend.activeThreads(state.devices.list[state.devices.cpu]) orelse state.config.threads,
        .streams => state.config.streams,
        .queue_size => state.config.queue_size,
    };
}

/// The model's CPU kernels use `threads` of the threads its pool started with (1 up to that
/// count; more is clamped); `applied` gets the count in use. Runs in flight keep theirs.
pub fn tsr_model_set_threads(model: ?*Model, threads: u32, applied: ?*u32) callconv(.c) i32 {
    return status.report(modelSetThreads(model, threads, applied));
}

fn modelSetThreads(model: ?*Model, threads: u32, applied: ?*u32) status.Error!void {
    const out = try args.out(u32, applied, "applied");
    const state = try stateOf(model);
    if (threads == 0) return status.fail(error.InvalidArgument, "a model needs at least 1 thread", .{});
    out.* = cpu_backend.setActiveThreads(state.devices.list[state.devices.cpu], threads) orelse
        return status.fail(error.InvalidState, "the model's CPU device has no thread pool", .{});
}

/// Fills `memory` (whose `size` the caller set) with the device's memory now.
pub fn tsr_device_get_memory(handle: ?*const device.Device, memory: ?*DeviceMemory) callconv(.c) i32 {
    return status.report(deviceMemory(handle, memory));
}

fn deviceMemory(handle: ?*const device.Device, memory: ?*DeviceMemory) status.Error!void {
    const out = try args.out(DeviceMemory, memory, "memory");
    const self = try registry.get(device.Device, handle, .device);
    if (out.size < @sizeOf(DeviceMemory)) {
        return status.fail(error.InvalidArgument, "memory->size is {d}; tsr_device_memory needs {d}", .{ out.size, @sizeOf(DeviceMemory) });
    }
    out.* = switch (self.platform) {
        .cpu => try hostFigures(),
        .vulkan => try vulkanFigures(self),
    };
}

fn hostFigures() status.Error!DeviceMemory {
    const figures = try host_memory.read();
    return .{
        .size = @sizeOf(DeviceMemory),
        .source = @intFromEnum(MemorySource.os),
        .total_bytes = figures.total_bytes,
        .used_bytes = figures.total_bytes -| figures.available_bytes,
        .free_bytes = figures.available_bytes,
        .process_bytes = figures.process_bytes,
    };
}

fn vulkanFigures(self: *const device.Device) status.Error!DeviceMemory {
    const figures = vulkan_memory.read(self.index) orelse
        return status.fail(error.DeviceError, "cannot read the memory of {s}", .{std.mem.sliceTo(&self.id, 0)});
    // Without VK_EXT_memory_budget only this library's own use is known.
    const usage = figures.usage_bytes orelse try self.number(@intFromEnum(device.NumberKey.memory_used_bytes));
    const free = if (figures.budget_bytes) |budget| budget -| usage else figures.total_bytes -| usage;
    return .{
        .size = @sizeOf(DeviceMemory),
        .source = @intFromEnum(if (figures.usage_bytes != null) MemorySource.budget else MemorySource.heaps),
        .total_bytes = figures.total_bytes,
        .used_bytes = figures.total_bytes -| free,
        .free_bytes = free,
        .process_bytes = usage,
    };
}
