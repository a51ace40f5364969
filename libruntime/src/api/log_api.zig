//! C exports: logging levels and sinks (console, file, callback).
const std = @import("std");
const args = @import("args.zig");
const log = @import("../core/log.zig");
const status = @import("../core/status.zig");

pub fn tsr_log_set_level(level: i32) callconv(.c) i32 {
    return status.report(log.setLevel(level));
}

pub fn tsr_log_get_level() callconv(.c) i32 {
    return log.getLevel();
}

pub fn tsr_log_set_console(enabled: u32) callconv(.c) i32 {
    log.setConsole(enabled != 0);
    return 0;
}

/// NULL closes the file sink.
pub fn tsr_log_set_file(path: ?[*:0]const u8) callconv(.c) i32 {
    const p: ?[]const u8 = if (path) |text| std.mem.span(text) else null;
    return status.report(log.setFile(p));
}

/// NULL removes the callback. Returns only once no thread is inside the previous callback.
pub fn tsr_log_set_callback(callback: ?log.Callback, user: ?*anyopaque) callconv(.c) i32 {
    log.setCallback(callback, user);
    return 0;
}

pub fn tsr_log_write(level: i32, message: ?[*:0]const u8) callconv(.c) i32 {
    return status.report(write(level, message));
}

fn write(level: i32, message: ?[*:0]const u8) status.Error!void {
    const text = try args.string(message, "message");
    if (level < 0 or level > @intFromEnum(log.Level.err)) {
        return status.fail(error.InvalidArgument, "log level {d} is not in 0 (trace) .. 4 (error)", .{level});
    }
    log.emit(@enumFromInt(level), message.?[0..text.len :0]);
}

