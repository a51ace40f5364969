//! Load options: string keys and values set one by one through the C ABI (no structs cross it).
//! Each is validated when set. Those the runtime cannot honour yet fail with NotImplementedError
//! instead of being ignored; the rest are kept on the model for the execution engine. The
//! passphrase is kept for loading only: it cannot be read back, and is zeroed when freed.
const std = @import("std");
const status = @import("../core/status.zig");
const memory = @import("../core/memory.zig");
const profile = @import("../core/profile.zig");

pub const Scheduler = enum { simple, exclusive };

pub const Options = struct {
    devices: []const u8 = "cpu",
    strict: bool = false,
    memory_optimization: bool = true,
    disable_denormals: bool = false,
    intermediate_save_path: []const u8 = "",
    /// 0: one per core.
    threads: u32 = 0,
    /// CPU ids to pin threads to, as given ("0,1"); empty: no pinning.
    cores: []const u8 = "",
    scheduler: Scheduler = .simple,
    /// Requests created from the model record profile events, into rings of this many events.
    profiling: bool = false,
    profile_buffer_size: u32 = profile.default_capacity,
    /// Shapes fixed for inputs before shape inference, as shape queries take them
    /// ("x=8,3,224,224;#1=N,4"; input_shapes.zig); checked against the model when it loads.
    input_shapes: []const u8 = "",
    /// Opens an encrypted container (container.zig); empty: none given.
    passphrase: []const u8 = "",
    /// The compiled-model cache's folder (exec/model_cache.zig); null: TESSERA_CACHE_DIR's;
    /// empty: no cache.
    cache_dir: ?[]const u8 = null,
    /// Backing storage for the string values above.
    strings: std.ArrayList([]u8) = .empty,

    pub fn deinit(self: *Options) void {
        // Zeroed, all of them: one is the passphrase.
        for (self.strings.items) |s| {
            std.crypto.secureZero(u8, s);
            memory.allocator.free(s);
        }
        self.strings.deinit(memory.allocator);
    }

    pub fn clone(self: *const Options) status.Error!Options {
        var copy = self.*;
        copy.strings = .empty;
        errdefer copy.deinit();
        copy.devices = try copy.keep(self.devices);
        copy.intermediate_save_path = try copy.keep(self.intermediate_save_path);
        copy.cores = try copy.keep(self.cores);
        copy.input_shapes = try copy.keep(self.input_shapes);
        copy.passphrase = try copy.keep(self.passphrase);
        if (self.cache_dir) |folder| copy.cache_dir = try copy.keep(folder);
        return copy;
    }

    fn keep(self: *Options, text: []const u8) status.Error![]const u8 {
        const copy = memory.allocator.dupe(u8, text) catch return status.fail(error.OutOfResource, "out of memory", .{});
        self.strings.append(memory.allocator, copy) catch {
            memory.allocator.free(copy);
            return status.fail(error.OutOfResource, "out of memory", .{});
        };
        return copy;
    }

    pub fn set(self: *Options, key: []const u8, value: []const u8) status.Error!void {
        if (eql(key, "devices")) {
            try checkDevices(value);
            self.devices = try self.keep(value);
        } else if (eql(key, "strict")) {
            self.strict = try parseBool(key, value);
        } else if (eql(key, "memory_optimization")) {
            self.memory_optimization = try parseBool(key, value);
        } else if (eql(key, "disable_denormals")) {
            self.disable_denormals = try parseBool(key, value);
        } else if (eql(key, "intermediate_save_path")) {
            self.intermediate_save_path = try self.keep(value);
        } else if (eql(key, "threads")) {
            self.threads = std.fmt.parseInt(u32, value, 10) catch
                return status.fail(error.InvalidArgument, "option threads must be a count (0 for automatic), got '{s}'", .{value});
            if (self.threads > 4096) return status.fail(error.InvalidArgument, "option threads={d} is more than any machine has", .{self.threads});
        } else if (eql(key, "cores")) {
            try checkCores(value);
            self.cores = try self.keep(value);
        } else if (eql(key, "scheduler")) {
            self.scheduler = try parseScheduler(value);
        } else if (eql(key, "profiling")) {
            self.profiling = try parseBool(key, value);
        } else if (eql(key, "profile_buffer_size")) {
            const size = std.fmt.parseInt(u32, value, 10) catch 0;
            if (size == 0 or size > profile.max_capacity) {
                return status.fail(error.InvalidArgument, "option profile_buffer_size must be 1..{d} events, got '{s}'", .{ profile.max_capacity, value });
            }
            self.profile_buffer_size = size;
        } else if (eql(key, "input_shapes")) {
            self.input_shapes = try self.keep(value);
        } else if (eql(key, "cache_dir")) {
            self.cache_dir = try self.keep(value);
        } else if (eql(key, "passphrase")) {
            if (value.len == 0) return status.fail(error.InvalidArgument, "option passphrase is empty", .{});
            self.passphrase = try self.keep(value);
        } else {
            return status.fail(error.InvalidArgument, "unknown option '{s}'", .{key});
        }
    }

    /// The option's value as text, as `set` accepts it.
    pub fn get(self: *const Options, key: []const u8, buffer: []u8) status.Error![]const u8 {
        if (eql(key, "devices")) return self.devices;
        if (eql(key, "strict")) return boolText(self.strict);
        if (eql(key, "memory_optimization")) return boolText(self.memory_optimization);
        if (eql(key, "disable_denormals")) return boolText(self.disable_denormals);
        if (eql(key, "intermediate_save_path")) return self.intermediate_save_path;
        if (eql(key, "threads")) return std.fmt.bufPrint(buffer, "{d}", .{self.threads}) catch unreachable;
        if (eql(key, "cores")) return self.cores;
        if (eql(key, "scheduler")) return @tagName(self.scheduler);
        if (eql(key, "profiling")) return boolText(self.profiling);
        if (eql(key, "profile_buffer_size")) return std.fmt.bufPrint(buffer, "{d}", .{self.profile_buffer_size}) catch unreachable;
        if (eql(key, "input_shapes")) return self.input_shapes;
        if (eql(key, "cache_dir")) return self.cache_dir orelse "";
        if (eql(key, "passphrase")) return status.fail(error.InvalidArgument, "option passphrase cannot be read back", .{});
        return status.fail(error.InvalidArgument, "unknown option '{s}'", .{key});
    }
};

