//! Shape rules for the recurrent operators RNN, GRU and LSTM. Inputs are X, W, R, B,
//! sequence_lens, initial_h (and initial_c, P for LSTM); outputs Y [seq, dirs, batch, hidden],
//! Y_h [dirs, batch, hidden] (and Y_c), or their batch-first forms when layout = 1 (opset 14+).
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");
const dims = @import("linalg_dims.zig");

const Context = context.Context;
const Dim = ir.Dim;

/// What distinguishes the three operators: gates per direction and whether there is a cell state.
const Kind = struct { gates: i64, lstm: bool };

/// The sizes every input and output is checked against.
const Sizes = struct {
    seq: Dim,
    batch: Dim,
    input: Dim,
    hidden: Dim,
    directions: Dim,
    batch_first: bool,
};

fn rnn(ctx: *Context) status.Error!void {
    try recurrent(ctx, .{ .gates = 1, .lstm = false });
}

fn gru(ctx: *Context) status.Error!void {
    try recurrent(ctx, .{ .gates = 3, .lstm = false });
}

fn lstm(ctx: *Context) status.Error!void {
    try recurrent(ctx, .{ .gates = 4, .lstm = true });
}

fn recurrent(ctx: *Context, kind: Kind) status.Error!void {
    for (0..3) |i| _ = try ctx.require(i);
    const state_inputs: []const usize = if (kind.lstm) &.{ 0, 1, 2, 3, 5, 6, 7 } else &.{ 0, 1, 2, 3, 5 };
    const dtype = try dims.sameDType(ctx, state_inputs);
    try dims.expectDType(ctx, 4, &.{.int32}, "sequence_lens");
    var sizes = try initialSizes(ctx, kind);
    try checkWeights(ctx, kind, &sizes);
    try checkStates(ctx, kind, &sizes);
    const y = if (sizes.batch_first)
        try dims.shapeOf(ctx, .{ sizes.batch, sizes.seq, sizes.directions, sizes.hidden })
    else
        try dims.shapeOf(ctx, .{ sizes.seq, sizes.directions, sizes.batch, sizes.hidden });
    const state = try stateShape(ctx, sizes);
    try ctx.setOutput(0, dtype, y);
    try ctx.setOutput(1, dtype, state);
    if (kind.lstm) try ctx.setOutput(2, dtype, state);
}

/// Sizes from the attributes and X; what X does not tell is a fresh symbol until refined.
fn initialSizes(ctx: *Context, kind: Kind) status.Error!Sizes {
    const direction = ctx.attrString("direction", "forward");
    const one_way = std.mem.eql(u8, direction, "forward") or std.mem.eql(u8, direction, "reverse");
    const count: i64 = if (one_way) 1 else if (std.mem.eql(u8, direction, "bidirectional")) 2 else {
        return ctx.fail("unknown direction '{s}'", .{direction});
    };
    const layout = if (ctx.node.opset >= 14) ctx.attrInt("layout", 0) else 0;
    if (layout != 0 and layout != 1) return ctx.fail("layout must be 0 or 1, not {d}", .{layout});
    const batch_first = layout == 1;
    const x = try dims.shapeOfRank(ctx, 0, 3, "X");
    return .{
        .seq = if (x) |s| s[@intFromBool(batch_first)] else try ctx.freshDim("seq_length"),
        .batch = if (x) |s| s[@intFromBool(!batch_first)] else try ctx.freshDim("batch_size"),
        .input = if (x) |s| s[2] else try ctx.freshDim("input_size"),
        .hidden = try hiddenSize(ctx, kind),
        .directions = try ctx.dim(count),
        .batch_first = batch_first,
    };
}

