//! The backend contract: all the executor and the requests know of a device. A backend is
//! split by lifetime, as ggml's ggml-backend-impl.h splits it:
//!   - Backend: the device kind, for the process (name, how to open it for a model);
//!   - Instance: the device opened for one model with its load options (the CPU's thread pool),
//!     which says which nodes it runs and compiles them, once, at load;
//!   - a compiled node: what `compile` returned, kept on the node (ir.Node.kernel) for the
//!     model's life;
//!   - a run (the stream): `enterRun`/`leaveRun` around a request's run on the calling thread,
//!     and `run` for each node, in order, with the executor's profile spans around it.
//! Values live in host memory (the executor's arena and the memory plan) for every backend
//! today; a device with memory of its own adds buffers and copies to this contract.
const std = @import("std");
const status = @import("../core/status.zig");
const ir = @import("../model/ir.zig");
const symbolic = @import("../model/symbolic.zig");
const options_module = @import("../model/options.zig");
const NodeRun = @import("node_run.zig").NodeRun;

pub const Backend = struct {
    /// The device kind, as the `devices` load option names it ("cpu").
    name: []const u8,
    /// Opens the device for one model.
    open: *const fn (options: *const options_module.Options) status.Error!Instance,
};

/// Where a node compiled at load sits: the graph that holds it (its constant inputs are that
/// graph's constants, or its ancestors') and the pool its value types' dims come from (the shapes
/// inference settled on). A device reads them to build data the compiled node keeps, such as
/// weights packed from constants.
pub const Origin = struct {
    graph: *const ir.Graph,
    dims: *const symbolic.Pool,
};

pub const Instance = struct {
    context: *anyopaque,
    vtable: *const VTable,

    pub const VTable = struct {
        /// The device's name in model.operations ("cpu:0").
        device: [:0]const u8,
        /// null when the device runs `node`; otherwise why not, in words.
        supports: *const fn (context: *anyopaque, node: *const ir.Node) ?[]const u8,
        /// Prepares `node` to run; the result lives as long as the model. `origin` is null for a
        /// node compiled as it runs (built after load): the device keeps nothing for it.
        compile: *const fn (context: *anyopaque, node: *const ir.Node, origin: ?Origin) status.Error!*const anyopaque,
        /// Runs one compiled node.
        run: *const fn (context: *anyopaque, compiled: *const anyopaque, node_run: *const NodeRun) status.Error!void,
        /// Called on the requesting thread before a run; returns what leaveRun restores.
        enter_run: *const fn (context: *anyopaque) u64,
        leave_run: *const fn (context: *anyopaque, saved: u64) void,
        destroy: *const fn (context: *anyopaque) void,
    };

    pub fn supports(self: Instance, node: *const ir.Node) ?[]const u8 {
        return self.vtable.supports(self.context, node);
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
