//! The backend contract: all the executor and the requests know of a device. A backend is
//! split by lifetime, as ggml's ggml-backend-impl.h splits it:
//!   - Backend: the device kind, for the process (name, how to open it for a model);
//!   - Instance: the device opened for one model with its load options (the CPU's thread pool):
//!     its memory figures, which nodes it runs, and their compilation, once, at load;
//!   - Buffers, only on a device with memory of its own: allocation there, upload from host
//!     memory and download to it. The partition stage plans, once at load, every value that
//!     crosses between memories (exec/copy_plan.zig); the executor makes those copies, so a node
//!     only ever sees values in its own device's memory. A copy between two such devices goes
//!     through host memory;
//!   - a compiled node: what `compile` returned, kept on the node (ir.Node.kernel) for the
//!     model's life;
//!   - a run (the stream): `enterRun`/`leaveRun` around a request's run on the calling thread,
//!     and `run` for each node, in order, with the executor's profile spans around it. A device
//!     with a queue (`wait` set) only submits in `run`; `wait` returns once everything submitted
//!     is done, and the device then records each node's time on it as a device_execute span,
//!     under the profile scope (profile.current) that was set when the node was submitted.
//! The CPU computes in host memory and finishes each node inside `run`: it has no buffers and no
//! wait, and a model that runs only on such devices plans no copy and pays nothing for them.
const std = @import("std");
const status = @import("../core/status.zig");
const ir = @import("../model/ir.zig");
const symbolic = @import("../model/symbolic.zig");
const options_module = @import("../model/options.zig");
const NodeRun = @import("node_run.zig").NodeRun;
const value = @import("value.zig");
const cache_file = @import("cache_file.zig");

pub const Buffer = value.Buffer;

/// A device's memory, in bytes.
pub const MemoryInfo = struct {
    /// What this library holds there. Host memory is one pool for every model: the CPU reports
    /// the library's live allocations (tsr_stats_get's live bytes).
    used: u64,
    /// Its size: for the CPU, the system's memory.
    total: u64,
};

/// What a device with memory of its own does with it. Every call comes from the thread running
/// the request.
pub const Buffers = struct {
    /// `bytes` of the device's memory; OutOfResource when it has no room left.
    alloc: *const fn (context: *anyopaque, bytes: usize) status.Error!Buffer,
    /// The caller has waited for the work that used it.
    free: *const fn (context: *anyopaque, buffer: Buffer) void,
    /// Copies `host` (buffer.bytes long) into the buffer, before any node submitted after this
    /// call reads it; `host` may change once this returns.
    upload: *const fn (context: *anyopaque, buffer: Buffer, host: []const u8) status.Error!void,
    /// Copies the buffer into `out` (buffer.bytes long); the caller has waited for the work that
    /// writes it.
    download: *const fn (context: *anyopaque, buffer: Buffer, out: []u8) status.Error!void,
};

pub const Backend = struct {
    /// The device kind, as the `devices` load option names it ("cpu").
    name: []const u8,
    /// What `open_fn` is handed: null for the built-in backends, the loaded library for a
    /// backend extension.
    context: ?*anyopaque = null,
    open_fn: *const fn (context: ?*anyopaque, options: *const options_module.Options) status.Error!Instance,

    /// Opens the device for one model.
    pub fn open(self: Backend, options: *const options_module.Options) status.Error!Instance {
        return self.open_fn(self.context, options);
    }
};

/// Where a node compiled at load sits: the graph that holds it (its constant inputs are that
/// graph's constants, or its ancestors') and the pool its value types' dims come from (the shapes
/// inference settled on). A device reads them to build data the compiled node keeps, such as
/// weights packed from constants.
pub const Origin = struct {
    graph: *const ir.Graph,
    dims: *const symbolic.Pool,
};

/// Where a device's compiled data (weights packed from constants) came from at load, in bytes.
pub const ReuseStats = struct {
    /// Made by this load.
    packed_bytes: u64 = 0,
    /// Mapped from the compiled-model cache.
    cached_bytes: u64 = 0,
    /// Shared with the model a hot update replaced.
    shared_bytes: u64 = 0,
    /// Time this load spent making `packed_bytes`.
    pack_ns: u64 = 0,
};

