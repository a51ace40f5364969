//! The library's lifetime: reference-counted initialize/finalize, the host facts, and the device
//! list. With TESSERA_DEFER_INIT=1, device discovery (which loads Vulkan) waits for the first
//! call that needs a device, so processes that only touch tensors start fast.
const std = @import("std");
const device = @import("../device/device.zig");
const env = @import("../core/env.zig");
const host = @import("../core/host.zig");
const log = @import("../core/log.zig");
const jobs = @import("../core/jobs.zig");
const registry = @import("../core/registry.zig");
const status = @import("../core/status.zig");
const extensions = @import("../backends/extension/loaded.zig");

var mutex: std.Thread.Mutex = .{};
var references: u32 = 0;
var host_info: host.Info = .{};
var devices: [device.max_devices]device.Device = undefined;
var device_count: usize = 0;
var devices_discovered: bool = false;

pub fn initialize() status.Error!void {
    mutex.lock();
    defer mutex.unlock();
    if (references == 0) {
        log.configureFromEnvironment();
        host_info = host.detect();
        const deferred = deferDiscovery();
        if (!deferred) try discoverLocked();
        log.write(.info, "initialized (device discovery {s})", .{if (deferred) "deferred" else "done"});
    }
    references += 1;
}

/// Drops one reference; the last one tears down, unless objects are still alive. Finalizing an
/// uninitialized library is a no-op.
pub fn finalize() status.Error!void {
    mutex.lock();
    defer mutex.unlock();
    if (references == 0) return;
    if (references == 1) {
        const tensors = registry.count(.tensor);
        const models = registry.count(.model);
        const pending = registry.count(.job) + registry.count(.options) + registry.count(.request) + jobs.inFlight();
        if (tensors + models + pending > 0) {
            return status.fail(error.InvalidState, "cannot finalize: {d} tensor(s), {d} model(s) and {d} job(s) or option set(s) still alive; destroy them first", .{ tensors, models, pending });
        }
        jobs.shutdown();
        // No model is left to use them: the extensions still loaded are closed.
        extensions.removeAll();
        for (devices[0..device_count]) |*d| _ = registry.remove(d, .device);
        device_count = 0;
        devices_discovered = false;
        registry.reset();
        log.write(.info, "finalized", .{});
        log.setFile(null) catch {};
    }
    references -= 1;
}

pub fn isInitialized() bool {
    mutex.lock();
    defer mutex.unlock();
    return references > 0;
}

pub fn require() status.Error!void {
    if (!isInitialized()) return status.fail(error.InvalidState, "the library is not initialized: call tsr_initialize first", .{});
}

pub fn hostInfo() status.Error!*const host.Info {
    try require();
    return &host_info;
}

/// The discovered devices, discovering them first if initialization deferred it.
pub fn deviceList() status.Error![]device.Device {
    mutex.lock();
    defer mutex.unlock();
    if (references == 0) return status.fail(error.InvalidState, "the library is not initialized: call tsr_initialize first", .{});
    if (!devices_discovered) try discoverLocked();
    return devices[0..device_count];
}

fn discoverLocked() status.Error!void {
    device_count = device.discover(&devices);
    for (devices[0..device_count]) |*d| try registry.add(d, .device);
    devices_discovered = true;
    log.write(.debug, "discovered {d} device(s)", .{device_count});
}

fn deferDiscovery() bool {
    var buffer: env.Buffer = undefined;
    const value = env.get("TESSERA_DEFER_INIT", &buffer) orelse return false;
    return value.len > 0 and !std.mem.eql(u8, value, "0");
}

test "initialize and finalize are reference-counted" {
    try initialize();
    try initialize();
    try finalize();
    try std.testing.expect(isInitialized());
    try finalize();
    try std.testing.expect(!isInitialized());
    try finalize();
}
