//! LinearAttention (opset 27): attention as a recurrence over a [d_k, d_v] state per key/value
//! head instead of a softmax over all keys. Each step decays the state (gated rules), corrects
//! the value by what the state already recalls for the key (delta rules), adds key ⊗ value, and
//! reads the output as scale * query · state. Inputs are packed [B, T, heads*size]; query heads
//! share their group's key/value state. Computes in f32 whatever the input type, as the
//! reference does.
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");
const attention = @import("linalg_attention.zig");

const Context = kernel.Context;
const Tensor = kernel.Tensor;

/// The sizes of one run and the per-step gates, resolved from the inputs.
const Plan = struct {
    batch: usize,
    steps: usize,
    q_heads: usize,
    kv_heads: usize,
    key_size: usize,
    value_size: usize,
    scale: f32,
    /// decay [B, T, Hkv] (one per head) or [B, T, Hkv*d_k] (one per key dim); null: no gating.
    decay: ?[]const f32 = null,
    decay_per_dim: bool = false,
    /// beta [B, T, Hkv] or [B, T, 1]; null: no delta correction.
    beta: ?[]const f32 = null,
    beta_per_head: bool = false,
};

const UpdateRule = struct { name: []const u8, gated: bool, delta: bool };
const update_rules = [_]UpdateRule{
    .{ .name = "linear", .gated = false, .delta = false },
    .{ .name = "gated", .gated = true, .delta = false },
    .{ .name = "delta", .gated = false, .delta = true },
    .{ .name = "gated_delta", .gated = true, .delta = true },
};

fn linearAttention(ctx: *Context) status.Error!void {
    var plan = try readPlan(ctx);
    try readGates(ctx, &plan);
    const query = try attention.readFloats(f32, ctx, ctx.inputs[0].?);
    const key = try attention.readFloats(f32, ctx, ctx.inputs[1].?);
    const value = try attention.readFloats(f32, ctx, ctx.inputs[2].?);
    const state_size = plan.key_size * plan.value_size;
    const states = try ctx.alloc(f32, plan.batch * plan.kv_heads * state_size);
    if (ctx.input(3)) |past| {
        const want = [_]usize{ plan.batch, plan.kv_heads, plan.key_size, plan.value_size };
        if (!sameShape(past.shape, &want)) {
            return ctx.fail("past_state must be [{d}, {d}, {d}, {d}]", .{ want[0], want[1], want[2], want[3] });
        }
        @memcpy(states, try attention.readFloats(f32, ctx, past));
    } else @memset(states, 0);
    const out = try ctx.alloc(f32, plan.batch * plan.steps * plan.q_heads * plan.value_size);
    const scratch = try ctx.alloc(f32, plan.value_size);
    for (0..plan.batch) |b| for (0..plan.kv_heads) |h| {
        const state = states[(b * plan.kv_heads + h) * state_size ..][0..state_size];
        for (0..plan.steps) |t| step(plan, .{ .b = b, .h = h, .t = t }, state, query, key, value, out, scratch);
    };
    const q_dtype = ctx.inputs[0].?.dtype;
    const state_dtype = if (ctx.input(3)) |past| past.dtype else q_dtype;
    const out_shape = [_]usize{ plan.batch, plan.steps, plan.q_heads * plan.value_size };
    try attention.writeOutput(f32, ctx, 0, q_dtype, &out_shape, out);
    const state_shape = [_]usize{ plan.batch, plan.kv_heads, plan.key_size, plan.value_size };
    try attention.writeOutput(f32, ctx, 1, state_dtype, &state_shape, states);
}

const Position = struct { b: usize, h: usize, t: usize };

/// One time step of one key/value head: update its state, then read every query head of its group.
fn step(p: Plan, at: Position, state: []f32, query: []const f32, key: []const f32, value: []const f32, out: []f32, v: []f32) void {
    const dk = p.key_size;
    const dv = p.value_size;
    const row = at.b * p.steps + at.t;
    const k = key[(row * p.kv_heads + at.h) * dk ..][0..dk];
    @memcpy(v, value[(row * p.kv_heads + at.h) * dv ..][0..dv]);
    if (p.decay) |decay| for (0..dk) |d| {
        const g = if (p.decay_per_dim) decay[(row * p.kv_heads + at.h) * dk + d] else decay[row * p.kv_heads + at.h];
        const factor = @exp(g);
        for (state[d * dv ..][0..dv]) |*s| s.* *= factor;
    };
    if (p.beta) |beta| {
        // v <- beta * (v - state^T k): only what the state does not already recall is written.
        const b = if (p.beta_per_head) beta[row * p.kv_heads + at.h] else beta[row];
        for (v, 0..) |*x, m| {
            var recalled: f32 = 0;
            for (0..dk) |d| recalled += state[d * dv + m] * k[d];
            x.* = b * (x.* - recalled);
        }
    }
    for (0..dk) |d| for (state[d * dv ..][0..dv], v) |*s, x| {
        s.* += k[d] * x;
    };
    const group = p.q_heads / p.kv_heads;
    for (at.h * group..(at.h + 1) * group) |qh| {
        const q = query[(row * p.q_heads + qh) * dk ..][0..dk];
        const o = out[(row * p.q_heads + qh) * dv ..][0..dv];
        @memset(o, 0);
        for (0..dk) |d| for (o, state[d * dv ..][0..dv]) |*y, s| {
            y.* += q[d] * s;
        };
        for (o) |*y| y.* *= p.scale;
    }
}

