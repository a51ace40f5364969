//! For unit tests: one kernel run on a hand-built node, with no graph values and no subgraphs,
//! and the tensors and attributes such tests build.
const std = @import("std");
const status = @import("../../../core/status.zig");
const ir = @import("../../../model/ir.zig");
const kernel = @import("../kernel.zig");
const Entry = @import("entry.zig").Entry;
const ThreadPool = @import("../thread_pool.zig").ThreadPool;

pub const Tensor = kernel.Tensor;

pub const Run = struct {
    arena: std.mem.Allocator,
    table: []const Entry,
    attributes: []const ir.Attribute = &.{},
    opset: i64 = 28,
    domain: []const u8 = "",
    /// Outputs the node declares (up to 3); `call` returns the first.
    outputs: usize = 1,
    /// The kernel threads; null runs on the calling thread.
    pool: ?*ThreadPool = null,

    /// Output 0 of `op` (looked up in `table`) on `inputs`.
    pub fn call(self: Run, op: []const u8, inputs: []const ?*const Tensor) status.Error!*Tensor {
        return (try self.callAll(op, inputs))[0].?;
    }

    /// Every output of `op` on `inputs`; those past `outputs` are null.
    pub fn callAll(self: Run, op: []const u8, inputs: []const ?*const Tensor) status.Error![3]?*Tensor {
        const run = for (self.table) |e| {
            if (std.mem.eql(u8, e.op, op)) break e.run;
        } else unreachable;
        const graph = ir.Graph{ .name = "test" };
        const node = ir.Node{
            .name = "n",
            .op_type = op,
            .domain = self.domain,
            .opset = self.opset,
            .inputs = &.{},
            .outputs = (&[_]?ir.ValueId{ 0, 1, 2 })[0..self.outputs],
            .attributes = self.attributes,
        };
        var slots = [_]?*Tensor{ null, null, null };
        const outputs = slots[0..self.outputs];
        var ctx = kernel.Context{
            .arena = self.arena,
            .node = &node,
            .node_id = 0,
            .inputs = inputs,
            .outputs = outputs,
            .subgraphs = .{ .context = undefined, .run = noSubgraphs },
            .graph = &graph,
            .pool = self.pool,
        };
        try run(&ctx);
        return slots;
    }

    fn noSubgraphs(_: *anyopaque, _: *ir.Graph, _: []const *const Tensor) status.Error![]*Tensor {
        unreachable;
    }
};

pub const attribute = ir.Attribute.make;

/// A tensor of `shape` holding `values` (numbers as T, or strings).
pub fn tensor(arena: std.mem.Allocator, comptime T: type, shape: []const i64, values: []const T) !*Tensor {
    const t = try arena.create(Tensor);
    if (T == []const u8) {
        t.* = .{ .dtype = .string, .shape = shape, .data = &.{}, .strings = try arena.dupe([]const u8, values) };
        return t;
    }
    const dtype: kernel.DType = switch (T) {
        f32 => .float32,
        f64 => .float64,
        i64 => .int64,
        else => @compileError("no tensor of " ++ @typeName(T)),
    };
    const bytes = try arena.alignedAlloc(u8, .@"64", values.len * @sizeOf(T));
    @memcpy(bytes, std.mem.sliceAsBytes(values));
    t.* = .{ .dtype = dtype, .shape = shape, .data = bytes };
    return t;
}
