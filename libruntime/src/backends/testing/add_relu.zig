//! A second backend, for tests only: a device with memory of its own and a queue, as a GPU is. It
//! runs float32 Add (same shapes) and Relu its own way, with plain loops, as device "test:0", and
//! refuses everything else. Its values live in buffers it allocates and counts against a fixed
//! size; `run` only submits a node, `wait` computes everything submitted, in order, and records
//! each node's time as a device_execute event; a download before that wait is refused, so a test
//! sees the executor wait. It sits behind the same contract as the CPU (exec/backend.zig), and
//! nothing in exec/ knows it exists: partition_test.zig mixes it with the CPU in one model.
const std = @import("std");
const status = @import("../../core/status.zig");
const memory = @import("../../core/memory.zig");
const profile = @import("../../core/profile.zig");
const device_module = @import("../../device/device.zig");
const ir = @import("../../model/ir.zig");
const options_module = @import("../../model/options.zig");
const backend = @import("../../exec/backend.zig");
const node_run = @import("../../exec/node_run.zig");
const value = @import("../../exec/value.zig");

pub const add_relu: backend.Backend = .{ .name = "test", .open_fn = open };

/// Past every device tsr_device_get lists: the test device is not one of them.
pub const event_device: i16 = device_module.max_devices;

/// The size of its memory; an allocation beyond it fails.
pub const capacity: u64 = 1 << 20;

