//! A second backend, for tests only: it runs float32 Add (same shapes) and Relu its own way, with
//! plain loops, as device "test:0", and refuses everything else. It sits behind the same contract
//! as the CPU (exec/backend.zig), and nothing in exec/ knows it exists: partition_test.zig mixes
//! it with the CPU in one model.
const std = @import("std");
const status = @import("../../core/status.zig");
const memory = @import("../../core/memory.zig");
const ir = @import("../../model/ir.zig");
const options_module = @import("../../model/options.zig");
const backend = @import("../../exec/backend.zig");
const node_run = @import("../../exec/node_run.zig");
const value = @import("../../exec/value.zig");

pub const add_relu: backend.Backend = .{ .name = "test", .open = open };

const vtable: backend.Instance.VTable = .{
    .device = "test:0",
    .supports = supports,
    .compile = compile,
    .run = run,
    .enter_run = enterRun,
    .leave_run = leaveRun,
    .destroy = destroy,
};

/// What the instance counts, so that a test can see the work came here.
pub const Counters = struct { opened: usize = 0, nodes_run: usize = 0 };

const Op = enum { add, relu };
const compiled_add: Op = .add;
const compiled_relu: Op = .relu;

fn open(_: *const options_module.Options) status.Error!backend.Instance {
    const counters = memory.allocator.create(Counters) catch return status.fail(error.OutOfResource, "out of memory", .{});
    counters.* = .{ .opened = 1 };
    return .{ .context = counters, .vtable = &vtable };
}

fn destroy(context: *anyopaque) void {
    const counters: *Counters = @ptrCast(@alignCast(context));
    memory.allocator.destroy(counters);
}

pub fn countersOf(instance: backend.Instance) *Counters {
    return @ptrCast(@alignCast(instance.context));
}

fn opOf(node: *const ir.Node) ?Op {
    if (node.domain.len != 0) return null;
    if (std.mem.eql(u8, node.op_type, "Add")) return .add;
    if (std.mem.eql(u8, node.op_type, "Relu")) return .relu;
    return null;
}

fn supports(_: *anyopaque, node: *const ir.Node) ?[]const u8 {
    return if (opOf(node) == null) "the test device runs only Add and Relu" else null;
}

fn compile(_: *anyopaque, node: *const ir.Node, _: ?backend.Origin) status.Error!*const anyopaque {
    return switch (opOf(node) orelse return status.fail(error.NotImplemented, "the test device cannot run {s}", .{node.op_type})) {
        .add => &compiled_add,
        .relu => &compiled_relu,
    };
}

fn run(context: *anyopaque, compiled: *const anyopaque, r: *const node_run.NodeRun) status.Error!void {
    const counters: *Counters = @ptrCast(@alignCast(context));
    counters.nodes_run += 1;
    const op: *const Op = @ptrCast(@alignCast(compiled));
    const a = r.inputs[0] orelse return status.fail(error.InvalidArgument, "input 0 is missing", .{});
    if (a.dtype != .float32) return status.fail(error.NotImplemented, "the test device runs float32 only", .{});
    const out = r.arena.create(value.Tensor) catch return status.fail(error.OutOfResource, "out of memory", .{});
    // From the memory plan, as the CPU's outputs are, so planned runs work across devices.
    const data = try node_run.outputMemory(r.arena, r.planning, r.node, r.node_id, 0, a.data.len);
    out.* = .{ .dtype = .float32, .shape = a.shape, .data = data };
    const y = out.items(f32);
    const x = a.items(f32);
    switch (op.*) {
        .relu => for (y, x) |*o, v| {
            o.* = @max(v, 0);
        },
        .add => {
            const b = r.inputs[1] orelse return status.fail(error.InvalidArgument, "input 1 is missing", .{});
            if (b.dtype != .float32 or !std.mem.eql(i64, b.shape, a.shape)) return status.fail(error.NotImplemented, "the test device adds same-shape float32 tensors only", .{});
            for (y, x, b.items(f32)) |*o, u, v| o.* = u + v;
        },
    }
    r.outputs[0] = out;
}

fn enterRun(_: *anyopaque) u64 {
    return 0;
}

fn leaveRun(_: *anyopaque, _: u64) void {}