fn eql(a: []const u8, b: []const u8) bool {
    return std.mem.eql(u8, a, b);
}

fn boolText(value: bool) []const u8 {
    return if (value) "true" else "false";
}

fn parseBool(key: []const u8, value: []const u8) status.Error!bool {
    if (eql(value, "true") or eql(value, "1")) return true;
    if (eql(value, "false") or eql(value, "0")) return false;
    return status.fail(error.InvalidArgument, "option {s} must be true or false, got '{s}'", .{ key, value });
}

fn parseScheduler(value: []const u8) status.Error!Scheduler {
    if (eql(value, "simple")) return .simple;
    if (eql(value, "exclusive")) return .exclusive;
    if (eql(value, "pipeline")) {
        return status.fail(error.NotImplemented, "the pipeline scheduler needs a second device, which Tessera cannot drive yet", .{});
    }
    return status.fail(error.InvalidArgument, "unknown scheduler '{s}' (simple, exclusive or pipeline)", .{value});
}

/// "cpu", "cpu:0", "auto", "vulkan" and "vulkan:N". Whether Vulkan device N exists is known
/// only when the model opens it (a DeviceError then).
fn checkDevices(value: []const u8) status.Error!void {
    var names = std.mem.tokenizeScalar(u8, value, ',');
    var any = false;
    while (names.next()) |raw| {
        const name = std.mem.trim(u8, raw, " ");
        any = true;
        if (eql(name, "cpu") or eql(name, "cpu:0") or eql(name, "auto") or eql(name, "vulkan")) continue;
        if (std.mem.startsWith(u8, name, "vulkan:")) {
            _ = std.fmt.parseInt(u32, name["vulkan:".len..], 10) catch
                return status.fail(error.InvalidArgument, "device '{s}': a Vulkan device is vulkan:N, N a number", .{name});
            continue;
        }
        return status.fail(error.InvalidArgument, "unknown device '{s}' (cpu, cpu:0, vulkan:N or auto)", .{name});
    }
    if (!any) return status.fail(error.InvalidArgument, "option devices is empty", .{});
}

fn checkCores(value: []const u8) status.Error!void {
    const available = std.Thread.getCpuCount() catch 1;
    var ids = std.mem.tokenizeScalar(u8, value, ',');
    while (ids.next()) |raw| {
        const id = std.fmt.parseInt(u32, std.mem.trim(u8, raw, " "), 10) catch
            return status.fail(error.InvalidArgument, "option cores must list CPU ids like '0,1', got '{s}'", .{value});
        if (id >= available) return status.fail(error.InvalidArgument, "core {d} does not exist: this machine has {d}", .{ id, available });
    }
}

test "options validate and round-trip" {
    var options: Options = .{};
    defer options.deinit();
    try options.set("threads", "2");
    try options.set("strict", "true");
    try options.set("scheduler", "exclusive");
    try std.testing.expectError(error.NotImplemented, options.set("scheduler", "pipeline"));
    try options.set("passphrase", "x");
    try std.testing.expectError(error.InvalidArgument, options.set("passphrase", ""));
    try options.set("devices", "vulkan:0,cpu");
    try std.testing.expectError(error.InvalidArgument, options.set("devices", "vulkan:x"));
    try std.testing.expectError(error.InvalidArgument, options.set("colour", "blue"));
    try std.testing.expectError(error.InvalidArgument, options.set("threads", "-1"));
    var buffer: [32]u8 = undefined;
    try std.testing.expectEqualStrings("2", try options.get("threads", &buffer));
    try std.testing.expectEqualStrings("exclusive", try options.get("scheduler", &buffer));
    try options.set("input_shapes", "x=8,4");
    var copy = try options.clone();
    defer copy.deinit();
    try std.testing.expectEqualStrings("x=8,4", try copy.get("input_shapes", &buffer));
    try std.testing.expectEqualStrings("", try copy.get("cache_dir", &buffer));
    try options.set("cache_dir", "/tmp/models");
    var second = try options.clone();
    defer second.deinit();
    try std.testing.expectEqualStrings("/tmp/models", second.cache_dir.?);
    try std.testing.expectEqualStrings("x", copy.passphrase);
    try std.testing.expectError(error.InvalidArgument, copy.get("passphrase", &buffer));
}