fn sameShape(shape: []const i64, want: []const usize) bool {
    if (shape.len != want.len) return false;
    for (shape, want) |s, w| if (s < 0 or @as(usize, @intCast(s)) != w) return false;
    return true;
}

fn dimAt(ctx: *Context, t: *const Tensor, axis: usize) status.Error!usize {
    const v = t.shape[axis];
    if (v < 0) return ctx.fail("negative dim {d}", .{v});
    return @intCast(v);
}

fn readPlan(ctx: *Context) status.Error!Plan {
    const q_heads = ctx.node.attrInt("q_num_heads", 0);
    const kv_heads = ctx.node.attrInt("kv_num_heads", 0);
    if (q_heads <= 0 or kv_heads <= 0 or @mod(q_heads, kv_heads) != 0) {
        return ctx.fail("q_num_heads ({d}) must be a positive multiple of kv_num_heads ({d})", .{ q_heads, kv_heads });
    }
    const hq: usize = @intCast(q_heads);
    const hkv: usize = @intCast(kv_heads);
    const q = try ctx.require(0);
    const k = try ctx.require(1);
    const v = try ctx.require(2);
    for ([_]*const Tensor{ q, k, v }) |t| if (t.shape.len != 3) {
        return ctx.fail("query, key and value must have rank 3, not {d}", .{t.shape.len});
    };
    const batch = try dimAt(ctx, q, 0);
    const steps = try dimAt(ctx, q, 1);
    for ([_]*const Tensor{ k, v }) |t| if (try dimAt(ctx, t, 0) != batch or try dimAt(ctx, t, 1) != steps) {
        return ctx.fail("query, key and value must share batch and sequence sizes", .{});
    };
    const q_hidden = try dimAt(ctx, q, 2);
    const k_hidden = try dimAt(ctx, k, 2);
    const v_hidden = try dimAt(ctx, v, 2);
    if (q_hidden % hq != 0 or k_hidden % hkv != 0 or v_hidden % hkv != 0) {
        return ctx.fail("the packed last dims {d}, {d}, {d} do not divide by the head counts", .{ q_hidden, k_hidden, v_hidden });
    }
    if (q_hidden / hq != k_hidden / hkv) return ctx.fail("query and key head sizes differ", .{});
    const key_size = q_hidden / hq;
    const scale_attr = ctx.node.attrFloat("scale", 0);
    const scale = if (scale_attr == 0) 1 / @sqrt(@as(f32, @floatFromInt(@max(key_size, 1)))) else scale_attr;
    return .{
        .batch = batch,
        .steps = steps,
        .q_heads = hq,
        .kv_heads = hkv,
        .key_size = key_size,
        .value_size = v_hidden / hkv,
        .scale = scale,
    };
}

/// decay (input 4) and beta (input 5), which the update rule requires or forbids.
fn readGates(ctx: *Context, plan: *Plan) status.Error!void {
    const name = ctx.node.attrString("update_rule", "gated_delta");
    const rule = for (update_rules) |r| {
        if (std.mem.eql(u8, r.name, name)) break r;
    } else return ctx.fail("unknown update_rule '{s}'", .{name});
    if (rule.gated != (ctx.input(4) != null)) return ctx.fail("update_rule '{s}' {s} decay", .{ name, needs(rule.gated) });
    if (rule.delta != (ctx.input(5) != null)) return ctx.fail("update_rule '{s}' {s} beta", .{ name, needs(rule.delta) });
    if (ctx.input(4)) |decay| {
        const last = try gateLastDim(ctx, plan.*, decay, "decay");
        plan.decay_per_dim = last != plan.kv_heads;
        if (plan.decay_per_dim and last != plan.kv_heads * plan.key_size) {
            return ctx.fail("decay's last dim {d} is neither kv_num_heads nor kv_num_heads * d_k", .{last});
        }
        plan.decay = try attention.readFloats(f32, ctx, decay);
    }
    if (ctx.input(5)) |beta| {
        const last = try gateLastDim(ctx, plan.*, beta, "beta");
        if (last != 1 and last != plan.kv_heads) return ctx.fail("beta's last dim {d} is neither 1 nor kv_num_heads", .{last});
        plan.beta_per_head = last == plan.kv_heads and plan.kv_heads != 1;
        plan.beta = try attention.readFloats(f32, ctx, beta);
    }
}

fn needs(required: bool) []const u8 {
    return if (required) "requires" else "forbids";
}

/// A gate is [B, T, n]: returns n.
fn gateLastDim(ctx: *Context, plan: Plan, gate: *const Tensor, what: []const u8) status.Error!usize {
    if (gate.shape.len != 3) return ctx.fail("{s} must have rank 3, not {d}", .{ what, gate.shape.len });
    if (try dimAt(ctx, gate, 0) != plan.batch or try dimAt(ctx, gate, 1) != plan.steps) {
        return ctx.fail("{s} must share the query's batch and sequence sizes", .{what});
    }
    return dimAt(ctx, gate, 2);
}

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .op = "LinearAttention", .run = linearAttention },
};
