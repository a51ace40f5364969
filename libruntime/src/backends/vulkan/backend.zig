//! The Vulkan backend behind the backend contract (exec/backend.zig): `vulkan:N` opens physical
//! device N for one model: its context, memory pool, pipelines and stream. Nodes run as compute
//! dispatches recorded by `run` and submitted by `wait`; values live in the device's buffers,
//! which the executor fills and reads through the copy plan. A machine without Vulkan, or
//! without device N, fails the open with a DeviceError; the library itself still loads there.
const std = @import("std");
const status = @import("../../core/status.zig");
const memory = @import("../../core/memory.zig");
const ir = @import("../../model/ir.zig");
const options_module = @import("../../model/options.zig");
const backend = @import("../../exec/backend.zig");
const node_run = @import("../../exec/node_run.zig");
const value = @import("../../exec/value.zig");
const functions = @import("functions.zig");
const Context = @import("context.zig").Context;
const memory_module = @import("memory.zig");
const pipelines_module = @import("pipelines.zig");
const Pipelines = pipelines_module.Pipelines;
const pipeline_cache = @import("pipeline_cache.zig");
const Stream = @import("stream.zig").Stream;
const shaders = @import("shaders.zig");
const ops = @import("ops.zig");
const kernels = @import("kernels.zig");

const vk = functions.vk;

pub const vulkan: backend.Backend = .{ .name = "vulkan", .open_fn = open };

/// Devices `vulkan:N` may name, as tsr_device_get lists them after the CPU.
pub const max_devices = 16;

/// One vtable per device index, so that each names its device ("vulkan:2") with a string that
/// outlives every model (model.operations points at it).
const vtables = blk: {
    var out: [max_devices]backend.Instance.VTable = undefined;
    for (&out, 0..) |*v, i| v.* = .{
        .device = std.fmt.comptimePrint("vulkan:{d}", .{i}),
        .event_device = 1 + i,
        .buffers = &.{ .alloc = alloc, .free = free, .upload = upload, .download = download },
        .wait = wait,
        .memory = memoryInfo,
        .supports = supports,
        .compile = compile,
        .run = run,
        .enter_run = enterRun,
        .leave_run = leaveRun,
        .destroy = destroy,
    };
    break :blk out;
};

const Device = struct {
    context: Context,
    pool: memory_module.Pool,
    pipelines: Pipelines,
    stream: Stream,
    /// What compile returned, freed with the device.
    compiled_mutex: std.Thread.Mutex = .{},
    compiled: std.ArrayList(*Compiled) = .empty,
};

/// A node's kernel and its pipeline (null for a view, which dispatches nothing).
const Compiled = struct { decided: ops.Compiled, pipeline: vk.VkPipeline };

/// The device index the `devices` option gives ("vulkan" is vulkan:0).
pub fn indexIn(devices: []const u8) status.Error!u32 {
    var names = std.mem.tokenizeScalar(u8, devices, ',');
    while (names.next()) |raw| {
        const name = std.mem.trim(u8, raw, " ");
        if (std.mem.eql(u8, name, "vulkan")) return 0;
        if (!std.mem.startsWith(u8, name, "vulkan:")) continue;
        const index = std.fmt.parseInt(u32, name["vulkan:".len..], 10) catch
            return status.fail(error.InvalidArgument, "device '{s}': the index must be a number", .{name});
        if (index >= max_devices) return status.fail(error.DeviceError, "no Vulkan device {d}", .{index});
        return index;
    }
    return 0;
}

fn open(_: ?*anyopaque, options: *const options_module.Options) status.Error!backend.Instance {
    const index = try indexIn(options.devices);
    const self = memory.allocator.create(Device) catch return oom();
    errdefer memory.allocator.destroy(self);
    self.context = try Context.open(index);
    errdefer self.context.close();
    self.pool = try memory_module.Pool.init(&self.context);
    var path_buffer: [std.fs.max_path_bytes]u8 = undefined;
    self.pipelines = try Pipelines.init(&self.context, pipeline_cache.path(&path_buffer, pipelines_module.identityOf(&self.context)));
    self.stream = .{ .context = &self.context, .pipelines = &self.pipelines };
    self.compiled_mutex = .{};
    self.compiled = .empty;
    return .{ .context = self, .vtable = &vtables[index] };
}

