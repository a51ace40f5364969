//! Scan: opset 8 (a leading batch axis on every input and output, optional sequence_lens, one
//! `directions` flag per scan input) and opset 9+ (scan axes and directions per scan input and
//! output). Each iteration's slices are zero-copy views of contiguous memory: a scan input whose
//! axis is not the first is moved first once, up front. Scan outputs are written into the stacked
//! result as soon as the body gives them, at their final position.
const std = @import("std");
const status = @import("../../../core/status.zig");
const ir = @import("../../../model/ir.zig");
const kernel = @import("../kernel.zig");
const Entry = @import("entry.zig").Entry;
const util = @import("control_util.zig");

const Context = kernel.Context;
const Tensor = kernel.Tensor;

/// How a Scan node's values split: N states, M scan inputs, K scan outputs; `first` is the index of
/// the first state input (1 in opset 8, after sequence_lens).
const Counts = struct { first: usize, n: usize, m: usize, k: usize };

fn counts(ctx: *Context, body: *ir.Graph, first: usize) status.Error!Counts {
    if (!ctx.node.has("num_scan_inputs")) return ctx.fail("needs the attribute num_scan_inputs", .{});
    const m_attr = ctx.node.attrInt("num_scan_inputs", 0);
    const available = ctx.inputCount() -| first;
    if (m_attr < 1 or m_attr > available) {
        return ctx.fail("num_scan_inputs is {d}, but there are {d} state and scan inputs", .{ m_attr, available });
    }
    const m: usize = @intCast(m_attr);
    const n = available - m;
    if (body.inputs.len != n + m) return ctx.fail("body takes {d} inputs, not {d}", .{ body.inputs.len, n + m });
    if (body.outputs.len < n) {
        return ctx.fail("body gives {d} outputs, fewer than {d} states", .{ body.outputs.len, n });
    }
    const k = body.outputs.len - n;
    if (ctx.outputs.len > n + k) {
        return ctx.fail("has {d} outputs, but the body gives {d}", .{ ctx.outputs.len, n + k });
    }
    return .{ .first = first, .n = n, .m = m, .k = k };
}

/// A list attribute with one entry per scan input or output (zeros when absent); `flags` limits
/// the entries to 0 and 1 (directions).
fn listAttribute(ctx: *Context, comptime name: []const u8, count: usize, flags: bool) status.Error![]const i64 {
    const list = ctx.node.attrInts(name) orelse {
        const zeros = try ctx.alloc(i64, count);
        @memset(zeros, 0);
        return zeros;
    };
    if (list.len != count) return ctx.fail("{s} has {d} entries, not {d}", .{ name, list.len, count });
    if (flags) for (list) |f| if (f != 0 and f != 1) {
        return ctx.fail("{s} holds {d}; only 0 and 1 are allowed", .{ name, f });
    };
    return list;
}

fn without(ctx: *Context, shape: []const i64, axis: usize) status.Error![]i64 {
    const out = try ctx.alloc(i64, shape.len - 1);
    @memcpy(out[0..axis], shape[0..axis]);
    @memcpy(out[axis..], shape[axis + 1 ..]);
    return out;
}

fn agree(ctx: *Context, current: *?i64, d: i64, what: []const u8) status.Error!void {
    if (current.*) |c| if (c != d) return ctx.fail("scan inputs disagree on the {s}: {d} and {d}", .{ what, c, d });
    current.* = d;
}

/// Writes `part` as row `row` of the stacked tensor in `slot` (lead ++ part's shape), making that
/// tensor from the first part it sees (zero-filled, so rows no iteration reaches stay 0).
fn placeRow(ctx: *Context, slot: *?*Tensor, part: *const Tensor, lead: []const i64, row: usize) status.Error!void {
    const count = try util.checkStorage(ctx, part, "a body output");
    if (slot.* == null) {
        const shape = try ctx.alloc(i64, lead.len + part.shape.len);
        @memcpy(shape[0..lead.len], lead);
        @memcpy(shape[lead.len..], part.shape);
        slot.* = try util.newTensor(ctx, part.dtype, shape);
    }
    const out = slot.*.?;
    if (out.dtype != part.dtype or !std.mem.eql(i64, out.shape[lead.len..], part.shape)) {
        return ctx.fail("body output changes its type or shape from one iteration to the next", .{});
    }
    try util.copyAll(ctx, out, row * count, part, count);
}

// ---- opset 9+ --------------------------------------------------------------------------------

/// A scan input with its scan axis first: iteration i reads elements [i*count, (i+1)*count).
const Source = struct { tensor: *const Tensor, shape: []const i64, count: usize, length: usize };

