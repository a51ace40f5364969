//! What a model keeps for running, beside its graph: the devices opened for it (which own what
//! they compiled, such as the CPU's thread pool and weights packed at load), the def-use of the
//! top-level graph, the memory plans cached per input shape, and the lock of the `exclusive`
//! scheduler.
const std = @import("std");
const status = @import("../core/status.zig");
const memory = @import("../core/memory.zig");
const ir = @import("../model/ir.zig");
const options_module = @import("../model/options.zig");
const model_module = @import("../model/model.zig");
const info_module = @import("../model/info.zig");
const backend = @import("backend.zig");
const partition = @import("partition.zig");
const graph_uses = @import("../model/graph_uses.zig");
const memory_plan = @import("memory_plan.zig");
const fold = @import("fold.zig");
const constant_tensors = @import("constant_tensors.zig");
const model_cache = @import("model_cache.zig");
const log = @import("../core/log.zig");
const performance = @import("performance.zig");
const cpu_info = @import("../device/cpu.zig");
const Progress = @import("../core/progress.zig").Progress;

pub const ModelState = struct {
    /// The devices the nodes run on, opened for this model, in the order of preference.
    devices: partition.Devices,
    uses: graph_uses.Uses,
    /// Every graph's constants as tensors, after folding.
    constants: constant_tensors.ConstantTensors,
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
    /// What the performance hint chose (threads as the CPU pool was opened with).
    config: performance.Config,
    /// Runs that go on at once, under a performance hint.
    streams: performance.Streams,
    /// Where the devices' compiled weights came from, all devices together.
    weights: backend.ReuseStats = .{},

    /// The compile stage (Model.load calls it through the API) once the graph is final, in named
    /// steps (docs/compile-stage.md): open the devices from the backends `available`; the passes
    /// (constant folding, dead-node removal); partition and the copy plan; each device's compile
    /// of its nodes (kernel resolution and weight prepacking, which reuses what the compiled-model
    /// cache or the `donor` of a hot update holds: model_cache.zig). A node no device can run
    /// fails the load, and runs never look kernels up by name. The memory plan, the last step, is
    /// made per input shape by the first run of that shape (memory_plan.zig).
    pub fn compile(model: *model_module.Model, available: []const backend.Backend, donor: ?*model_module.Model) status.Error!model_module.Compiled {
        const config = performance.choose(&model.options, machineCores());
        // The CPU backend opens its pool with the option: the hint's choice goes there.
        model.options.threads = config.threads;
        var devices = try partition.Devices.open(model.options.devices, available, &model.options);
        errdefer devices.deinit();
        var uses = graph_uses.Uses.init(memory.allocator, model.graph()) catch return oom();
        errdefer uses.deinit(memory.allocator);
        try Progress.begin(model.progress, .fold);
        var cache: model_cache.Session = .{};
        try cache.begin(model, devices, if (donor) |d| of(d).devices else null);
        defer cache.deinit();
        try prune(model, devices, &uses);
        try Progress.end(model.progress);
        try Progress.begin(model.progress, .compile);
        try devices.assignReporting(model.graph(), &model.pipeline.pool, model.options.strict, model.progress);
        cache.finish(devices);
        const weights = sumWeights(devices);
        for (model.operations, model.graph().nodes.items) |*operation, node| {
            operation.device = devices.list[node.device].vtable.device;
        }
        model.copies = try describeCopies(model.pipeline.arena(), model.graph(), devices);
        try Progress.end(model.progress);
        const state = try create(model.graph(), &model.options, devices, uses);
        state.config = config;
        state.streams = .{ .limit = config.streams };
        state.weights = weights;
        return .{ .state = state, .destroy = destroyOpaque };
    }

    fn sumWeights(devices: partition.Devices) backend.ReuseStats {
        var total: backend.ReuseStats = .{};
        for (devices.list) |device| {
            const reuse = device.vtable.reuse orelse continue;
            const s = reuse.stats(device.context);
            total.packed_bytes += s.packed_bytes;
            total.cached_bytes += s.cached_bytes;
            total.shared_bytes += s.shared_bytes;
            total.pack_ns += s.pack_ns;
        }
        log.write(.debug, "compile: weights {d} bytes packed ({d} us), {d} from the cache, {d} shared", .{
            total.packed_bytes, total.pack_ns / 1000, total.cached_bytes, total.shared_bytes,
        });
        return total;
    }

    /// The passes before partition (exec/fold.zig): constant folding on the CPU, then dead-node
    /// removal.
    fn prune(model: *model_module.Model, devices: partition.Devices, uses: *const graph_uses.Uses) status.Error!void {
        const graph = model.graph();
        const folded = try fold.foldConstants(model.pipeline.arena(), graph, &model.pipeline.pool, devices.list[devices.cpu], model.progress);
        const needed = memory.allocator.alloc(bool, graph.nodes.items.len) catch return oom();
        defer memory.allocator.free(needed);
        const scratch = memory.allocator.alloc(bool, graph.values.items.len) catch return oom();
        defer memory.allocator.free(scratch);
        const unused = fold.markUnused(graph, uses, needed, scratch);
        log.write(.debug, "compile: {d} nodes folded into constants, {d} unused", .{ folded, unused });
    }

    /// The copies planned in `graph`, by name, as model.copies gives them (from `arena`).
    pub fn describeCopies(arena: std.mem.Allocator, graph: *ir.Graph, devices: partition.Devices) status.Error![]const model_module.Copy {
        const plan = devices.copies.of(graph) orelse return &.{};
        const out = arena.alloc(model_module.Copy, plan.copies.len) catch return oom();
        for (plan.copies, out) |c, *slot| slot.* = .{
            .value = try info_module.z(arena, graph.value(c.value).name),
            .from = devices.list[c.from].vtable.device,
            .to = devices.list[c.to].vtable.device,
            .at_load = c.resident != null,
        };
        return out;
    }

    /// The state `compile` attached to a loaded model.
    pub fn of(model: *const model_module.Model) *ModelState {
        return @ptrCast(@alignCast(model.compiled.?.state));
    }

    fn destroyOpaque(state: *anyopaque) void {
        const self: *ModelState = @ptrCast(@alignCast(state));
        self.destroy();
    }

    /// `options` must outlive the state (the model keeps both). The state takes `devices` and
    /// `uses` (the graph's def-use) on success; on failure they stay the caller's.
    fn create(graph: *ir.Graph, options: *const options_module.Options, devices: partition.Devices, uses: graph_uses.Uses) status.Error!*ModelState {
        var constants = constant_tensors.ConstantTensors.build(memory.allocator, graph) catch return oom();
        errdefer constants.deinit();
        const self = memory.allocator.create(ModelState) catch return oom();
        self.* = .{
            .devices = devices,
            .uses = uses,
            .constants = constants,
            .memory_optimization = options.memory_optimization,
            .plannable = holdsOnlyTensors(graph),
            .intermediate_save_path = options.intermediate_save_path,
            .scheduler = options.scheduler,
            .config = .{ .threads = options.threads, .streams = 0, .queue_size = 1 },
            .streams = .{ .limit = 0 },
        };
        return self;
    }

    pub fn destroy(self: *ModelState) void {
        self.uses.deinit(memory.allocator);
        self.constants.deinit();
        self.plans.deinit();
        self.devices.deinit();
        memory.allocator.destroy(self);
    }
};

/// Physical cores this process may run on, as the CPU pool counts them.
fn machineCores() u32 {
    const allowed: u32 = @intCast(@max(1, std.Thread.getCpuCount() catch 1));
    return @max(1, @min(cpu_info.detect().cores_physical, allowed));
}

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

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory", .{});
}
