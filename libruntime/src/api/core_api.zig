//! C exports: ABI and build facts, the last error, the library lifetime, and memory statistics.
const std = @import("std");
const builtin = @import("builtin");
const build_options = @import("build_options");
const args = @import("args.zig");
const context = @import("context.zig");
const memory = @import("../core/memory.zig");
const registry = @import("../core/registry.zig");
const status = @import("../core/status.zig");

/// Bumped on any incompatible change to tessera.h; the bindings refuse a library that differs.
pub const abi_version: u32 = 1;

/// TSR_BUILD_* keys of tsr_build_get_string.
pub const BuildKey = enum(i32) { version = 0, zig_version = 1, optimize = 2, target = 3 };

/// TSR_STATS_* keys of tsr_stats_get.
pub const StatsKey = enum(i32) { live_bytes = 0, peak_bytes = 1, allocations = 2, live_tensors = 3, live_models = 4 };

const version_z: [:0]const u8 = build_options.version ++ "";
const optimize_z: [:0]const u8 = build_options.optimize ++ "";
const target_z: [:0]const u8 = @tagName(builtin.cpu.arch) ++ "-" ++ @tagName(builtin.os.tag) ++ "-" ++ @tagName(builtin.abi);

pub fn tsr_abi_version() callconv(.c) u32 {
    return abi_version;
}

pub fn tsr_version() callconv(.c) [*:0]const u8 {
    return version_z.ptr;
}

pub fn tsr_build_get_string(key: i32, value: ?*?[*:0]const u8) callconv(.c) i32 {
    return status.report(buildString(key, value));
}

fn buildString(key: i32, value: ?*?[*:0]const u8) status.Error!void {
    const out = try args.out(?[*:0]const u8, value, "value");
    const k = std.meta.intToEnum(BuildKey, key) catch
        return status.fail(error.InvalidArgument, "unknown build key {d}", .{key});
    out.* = switch (k) {
        .version => version_z.ptr,
        .zig_version => builtin.zig_version_string,
        .optimize => optimize_z.ptr,
        .target => target_z.ptr,
    };
}

pub fn tsr_last_error() callconv(.c) [*:0]const u8 {
    return status.lastMessage();
}

pub fn tsr_initialize() callconv(.c) i32 {
    return status.report(context.initialize());
}

pub fn tsr_finalize() callconv(.c) i32 {
    return status.report(context.finalize());
}

pub fn tsr_is_initialized() callconv(.c) u32 {
    return @intFromBool(context.isInitialized());
}

pub fn tsr_stats_get(key: i32, value: ?*u64) callconv(.c) i32 {
    return status.report(stats(key, value));
}

fn stats(key: i32, value: ?*u64) status.Error!void {
    const out = try args.out(u64, value, "value");
    const k = std.meta.intToEnum(StatsKey, key) catch
        return status.fail(error.InvalidArgument, "unknown stats key {d}", .{key});
    out.* = switch (k) {
        .live_bytes => memory.liveBytes(),
        .peak_bytes => memory.peakBytes(),
        .allocations => memory.allocationsTotal(),
        .live_tensors => registry.count(.tensor),
        .live_models => registry.count(.model),
    };
}
