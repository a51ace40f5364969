//! Partition, the compile stage's choice of a device for every node: the model's `devices`
//! option names an order of preference, and each node (in the graph and in its subgraphs) goes
//! to the first of them that supports it, falling back to the next, with the CPU last unless
//! the option names it earlier. Under
//! `strict` a fallback is an error naming the node, the device it was meant for, and why that
//! device refused it. The chosen device then compiles the node, once.
//!
//! Once every node is placed, the copies between memories are planned, once (copy_plan.zig):
//! where a value is read on a device whose memory is not the one it was made in, one copy, however
//! many nodes there read it; constants go to such a device at load. Neighbours on devices that
//! both compute in host memory (the CPU and any other such) need none.
const std = @import("std");
const status = @import("../core/status.zig");
const memory = @import("../core/memory.zig");
const ir = @import("../model/ir.zig");
const symbolic = @import("../model/symbolic.zig");
const options_module = @import("../model/options.zig");
const backend = @import("backend.zig");
const fuse = @import("../model/fuse.zig");
const copy_plan = @import("copy_plan.zig");
const Progress = @import("../core/progress.zig").Progress;

/// How many devices one model may run on.
pub const max_devices = 8;

/// The devices a model runs on, opened, in the order of preference; owned by the model's state.
pub const Devices = struct {
    list: []backend.Instance,
    /// The CPU's index in `list`: it runs the nodes built after load, and its memory is the host's.
    cpu: u8,
    /// The copies between memories, planned by `assign`; empty when every device computes in
    /// host memory.
    copies: copy_plan.Plan = .{},

    /// Opens the devices `names` (the option's text: "cpu", "auto", "test:0,cpu"…) from the
    /// backends `available`, and the CPU (the first available backend named "cpu") after them.
    pub fn open(names: []const u8, available: []const backend.Backend, options: *const options_module.Options) status.Error!Devices {
        var chosen: std.ArrayList(backend.Backend) = .empty;
        defer chosen.deinit(memory.allocator);
        var parts = std.mem.tokenizeScalar(u8, names, ',');
        while (parts.next()) |raw| {
            const name = std.mem.trim(u8, raw, " ");
            // "auto": every device this build can run models on, best first; the CPU is last.
            const kind = if (std.mem.eql(u8, name, "auto")) "cpu" else name[0 .. std.mem.indexOfScalar(u8, name, ':') orelse name.len];
            const found = for (available) |b| {
                if (std.mem.eql(u8, b.name, kind)) break b;
            } else return unknownDevice(name, available);
            try appendOnce(&chosen, found);
        }
        for (available) |b| if (std.mem.eql(u8, b.name, "cpu")) try appendOnce(&chosen, b);
        const cpu = for (chosen.items, 0..) |b, i| {
            if (std.mem.eql(u8, b.name, "cpu")) break i;
        } else return status.fail(error.InvalidArgument, "no CPU backend among the {d} available", .{available.len});
        if (chosen.items.len > max_devices) return status.fail(error.InvalidArgument, "option devices names {d} devices; a model runs on at most {d}", .{ chosen.items.len, max_devices });
        const list = memory.allocator.alloc(backend.Instance, chosen.items.len) catch return oom();
        var opened: usize = 0;
        errdefer {
            for (list[0..opened]) |device| device.destroy();
            memory.allocator.free(list);
        }
        for (chosen.items) |b| {
            list[opened] = try b.open(options);
            opened += 1;
        }
        return .{ .list = list, .cpu = @intCast(cpu) };
    }

    /// Where a node runs: its assigned device, or the CPU for a node built after load.
    pub fn of(self: Devices, node: *const ir.Node) backend.Instance {
        return self.list[self.indexOf(node)];
    }

    pub fn indexOf(self: Devices, node: *const ir.Node) u8 {
        return if (node.kernel == null) self.cpu else node.device;
    }

    pub fn deinit(self: Devices) void {
        self.copies.deinit(self.list);
        for (self.list) |device| device.destroy();
        memory.allocator.free(self.list);
    }

    /// Places and compiles every node of `graph` and its subgraphs, then plans the copies
    /// between their devices' memories; `dims` is the pool of their value types' dims.
    pub fn assign(self: *Devices, graph: *ir.Graph, dims: *const symbolic.Pool, strict: bool) status.Error!void {
        return self.assignReporting(graph, dims, strict, null);
    }

    /// `assign`, telling `progress` of each node of `graph` itself as it is compiled.
    pub fn assignReporting(self: *Devices, graph: *ir.Graph, dims: *const symbolic.Pool, strict: bool, progress: ?*Progress) status.Error!void {
        const visit: Visit = .{ .devices = self.*, .dims = dims, .strict = strict, .top = graph, .progress = progress };
        ir.forEachGraph(graph, visit, Visit.graph) catch |e| return @as(status.Error, @errorCast(e));
        self.copies = try copy_plan.make(graph, self.list, self.cpu);
    }
};

