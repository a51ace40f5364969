//! A backend extension's device behind the backend contract (exec/backend.zig): opened for each
//! model that names it, it asks the extension which nodes it runs, has it compile them at load
//! and run them in host memory, as the CPU does (no buffers, no queue). Every answer is checked:
//! a failure status becomes that kind of error on the load or the run, naming the device and the
//! node; a missing handle, an output of the wrong type or shape, or one never made is an
//! ExtensionError. Nothing the extension returns is trusted further than that.
const std = @import("std");
const status = @import("../../core/status.zig");
const memory = @import("../../core/memory.zig");
const ir = @import("../../model/ir.zig");
const options_module = @import("../../model/options.zig");
const backend = @import("../../exec/backend.zig");
const NodeRun = @import("../../exec/node_run.zig").NodeRun;
const host = @import("host.zig");
const describe = @import("describe.zig");
const library = @import("library.zig");
const run_outputs = @import("run_outputs.zig");

const c = host.c;
const Extension = library.Extension;

/// The extension as a backend the compile stage can open.
pub fn backendOf(extension: *Extension) backend.Backend {
    return .{ .name = extension.name, .context = extension, .open_fn = open };
}

const Device = struct {
    extension: *Extension,
    /// What the extension's `open` gave; passed back on every call.
    handle: ?*anyopaque,
    /// The instance's vtable: its `device` is the extension's "name:0".
    vtable: backend.Instance.VTable,
    /// The nodes compiled for this model, released when it is destroyed.
    compiled: std.ArrayList(*Compiled) = .empty,
    total_memory: u64,
};

const Compiled = struct {
    handle: *anyopaque,
    input_count: usize,
    /// Each output's type and dims as inference gave them, which a run's outputs must fit.
    expected: []const run_outputs.Expected,
};

fn open(context: ?*anyopaque, options: *const options_module.Options) status.Error!backend.Instance {
    const extension: *Extension = @ptrCast(@alignCast(context.?));
    try checkIndex(extension, options.devices);
    const self = memory.allocator.create(Device) catch return oom();
    errdefer memory.allocator.destroy(self);
    self.* = .{ .extension = extension, .handle = null, .vtable = vtableFor(extension), .total_memory = std.process.totalSystemMemory() catch 0 };
    if (extension.vtable.open) |open_fn| {
        host.clearMessage();
        const code = call(extension, open_fn, .{&self.handle});
        if (code != c.TSR_OK) return failed(code, "{s}: opening the device failed: {s}", .{ extension.device, host.message() });
    }
    extension.retain();
    return .{ .context = self, .vtable = &self.vtable };
}

/// The `devices` option may name only device 0 of an extension.
fn checkIndex(extension: *const Extension, devices: []const u8) status.Error!void {
    var names = std.mem.tokenizeScalar(u8, devices, ',');
    while (names.next()) |raw| {
        const name = std.mem.trim(u8, raw, " ");
        if (!std.mem.startsWith(u8, name, extension.name)) continue;
        const rest = name[extension.name.len..];
        if (rest.len == 0 or std.mem.eql(u8, rest, ":0")) return;
        if (rest[0] != ':') continue;
        return status.fail(error.DeviceError, "no device {s}: the extension '{s}' has one, {s}", .{ name, extension.name, extension.device });
    }
}

fn vtableFor(extension: *const Extension) backend.Instance.VTable {
    return .{
        .device = extension.device,
        // Not one of tsr_device_get's devices; only copies and waits carry a device, and a
        // host-memory device has neither.
        .event_device = -1,
        .buffers = null,
        .wait = null,
        .memory = memoryInfo,
        .supports = supports,
        .compile = compile,
        .run = run,
        .enter_run = enterRun,
        .leave_run = leaveRun,
        .destroy = destroy,
    };
}

fn deviceOf(context: *anyopaque) *Device {
    return @ptrCast(@alignCast(context));
}

fn destroy(context: *anyopaque) void {
    const self = deviceOf(context);
    const extension = self.extension;
    for (self.compiled.items) |compiled| {
        if (extension.vtable.release) |release| call(extension, release, .{ self.handle, compiled.handle });
        memory.allocator.free(compiled.expected);
        memory.allocator.destroy(compiled);
    }
    self.compiled.deinit(memory.allocator);
    if (extension.vtable.close) |close| call(extension, close, .{self.handle});
    memory.allocator.destroy(self);
    extension.release();
}

/// It computes in host memory, which every model shares, as the CPU reports it.
fn memoryInfo(context: *anyopaque) backend.MemoryInfo {
    return .{ .used = memory.liveBytes(), .total = deviceOf(context).total_memory };
}

fn supports(context: *anyopaque, node: *const ir.Node, origin: backend.Origin) ?[]const u8 {
    const self = deviceOf(context);
    if (describe.refusal(node, origin.graph)) |reason| return reason;
    var arena_state = std.heap.ArenaAllocator.init(memory.allocator);
    defer arena_state.deinit();
    const view = describe.describe(arena_state.allocator(), node, origin) catch return "out of memory describing the node";
    const reason = call(self.extension, self.extension.vtable.supports.?, .{ self.handle, &view.c });
    return if (reason) |text| std.mem.span(text) else null;
}

