//! Logging with three sinks: the console (stderr), a file, and a callback into the host.
//! Configured by tsr_log_* calls, or at initialization by TESSERA_LOG (level) and
//! TESSERA_LOGFILE (path). Messages below the level cost one atomic load.
const std = @import("std");
const env = @import("env.zig");
const os_error = @import("os_error.zig");
const status = @import("status.zig");

pub const Level = enum(i32) { trace = 0, debug = 1, info = 2, warn = 3, err = 4, off = 5 };

/// Called with the level, the message (valid only during the call) and the user pointer.
pub const Callback = *const fn (level: i32, message: [*:0]const u8, user: ?*anyopaque) callconv(.c) void;

var level = std.atomic.Value(i32).init(@intFromEnum(Level.warn));
var mutex: std.Thread.Mutex = .{};
var console_enabled: bool = true;
var file: ?std.fs.File = null;
var callback: ?Callback = null;
var callback_user: ?*anyopaque = null;
/// The callback runs only on the thread that installed it. JS callbacks may not be entered from
/// other threads (Bun and Deno would crash or deadlock), and worker threads log too; their
/// messages still reach the console and file sinks.
var callback_thread: std.Thread.Id = 0;
/// A callback that logs again would deadlock on `mutex`; such nested messages skip the sinks.
threadlocal var inside_sink: bool = false;

pub fn setLevel(value: i32) status.Error!void {
    if (value < @intFromEnum(Level.trace) or value > @intFromEnum(Level.off)) {
        return status.fail(error.InvalidArgument, "log level {d} is not in 0 (trace) .. 5 (off)", .{value});
    }
    level.store(value, .monotonic);
}

pub fn getLevel() i32 {
    return level.load(.monotonic);
}

pub fn enabled(at: Level) bool {
    return @intFromEnum(at) >= level.load(.monotonic);
}

/// Takes the sinks' lock, unless this thread already holds it: configuring the log from inside
/// the log callback (which runs under the lock) must not deadlock. Returns whether it locked.
fn lockSinks() bool {
    if (inside_sink) return false;
    mutex.lock();
    return true;
}

fn unlockSinks(locked: bool) void {
    if (locked) mutex.unlock();
}

pub fn setConsole(on: bool) void {
    const locked = lockSinks();
    defer unlockSinks(locked);
    console_enabled = on;
}

/// Opens `path` for appending as the file sink; null closes the current one.
pub fn setFile(path: ?[]const u8) status.Error!void {
    const locked = lockSinks();
    defer unlockSinks(locked);
    if (file) |f| f.close();
    file = null;
    const p = path orelse return;
    const f = std.fs.cwd().createFile(p, .{ .truncate = false }) catch |e|
        return status.fail(error.IOError, "cannot open log file '{s}': {s}", .{ p, os_error.describe(e) });
    f.seekFromEnd(0) catch {};
    file = f;
}

pub fn setCallback(function: ?Callback, user: ?*anyopaque) void {
    // Taking the lock waits for a callback in progress, so the host may free it once this returns
    // (from inside the callback itself the host knows it is still running).
    const locked = lockSinks();
    defer unlockSinks(locked);
    callback = function;
    callback_user = user;
    callback_thread = std.Thread.getCurrentId();
}

/// Reads TESSERA_LOG (a level name or number) and TESSERA_LOGFILE; bad values are reported, not fatal.
pub fn configureFromEnvironment() void {
    var buffer: env.Buffer = undefined;
    if (env.get("TESSERA_LOG", &buffer)) |text| {
        if (parseLevel(text)) |parsed| {
            level.store(@intFromEnum(parsed), .monotonic);
        } else {
            write(.warn, "TESSERA_LOG='{s}' is not a level (trace, debug, info, warn, error, off)", .{text});
        }
    }
    if (env.get("TESSERA_LOGFILE", &buffer)) |path| {
        setFile(path) catch write(.warn, "{s}", .{std.mem.span(status.lastMessage())});
    }
}

pub fn parseLevel(text: []const u8) ?Level {
    const names = [_][]const u8{ "trace", "debug", "info", "warn", "error", "off" };
    for (names, 0..) |name, i| {
        if (std.ascii.eqlIgnoreCase(text, name)) return @enumFromInt(i);
    }
    const number = std.fmt.parseInt(i32, text, 10) catch return null;
    if (number < 0 or number > 5) return null;
    return @enumFromInt(number);
}

