//! What a model keeps for running, beside its graph: the kernel thread pool built from the load
//! options (threads, cores, disableDenormals), one kept-state slot per top-level node (packed
//! weights), the memory plans cached per input shape, and the lock of the `exclusive` scheduler.
const std = @import("std");
const status = @import("../core/status.zig");
const memory = @import("../core/memory.zig");
const ir = @import("../model/ir.zig");
const options_module = @import("../model/options.zig");
const model_module = @import("../model/model.zig");
const kernel = @import("kernel.zig");
const kernel_choice = @import("kernel_choice.zig");
const ThreadPool = @import("../backends/cpu/thread_pool.zig").ThreadPool;
const graph_uses = @import("graph_uses.zig");
const memory_plan = @import("memory_plan.zig");

pub const ModelState = struct {
    pool: *ThreadPool,
    cores: []u16,
    node_states: []kernel.NodeState,
    uses: graph_uses.Uses,
    /// Memory plans per input shape; used only with memoryOptimization on.
    plans: memory_plan.PlanCache = .{},
    memory_optimization: bool,
    /// False when a top-level value is a sequence or optional: those point at other buffers, which
    /// the planner's address-based lifetimes cannot see, so such graphs run with distinct memory.
    plannable: bool,
    intermediate_save_path: []const u8,
    scheduler: options_module.Scheduler,
    /// Held for a whole run under the `exclusive` scheduler: requests run one at a time, in the
    /// order they asked (a ticket lock, so first come is first served).
    turn: Turnstile = .{},

    /// The compile stage handed to Model.load, once the graph is final: every node's kernel is
    /// chosen here, so a model whose operator has no kernel fails at load, and runs never look
    /// kernels up by name.
    pub fn compile(model: *model_module.Model) status.Error!model_module.Compiled {
        try kernel_choice.resolveAll(model.graph());
        const state = try create(model.graph(), &model.options);
        return .{ .state = state, .destroy = destroyOpaque };
    }

    /// The state `compile` attached to a loaded model.
    pub fn of(model: *const model_module.Model) *ModelState {
        return @ptrCast(@alignCast(model.compiled.?.state));
    }

    fn destroyOpaque(state: *anyopaque) void {
        const self: *ModelState = @ptrCast(@alignCast(state));
        self.destroy();
    }

    /// `options` must outlive the state (the model keeps both).
    pub fn create(graph: *ir.Graph, options: *const options_module.Options) status.Error!*ModelState {
        const cores = try parseCores(options.cores);
        errdefer memory.allocator.free(cores);
        const pool = try ThreadPool.init(memory.allocator, .{
            // Pinned to a core list with no count: one thread per listed core.
            .threads = if (options.threads == 0 and cores.len > 0) @intCast(cores.len) else options.threads,
            .cores = cores,
            .flush_denormals = options.disable_denormals,
        });
        errdefer pool.deinit();
        const node_states = memory.allocator.alloc(kernel.NodeState, graph.nodes.items.len) catch return oom();
        errdefer memory.allocator.free(node_states);
        for (node_states) |*s| s.* = .{};
        var uses = graph_uses.Uses.init(memory.allocator, graph) catch return oom();
        errdefer uses.deinit(memory.allocator);
        const self = memory.allocator.create(ModelState) catch return oom();
        self.* = .{
            .pool = pool,
            .cores = cores,
            .node_states = node_states,
            .uses = uses,
            .memory_optimization = options.memory_optimization,
            .plannable = holdsOnlyTensors(graph),
            .intermediate_save_path = options.intermediate_save_path,
            .scheduler = options.scheduler,
        };
        return self;
    }

    pub fn destroy(self: *ModelState) void {
        for (self.node_states) |*s| s.deinit();
        memory.allocator.free(self.node_states);
        self.uses.deinit(memory.allocator);
        self.plans.deinit();
        self.pool.deinit();
        memory.allocator.free(self.cores);
        memory.allocator.destroy(self);
    }
};

fn holdsOnlyTensors(graph: *const ir.Graph) bool {
    for (graph.values.items) |v| switch (v.type.kind) {
        .sequence, .optional, .map => return false,
        else => {},
    };
    return true;
}

/// A FIFO lock: each caller takes a ticket and runs when the counter reaches it.
pub const Turnstile = struct {
    mutex: std.Thread.Mutex = .{},
    changed: std.Thread.Condition = .{},
    next_ticket: u64 = 0,
    serving: u64 = 0,

    pub fn enter(self: *Turnstile) void {
        self.mutex.lock();
        defer self.mutex.unlock();
        const ticket = self.next_ticket;
        self.next_ticket += 1;
        while (self.serving != ticket) self.changed.wait(&self.mutex);
    }

    pub fn leave(self: *Turnstile) void {
        self.mutex.lock();
        defer self.mutex.unlock();
        self.serving += 1;
        self.changed.broadcast();
    }
};

/// "0,2,3" → {0,2,3}; the options parser has already checked the syntax.
fn parseCores(text: []const u8) status.Error![]u16 {
    var list: std.ArrayList(u16) = .empty;
    errdefer list.deinit(memory.allocator);
    var parts = std.mem.tokenizeAny(u8, text, ", ");
    while (parts.next()) |part| {
        const core = std.fmt.parseInt(u16, part, 10) catch
            return status.fail(error.InvalidArgument, "option cores: '{s}' is not a core id", .{part});
        list.append(memory.allocator, core) catch return oom();
    }
    return list.toOwnedSlice(memory.allocator) catch oom();
}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory", .{});
}
