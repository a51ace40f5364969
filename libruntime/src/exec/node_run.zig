//! What the executor hands a backend to run one node: the node, its input values, the slots
//! for its outputs, where output memory comes from, and what may stop the run. Backends build
//! their own view on it (the CPU's kernel Context, backends/cpu/kernel.zig).
const std = @import("std");
const status = @import("../core/status.zig");
const ir = @import("../model/ir.zig");
const value = @import("value.zig");
const memory_plan = @import("memory_plan.zig");
const tensor_module = @import("../tensor/tensor.zig");

pub const Tensor = value.Tensor;

/// Signals a run may be stopped by: a cancel flag and a deadline in ns (monotonic clock). The
/// executor checks them between nodes; a kernel whose work grows with its attributes or inputs
/// beyond a few milliseconds checks them too (Context.checkStop).
pub const Stop = struct {
    cancelled: *const std.atomic.Value(bool),
    deadline_ns: ?i128 = null,

    /// Fails with RequestError (cancelled) or Timeout (deadline), naming the node and whether the
    /// run stopped `place` ("before", "inside") it. Names are only formatted once stopped: the
    /// executor calls this before every node.
    pub fn check(self: *const Stop, place: []const u8, node: *const ir.Node, index: ir.NodeId) status.Error!void {
        var name_buffer: [160]u8 = undefined;
        if (self.cancelled.load(.acquire)) {
            return status.fail(error.RequestError, "cancelled {s} node {s}", .{ place, node.describe(&name_buffer, index) });
        }
        if (self.deadline_ns) |deadline| if (std.time.nanoTimestamp() > deadline) {
            return status.fail(error.Timeout, "the deadline passed {s} node {s}: it and the nodes after it were skipped", .{ place, node.describe(&name_buffer, index) });
        };
    }
};

/// Runs a subgraph (If/Loop/Scan bodies) with the given inputs; implemented by executor.zig.
pub const SubgraphRunner = struct {
    context: *anyopaque,
    run: *const fn (context: *anyopaque, graph: *ir.Graph, inputs: []const *const Tensor) status.Error![]*Tensor,
};

pub const NodeRun = struct {
    arena: std.mem.Allocator,
    node: *const ir.Node,
    node_id: ir.NodeId,
    inputs: []const ?*const Tensor,
    outputs: []?*Tensor,
    subgraphs: SubgraphRunner,
    /// The graph the node belongs to: tells which inputs are constants.
    graph: *const ir.Graph,
    /// The run's cancel flag and deadline; null when nothing can stop it.
    stop: ?*const Stop = null,
    /// Where output memory comes from in the top-level graph (see memory_plan.zig).
    planning: memory_plan.Planning = .none,
    /// Nodes marked by model/fuse.zig may do their successors' work: only where no intermediate
    /// can be observed, i.e. the top-level graph under a memory plan and with no
    /// intermediateSavePath.
    fuse: bool = false,
};

/// Memory for output `i` of `node` (`bytes` of elements), for every backend that writes its
/// outputs to host memory: where the memory plan put it when a recorded shape is replayed, else
/// fresh from the run's arena (and recorded when a plan is being made), or between guard bytes
/// under the test harness.
pub fn outputMemory(arena: std.mem.Allocator, planning: memory_plan.Planning, node: *const ir.Node, node_id: ir.NodeId, i: usize, bytes: usize) status.Error![]u8 {
    if (planning == .guarded) return planning.guarded.allocate(.output, i, bytes) catch
        status.fail(error.OutOfResource, "cannot allocate {d} bytes for an output", .{bytes});
    if (bytes > 0) if (planning == .replay) {
        if (planning.replay.take(node_id, i, bytes)) |data| return data;
    };
    const data = try freshMemory(arena, bytes);
    if (bytes > 0) if (planning == .record) {
        planning.record.allocated(node_id, i, node.outputs[i], data) catch
            return status.fail(error.OutOfResource, "out of memory", .{});
    };
    return data;
}

/// Aligned memory from the run's arena, outside any plan.
pub fn freshMemory(arena: std.mem.Allocator, bytes: usize) status.Error![]u8 {
    return arena.alignedAlloc(u8, .fromByteUnits(tensor_module.data_alignment), bytes) catch
        status.fail(error.OutOfResource, "cannot allocate {d} bytes for an output", .{bytes});
}
