//! The executor's side of the copy plan (copy_plan.zig), for one run of one graph: each planned
//! copy is made the first time a node, or the graph's end, needs it, and only then; the device
//! buffers the run allocates (uploads and the outputs of nodes on those devices) are kept and
//! freed when the graph's run is over, once the devices are done with them. A download first
//! waits for the device, since its queue may still be writing the value.
const std = @import("std");
const status = @import("../core/status.zig");
const profile = @import("../core/profile.zig");
const ir = @import("../model/ir.zig");
const backend = @import("backend.zig");
const copy_plan = @import("copy_plan.zig");
const node_run = @import("node_run.zig");
const value = @import("value.zig");

const Tensor = value.Tensor;

pub const Transfers = struct {
    plan: *const copy_plan.GraphCopies,
    devices: []const backend.Instance,
    /// Host memory: the CPU's index in `devices`.
    host: u8,
    arena: std.mem.Allocator,
    ring: ?*profile.Ring,
    /// Per planned copy: what it made in this run; a resident constant's is there from the start.
    made: []?*const Tensor,
    /// The device buffers this graph's run allocated.
    held: std.ArrayList(Held) = .empty,
    /// Set once `finish` has waited for every device.
    finished: bool = false,

    const Held = struct { device: u8, buffer: value.Buffer };

    pub fn init(arena: std.mem.Allocator, plan: *const copy_plan.GraphCopies, devices: []const backend.Instance, host: u8, ring: ?*profile.Ring) status.Error!*Transfers {
        const made = arena.alloc(?*const Tensor, plan.copies.len) catch return oom();
        for (plan.copies, made) |c, *slot| slot.* = c.resident;
        const self = arena.create(Transfers) catch return oom();
        self.* = .{ .plan = plan, .devices = devices, .host = host, .arena = arena, .ring = ring, .made = made };
        return self;
    }

    /// Value `id` as a node computing in memory `in` reads it: `values[id]`, or its copy there.
    pub fn read(self: *Transfers, values: []const ?*const Tensor, id: ir.ValueId, in: u8) status.Error!?*const Tensor {
        const index = self.plan.find(id, in) orelse return values[id];
        if (self.made[index]) |copied| return copied;
        const source = values[id] orelse return null;
        const c = self.plan.copies[index];
        const in_host = if (c.from == self.host) source else try self.toHost(c.from, source, id);
        const copied = if (c.to == self.host) in_host else try self.toDevice(c.to, in_host, id);
        self.made[index] = copied;
        return copied;
    }

    /// Keeps the buffers that a node on device `device` returned, to free them with the graph's
    /// run; an output that is one of its input buffers (a view) is already kept.
    pub fn keepOutputs(self: *Transfers, device: u8, inputs: []const ?*const Tensor, outputs: []const ?*Tensor) status.Error!void {
        outputs: for (outputs) |maybe| {
            const buffer = (maybe orelse continue).buffer orelse continue;
            for (inputs) |input| if (input) |in| if (in.buffer) |b| if (b.handle == buffer.handle) continue :outputs;
            try self.hold(device, buffer);
        }
    }

    /// `tensor`, made in device `device`'s memory, as a tensor in host memory (an output that
    /// the device left in host memory needs no copy).
    pub fn toHost(self: *Transfers, device: u8, tensor: *const Tensor, id: ir.ValueId) status.Error!*const Tensor {
        const from = self.devices[device];
        const buffer = tensor.buffer orelse return tensor;
        try self.wait(device);
        const data = try node_run.freshMemory(self.arena, buffer.bytes);
        const span = self.copySpan(id, device, self.host);
        defer profile.maybeEnd(span);
        try from.download(buffer, data);
        return self.tensorOf(.{ .dtype = tensor.dtype, .shape = tensor.shape, .data = data });
    }

    fn toDevice(self: *Transfers, device: u8, tensor: *const Tensor, id: ir.ValueId) status.Error!*const Tensor {
        const to = self.devices[device];
        try copy_plan.checkCopyable(tensor.kind, tensor.dtype, self.plan.graph.values.items[id].name, to);
        const buffer = try to.alloc(tensor.data.len);
        self.hold(device, buffer) catch |e| {
            to.free(buffer);
            return e;
        };
        const span = self.copySpan(id, self.host, device);
        defer profile.maybeEnd(span);
        try to.upload(buffer, tensor.data);
        return self.tensorOf(.{ .dtype = tensor.dtype, .shape = tensor.shape, .buffer = buffer });
    }

    fn tensorOf(self: *Transfers, made: Tensor) status.Error!*const Tensor {
        const tensor = self.arena.create(Tensor) catch return oom();
        tensor.* = made;
        return tensor;
    }

    fn hold(self: *Transfers, device: u8, buffer: value.Buffer) status.Error!void {
        self.held.append(self.arena, .{ .device = device, .buffer = buffer }) catch return oom();
    }

    /// At the graph's end: its outputs flagged in `wanted` (all when null) are moved to host
    /// memory, and every value left in a device's memory becomes its host copy when the run made
    /// one, else null, since the buffers are about to go. Then waits for every device.
    pub fn finish(self: *Transfers, values: []?*const Tensor, outputs: []const ir.ValueId, wanted: ?[]const bool) status.Error!void {
        for (outputs, 0..) |id, i| {
            if (wanted) |flags| if (!flags[i]) continue;
            values[id] = try self.read(values, id, self.host);
        }
        for (values, 0..) |*slot, id| {
            const tensor = slot.* orelse continue;
            if (tensor.buffer == null) continue;
            const index = self.plan.find(@intCast(id), self.host);
            slot.* = if (index) |i| self.made[i] else null;
        }
        for (self.devices, 0..) |device, i| if (device.vtable.wait != null) try self.wait(@intCast(i));
        self.finished = true;
    }

    /// Frees the buffers the run allocated. After a failure the devices are waited for first,
    /// and whatever that wait says, the buffers are freed: the run has failed already.
    pub fn release(self: *Transfers) void {
        if (!self.finished) for (self.devices) |device| device.wait() catch {};
        for (self.held.items) |h| self.devices[h.device].free(h.buffer);
        self.held.clearRetainingCapacity();
    }

    fn wait(self: *Transfers, device: u8) status.Error!void {
        const span = profile.maybeBegin(self.ring, .wait, .{ .src_device = self.devices[device].vtable.event_device });
        defer profile.maybeEnd(span);
        try self.devices[device].wait();
    }

    fn copySpan(self: *Transfers, id: ir.ValueId, from: u8, to: u8) ?profile.Span {
        const detail: profile.Detail = .{ .tensor_id = @intCast(id), .src_device = self.devices[from].vtable.event_device, .dst_device = self.devices[to].vtable.event_device };
        return profile.maybeBegin(self.ring, .copy, detail);
    }
};

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory while copying between devices", .{});
}
