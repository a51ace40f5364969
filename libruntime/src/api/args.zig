//! Argument checks shared by the C exports: NULL out-pointers and strings become
//! TSR_INVALID_ARGUMENT with a message naming the parameter, never a crash.
const std = @import("std");
const status = @import("../core/status.zig");

pub fn out(comptime T: type, pointer: ?*T, comptime name: []const u8) status.Error!*T {
    return pointer orelse status.fail(error.InvalidArgument, name ++ " is NULL", .{});
}

pub fn string(pointer: ?[*:0]const u8, comptime name: []const u8) status.Error![]const u8 {
    const p = pointer orelse return status.fail(error.InvalidArgument, name ++ " is NULL", .{});
    return std.mem.span(p);
}

/// A (pointer, length) pair from C; NULL is allowed only for an empty slice.
pub fn slice(comptime T: type, pointer: ?[*]const T, len: u64, comptime name: []const u8) status.Error![]const T {
    if (len == 0) return &.{};
    const p = pointer orelse return status.fail(error.InvalidArgument, name ++ " is NULL", .{});
    return p[0..@intCast(len)];
}
