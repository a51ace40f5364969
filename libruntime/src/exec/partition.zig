//! Partition, the compile stage's choice of a device for every node: the model's `devices`
//! option names an order of preference, and each node (in the graph and in its subgraphs) goes
//! to the first of them that supports it, falling back to the next, with the CPU last. Under
//! `strict` a fallback is an error naming the node, the device it was meant for, and why that
//! device refused it. The chosen device then compiles the node, once.
//!
//! Every device works on host memory today, so neighbours on different devices need no copy
//! between them; a device with memory of its own will add the copies here.
const std = @import("std");
const status = @import("../core/status.zig");
const memory = @import("../core/memory.zig");
const ir = @import("../model/ir.zig");
const symbolic = @import("../model/symbolic.zig");
const options_module = @import("../model/options.zig");
const backend = @import("backend.zig");

/// How many devices one model may run on.
pub const max_devices = 8;

/// The devices a model runs on, opened, in the order of preference; owned by the model's state.
pub const Devices = struct {
    list: []backend.Instance,

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
            } else return status.fail(error.InvalidArgument, "unknown device '{s}'", .{name});
            try appendOnce(&chosen, found);
        }
        for (available) |b| if (std.mem.eql(u8, b.name, "cpu")) try appendOnce(&chosen, b);
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
        return .{ .list = list };
    }

    /// Where a node runs: its assigned device, or the CPU for a node built after load.
    pub fn of(self: Devices, node: *const ir.Node) backend.Instance {
        return if (node.kernel == null) self.list[self.list.len - 1] else self.list[node.device];
    }

    pub fn deinit(self: Devices) void {
        for (self.list) |device| device.destroy();
        memory.allocator.free(self.list);
    }

    /// Places and compiles every node of `graph` and its subgraphs; `dims` is the pool of their
    /// value types' dims.
    pub fn assign(self: Devices, graph: *ir.Graph, dims: *const symbolic.Pool, strict: bool) status.Error!void {
        const visit: Visit = .{ .devices = self, .dims = dims, .strict = strict };
        ir.forEachGraph(graph, visit, Visit.graph) catch |e| return @as(status.Error, @errorCast(e));
    }
};

fn appendOnce(list: *std.ArrayList(backend.Backend), b: backend.Backend) status.Error!void {
    for (list.items) |have| if (std.mem.eql(u8, have.name, b.name)) return;
    list.append(memory.allocator, b) catch return oom();
}

const Visit = struct {
    devices: Devices,
    dims: *const symbolic.Pool,
    strict: bool,

    fn graph(self: Visit, g: *ir.Graph) anyerror!void {
        for (g.nodes.items, 0..) |*node, index| try self.place(g, node, @intCast(index));
    }

    fn place(self: Visit, g: *const ir.Graph, node: *ir.Node, index: ir.NodeId) status.Error!void {
        const list = self.devices.list;
        for (list, 0..) |device, i| {
            if (device.supports(node)) |refusal| {
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

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory opening the model's devices", .{});
}