fn leadingAxis(ctx: *Context, t: *const Tensor, axis_attr: i64) status.Error!Source {
    _ = try util.checkStorage(ctx, t, "a scan input");
    if (t.rank() == 0) return ctx.fail("a scan input must have a scan axis, but one is a scalar", .{});
    const axis = try util.normalizeAxis(ctx, axis_attr, t.rank(), "scan_input_axes entry");
    const length: usize = @intCast(t.shape[axis]);
    const shape = try without(ctx, t.shape, axis);
    const count = try util.checkedCount(ctx, shape);
    if (axis == 0) return .{ .tensor = t, .shape = shape, .count = count, .length = length };
    const outer = try util.checkedCount(ctx, t.shape[0..axis]);
    const inner = try util.checkedCount(ctx, t.shape[axis + 1 ..]);
    const moved = try util.newTensor(ctx, t.dtype, try util.insertDim(ctx, shape, 0, t.shape[axis]));
    for (0..length) |i| try util.copyBlocks(ctx, moved, t, .{
        .blocks = outer,
        .len = inner,
        .src_start = i * inner,
        .src_stride = length * inner,
        .dst_start = i * count,
        .dst_stride = inner,
    });
    return .{ .tensor = moved, .shape = shape, .count = count, .length = length };
}

/// Writes one iteration's scan output at position `pos` of `length` along output axis `axis_attr`.
fn placeAlong(
    ctx: *Context,
    slot: *?*Tensor,
    part: *const Tensor,
    axis_attr: i64,
    length: usize,
    pos: usize,
) status.Error!void {
    _ = try util.checkStorage(ctx, part, "a body output");
    const axis = try util.normalizeAxis(ctx, axis_attr, part.rank() + 1, "scan_output_axes entry");
    if (slot.* == null) {
        slot.* = try util.newTensor(ctx, part.dtype, try util.insertDim(ctx, part.shape, axis, @intCast(length)));
    }
    const out = slot.*.?;
    const same = out.dtype == part.dtype and out.shape.len == part.shape.len + 1 and
        std.mem.eql(i64, out.shape[0..axis], part.shape[0..axis]) and
        std.mem.eql(i64, out.shape[axis + 1 ..], part.shape[axis..]);
    if (!same) return ctx.fail("body output changes its type or shape from one iteration to the next", .{});
    const outer = try util.checkedCount(ctx, part.shape[0..axis]);
    const inner = try util.checkedCount(ctx, part.shape[axis..]);
    try util.copyBlocks(ctx, out, part, .{
        .blocks = outer,
        .len = inner,
        .src_stride = inner,
        .dst_start = pos * inner,
        .dst_stride = length * inner,
    });
}

fn scan9(ctx: *Context, body: *ir.Graph) status.Error!void {
    const c = try counts(ctx, body, 0);
    const in_axes = try listAttribute(ctx, "scan_input_axes", c.m, false);
    const in_dirs = try listAttribute(ctx, "scan_input_directions", c.m, true);
    const out_axes = try listAttribute(ctx, "scan_output_axes", c.k, false);
    const out_dirs = try listAttribute(ctx, "scan_output_directions", c.k, true);
    const inputs = try ctx.alloc(*const Tensor, c.n + c.m);
    for (inputs[0..c.n], 0..) |*slot, i| slot.* = try ctx.require(i);
    const sources = try ctx.alloc(Source, c.m);
    var length: ?i64 = null;
    for (sources, 0..) |*s, j| {
        s.* = try leadingAxis(ctx, try ctx.require(c.n + j), in_axes[j]);
        try agree(ctx, &length, @intCast(s.length), "sequence length");
    }
    const steps: usize = @intCast(length.?);
    const stacked = try ctx.alloc(?*Tensor, c.k);
    @memset(stacked, null);
    for (0..steps) |t| {
        for (sources, in_dirs, inputs[c.n..]) |s, dir, *slot| {
            const at = if (dir == 1) steps - 1 - t else t;
            slot.* = try util.view(ctx, s.tensor, at * s.count, s.count, s.shape);
        }
        const results = try ctx.runSubgraph(body, inputs);
        for (inputs[0..c.n], results[0..c.n]) |*slot, r| slot.* = r;
        for (0..c.k) |j| {
            if (!ctx.wantsOutput(c.n + j)) continue;
            const pos = if (out_dirs[j] == 1) steps - 1 - t else t;
            try placeAlong(ctx, &stacked[j], results[c.n + j], out_axes[j], steps, pos);
        }
    }
    for (ctx.outputs, 0..) |*slot, i| {
        if (!ctx.wantsOutput(i)) continue;
        slot.* = if (i < c.n)
            @constCast(inputs[i])
        else
            stacked[i - c.n] orelse try util.emptyResult(ctx, body, i, &.{0});
    }
}