const vtable: backend.Instance.VTable = .{
    .device = "test:0",
    .event_device = event_device,
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

/// What the instance counts, so that a test can see the work, and the copies, came here.
pub const Counters = struct {
    opened: usize = 0,
    /// Nodes computed (by `wait`).
    nodes_run: usize = 0,
    uploads: usize = 0,
    downloads: usize = 0,
};

const Device = struct {
    /// Requests of one model may run at once; they share its device.
    mutex: std.Thread.Mutex = .{},
    counters: Counters = .{},
    /// Bytes allocated in its memory.
    used: u64 = 0,
    /// Nodes submitted and not computed yet, in order.
    queue: std.ArrayList(Submitted) = .empty,
};

const Submitted = struct {
    op: Op,
    a: []const f32,
    b: []const f32,
    y: []f32,
    /// The executor's profile scope when the node was submitted: its events go there.
    scope: ?profile.Scope,
};

const Op = enum { add, relu };
const compiled_add: Op = .add;
const compiled_relu: Op = .relu;

fn open(_: ?*anyopaque, _: *const options_module.Options) status.Error!backend.Instance {
    const self = memory.allocator.create(Device) catch return oom();
    self.* = .{ .counters = .{ .opened = 1 } };
    return .{ .context = self, .vtable = &vtable };
}

fn destroy(context: *anyopaque) void {
    const self = deviceOf(context);
    self.queue.deinit(memory.allocator);
    memory.allocator.destroy(self);
}

fn deviceOf(context: *anyopaque) *Device {
    return @ptrCast(@alignCast(context));
}

pub fn countersOf(instance: backend.Instance) Counters {
    const self = deviceOf(instance.context);
    self.mutex.lock();
    defer self.mutex.unlock();
    return self.counters;
}

fn memoryInfo(context: *anyopaque) backend.MemoryInfo {
    const self = deviceOf(context);
    self.mutex.lock();
    defer self.mutex.unlock();
    return .{ .used = self.used, .total = capacity };
}

/// A buffer is a block of the library's memory, which only this device reads.
fn bytesOf(buffer: value.Buffer) []align(16) u8 {
    const start: [*]align(16) u8 = @ptrCast(@alignCast(buffer.handle));
    return start[0..@max(buffer.bytes, 1)];
}

fn alloc(context: *anyopaque, bytes: usize) status.Error!value.Buffer {
    const self = deviceOf(context);
    self.mutex.lock();
    defer self.mutex.unlock();
    if (self.used + bytes > capacity) return status.fail(error.OutOfResource, "test:0 has {d} of {d} bytes free: {d} asked", .{ capacity - self.used, capacity, bytes });
    // At least one byte, so that an empty buffer has an address too.
    const block = memory.allocator.alignedAlloc(u8, .@"16", @max(bytes, 1)) catch return oom();
    self.used += bytes;
    return .{ .handle = block.ptr, .bytes = bytes };
}

fn free(context: *anyopaque, buffer: value.Buffer) void {
    const self = deviceOf(context);
    self.mutex.lock();
    defer self.mutex.unlock();
    memory.allocator.free(bytesOf(buffer));
    self.used -= buffer.bytes;
}

fn upload(context: *anyopaque, buffer: value.Buffer, host: []const u8) status.Error!void {
    const self = deviceOf(context);
    self.mutex.lock();
    defer self.mutex.unlock();
    self.counters.uploads += 1;
    @memcpy(bytesOf(buffer)[0..buffer.bytes], host);
}

fn download(context: *anyopaque, buffer: value.Buffer, out: []u8) status.Error!void {
    const self = deviceOf(context);
    self.mutex.lock();
    defer self.mutex.unlock();
    if (self.queue.items.len > 0) return status.fail(error.InvalidState, "test:0: download with {d} nodes still queued (wait first)", .{self.queue.items.len});
    self.counters.downloads += 1;
    @memcpy(out, bytesOf(buffer)[0..buffer.bytes]);
}

/// Computes what was submitted, in order, timing each node on the profile clock.
fn wait(context: *anyopaque) status.Error!void {
    const self = deviceOf(context);
    self.mutex.lock();
    defer self.mutex.unlock();
    for (self.queue.items) |node| {
        const begin_ns = profile.now();
        switch (node.op) {
            .relu => for (node.y, node.a) |*o, v| {
                o.* = @max(v, 0);
            },
            .add => for (node.y, node.a, node.b) |*o, u, v| {
                o.* = u + v;
            },
        }
        self.counters.nodes_run += 1;
        const scope = node.scope orelse continue;
        const detail: profile.Detail = .{ .op_index = scope.op_index, .depth = scope.depth, .src_device = event_device, .dst_device = event_device };
        scope.ring.recordAt(begin_ns, .device_execute, .begin, detail);
        scope.ring.recordAt(profile.now(), .device_execute, .end, detail);
    }
    self.queue.clearRetainingCapacity();
}

fn opOf(node: *const ir.Node) ?Op {
    if (node.domain.len != 0) return null;
    if (std.mem.eql(u8, node.op_type, "Add")) return .add;
    if (std.mem.eql(u8, node.op_type, "Relu")) return .relu;
    return null;
}

fn supports(_: *anyopaque, node: *const ir.Node, origin: backend.Origin) ?[]const u8 {
    const op = opOf(node) orelse return "the test device runs only Add and Relu";
    const first = origin.graph.values.items[node.inputs[0] orelse return "input 0 is missing"].type;
    for (node.inputs) |maybe| {
        const t = origin.graph.values.items[maybe orelse return "an input is missing"].type;
        if (t.kind != .tensor or t.dtype != .float32) return "the test device runs float32 tensors only";
        if (op == .add and !sameStaticShape(origin, first, t)) return "the test device adds same-shape tensors only, with no broadcasting";
    }
    return null;
}

fn sameStaticShape(origin: backend.Origin, a: ir.ValueType, b: ir.ValueType) bool {
    const x = a.shape orelse return false;
    const y = b.shape orelse return false;
    if (x.len != y.len) return false;
    for (x, y) |p, q| {
        const m = origin.dims.value(p) orelse return false;
        if (origin.dims.value(q) != m) return false;
    }
    return true;
}

fn compile(_: *anyopaque, node: *const ir.Node, _: ?backend.Origin) status.Error!*const anyopaque {
    return switch (opOf(node) orelse return status.fail(error.NotImplemented, "the test device cannot run {s}", .{node.op_type})) {
        .add => &compiled_add,
        .relu => &compiled_relu,
    };
}

/// Submits the node: its output buffer is allocated now, its elements computed by `wait`.
fn run(context: *anyopaque, compiled: *const anyopaque, r: *const node_run.NodeRun) status.Error!void {
    const op: *const Op = @ptrCast(@alignCast(compiled));
    const a = try inputOf(r, 0);
    const b = if (op.* == .add) try inputOf(r, 1) else a;
    if (!std.mem.eql(i64, b.shape, a.shape)) return status.fail(error.NotImplemented, "the test device adds same-shape float32 tensors only", .{});
    const buffer = try alloc(context, a.buffer.?.bytes);
    errdefer free(context, buffer);
    const out = r.arena.create(value.Tensor) catch return oom();
    out.* = .{ .dtype = .float32, .shape = a.shape, .buffer = buffer };
    const self = deviceOf(context);
    self.mutex.lock();
    defer self.mutex.unlock();
    self.queue.append(memory.allocator, .{ .op = op.*, .a = floats(a), .b = floats(b), .y = floats(out), .scope = profile.current }) catch return oom();
    r.outputs[0] = out;
}

/// Input `i`, which the executor must have put in this device's memory.
fn inputOf(r: *const node_run.NodeRun, i: usize) status.Error!*const value.Tensor {
    const input = r.inputs[i] orelse return status.fail(error.InvalidArgument, "input {d} is missing", .{i});
    if (input.dtype != .float32) return status.fail(error.NotImplemented, "the test device runs float32 only", .{});
    if (input.buffer == null) return status.fail(error.InvalidArgument, "input {d} is not in test:0's memory", .{i});
    return input;
}

fn floats(tensor: *const value.Tensor) []f32 {
    return std.mem.bytesAsSlice(f32, bytesOf(tensor.buffer.?)[0..tensor.buffer.?.bytes]);
}

fn enterRun(_: *anyopaque) u64 {
    return 0;
}

fn leaveRun(_: *anyopaque, _: u64) void {}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory", .{});
}
