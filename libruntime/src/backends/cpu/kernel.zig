//! What a CPU kernel sees of one node at run time: its input tensors (concrete shapes), its
//! attributes, what its prepare hook built at load, a way to allocate its outputs, and the run's
//! scratch memory. A kernel computes its outputs' shapes from its inputs, so dynamic shapes need
//! no planning step to be correct.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../../model/ir.zig");
const tensor_module = @import("../../tensor/tensor.zig");
const value = @import("../../exec/value.zig");
const node_run = @import("../../exec/node_run.zig");
const ThreadPool = @import("thread_pool.zig").ThreadPool;
const memory_plan = @import("../../exec/memory_plan.zig");
const prepare = @import("prepare.zig");

pub const Tensor = value.Tensor;
pub const DType = value.DType;
pub const Stop = node_run.Stop;
pub const SubgraphRunner = node_run.SubgraphRunner;

pub const Context = struct {
    arena: std.mem.Allocator,
    node: *const ir.Node,
    node_id: ir.NodeId,
    inputs: []const ?*const Tensor,
    outputs: []?*Tensor,
    subgraphs: SubgraphRunner,
    /// The graph the node belongs to: the types inference gave its values.
    graph: *const ir.Graph,
    /// The model's kernel thread pool; null runs everything on the calling thread.
    pool: ?*ThreadPool = null,
    /// The run's cancel flag and deadline; null when nothing can stop it.
    stop: ?*const Stop = null,
    /// What the kernel's prepare hook built for this node at load, read through `prepared`.
    prepared_at_load: ?*const anyopaque = null,
    /// Where output memory comes from in the top-level graph (see memory_plan.zig).
    planning: memory_plan.Planning = .none,
    /// Nodes marked by model/fuse.zig may do their successors' work (kernels/fused.zig): only
    /// where no intermediate can be observed, i.e. the top-level graph under a memory plan and
    /// with no intermediateSavePath.
    fuse: bool = false,

    /// The CPU's view of a node the executor runs, with the model's thread pool and the node's
    /// prepared data.
    pub fn init(run: *const node_run.NodeRun, pool: ?*ThreadPool, prepared_at_load: ?*const anyopaque) Context {
        return .{
            .arena = run.arena,
            .node = run.node,
            .node_id = run.node_id,
            .inputs = run.inputs,
            .outputs = run.outputs,
            .subgraphs = run.subgraphs,
            .graph = run.graph,
            .pool = pool,
            .stop = run.stop,
            .prepared_at_load = prepared_at_load,
            .planning = run.planning,
            .fuse = run.fuse,
        };
    }

    /// Stops a long kernel when the run is cancelled or past its deadline; call it between chunks
    /// of work (an outer loop), not per element.
    pub fn checkStop(self: *const Context) status.Error!void {
        const stop = self.stop orelse return;
        try stop.check("inside", self.node, self.node_id);
    }

    pub fn inputCount(self: *const Context) usize {
        return self.inputs.len;
    }

    pub fn input(self: *const Context, i: usize) ?*const Tensor {
        return if (i < self.inputs.len) self.inputs[i] else null;
    }

    pub fn require(self: *const Context, i: usize) status.Error!*const Tensor {
        return self.input(i) orelse self.fail("input {d} is required", .{i});
    }

    /// The T the kernel's prepare hook built for this node at load (read-only: concurrent runs
    /// share it); null when it built nothing (a weight that is not a constant, a node built after
    /// load), and the kernel then does that work itself.
    pub fn prepared(self: *const Context, comptime T: type) ?*const T {
        const data = self.prepared_at_load orelse return null;
        return @ptrCast(@alignCast(data));
    }

    /// Runs func over [0, count) on the model's pool, or inline without one.
    pub fn parallelFor(self: *const Context, count: usize, context: anytype, comptime func: fn (@TypeOf(context), usize, usize) void) void {
        if (self.pool) |pool| return pool.parallelFor(count, context, func);
        func(context, 0, count);
    }

    pub fn threadCount(self: *const Context) usize {
        return if (self.pool) |pool| pool.threadCount() else 1;
    }

    pub fn wantsOutput(self: *const Context, i: usize) bool {
        return i < self.node.outputs.len and self.node.outputs[i] != null;
    }

    /// Allocates output `i` (64-byte aligned, uninitialized) with a checked shape.
    pub fn output(self: *const Context, i: usize, dtype: DType, shape: []const i64) status.Error!*Tensor {
        if (i >= self.outputs.len) return self.fail("has no output {d}", .{i});
        const layout = tensor_module.Layout.init(dtype, shape) catch
            return self.fail("output {d} has an invalid shape: {s}", .{ i, std.mem.span(status.lastMessage()) });
        const data = try self.outputMemory(i, @intCast(layout.byte_size), dtype == .string);
        const tensor = self.arena.create(Tensor) catch return status.fail(error.OutOfResource, "out of memory", .{});
        tensor.* = .{ .dtype = dtype, .shape = self.arena.dupe(i64, shape) catch return status.fail(error.OutOfResource, "out of memory", .{}), .data = data };
        if (dtype == .string) {
            tensor.data = &.{};
            tensor.strings = self.arena.alloc([]const u8, @intCast(layout.count)) catch return status.fail(error.OutOfResource, "out of memory", .{});
            @memset(tensor.strings, "");
        }
        self.outputs[i] = tensor;
        return tensor;
    }

    fn outputMemory(self: *const Context, i: usize, bytes: usize, is_string: bool) status.Error![]u8 {
        if (is_string) return node_run.freshMemory(self.arena, bytes);
        return node_run.outputMemory(self.arena, self.planning, self.node, self.node_id, i, bytes);
    }

    /// Output `i` as a sequence (or optional) of `elements`, which must live as long as the run
    /// (inputs, or tensors the arena holds). The slice is copied.
    pub fn outputElements(self: *const Context, i: usize, kind: value.Kind, dtype: DType, elements: []const *const Tensor) status.Error!*Tensor {
        if (i >= self.outputs.len) return self.fail("has no output {d}", .{i});
        const tensor = self.arena.create(Tensor) catch return status.fail(error.OutOfResource, "out of memory", .{});
        tensor.* = .{
            .kind = kind,
            .dtype = dtype,
            .shape = &.{},
            .elements = self.arena.dupe(*const Tensor, elements) catch return status.fail(error.OutOfResource, "out of memory", .{}),
        };
        self.outputs[i] = tensor;
        return tensor;
    }

    /// Output `i` is input `j` itself (Identity, Reshape, Squeeze...): no copy, a new shape.
    pub fn alias(self: *const Context, i: usize, j: usize, shape: []const i64) status.Error!void {
        const source = try self.require(j);
        if (i >= self.outputs.len) return self.fail("has no output {d}", .{i});
        const tensor = self.arena.create(Tensor) catch return status.fail(error.OutOfResource, "out of memory", .{});
        tensor.* = source.*;
        tensor.shape = self.arena.dupe(i64, shape) catch return status.fail(error.OutOfResource, "out of memory", .{});
        self.outputs[i] = tensor;
    }

    pub fn alloc(self: *const Context, comptime T: type, n: usize) status.Error![]T {
        return self.arena.alloc(T, n) catch status.fail(error.OutOfResource, "out of memory", .{});
    }

    /// An InferError whose message starts with the node, e.g. "node 'conv1' (Conv): ...".
    pub fn fail(self: *const Context, comptime fmt: []const u8, args: anytype) status.Error {
        var name_buffer: [160]u8 = undefined;
        const who = self.node.describe(&name_buffer, self.node_id);
        var message: [768]u8 = undefined;
        const text = std.fmt.bufPrint(&message, fmt, args) catch fmt;
        return status.fail(error.InferError, "node {s}: {s}", .{ who, text });
    }

    /// Fails for an element type the kernel does not handle, naming it.
    pub fn unsupported(self: *const Context, dtype: DType) status.Error {
        var name_buffer: [160]u8 = undefined;
        const who = self.node.describe(&name_buffer, self.node_id);
        return status.fail(error.NotImplemented, "node {s}: no CPU kernel for {s} elements", .{ who, @tagName(dtype) });
    }

    pub fn runSubgraph(self: *const Context, graph: *ir.Graph, inputs: []const *const Tensor) status.Error![]*Tensor {
        return self.subgraphs.run(self.subgraphs.context, graph, inputs);
    }
};

pub const Kernel = *const fn (ctx: *Context) status.Error!void;

/// The CPU's compiled node, what ir.Node.kernel points at: its kernel, and the data the kernel's
/// prepare hook built at load (null when it built none).
pub const Compiled = struct {
    run: Kernel,
    prepared: ?prepare.Prepared = null,
};