pub fn write(at: Level, comptime fmt: []const u8, args: anytype) void {
    if (!enabled(at)) return;
    var buffer: [2048]u8 = undefined;
    const message = std.fmt.bufPrintZ(&buffer, fmt, args) catch blk: {
        buffer[buffer.len - 1] = 0;
        break :blk buffer[0 .. buffer.len - 1 :0];
    };
    emit(at, message);
}

/// Sends an already formatted message to every sink.
pub fn emit(at: Level, message: [:0]const u8) void {
    if (!enabled(at) or at == .off or inside_sink) return;
    mutex.lock();
    defer mutex.unlock();
    inside_sink = true;
    defer inside_sink = false;
    const tag = levelName(at);
    if (console_enabled) {
        var buffer: [256]u8 = undefined;
        var stderr = std.fs.File.stderr().writerStreaming(&buffer);
        stderr.interface.print("[tessera] {s}: {s}\n", .{ tag, message }) catch {};
        stderr.interface.flush() catch {};
    }
    if (file) |f| {
        var buffer: [256]u8 = undefined;
        var writer = f.writerStreaming(&buffer);
        const millis: u64 = @intCast(@max(0, std.time.milliTimestamp()));
        writer.interface.print("{d}.{d:0>3} {s}: {s}\n", .{ millis / 1000, millis % 1000, tag, message }) catch {};
        writer.interface.flush() catch {};
    }
    if (callback) |function| {
        if (std.Thread.getCurrentId() == callback_thread) function(@intFromEnum(at), message.ptr, callback_user);
    }
}

fn levelName(at: Level) []const u8 {
    return switch (at) {
        .trace => "trace",
        .debug => "debug",
        .info => "info",
        .warn => "warn",
        .err => "error",
        .off => "off",
    };
}

test "level names and numbers parse" {
    try std.testing.expectEqual(Level.debug, parseLevel("DEBUG").?);
    try std.testing.expectEqual(Level.err, parseLevel("4").?);
    try std.testing.expect(parseLevel("loud") == null);
    try std.testing.expect(parseLevel("9") == null);
}

var test_received: usize = 0;
fn testCallback(_: i32, message: [*:0]const u8, _: ?*anyopaque) callconv(.c) void {
    if (std.mem.eql(u8, std.mem.span(message), "hello 42")) test_received += 1;
    // Logging from inside the callback must not deadlock.
    write(.err, "nested", .{});
}

var replaced_from_inside: usize = 0;
fn replacingCallback(_: i32, _: [*:0]const u8, _: ?*anyopaque) callconv(.c) void {
    replaced_from_inside += 1;
    setConsole(false);
    setCallback(null, null);
}

test "the callback may reconfigure the log from inside itself" {
    const saved = getLevel();
    defer level.store(saved, .monotonic);
    defer setConsole(true);
    level.store(@intFromEnum(Level.info), .monotonic);
    setConsole(false);
    setCallback(replacingCallback, null);
    write(.err, "first", .{});
    write(.err, "second", .{});
    try std.testing.expectEqual(@as(usize, 1), replaced_from_inside);
}

var other_thread_calls: usize = 0;
fn countingCallback(_: i32, _: [*:0]const u8, _: ?*anyopaque) callconv(.c) void {
    other_thread_calls += 1;
}

test "the callback is not entered from other threads" {
    const saved = getLevel();
    defer level.store(saved, .monotonic);
    setConsole(false);
    defer setConsole(true);
    try setLevel(@intFromEnum(Level.info));
    setCallback(countingCallback, null);
    defer setCallback(null, null);
    const thread = try std.Thread.spawn(.{}, struct {
        fn run() void {
            write(.err, "from a worker", .{});
        }
    }.run, .{});
    thread.join();
    try std.testing.expectEqual(@as(usize, 0), other_thread_calls);
    write(.err, "from the installing thread", .{});
    try std.testing.expectEqual(@as(usize, 1), other_thread_calls);
}

test "the callback sink receives formatted messages" {
    const saved = getLevel();
    defer level.store(saved, .monotonic);
    setConsole(false);
    defer setConsole(true);
    try setLevel(@intFromEnum(Level.info));
    setCallback(testCallback, null);
    defer setCallback(null, null);
    write(.info, "hello {d}", .{42});
    write(.debug, "hello {d}", .{42});
    try std.testing.expectEqual(@as(usize, 1), test_received);
}
