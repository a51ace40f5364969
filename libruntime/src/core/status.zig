//! Status codes of the C ABI, the matching Zig error set, and the thread-local last-error message.
//! Internal code fails with `fail(error.X, fmt, args)`, which records a precise message; the api
//! layer turns the error into a status with `toStatus`.
const std = @import("std");
const os_error = @import("os_error.zig");

/// Every fallible C call returns one of these: 0 is ok, negative is the kind of error.
pub const Status = enum(i32) {
    ok = 0,
    invalid_argument = -1,
    invalid_state = -2,
    invalid_operation = -3,
    type_error = -4,
    shape_error = -5,
    extension_error = -6,
    device_error = -7,
    model_error = -8,
    request_error = -9,
    infer_error = -10,
    out_of_resource = -11,
    container_error = -12,
    remote_error = -13,
    io_error = -14,
    network_error = -15,
    os_error = -16,
    not_implemented = -17,
    /// A request's deadline passed: the nodes not yet started were skipped.
    timeout = -18,
};

pub const Error = error{
    InvalidArgument,
    InvalidState,
    InvalidOperation,
    TypeError,
    ShapeError,
    ExtensionError,
    DeviceError,
    ModelError,
    RequestError,
    InferError,
    OutOfResource,
    ContainerError,
    RemoteError,
    IOError,
    NetworkError,
    OSError,
    NotImplemented,
    Timeout,
};

const message_capacity = 1024;
threadlocal var message_buffer: [message_capacity:0]u8 = [_:0]u8{0} ** message_capacity;
/// The error `fail` last described, so that `toStatus` keeps the precise message for that error,
/// and does not pin a stale one on an unrelated error after a failure was caught and handled.
threadlocal var message_error: ?anyerror = null;

/// Records a message for the calling thread and returns `err`, for `return fail(...)`.
pub fn fail(err: Error, comptime fmt: []const u8, args: anytype) Error {
    setMessage(fmt, args);
    message_error = err;
    return err;
}

/// Formats into a scratch buffer first: the arguments may be the previous message itself
/// (wrapping a lower-level error with context), which must not be overwritten while it is read.
pub fn setMessage(comptime fmt: []const u8, args: anytype) void {
    var scratch: [message_capacity]u8 = undefined;
    const written = std.fmt.bufPrint(&scratch, fmt, args) catch blk: {
        // Truncated: keep what fits and mark the cut.
        @memcpy(scratch[message_capacity - 3 ..], "...");
        break :blk scratch[0..];
    };
    @memcpy(message_buffer[0..written.len], written);
    message_buffer[written.len] = 0;
}

pub fn lastMessage() [*:0]const u8 {
    return &message_buffer;
}

/// Maps any error to a status, giving errors that did not come through `fail` a message too.
pub fn toStatus(err: anyerror) i32 {
    const status = statusOf(err);
    const described = if (message_error) |e| e == err else false;
    if (!described) setMessage("{s}", .{describe(err)});
    message_error = null;
    return @intFromEnum(status);
}

/// The error of a negative status code from outside the library (a backend extension's); null
/// for ok, and for a code no status has.
pub fn errorOf(code: i32) ?Error {
    const known = std.meta.intToEnum(Status, code) catch return null;
    return switch (known) {
        .ok => null,
        .invalid_argument => error.InvalidArgument,
        .invalid_state => error.InvalidState,
        .invalid_operation => error.InvalidOperation,
        .type_error => error.TypeError,
        .shape_error => error.ShapeError,
        .extension_error => error.ExtensionError,
        .device_error => error.DeviceError,
        .model_error => error.ModelError,
        .request_error => error.RequestError,
        .infer_error => error.InferError,
        .out_of_resource => error.OutOfResource,
        .container_error => error.ContainerError,
        .remote_error => error.RemoteError,
        .io_error => error.IOError,
        .network_error => error.NetworkError,
        .os_error => error.OSError,
        .not_implemented => error.NotImplemented,
        .timeout => error.Timeout,
    };
}

/// Converts a `!void` result into a status code for the C ABI.
pub fn report(result: anyerror!void) i32 {
    result catch |err| return toStatus(err);
    return @intFromEnum(Status.ok);
}

fn statusOf(err: anyerror) Status {
    return switch (err) {
        error.InvalidArgument => .invalid_argument,
        error.InvalidState => .invalid_state,
        error.InvalidOperation => .invalid_operation,
        error.TypeError => .type_error,
        error.ShapeError => .shape_error,
        error.ExtensionError => .extension_error,
        error.DeviceError => .device_error,
        error.ModelError => .model_error,
        error.RequestError => .request_error,
        error.InferError => .infer_error,
        error.OutOfResource, error.OutOfMemory => .out_of_resource,
        error.ContainerError => .container_error,
        error.RemoteError => .remote_error,
        error.NetworkError => .network_error,
        error.NotImplemented => .not_implemented,
        error.Timeout => .timeout,
        error.FileNotFound, error.AccessDenied, error.IsDir, error.NotDir, error.EndOfStream,
        error.InputOutput, error.NoSpaceLeft, error.FileTooBig, error.NameTooLong,
        error.BadPathName, error.ReadOnlyFileSystem, error.IOError => .io_error,
        else => .os_error,
    };
}

fn describe(err: anyerror) []const u8 {
    return if (err == error.OutOfMemory) "out of memory" else os_error.describe(err);
}

test "fail keeps its message and maps to the status" {
    const err = fail(error.ShapeError, "dim {d} is negative", .{-3});
    try std.testing.expectEqual(@as(i32, -5), toStatus(err));
    try std.testing.expectEqualStrings("dim -3 is negative", std.mem.span(lastMessage()));
}

test "a message may wrap the previous one" {
    try std.testing.expectEqual(error.ShapeError, fail(error.ShapeError, "dims overflow", .{}));
    try std.testing.expectEqual(error.ModelError, fail(error.ModelError, "tensor 'w': {s}", .{std.mem.span(lastMessage())}));
    try std.testing.expectEqualStrings("tensor 'w': dims overflow", std.mem.span(lastMessage()));
}

test "errors from std get a readable message" {
    try std.testing.expectEqual(@as(i32, -14), toStatus(error.FileNotFound));
    try std.testing.expectEqualStrings("no such file", std.mem.span(lastMessage()));
    try std.testing.expectEqual(@as(i32, -11), toStatus(error.OutOfMemory));
}

test "every status but ok maps back to its error, and unknown codes to none" {
    inline for (@typeInfo(Status).@"enum".fields) |field| {
        const code: i32 = field.value;
        if (code == 0) {
            try std.testing.expectEqual(@as(?Error, null), errorOf(code));
        } else {
            try std.testing.expectEqual(code, @intFromEnum(statusOf(errorOf(code).?)));
        }
    }
    try std.testing.expectEqual(@as(?Error, null), errorOf(-99));
    try std.testing.expectEqual(@as(?Error, null), errorOf(7));
}