/// Names the device kinds there are, loaded extensions' included, so that a misspelt or not yet
/// loaded one is plain.
fn unknownDevice(name: []const u8, available: []const backend.Backend) status.Error {
    var kinds: [256]u8 = undefined;
    var used: usize = 0;
    for (available, 0..) |b, i| {
        const written = std.fmt.bufPrint(kinds[used..], "{s}{s}", .{ if (i > 0) ", " else "", b.name }) catch break;
        used += written.len;
    }
    return status.fail(error.InvalidArgument, "unknown device '{s}' (known: {s}, auto)", .{ name, kinds[0..used] });
}

fn appendOnce(list: *std.ArrayList(backend.Backend), b: backend.Backend) status.Error!void {
    for (list.items) |have| if (std.mem.eql(u8, have.name, b.name)) return;
    list.append(memory.allocator, b) catch return oom();
}

const Visit = struct {
    devices: Devices,
    dims: *const symbolic.Pool,
    strict: bool,
    top: ?*const ir.Graph = null,
    progress: ?*Progress = null,

    fn graph(self: Visit, g: *ir.Graph) anyerror!void {
        const reporting = g == self.top;
        for (g.nodes.items, 0..) |*node, index| {
            try self.place(g, node, @intCast(index));
            try self.keepChainTogether(g, node, @intCast(index));
            if (reporting) try Progress.update(self.progress, index + 1, g.nodes.items.len);
        }
    }

    /// A chain model/fuse.zig marked is fused or not as a whole, by the kernels of one device, so
    /// a node whose work its Conv may do goes where that Conv went. Where that device cannot run
    /// it, the load fails rather than letting two devices each do half of the chain.
    fn keepChainTogether(self: Visit, g: *ir.Graph, node: *ir.Node, index: ir.NodeId) status.Error!void {
        if (node.pruned != .none) return;
        const producer = chainProducer(g, node) orelse return;
        if (producer.device == node.device) return;
        const device = self.devices.list[producer.device];
        if (device.supports(node, .{ .graph = g, .dims = self.dims })) |refusal| {
            var name_buffer: [160]u8 = undefined;
            return status.fail(error.NotImplemented, "node {s} is fused with a node on {s}, which cannot run it: {s}", .{ node.describe(&name_buffer, index), device.vtable.device, refusal });
        }
        node.device = producer.device;
        node.kernel = try device.compile(node, .{ .graph = g, .dims = self.dims });
    }

    fn place(self: Visit, g: *const ir.Graph, node: *ir.Node, index: ir.NodeId) status.Error!void {
        const list = self.devices.list;
        // Never runs: shown on the CPU, with nothing compiled.
        if (node.pruned != .none) {
            node.device = self.devices.cpu;
            return;
        }
        for (list, 0..) |device, i| {
            if (device.supports(node, .{ .graph = g, .dims = self.dims })) |refusal| {
                if (self.strict) {
                    var name_buffer: [160]u8 = undefined;
                    return status.fail(error.NotImplemented, "node {s} cannot run on {s}: {s} (strict: no fallback)", .{ node.describe(&name_buffer, index), device.vtable.device, refusal });
                }
                // The last device compiles it anyway, to fail with its own words.
                if (i + 1 < list.len) continue;
            }
            node.device = @intCast(i);
            node.kernel = try device.compile(node, .{ .graph = g, .dims = self.dims });
            return;
        }
    }
};

/// The node carrying the fusion mark of the chain `node` was absorbed into, if it was.
fn chainProducer(g: *ir.Graph, node: *const ir.Node) ?*const ir.Node {
    var current = node;
    while (current.attr(fuse.absorbed_attribute)) |mark| {
        const index = std.math.cast(usize, mark.proto.i) orelse return null;
        if (index >= current.inputs.len) return null;
        const id = current.inputs[index] orelse return null;
        current = &g.nodes.items[g.value(id).producer orelse return null];
    }
    return if (current != node and current.has(fuse.producer_attribute)) current else null;
}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory opening the model's devices", .{});
}
