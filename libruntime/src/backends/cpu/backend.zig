//! The CPU backend behind the contract (exec/backend.zig): opened for a model, it owns the
//! model's kernel thread pool (threads, cores, disableDenormals); it runs every operator that has
//! a kernel in kernels/registry.zig. It compiles a node at load by choosing that kernel, so runs
//! never look kernels up by name, and by running the kernel's prepare hook (prepare.zig), so
//! weights are packed from constants once, before the first run, for the graph and its subgraphs
//! alike; it frees what the hooks built when the model is destroyed. The weights the hooks pack
//! go through the model's weight store (weight_store.zig), which takes them from the
//! compiled-model cache or from the model a hot update replaces where it can. It computes in host
//! memory and finishes each node inside `run`: no buffers, no queue to wait on.
const std = @import("std");
const status = @import("../../core/status.zig");
const memory = @import("../../core/memory.zig");
const ir = @import("../../model/ir.zig");
const options_module = @import("../../model/options.zig");
const backend = @import("../../exec/backend.zig");
const NodeRun = @import("../../exec/node_run.zig").NodeRun;
const profile = @import("../../core/profile.zig");
const kernel = @import("kernel.zig");
const prepare = @import("prepare.zig");
const registry = @import("kernels/registry.zig");
const thread_pool = @import("thread_pool.zig");
const weight_store = @import("weight_store.zig");
const cache_file = @import("../../exec/cache_file.zig");
const gemm = @import("gemm.zig");
const sgemm = @import("kernels/linalg_sgemm.zig");
const im2col = @import("kernels/nn_im2col.zig");

pub const cpu: backend.Backend = .{ .name = "cpu", .open_fn = open };

const vtable: backend.Instance.VTable = .{
    .device = "cpu:0",
    .event_device = profile.cpu_device,
    .buffers = null,
    .wait = null,
    .memory = memoryInfo,
    .supports = supports,
    .compile = compile,
    .run = run,
    .enter_run = enterRun,
    .leave_run = leaveRun,
    .destroy = destroy,
    .reuse = &.{ .identity = identity, .begin = beginReuse, .end = endReuse, .persist = persist, .stats = stats },
};

const Cpu = struct {
    pool: *thread_pool.ThreadPool,
    cores: []u16,
    /// The system's memory, read once at open.
    total_memory: u64,
    /// The compiled nodes whose kernels prepared data at load, owned with that data.
    prepared: std.ArrayList(*kernel.Compiled) = .empty,
    /// Every weight the prepare hooks packed, and where each came from.
    weights: weight_store.Store = .{},
};

fn open(_: ?*anyopaque, options: *const options_module.Options) status.Error!backend.Instance {
    const cores = try parseCores(options.cores);
    errdefer memory.allocator.free(cores);
    const pool = try thread_pool.ThreadPool.init(memory.allocator, .{
        // Pinned to a core list with no count: one thread per listed core.
        .threads = if (options.threads == 0 and cores.len > 0) @intCast(cores.len) else options.threads,
        .cores = cores,
        .flush_denormals = options.disable_denormals,
    });
    errdefer pool.deinit();
    const self = memory.allocator.create(Cpu) catch return oom();
    self.* = .{ .pool = pool, .cores = cores, .total_memory = std.process.totalSystemMemory() catch 0 };
    return .{ .context = self, .vtable = &vtable };
}

fn destroy(context: *anyopaque) void {
    const self: *Cpu = @ptrCast(@alignCast(context));
    for (self.prepared.items) |compiled| {
        compiled.prepared.?.release(compiled.prepared.?.data);
        memory.allocator.destroy(compiled);
    }
    self.prepared.deinit(memory.allocator);
    self.weights.deinit();
    self.pool.deinit();
    memory.allocator.free(self.cores);
    memory.allocator.destroy(self);
}

/// Host memory is one pool for every model: what the library holds in it, all models together.
fn memoryInfo(context: *anyopaque) backend.MemoryInfo {
    const self: *Cpu = @ptrCast(@alignCast(context));
    return .{ .used = memory.liveBytes(), .total = self.total_memory };
}

fn supports(_: *anyopaque, node: *const ir.Node, _: backend.Origin) ?[]const u8 {
    return if (registry.lookup(node.domain, node.op_type) == null) "the CPU has no kernel for it" else null;
}