/// Optional, for a device that compiles costly data from a model's constants: it can take that
/// data from a compiled-model cache entry (exec/model_cache.zig) or from the same device in the
/// model a hot update replaces, and write it for the cache.
pub const Reuse = struct {
    /// Writes what the compiled data depends on besides the model and its options (the kernel
    /// variant and blocking): part of the cache key.
    identity: *const fn (context: *anyopaque, out: *std.Io.Writer) error{WriteFailed}!void,
    /// Before the first compile: the entry to read the device's sections from (those tagged
    /// `device`, its index in the model's list), and the device's context in the replaced model.
    /// Both are read only until `end`.
    begin: *const fn (context: *anyopaque, entry: ?*cache_file.Entry, device: u32, donor: ?*anyopaque) void,
    /// After the last compile. Returns whether the entry given to begin, if any, lacked
    /// anything this compile made (then a new entry is worth writing).
    end: *const fn (context: *anyopaque) bool,
    /// The sections of a new entry for this device, appended to `out`; they stay valid while
    /// the model does.
    persist: *const fn (context: *anyopaque, out: *std.ArrayList(cache_file.Outgoing)) status.Error!void,
    stats: *const fn (context: *anyopaque) ReuseStats,
};

pub const Instance = struct {
    context: *anyopaque,
    vtable: *const VTable,

    pub const VTable = struct {
        /// The device's name in model.operations ("cpu:0").
        device: [:0]const u8,
        /// The device in profile events (src_device, dst_device): its index in tsr_device_get's
        /// list, where the CPU is 0.
        event_device: i16,
        /// null: nodes compute in host memory, on the executor's host tensors. Otherwise the
        /// device's own memory: `run` gets inputs in its buffers (value.Tensor.buffer) and returns
        /// each output in a new buffer from `alloc`, which the executor frees when the graph's run
        /// is over (an output that is one of the node's input buffers is freed once).
        buffers: ?*const Buffers,
        /// null: `run` finishes the node before it returns. Otherwise `run` may only submit it,
        /// and this returns once everything submitted is done.
        wait: ?*const fn (context: *anyopaque) status.Error!void,
        memory: *const fn (context: *anyopaque) MemoryInfo,
        /// null when the device runs `node`; otherwise why not, in words.
        supports: *const fn (context: *anyopaque, node: *const ir.Node, origin: Origin) ?[]const u8,
        /// Prepares `node` to run; the result lives as long as the model. `origin` is null for a
        /// node compiled as it runs (built after load): the device keeps nothing for it.
        compile: *const fn (context: *anyopaque, node: *const ir.Node, origin: ?Origin) status.Error!*const anyopaque,
        /// Runs one compiled node.
        run: *const fn (context: *anyopaque, compiled: *const anyopaque, node_run: *const NodeRun) status.Error!void,
        /// Called on the requesting thread before a run; returns what leaveRun restores.
        enter_run: *const fn (context: *anyopaque) u64,
        leave_run: *const fn (context: *anyopaque, saved: u64) void,
        destroy: *const fn (context: *anyopaque) void,
        reuse: ?*const Reuse = null,
    };

    /// Whether nodes on this device compute in host memory: no copies to or from it.
    pub fn hostMemory(self: Instance) bool {
        return self.vtable.buffers == null;
    }

    pub fn memory(self: Instance) MemoryInfo {
        return self.vtable.memory(self.context);
    }

    /// Blocks until the device has done everything submitted to it.
    pub fn wait(self: Instance) status.Error!void {
        if (self.vtable.wait) |wait_fn| try wait_fn(self.context);
    }

    /// `bytes` of the device's own memory; only for a device with buffers.
    pub fn alloc(self: Instance, bytes: usize) status.Error!Buffer {
        return self.vtable.buffers.?.alloc(self.context, bytes);
    }

    pub fn free(self: Instance, buffer: Buffer) void {
        self.vtable.buffers.?.free(self.context, buffer);
    }

    pub fn upload(self: Instance, buffer: Buffer, host: []const u8) status.Error!void {
        return self.vtable.buffers.?.upload(self.context, buffer, host);
    }

    pub fn download(self: Instance, buffer: Buffer, out: []u8) status.Error!void {
        return self.vtable.buffers.?.download(self.context, buffer, out);
    }

    pub fn supports(self: Instance, node: *const ir.Node, origin: Origin) ?[]const u8 {
        return self.vtable.supports(self.context, node, origin);
    }

    pub fn compile(self: Instance, node: *const ir.Node, origin: ?Origin) status.Error!*const anyopaque {
        return self.vtable.compile(self.context, node, origin);
    }

    /// Runs `node_run.node` with the node's compiled form, compiling it first when it has none
    /// (a node built after load).
    pub fn run(self: Instance, node_run: *const NodeRun) status.Error!void {
        const compiled = node_run.node.kernel orelse try self.compile(node_run.node, null);
        return self.vtable.run(self.context, compiled, node_run);
    }

    pub fn enterRun(self: Instance) u64 {
        return self.vtable.enter_run(self.context);
    }

    pub fn leaveRun(self: Instance, saved: u64) void {
        self.vtable.leave_run(self.context, saved);
    }

    pub fn destroy(self: Instance) void {
        self.vtable.destroy(self.context);
    }
};