fn compile(context: *anyopaque, node: *const ir.Node, origin: ?backend.Origin) status.Error!*const anyopaque {
    const self = deviceOf(context);
    const extension = self.extension;
    var name_buffer: [160]u8 = undefined;
    const who = nameOf(&name_buffer, node);
    // Nodes built after load run on the CPU (partition.zig); only placed nodes come here.
    const at = origin orelse return status.fail(error.NotImplemented, "{s} compiles nodes at load only, not {s}", .{ extension.device, who });
    var arena_state = std.heap.ArenaAllocator.init(memory.allocator);
    defer arena_state.deinit();
    const view = describe.describe(arena_state.allocator(), node, at) catch return oom();
    // Everything Tessera needs is allocated before the extension makes anything to release.
    self.compiled.ensureUnusedCapacity(memory.allocator, 1) catch return oom();
    const compiled = memory.allocator.create(Compiled) catch return oom();
    errdefer memory.allocator.destroy(compiled);
    const expected = memory.allocator.alloc(run_outputs.Expected, node.outputs.len) catch return oom();
    errdefer memory.allocator.free(expected);
    for (expected, 0..) |*e, i| e.* = .of(view.c.outputs[i]);
    var handle: ?*anyopaque = null;
    host.clearMessage();
    const code = call(extension, extension.vtable.compile.?, .{ self.handle, &view.c, &handle });
    if (code != c.TSR_OK) return failed(code, "{s}: compiling node {s} failed: {s}", .{ extension.device, who, host.message() });
    compiled.* = .{
        .handle = handle orelse return status.fail(error.ExtensionError, "{s}: compile returned TSR_OK but no handle for node {s}", .{ extension.device, who }),
        .input_count = node.inputs.len,
        .expected = expected,
    };
    self.compiled.appendAssumeCapacity(compiled);
    return compiled;
}

/// "'name' (OpType)", or "(OpType)" for a node with no name, for load errors (the partition adds
/// where the node is).
fn nameOf(buffer: []u8, node: *const ir.Node) []const u8 {
    if (node.name.len == 0) return std.fmt.bufPrint(buffer, "({s})", .{node.op_type}) catch node.op_type;
    return std.fmt.bufPrint(buffer, "'{s}' ({s})", .{ node.name, node.op_type }) catch node.name;
}

fn run(context: *anyopaque, compiled_opaque: *const anyopaque, r: *const NodeRun) status.Error!void {
    const self = deviceOf(context);
    const extension = self.extension;
    const compiled: *const Compiled = @ptrCast(@alignCast(compiled_opaque));
    std.debug.assert(r.inputs.len == compiled.input_count);
    const inputs = try run_outputs.inputsOf(r);
    var outputs: run_outputs.RunOutputs = .{ .run = r, .expected = compiled.expected };
    const handed: host.Outputs = .{ .context = &outputs, .make = run_outputs.RunOutputs.make };
    host.clearMessage();
    const code = call(extension, extension.vtable.run.?, .{ self.handle, compiled.handle, inputs.ptr, @as(u32, @intCast(inputs.len)), @as(*c.tsr_backend_outputs, @ptrCast(@constCast(&handed))) });
    errdefer @memset(r.outputs, null);
    var name_buffer: [160]u8 = undefined;
    const who = r.node.describe(&name_buffer, r.node_id);
    if (outputs.failure) |reason| return status.fail(error.ExtensionError, "{s}, node {s}: {s}", .{ extension.device, who, reason });
    if (code != c.TSR_OK) return failed(code, "{s}, node {s}: {s}", .{ extension.device, who, host.message() });
    if (outputs.missing()) |index| {
        return status.fail(error.ExtensionError, "{s}, node {s}: run returned TSR_OK without making output {d}", .{ extension.device, who, index });
    }
}

fn enterRun(_: *anyopaque) u64 {
    return 0;
}

fn leaveRun(_: *anyopaque, _: u64) void {}

/// Calls into the extension, one call at a time unless it is thread-safe.
fn call(extension: *Extension, function: anytype, args: anytype) @typeInfo(@typeInfo(@TypeOf(function)).pointer.child).@"fn".return_type.? {
    const serial = !extension.threadSafe();
    if (serial) extension.serial.lock();
    defer if (serial) extension.serial.unlock();
    return @call(.auto, function, args);
}

/// The error for a failure status the extension returned: its own kind, or ExtensionError for a
/// code that is none (or for TSR_OK, which `failed` is never given).
fn failed(code: i32, comptime fmt: []const u8, args: anytype) status.Error {
    const kind = status.errorOf(code) orelse error.ExtensionError;
    if (status.errorOf(code) == null) {
        var text: [900]u8 = undefined;
        const described = std.fmt.bufPrint(&text, fmt, args) catch fmt;
        return status.fail(kind, "{s} (status {d}, which is no TSR_* code)", .{ described, code });
    }
    return status.fail(kind, fmt, args);
}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory on an extension's device", .{});
}