fn compile(context: *anyopaque, node: *const ir.Node, origin: ?backend.Origin) status.Error!*const anyopaque {
    const self: *Cpu = @ptrCast(@alignCast(context));
    const chosen = registry.lookup(node.domain, node.op_type) orelse {
        const domain = if (node.domain.len == 0) "ai.onnx" else node.domain;
        return status.fail(error.NotImplemented, "no CPU kernel for {s} (domain {s}, opset {d}), used by node '{s}'", .{ node.op_type, domain, node.opset, node.name });
    };
    const hook = chosen.prepare orelse return chosen.plain;
    const at = origin orelse return chosen.plain;
    const preparation: prepare.Preparation = .{ .node = node, .graph = at.graph, .dims = at.dims, .store = &self.weights };
    const prepared = try hook(&preparation) orelse return chosen.plain;
    errdefer prepared.release(prepared.data);
    self.prepared.ensureUnusedCapacity(memory.allocator, 1) catch return keepFailed(node);
    const compiled = memory.allocator.create(kernel.Compiled) catch return keepFailed(node);
    compiled.* = .{ .run = chosen.plain.run, .prepared = prepared };
    self.prepared.appendAssumeCapacity(compiled);
    return compiled;
}

fn run(context: *anyopaque, compiled: *const anyopaque, node_run: *const NodeRun) status.Error!void {
    const self: *Cpu = @ptrCast(@alignCast(context));
    const chosen: *const kernel.Compiled = @ptrCast(@alignCast(compiled));
    var ctx = kernel.Context.init(node_run, self.pool, if (chosen.prepared) |p| p.data else null);
    return chosen.run(&ctx);
}

/// The packed layout depends on the GEMM kernel variant (chosen for this CPU and this copy of the
/// library's CPU level); the blocking is read at run time from PackedB.tuning, so it is part of
/// the key too. Convolutions and the linalg kernels read the same host tuning.
fn identity(_: *anyopaque, out: *std.Io.Writer) error{WriteFailed}!void {
    for ([_]gemm.Tuning{ sgemm.tuning(), im2col.hostTuning() }) |t| {
        try out.print("gemm {s} mc={d} kc={d} nc={d}\n", .{ @tagName(t.variant), t.mc, t.kc, t.nc });
    }
}

fn beginReuse(context: *anyopaque, entry: ?*cache_file.Entry, device: u32, donor: ?*anyopaque) void {
    const self: *Cpu = @ptrCast(@alignCast(context));
    const donor_cpu: ?*Cpu = if (donor) |d| @ptrCast(@alignCast(d)) else null;
    self.weights.begin(entry, device, if (donor_cpu) |d| &d.weights else null);
}

fn endReuse(context: *anyopaque) bool {
    const self: *Cpu = @ptrCast(@alignCast(context));
    self.weights.end();
    return self.weights.stale;
}

fn persist(context: *anyopaque, out: *std.ArrayList(cache_file.Outgoing)) status.Error!void {
    const self: *Cpu = @ptrCast(@alignCast(context));
    try self.weights.persist(out);
}

fn stats(context: *anyopaque) backend.ReuseStats {
    const self: *Cpu = @ptrCast(@alignCast(context));
    return self.weights.stats;
}

/// disableDenormals holds for the whole run on the requesting thread too, not only inside pool
/// jobs: many kernels never enter the pool, and they must give the same bits.
fn enterRun(context: *anyopaque) u64 {
    const self: *Cpu = @ptrCast(@alignCast(context));
    if (!self.pool.flush_denormals) return 0;
    const saved = thread_pool.readFloatControl();
    thread_pool.writeFloatControl(saved | thread_pool.flush_denormal_bits);
    return saved;
}

fn leaveRun(context: *anyopaque, saved: u64) void {
    const self: *Cpu = @ptrCast(@alignCast(context));
    if (self.pool.flush_denormals) thread_pool.writeFloatControl(@intCast(saved));
}

/// Sets how many of the model's CPU pool threads its kernels use (clamped to the threads the
/// pool started) and returns that; null when `device` is not this backend's.
pub fn setActiveThreads(device: backend.Instance, threads: u32) ?u32 {
    if (device.vtable != &vtable) return null;
    const self: *Cpu = @ptrCast(@alignCast(device.context));
    return self.pool.setActiveThreads(threads);
}

/// The threads the model's CPU kernels use now; null when `device` is not this backend's.
pub fn activeThreads(device: backend.Instance) ?u32 {
    if (device.vtable != &vtable) return null;
    const self: *Cpu = @ptrCast(@alignCast(device.context));
    return @intCast(self.pool.threadCount());
}

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
    return status.fail(error.OutOfResource, "out of memory opening the CPU backend", .{});
}

fn keepFailed(node: *const ir.Node) status.Error {
    return status.fail(error.OutOfResource, "out of memory keeping what node '{s}' ({s}) prepared", .{ node.name, node.op_type });
}
