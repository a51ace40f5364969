//! The copies between memories, planned once at load by the partition stage (partition.zig). A
//! node on a device with memory of its own reads its inputs from that memory, and everyone else
//! reads host memory, so each value read in another memory than the one it is made in is copied
//! there, once per run however many nodes there read it:
//!   - a graph input, an outer value or a constant read by a node on such a device; a constant
//!     is uploaded at load and stays there for the model's life, so weights cross once, not on
//!     every run;
//!   - a value such a device makes and the host reads: a node on a host-memory device, the
//!     subgraphs of one (they bind outer values as host tensors), or the graph's outputs;
//!   - a value one such device makes and another reads (through host memory).
//! Each graph, the model's and every subgraph, has copies of its own: each binds its inputs and
//! returns its outputs in host memory. A model whose devices all compute in host memory has no
//! copies, and its runs never look here.
const std = @import("std");
const status = @import("../core/status.zig");
const memory = @import("../core/memory.zig");
const ir = @import("../model/ir.zig");
const graph_uses = @import("../model/graph_uses.zig");
const backend = @import("backend.zig");
const value = @import("value.zig");

/// One value moved from one memory to another. A memory is named by the index of its device in
/// the model's device list; host memory by the CPU's (Plan.host).
pub const Copy = struct {
    value: ir.ValueId,
    from: u8,
    to: u8,
    /// A constant's copy on `to`, uploaded at load and kept for the model's life.
    resident: ?*const value.Tensor = null,

    fn before(_: void, a: Copy, b: Copy) bool {
        return if (a.value != b.value) a.value < b.value else a.to < b.to;
    }
};

/// The copies of one graph.
pub const GraphCopies = struct {
    graph: *const ir.Graph,
    /// Ordered by value, then by destination.
    copies: []Copy,
    /// Value v's copies are copies[first[v]..first[v + 1]].
    first: []u32,

    /// The copy of value `id` into memory `to`, when one is planned.
    pub fn find(self: *const GraphCopies, id: ir.ValueId, to: u8) ?u32 {
        for (self.first[id]..self.first[id + 1]) |i| if (self.copies[i].to == to) return @intCast(i);
        return null;
    }
};

/// The copies of every graph that has a node on a device with memory of its own; empty when the
/// model has none.
pub const Plan = struct {
    graphs: []GraphCopies = &.{},
    /// The CPU's index in the device list: host memory.
    host: u8 = 0,

    pub fn of(self: *const Plan, graph: *const ir.Graph) ?*const GraphCopies {
        for (self.graphs) |*g| if (g.graph == graph) return g;
        return null;
    }

    /// Frees the resident constants from their devices, then the plan.
    pub fn deinit(self: Plan, devices: []const backend.Instance) void {
        for (self.graphs) |g| {
            for (g.copies) |c| if (c.resident) |t| {
                devices[c.to].free(t.buffer.?);
                memory.allocator.destroy(t);
            };
            memory.allocator.free(g.copies);
            memory.allocator.free(g.first);
        }
        memory.allocator.free(self.graphs);
    }
};

/// The memory device `index` computes in: its own, or host memory (`host`, the CPU's index).
pub fn memoryOf(devices: []const backend.Instance, host: u8, index: usize) u8 {
    return if (devices[index].hostMemory()) host else @intCast(index);
}

/// Plans the copies of `root` and its subgraphs, whose nodes are placed, and uploads the
/// constants that devices with memory of their own read.
pub fn make(root: *ir.Graph, devices: []const backend.Instance, host: u8) status.Error!Plan {
    for (devices) |device| {
        if (!device.hostMemory()) break;
    } else return .{ .host = host };
    var graphs: std.ArrayList(GraphCopies) = .empty;
    var planner: Planner = .{ .devices = devices, .host = host, .graphs = &graphs };
    errdefer {
        for (graphs.items) |g| {
            memory.allocator.free(g.copies);
            memory.allocator.free(g.first);
        }
        graphs.deinit(memory.allocator);
    }
    ir.forEachGraph(root, &planner, Planner.graph) catch |e| return @as(status.Error, @errorCast(e));
    var plan: Plan = .{ .graphs = graphs.toOwnedSlice(memory.allocator) catch return oom(), .host = host };
    errdefer plan.deinit(devices);
    for (plan.graphs) |*g| for (g.copies) |*c| try uploadConstant(g.graph, c, devices);
    return plan;
}

