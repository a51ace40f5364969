//! Load options: string keys and values set one by one through the C ABI (no structs cross it).
//! Each is validated when set. Those the runtime cannot honour yet fail with NotImplementedError
//! instead of being ignored; the rest are kept on the model for the execution engine. The
//! passphrase is kept for loading only: it cannot be read back, and is zeroed when freed.
const std = @import("std");
const status = @import("../core/status.zig");
const memory = @import("../core/memory.zig");
const profile = @import("../core/profile.zig");
const progress = @import("../core/progress.zig");

pub const Scheduler = enum { simple, exclusive };
/// TSR_HINT_* values (tsr_model_get_config).
pub const PerformanceHint = enum(i32) { none = 0, latency = 1, throughput = 2 };

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
    /// Who hears of the load's progress (tsr_options_set_progress); loads only, never kept in use.
    progress: progress.Listener = .{},
    /// "latency" or "throughput": threads, streams and queue size chosen for that goal
    /// (exec/performance.zig); none: threads as given, runs not limited.
    performance_hint: PerformanceHint = .none,
    /// The requests the caller keeps in flight (0: not said); bounds the streams a hint chooses.
    num_requests: u32 = 0,
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
        } else if (eql(key, "performance_hint")) {
            self.performance_hint = std.meta.stringToEnum(PerformanceHint, value) orelse
                return status.fail(error.InvalidArgument, "option performance_hint must be latency, throughput or none, got '{s}'", .{value});
        } else if (eql(key, "num_requests")) {
            self.num_requests = std.fmt.parseInt(u32, value, 10) catch 0;
            if (self.num_requests == 0 or self.num_requests > 4096) {
                return status.fail(error.InvalidArgument, "option num_requests must be a count of 1..4096 requests, got '{s}'", .{value});
            }
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
        if (eql(key, "performance_hint")) return @tagName(self.performance_hint);
        if (eql(key, "num_requests")) return std.fmt.bufPrint(buffer, "{d}", .{self.num_requests}) catch unreachable;
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

/// "cpu", "cpu:0", "auto", "vulkan", "vulkan:N", and a backend extension's "name" or "name:N"
/// (a lowercase name: letters, digits, '_'). Whether the device exists is known only when the
/// model opens it: an unknown name is refused then, with the list of those there are.
fn checkDevices(value: []const u8) status.Error!void {
    var names = std.mem.tokenizeScalar(u8, value, ',');
    var any = false;
    while (names.next()) |raw| {
        const name = std.mem.trim(u8, raw, " ");
        any = true;
        const colon = std.mem.indexOfScalar(u8, name, ':') orelse name.len;
        if (!isDeviceKind(name[0..colon])) {
            return status.fail(error.InvalidArgument, "unknown device '{s}' (cpu, cpu:0, vulkan:N, auto, or a loaded extension's name:N)", .{name});
        }
        if (colon == name.len) continue;
        _ = std.fmt.parseInt(u32, name[colon + 1 ..], 10) catch
            return status.fail(error.InvalidArgument, "device '{s}': the index after ':' must be a number, as in {s}:0", .{ name, name[0..colon] });
    }
    if (!any) return status.fail(error.InvalidArgument, "option devices is empty", .{});
}

/// A device kind as backends name themselves: [a-z][a-z0-9_]*, at most `max_device_kind` bytes.
pub fn isDeviceKind(text: []const u8) bool {
    if (text.len == 0 or text.len > max_device_kind or !std.ascii.isLower(text[0])) return false;
    for (text) |ch| if (!(std.ascii.isLower(ch) or std.ascii.isDigit(ch) or ch == '_')) return false;
    return true;
}

pub const max_device_kind = 31;

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
    // An extension's device is checked when the model opens it; here only its spelling.
    try options.set("devices", "myext:0,cpu");
    try std.testing.expectError(error.InvalidArgument, options.set("devices", "My-Ext:0"));
    try std.testing.expectError(error.InvalidArgument, options.set("devices", ":0"));
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
    try options.set("performance_hint", "throughput");
    try options.set("num_requests", "4");
    try std.testing.expectEqualStrings("throughput", try options.get("performance_hint", &buffer));
    try std.testing.expectError(error.InvalidArgument, options.set("performance_hint", "fast"));
    try std.testing.expectError(error.InvalidArgument, options.set("num_requests", "0"));
}