// ---- opset 8 ---------------------------------------------------------------------------------

/// A batched input of Scan 8: row b (and, for scan inputs, step t) is a contiguous slice.
const Batched = struct { tensor: *const Tensor, shape: []const i64, count: usize };

fn batched(ctx: *Context, t: *const Tensor, lead: usize, batch: *?i64, seq: *?i64) status.Error!Batched {
    _ = try util.checkStorage(ctx, t, "a Scan input");
    if (t.rank() < lead) return ctx.fail("an input has rank {d}, below {d}", .{ t.rank(), lead });
    try agree(ctx, batch, t.shape[0], "batch size");
    if (lead == 2) try agree(ctx, seq, t.shape[1], "sequence length");
    const shape = t.shape[lead..];
    return .{ .tensor = t, .shape = shape, .count = try util.checkedCount(ctx, shape) };
}

/// Each batch's sequence length: sequence_lens when given (each in [0, seq]), else seq.
fn sequenceLengths(ctx: *Context, batch: usize, seq: i64) status.Error![]const i64 {
    const lens = try ctx.alloc(i64, batch);
    const given = ctx.input(0) orelse {
        @memset(lens, seq);
        return lens;
    };
    if (given.dtype != .int64) return ctx.fail("sequence_lens must be int64, not {s}", .{@tagName(given.dtype)});
    if (try util.checkStorage(ctx, given, "sequence_lens") != batch) {
        return ctx.fail("sequence_lens must hold one length per batch entry ({d})", .{batch});
    }
    for (lens, 0..) |*l, b| {
        l.* = std.mem.readInt(i64, given.data[b * 8 ..][0..8], .little);
        if (l.* < 0 or l.* > seq) return ctx.fail("sequence length {d} is outside [0, {d}]", .{ l.*, seq });
    }
    return lens;
}

fn scan8(ctx: *Context, body: *ir.Graph) status.Error!void {
    const c = try counts(ctx, body, 1);
    const dirs = try listAttribute(ctx, "directions", c.m, true);
    var batch: ?i64 = null;
    var seq: ?i64 = null;
    const inputs = try ctx.alloc(Batched, c.n + c.m);
    for (inputs, 0..) |*slot, i| slot.* = try batched(ctx, try ctx.require(1 + i), if (i < c.n) 1 else 2, &batch, &seq);
    const batch_size: usize = @intCast(batch.?);
    const lens = try sequenceLengths(ctx, batch_size, seq.?);
    const steps: usize = @intCast(seq.?);
    const feed = try ctx.alloc(*const Tensor, c.n + c.m);
    const stacked = try ctx.alloc(?*Tensor, c.n + c.k);
    @memset(stacked, null);
    for (lens, 0..) |len, b| {
        for (feed[0..c.n], inputs[0..c.n]) |*slot, s| {
            slot.* = try util.view(ctx, s.tensor, b * s.count, s.count, s.shape);
        }
        const n_steps: usize = @intCast(len);
        for (0..n_steps) |t| {
            for (feed[c.n..], inputs[c.n..], dirs) |*slot, s, dir| {
                const at = if (dir == 1) n_steps - 1 - t else t;
                slot.* = try util.view(ctx, s.tensor, (b * steps + at) * s.count, s.count, s.shape);
            }
            const results = try ctx.runSubgraph(body, feed);
            for (feed[0..c.n], results[0..c.n]) |*slot, r| slot.* = r;
            for (0..c.k) |j| {
                if (!ctx.wantsOutput(c.n + j)) continue;
                try placeRow(ctx, &stacked[c.n + j], results[c.n + j], &.{ batch.?, seq.? }, b * steps + t);
            }
        }
        for (0..c.n) |i| {
            if (ctx.wantsOutput(i)) try placeRow(ctx, &stacked[i], feed[i], &.{batch.?}, b);
        }
    }
    for (ctx.outputs, 0..) |*slot, i| {
        if (!ctx.wantsOutput(i)) continue;
        // With no batch entry, a state keeps its input (of batch size 0).
        slot.* = stacked[i] orelse if (i < c.n)
            @constCast(inputs[i].tensor)
        else
            try util.emptyResult(ctx, body, i, &.{ batch.?, seq.? });
    }
}

fn scanKernel(ctx: *Context) status.Error!void {
    const body = try util.graphAttribute(ctx, "body");
    return if (ctx.node.opset < 9) scan8(ctx, body) else scan9(ctx, body);
}

pub const kernels = [_]Entry{
    .{ .op = "Scan", .run = scanKernel },
};
