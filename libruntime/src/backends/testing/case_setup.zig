//! One op case (op_cases.zig) made ready to run: a one-node graph whose types shape inference has
//! filled in, the bytes of every input (seeded random values, the same on every run), and the
//! output types inference promises, which the CPU's results must have.
const std = @import("std");
const ir = @import("../../model/ir.zig");
const Harness = @import("../../model/infer/testing.zig").Harness;
const DType = @import("../../tensor/dtype.zig").DType;
const op_cases = @import("op_cases.zig");

const Case = op_cases.Case;
const Input = op_cases.Input;

/// An output's type as shape inference gives it; null dims: not all of them are known numbers.
pub const Expected = struct { dtype: ?DType, shape: ?[]const i64 };

/// An input as every run gets it (in fresh memory of its own).
pub const InputData = struct { dtype: DType, shape: []const i64, bytes: []const u8 };

pub const Setup = struct {
    node: *ir.Node,
    /// Null for an absent optional input.
    inputs: []const ?InputData,
    expected: []const Expected,
};

/// Builds the case's graph in `h` (inputs, the node, its outputs as graph outputs), runs shape
/// inference, and draws the inputs from a generator seeded with `seed`.
pub fn build(h: *Harness, case: Case, seed: u64) !Setup {
    const a = h.arena();
    var rng = std.Random.DefaultPrng.init(seed);
    const ids = try a.alloc(?ir.ValueId, case.inputs.len);
    const data = try a.alloc(?InputData, case.inputs.len);
    var graph_inputs: std.ArrayList(ir.ValueId) = .empty;
    for (case.inputs, ids, data) |input, *id, *slot| {
        if (input.absent) {
            id.* = null;
            slot.* = null;
            continue;
        }
        if (input.isConstant()) {
            id.* = if (input.ints) |v| try h.constant(i64, v) else try h.constant(f32, input.floats.?);
            slot.* = .{ .dtype = input.dtype, .shape = input.shape, .bytes = h.graph.value(id.*.?).constant.?.bytes };
            continue;
        }
        const dims = try a.alloc([]const u8, input.shape.len);
        for (dims, input.shape) |*text, n| text.* = try std.fmt.allocPrint(a, "{d}", .{n});
        id.* = try h.tensor(input.dtype, dims);
        h.graph.value(id.*.?).role = .input;
        try graph_inputs.append(a, id.*.?);
        slot.* = .{ .dtype = input.dtype, .shape = input.shape, .bytes = try randomBytes(a, input, rng.random()) };
    }
    const outputs = try h.node(&h.graph, case.op, case.opset, ids, case.outputs, case.attributes, &.{});
    h.graph.inputs = graph_inputs.items;
    const output_ids = try a.alloc(ir.ValueId, outputs.len);
    for (outputs, output_ids) |o, *id| id.* = o.?;
    h.graph.outputs = output_ids;
    try h.infer();
    return .{ .node = &h.graph.nodes.items[0], .inputs = data, .expected = try expectedTypes(h, output_ids) };
}

fn expectedTypes(h: *Harness, outputs: []const ir.ValueId) ![]const Expected {
    const expected = try h.arena().alloc(Expected, outputs.len);
    for (outputs, expected) |id, *e| {
        const t = h.graph.value(id).type;
        e.* = .{ .dtype = t.dtype, .shape = null };
        const dims = t.shape orelse continue;
        const shape = try h.arena().alloc(i64, dims.len);
        const known = for (dims, shape) |d, *n| {
            n.* = h.pool.value(d) orelse break false;
        } else true;
        if (known) e.shape = shape;
    }
    return expected;
}

/// The input's element count of random values, as bytes.
fn randomBytes(arena: std.mem.Allocator, input: Input, rng: std.Random) ![]const u8 {
    var count: usize = 1;
    for (input.shape) |n| count *= @intCast(n);
    return switch (input.dtype) {
        .float32 => randomValues(f32, arena, count, input, rng),
        .float64 => randomValues(f64, arena, count, input, rng),
        .int32 => randomValues(i32, arena, count, input, rng),
        .int64 => randomValues(i64, arena, count, input, rng),
        .bool => randomValues(bool, arena, count, input, rng),
        else => std.debug.panic("op case input of {s}: the harness draws no such values", .{@tagName(input.dtype)}),
    };
}

fn randomValues(comptime T: type, arena: std.mem.Allocator, count: usize, input: Input, rng: std.Random) ![]const u8 {
    const out = try arena.alloc(T, count);
    for (out) |*v| v.* = switch (@typeInfo(T)) {
        .float => @floatCast(input.low + (input.high - input.low) * rng.float(f64)),
        .int => rng.intRangeAtMost(T, @intFromFloat(input.low), @intFromFloat(input.high)),
        .bool => rng.boolean(),
        else => comptime unreachable,
    };
    return std.mem.sliceAsBytes(out);
}