/// hidden_size from its attribute, else from R [dirs, gates*hidden, hidden], else from W.
fn hiddenSize(ctx: *Context, kind: Kind) status.Error!Dim {
    if (ctx.attribute("hidden_size") != null) {
        const h = ctx.attrInt("hidden_size", 0);
        if (h <= 0) return ctx.fail("hidden_size must be positive, not {d}", .{h});
        return ctx.dim(h);
    }
    if (ctx.shape(2)) |r| if (r.len == 3) return r[2];
    if (ctx.shape(1)) |w| if (w.len == 3) return dims.divExact(ctx, w[1], kind.gates, "W's gate rows");
    return ctx.freshDim("hidden_size");
}

/// W [dirs, gates*hidden, input], R [dirs, gates*hidden, hidden], B [dirs, 2*gates*hidden],
/// P [dirs, 3*hidden] (LSTM peepholes).
fn checkWeights(ctx: *Context, kind: Kind, sizes: *Sizes) status.Error!void {
    const rows = try dims.times(ctx, sizes.hidden, kind.gates);
    if (try dims.shapeOfRank(ctx, 1, 3, "W")) |w| {
        sizes.directions = try dims.unify(ctx, sizes.directions, w[0], "W's directions");
        _ = try dims.unify(ctx, w[1], rows, "W's rows (gates * hidden_size)");
        sizes.input = try dims.unify(ctx, sizes.input, w[2], "W's columns and input_size");
    }
    if (try dims.shapeOfRank(ctx, 2, 3, "R")) |r| {
        sizes.directions = try dims.unify(ctx, sizes.directions, r[0], "R's directions");
        _ = try dims.unify(ctx, r[1], rows, "R's rows (gates * hidden_size)");
        sizes.hidden = try dims.unify(ctx, sizes.hidden, r[2], "R's columns and hidden_size");
    }
    if (ctx.hasInput(3)) if (try dims.shapeOfRank(ctx, 3, 2, "B")) |b| {
        sizes.directions = try dims.unify(ctx, sizes.directions, b[0], "B's directions");
        _ = try dims.unify(ctx, b[1], try dims.times(ctx, rows, 2), "B's length (2 * gates * hidden_size)");
    };
    if (kind.lstm and ctx.hasInput(7)) if (try dims.shapeOfRank(ctx, 7, 2, "P")) |p| {
        sizes.directions = try dims.unify(ctx, sizes.directions, p[0], "P's directions");
        _ = try dims.unify(ctx, p[1], try dims.times(ctx, sizes.hidden, 3), "P's length (3 * hidden_size)");
    };
}

/// sequence_lens [batch]; initial_h and initial_c have the shape of Y_h.
fn checkStates(ctx: *Context, kind: Kind, sizes: *Sizes) status.Error!void {
    if (ctx.hasInput(4)) if (try dims.shapeOfRank(ctx, 4, 1, "sequence_lens")) |s| {
        sizes.batch = try dims.unify(ctx, sizes.batch, s[0], "sequence_lens and the batch size");
    };
    const states: []const usize = if (kind.lstm) &.{ 5, 6 } else &.{5};
    for (states) |i| {
        if (!ctx.hasInput(i)) continue;
        const s = try dims.shapeOfRank(ctx, i, 3, "an initial state") orelse continue;
        const d = @intFromBool(sizes.batch_first);
        sizes.directions = try dims.unify(ctx, sizes.directions, s[d], "initial state directions");
        sizes.batch = try dims.unify(ctx, sizes.batch, s[1 - d], "initial state batch size");
        sizes.hidden = try dims.unify(ctx, sizes.hidden, s[2], "initial state hidden size");
    }
}

fn stateShape(ctx: *Context, sizes: Sizes) status.Error![]const Dim {
    return if (sizes.batch_first)
        dims.shapeOf(ctx, .{ sizes.batch, sizes.directions, sizes.hidden })
    else
        dims.shapeOf(ctx, .{ sizes.directions, sizes.batch, sizes.hidden });
}

pub const rules = [_]registry.Entry{
    .{ .op = "RNN", .rule = rnn },
    .{ .op = "GRU", .rule = gru },
    .{ .op = "LSTM", .rule = lstm },
};
