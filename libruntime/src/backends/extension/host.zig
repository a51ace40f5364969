//! Tessera's side of the backend extension ABI (include/tessera_backend.h, read here through
//! @cImport, so the structs cannot drift from the header): the host table handed to every
//! extension, with the functions an extension calls back: its error message, logging, node
//! attributes, and the memory of a running node's outputs.
const std = @import("std");
const status = @import("../../core/status.zig");
const log = @import("../../core/log.zig");
const ir = @import("../../model/ir.zig");

pub const c = @cImport(@cInclude("tessera_backend.h"));

/// The one host table, for every extension, for the process's life.
pub const table: c.tsr_backend_host = .{
    .abi_version = c.TSR_BACKEND_ABI_VERSION,
    .size = @sizeOf(c.tsr_backend_host),
    .set_error = setError,
    .log = logMessage,
    .attribute_int = attributeInt,
    .attribute_float = attributeFloat,
    .attribute_string = attributeString,
    .attribute_ints = attributeInts,
    .attribute_floats = attributeFloats,
    .output = output,
};

/// What an extension said about the failure it is returning, for the calling thread. Kept apart
/// from the library's own last error, which a call that succeeds must leave as it was.
threadlocal var message_buffer: [512]u8 = undefined;
threadlocal var message_len: ?usize = null;

/// Forgets the message before a call into the extension.
pub fn clearMessage() void {
    message_len = null;
}

/// What the extension set since clearMessage, or a note that it set nothing.
pub fn message() []const u8 {
    const len = message_len orelse return "(the extension gave no message)";
    return message_buffer[0..len];
}

fn setError(text: [*c]const u8) callconv(.c) void {
    const given: []const u8 = if (text == null) "" else std.mem.span(text);
    const len = @min(given.len, message_buffer.len);
    @memcpy(message_buffer[0..len], given[0..len]);
    message_len = len;
}

fn logMessage(level: i32, text: [*c]const u8) callconv(.c) void {
    if (text == null) return;
    const at = std.meta.intToEnum(log.Level, level) catch log.Level.info;
    log.write(at, "extension: {s}", .{std.mem.span(text)});
}

/// A node as an extension sees it, with the IR node it describes: the attribute functions find
/// one from the other. Only pointers Tessera handed out reach them (the header says so).
pub const NodeView = struct {
    c: c.tsr_backend_node,
    node: *const ir.Node,

    fn of(pointer: [*c]const c.tsr_backend_node) *const NodeView {
        return @fieldParentPtr("c", @as(*const c.tsr_backend_node, pointer));
    }
};

/// The attribute `name` of `node` of type `wanted` (.int, .float, .string, .ints, .floats), as
/// the loader decoded it: found, or the answer for the extension (0 when absent, TSR_TYPE_ERROR
/// when its type is another).
fn find(node: [*c]const c.tsr_backend_node, name: [*c]const u8, comptime wanted: @Type(.enum_literal)) union(enum) { found: *const ProtoOf(ir.Attribute), answer: i32 } {
    if (node == null or name == null) return .{ .answer = @intFromEnum(status.Status.invalid_argument) };
    const wanted_name = std.mem.span(name);
    for (NodeView.of(node).node.attributes) |a| {
        if (!std.mem.eql(u8, a.name, wanted_name)) continue;
        if (a.proto.type != wanted) return .{ .answer = @intFromEnum(status.Status.type_error) };
        return .{ .found = a.proto };
    }
    return .{ .answer = 0 };
}

/// The decoded form an attribute keeps (its protobuf message), named without importing the
/// decoder: backends read attributes as model/attribute.zig gives them.
fn ProtoOf(comptime A: type) type {
    return @typeInfo(@FieldType(A, "proto")).pointer.child;
}

fn attributeInt(node: [*c]const c.tsr_backend_node, name: [*c]const u8, value: [*c]i64) callconv(.c) i32 {
    const proto = switch (find(node, name, .int)) {
        .found => |p| p,
        .answer => |a| return a,
    };
    if (value != null) value.* = proto.i;
    return 1;
}

fn attributeFloat(node: [*c]const c.tsr_backend_node, name: [*c]const u8, value: [*c]f32) callconv(.c) i32 {
    const proto = switch (find(node, name, .float)) {
        .found => |p| p,
        .answer => |a| return a,
    };
    if (value != null) value.* = proto.f;
    return 1;
}

fn attributeString(node: [*c]const c.tsr_backend_node, name: [*c]const u8, bytes: [*c][*c]const u8, length: [*c]u64) callconv(.c) i32 {
    const proto = switch (find(node, name, .string)) {
        .found => |p| p,
        .answer => |a| return a,
    };
    if (bytes != null) bytes.* = proto.s.ptr;
    if (length != null) length.* = proto.s.len;
    return 1;
}

fn attributeInts(node: [*c]const c.tsr_backend_node, name: [*c]const u8, values: [*c][*c]const i64, count: [*c]u64) callconv(.c) i32 {
    const proto = switch (find(node, name, .ints)) {
        .found => |p| p,
        .answer => |a| return a,
    };
    if (values != null) values.* = proto.ints.ptr;
    if (count != null) count.* = proto.ints.len;
    return 1;
}

fn attributeFloats(node: [*c]const c.tsr_backend_node, name: [*c]const u8, values: [*c][*c]const f32, count: [*c]u64) callconv(.c) i32 {
    const proto = switch (find(node, name, .floats)) {
        .found => |p| p,
        .answer => |a| return a,
    };
    if (values != null) values.* = proto.floats.ptr;
    if (count != null) count.* = proto.floats.len;
    return 1;
}

/// The outputs of one run of a node on an extension's device: run_outputs.zig implements it.
pub const Outputs = struct {
    context: *anyopaque,
    make: *const fn (context: *anyopaque, index: u32, dtype: i32, dims: []const i64) status.Error![]u8,
};

fn output(outputs: ?*c.tsr_backend_outputs, index: u32, dtype: i32, dims: [*c]const i64, rank: u32, data: [*c]?*anyopaque) callconv(.c) i32 {
    const self: *const Outputs = @ptrCast(@alignCast(outputs orelse return @intFromEnum(status.Status.invalid_argument)));
    if (data == null or (dims == null and rank > 0)) return @intFromEnum(status.Status.invalid_argument);
    const shape: []const i64 = if (rank == 0) &.{} else dims[0..rank];
    const memory = self.make(self.context, index, dtype, shape) catch |e| return status.toStatus(e);
    data.* = if (memory.len == 0) null else memory.ptr;
    return @intFromEnum(status.Status.ok);
}