fn destroy(context: *anyopaque) void {
    const self = deviceOf(context);
    // Waits for the device to be idle: runs still in flight finish before anything is freed.
    self.stream.deinit();
    for (self.compiled.items) |c| memory.allocator.destroy(c);
    self.compiled.deinit(memory.allocator);
    self.pipelines.deinit();
    self.pool.deinit();
    self.context.close();
    memory.allocator.destroy(self);
}

fn deviceOf(context: *anyopaque) *Device {
    return @ptrCast(@alignCast(context));
}

fn memoryInfo(context: *anyopaque) backend.MemoryInfo {
    const self = deviceOf(context);
    self.pool.mutex.lock();
    defer self.pool.mutex.unlock();
    return .{ .used = self.pool.used, .total = self.pool.total };
}

fn alloc(context: *anyopaque, bytes: usize) status.Error!value.Buffer {
    const allocation = try deviceOf(context).pool.alloc(bytes);
    return .{ .handle = allocation, .bytes = bytes };
}

fn free(context: *anyopaque, buffer: value.Buffer) void {
    deviceOf(context).pool.free(kernels.allocationOf(buffer));
}

/// Buffers are mapped host-visible memory: an upload is a copy, visible to every dispatch
/// submitted after it.
fn upload(_: *anyopaque, buffer: value.Buffer, host: []const u8) status.Error!void {
    @memcpy(kernels.allocationOf(buffer).bytes()[0..host.len], host);
}

fn download(_: *anyopaque, buffer: value.Buffer, out: []u8) status.Error!void {
    @memcpy(out, kernels.allocationOf(buffer).bytes()[0..out.len]);
}

fn wait(context: *anyopaque) status.Error!void {
    try deviceOf(context).stream.finish();
}

fn supports(_: *anyopaque, node: *const ir.Node, origin: backend.Origin) ?[]const u8 {
    return ops.supports(node, origin);
}

fn compile(context: *anyopaque, node: *const ir.Node, origin: ?backend.Origin) status.Error!*const anyopaque {
    const self = deviceOf(context);
    const decided = ops.compiledOf(node, origin) orelse
        return status.fail(error.NotImplemented, "the Vulkan backend cannot run {s}", .{node.op_type});
    const elementwise = [_]u32{kernels.elementwise_workgroup};
    const rows = [_]u32{kernels.row_workgroup};
    const pipeline: vk.VkPipeline = switch (decided.kernel) {
        .binary => try self.pipelines.get(shaders.binary, &elementwise),
        .unary => try self.pipelines.get(shaders.unary, &elementwise),
        .softmax => try self.pipelines.get(shaders.softmax, &.{kernels.softmax_workgroup}),
        .matmul => try self.pipelines.get(shaders.matmul, &kernels.matmul_tile),
        .conv => |c| if (c.direct) try self.pipelines.get(shaders.conv_direct, &elementwise) else try self.pipelines.get(shaders.conv, &kernels.matmul_tile),
        .pool => try self.pipelines.get(shaders.pool, &elementwise),
        .reduce => try self.pipelines.get(shaders.reduce, &rows),
        .layer_norm => try self.pipelines.get(shaders.layernorm, &rows),
        .batch_norm => try self.pipelines.get(shaders.batchnorm, &elementwise),
        // A view copies nothing.
        .movement => |m| if (m == .view) null else try self.pipelines.get(shaders.copy, &elementwise),
    };
    const compiled = memory.allocator.create(Compiled) catch return oom();
    errdefer memory.allocator.destroy(compiled);
    compiled.* = .{ .decided = decided, .pipeline = pipeline };
    self.compiled_mutex.lock();
    defer self.compiled_mutex.unlock();
    self.compiled.append(memory.allocator, compiled) catch return oom();
    return compiled;
}

fn run(context: *anyopaque, opaque_compiled: *const anyopaque, r: *const node_run.NodeRun) status.Error!void {
    const self = deviceOf(context);
    const compiled: *const Compiled = @ptrCast(@alignCast(opaque_compiled));
    // Absorbed into its Conv, which did this node's work in a run that fuses: the output is the
    // passed-through input's buffer.
    if (compiled.decided.passes) |passes| if (r.fuse) return kernels.passThrough(r, passes);
    try kernels.run(.{ .pool = &self.pool, .stream = &self.stream }, compiled.decided.kernel, compiled.pipeline, r);
}

fn enterRun(_: *anyopaque) u64 {
    return 0;
}

fn leaveRun(_: *anyopaque, _: u64) void {}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory opening the Vulkan device", .{});
}
