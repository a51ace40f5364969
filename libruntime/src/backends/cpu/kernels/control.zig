//! CPU kernels for control flow: If and Loop here, Scan in control_scan.zig. Bodies run through
//! ctx.runSubgraph, which gives back the body's output tensors; carried values pass from one
//! iteration to the next as those pointers, so nothing is copied but the stacked scan outputs.
//! Sequence and optional values pass through bodies as pointers too; their own ops, SequenceMap
//! included, are in sequence.zig.
const std = @import("std");
const status = @import("../../../core/status.zig");
const ir = @import("../../../model/ir.zig");
const kernel = @import("../kernel.zig");
const Entry = @import("entry.zig").Entry;
const scan = @import("control_scan.zig");
const util = @import("control_util.zig");

const Context = kernel.Context;
const Tensor = kernel.Tensor;

fn ifKernel(ctx: *Context) status.Error!void {
    const cond = try util.readBool(ctx, try ctx.require(0), "cond");
    const branch = try if (cond) util.graphAttribute(ctx, "then_branch") else util.graphAttribute(ctx, "else_branch");
    if (branch.inputs.len != 0) {
        return ctx.fail("a branch takes no inputs, but this one takes {d}", .{branch.inputs.len});
    }
    if (branch.outputs.len != ctx.outputs.len) {
        return ctx.fail("has {d} outputs, but the branch taken gives {d}", .{ ctx.outputs.len, branch.outputs.len });
    }
    const results = try ctx.runSubgraph(branch, &.{});
    // The branch's results are the node's: kernels never write their inputs, so no copy is needed.
    for (ctx.outputs, results) |*slot, t| slot.* = t;
}

/// A body that runs no node cannot stop a loop without a trip count by computing: after this many
/// iterations its (cycling) condition is taken never to turn false, instead of hanging the run.
const max_trips_without_nodes = 1 << 16;

fn loopKernel(ctx: *Context) status.Error!void {
    const body = try util.graphAttribute(ctx, "body");
    if (ctx.inputCount() < 2) return ctx.fail("needs the inputs M and cond (either may be empty)", .{});
    const n = ctx.inputCount() - 2;
    if (body.inputs.len != n + 2) return ctx.fail("body takes {d} inputs, not {d}", .{ body.inputs.len, n + 2 });
    if (body.outputs.len < n + 1) {
        return ctx.fail("body gives {d} outputs, fewer than {d}", .{ body.outputs.len, n + 1 });
    }
    const k = body.outputs.len - n - 1;
    if (ctx.outputs.len > n + k) {
        return ctx.fail("has {d} outputs, but the body gives {d}", .{ ctx.outputs.len, n + k });
    }

    // A negative M runs no iteration.
    const trips: ?u64 = if (ctx.input(0)) |m| @intCast(@max(0, try util.readInt(ctx, m, "M"))) else null;
    var cond = if (ctx.input(1)) |c| try util.readBool(ctx, c, "cond") else true;
    const inputs = try ctx.alloc(*const Tensor, n + 2);
    for (0..n) |i| inputs[2 + i] = try ctx.require(2 + i);
    const counter_shape = util.counterShape(body, 0);
    const cond_shape = util.counterShape(body, 1);
    const scans = try ctx.alloc(std.ArrayList(*const Tensor), k);
    @memset(scans, .empty);

    var i: u64 = 0;
    while (cond and (trips == null or i < trips.?)) : (i += 1) {
        if (trips == null and body.nodes.items.len == 0 and i >= max_trips_without_nodes) {
            return ctx.fail("never ends: its body computes nothing and there is no trip count", .{});
        }
        // Fresh tensors each time: the body may keep them (as a scan output, say).
        inputs[0] = try util.scalarInt(ctx, @intCast(i), counter_shape);
        inputs[1] = try util.scalarBool(ctx, cond, cond_shape);
        const results = try ctx.runSubgraph(body, inputs);
        cond = try util.readBool(ctx, results[0], "the body's cond output");
        for (inputs[2..], results[1..][0..n]) |*slot, t| slot.* = t;
        for (scans, results[1 + n ..]) |*list, t| {
            list.append(ctx.arena, t) catch return status.fail(error.OutOfResource, "out of memory", .{});
        }
    }
    for (ctx.outputs, 0..) |*slot, j| {
        if (!ctx.wantsOutput(j)) continue;
        slot.* = if (j < n) @constCast(inputs[2 + j]) else try stack(ctx, body, 1 + j, scans[j - n].items);
    }
}

/// One scan output of Loop: the iterations' tensors stacked along a new first axis.
fn stack(ctx: *Context, body: *ir.Graph, output: usize, parts: []const *const Tensor) status.Error!*Tensor {
    if (parts.len == 0) return util.emptyResult(ctx, body, output, &.{0});
    const first = parts[0];
    const size = try util.checkStorage(ctx, first, "a scan output");
    const shape = try util.insertDim(ctx, first.shape, 0, @intCast(parts.len));
    const out = try util.newTensor(ctx, first.dtype, shape);
    for (parts, 0..) |part, p| {
        _ = try util.checkStorage(ctx, part, "a scan output");
        if (part.dtype != first.dtype or !std.mem.eql(i64, part.shape, first.shape)) {
            return ctx.fail("body output {d} changes its type or shape from iteration 0 to {d}", .{ output, p });
        }
        try util.copyAll(ctx, out, p * size, part, size);
    }
    return out;
}

pub const kernels = [_]Entry{
    .{ .op = "If", .run = ifKernel },
    .{ .op = "Loop", .run = loopKernel },
} ++ scan.kernels;