const Planner = struct {
    devices: []const backend.Instance,
    host: u8,
    graphs: *std.ArrayList(GraphCopies),

    fn graph(self: *Planner, g: *ir.Graph) anyerror!void {
        const host = self.host;
        for (g.nodes.items) |node| {
            if (memoryOf(self.devices, host, node.device) != host) break;
        } else return;
        // Where each value is made: host memory unless a node on another device makes it.
        const made_in = memory.allocator.alloc(u8, g.values.items.len) catch return oom();
        defer memory.allocator.free(made_in);
        @memset(made_in, host);
        var copies: std.ArrayList(Copy) = .empty;
        defer copies.deinit(memory.allocator);
        for (g.nodes.items) |*node| {
            if (node.pruned != .none) continue; // never runs; a folded node's outputs are constants
            const reads_in = memoryOf(self.devices, host, node.device);
            for (node.inputs) |maybe| if (maybe) |id| try need(&copies, made_in, id, reads_in);
            const implicit = graph_uses.implicitReads(memory.allocator, g, node) catch return oom();
            defer memory.allocator.free(implicit);
            for (implicit) |id| try need(&copies, made_in, id, host);
            for (node.outputs) |maybe| if (maybe) |id| {
                made_in[id] = reads_in;
            };
        }
        for (g.outputs) |id| try need(&copies, made_in, id, host);
        try self.add(g, copies.items);
    }

    /// Keeps `wanted`, ordered and with each (value, destination) once, as `g`'s copies.
    fn add(self: *Planner, g: *const ir.Graph, wanted: []Copy) status.Error!void {
        std.mem.sort(Copy, wanted, {}, Copy.before);
        var kept: usize = 0;
        for (wanted) |c| {
            if (kept > 0 and wanted[kept - 1].value == c.value and wanted[kept - 1].to == c.to) continue;
            wanted[kept] = c;
            kept += 1;
        }
        const copies = memory.allocator.dupe(Copy, wanted[0..kept]) catch return oom();
        errdefer memory.allocator.free(copies);
        const first = memory.allocator.alloc(u32, g.values.items.len + 1) catch return oom();
        errdefer memory.allocator.free(first);
        var next: u32 = 0;
        for (first, 0..) |*slot, id| {
            while (next < copies.len and copies[next].value < id) next += 1;
            slot.* = next;
        }
        self.graphs.append(memory.allocator, .{ .graph = g, .copies = copies, .first = first }) catch return oom();
    }
};

fn need(copies: *std.ArrayList(Copy), made_in: []const u8, id: ir.ValueId, to: u8) status.Error!void {
    if (made_in[id] == to) return;
    copies.append(memory.allocator, .{ .value = id, .from = made_in[id], .to = to }) catch return oom();
}

/// A constant read on a device with memory of its own goes there now, for the model's life. A
/// graph input with a default is not constant: what the caller feeds replaces it.
fn uploadConstant(g: *const ir.Graph, c: *Copy, devices: []const backend.Instance) status.Error!void {
    const v = &g.values.items[c.value];
    const constant = v.constant orelse return;
    if (v.role == .input) return;
    const device = devices[c.to];
    try checkCopyable(.tensor, constant.dtype, v.name, device);
    const buffer = try device.alloc(constant.bytes.len);
    errdefer device.free(buffer);
    try device.upload(buffer, constant.bytes);
    const tensor = memory.allocator.create(value.Tensor) catch return oom();
    tensor.* = .{ .dtype = constant.dtype, .shape = constant.dims, .buffer = buffer };
    c.resident = tensor;
}

/// Only tensors of plain elements move between memories: strings, sequences and maps are host
/// objects (pointers), which a device that takes them must read in host memory.
pub fn checkCopyable(kind: value.Kind, dtype: value.DType, name: []const u8, device: backend.Instance) status.Error!void {
    if (kind == .tensor and dtype != .string) return;
    const what = if (kind == .tensor) "string tensor" else @tagName(kind);
    return status.fail(error.NotImplemented, "value '{s}' is a {s}: it cannot be copied to or from {s}'s memory", .{ name, what, device.vtable.device });
}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory planning the copies between devices", .{});
}
