//! One run of a node on an extension's device: its inputs as tessera_backend.h's tensors, and
//! the outputs the extension asks for, each checked against what inference gave the output at
//! load (element type, rank, every fixed dim) before it gets memory, from the memory plan where
//! the run has one, as the CPU's outputs do.
const std = @import("std");
const status = @import("../../core/status.zig");
const dtype_module = @import("../../tensor/dtype.zig");
const tensor_module = @import("../../tensor/tensor.zig");
const node_run = @import("../../exec/node_run.zig");
const value = @import("../../exec/value.zig");
const host = @import("host.zig");

const c = host.c;

/// The node's inputs, in its order; an omitted optional one has dtype 0 and no data.
pub fn inputsOf(r: *const node_run.NodeRun) status.Error![]c.tsr_backend_tensor {
    const out = r.arena.alloc(c.tsr_backend_tensor, r.inputs.len) catch return oom();
    for (r.inputs, out, 0..) |maybe, *slot, i| {
        slot.* = .{ .dtype = 0, .rank = 0, .dims = null, .data = null, .bytes = 0 };
        const input = maybe orelse continue;
        // Partition only places nodes whose values are numeric tensors here (describe.refusal),
        // and the executor checks the kinds it learns at run time.
        if (!input.isTensor() or input.dtype == .string or input.buffer != null) {
            return status.fail(error.InvalidArgument, "input {d} of node '{s}' is not a numeric tensor in host memory", .{ i, r.node.name });
        }
        slot.* = .{
            .dtype = @intFromEnum(input.dtype),
            .rank = @intCast(input.shape.len),
            .dims = if (input.shape.len == 0) null else input.shape.ptr,
            .data = if (input.data.len == 0) null else input.data.ptr,
            .bytes = input.data.len,
        };
    }
    return out;
}

/// What shape inference gave one output at load: its type (0 when unknown) and, when its rank is
/// known (and at most max_rank), its dims, -1 for a symbolic one.
pub const Expected = struct {
    dtype: i32 = 0,
    rank: ?usize = null,
    fixed: [tensor_module.max_rank]i64 = undefined,

    pub fn of(described: c.tsr_backend_value) Expected {
        var self: Expected = .{ .dtype = described.dtype };
        const rank = std.math.cast(usize, described.rank) orelse return self;
        if (rank > tensor_module.max_rank) return self;
        self.rank = rank;
        for (self.fixed[0..rank], 0..) |*d, i| d.* = described.dims[i];
        return self;
    }

    fn dims(self: *const Expected) ?[]const i64 {
        return self.fixed[0 .. self.rank orelse return null];
    }
};

pub const RunOutputs = struct {
    run: *const node_run.NodeRun,
    /// One per output of the node.
    expected: []const Expected,
    /// Why an output the extension asked for was refused: the run fails with it, whatever the
    /// extension then returns.
    failure: ?[]const u8 = null,

    /// host.Outputs.make: memory for output `index`, checked.
    pub fn make(context: *anyopaque, index: u32, dtype_code: i32, dims: []const i64) status.Error![]u8 {
        const self: *RunOutputs = @ptrCast(@alignCast(context));
        return self.allocate(index, dtype_code, dims) catch |e| {
            if (self.failure == null) self.failure = self.run.arena.dupe(u8, std.mem.span(status.lastMessage())) catch "out of memory";
            return e;
        };
    }

    fn allocate(self: *RunOutputs, index: u32, dtype_code: i32, dims: []const i64) status.Error![]u8 {
        const r = self.run;
        if (index >= r.outputs.len) return status.fail(error.InvalidArgument, "asked for output {d}; the node has {d}", .{ index, r.outputs.len });
        if (r.outputs[index] != null) return status.fail(error.InvalidArgument, "asked for output {d} twice", .{index});
        const dtype = dtype_module.DType.fromInt(dtype_code) catch
            return status.fail(error.TypeError, "output {d}: {d} is no TSR_DTYPE_*", .{ index, dtype_code });
        if (dtype == .string) return status.fail(error.TypeError, "output {d}: extensions make numeric tensors only", .{index});
        try self.checkInferred(index, dtype, dims);
        const layout = tensor_module.Layout.init(dtype, dims) catch
            return status.fail(error.ShapeError, "output {d}: {s}", .{ index, std.mem.span(status.lastMessage()) });
        const data = try node_run.outputMemory(r.arena, r.planning, r.node, r.node_id, index, @intCast(layout.byte_size));
        const tensor = r.arena.create(value.Tensor) catch return oom();
        tensor.* = .{ .dtype = dtype, .shape = r.arena.dupe(i64, dims) catch return oom(), .data = data };
        r.outputs[index] = tensor;
        return data;
    }

    /// The type and dims shape inference gave the output at load, where it knows them.
    fn checkInferred(self: *const RunOutputs, index: u32, dtype: dtype_module.DType, dims: []const i64) status.Error!void {
        const want = self.expected[index];
        if (want.dtype != 0 and want.dtype != @intFromEnum(dtype)) {
            const name = if (dtype_module.DType.fromInt(want.dtype)) |d| @tagName(d) else |_| "unknown";
            return status.fail(error.TypeError, "output {d} made as {s}; the model's type for it is {s}", .{ index, @tagName(dtype), name });
        }
        const fixed = want.dims() orelse return;
        if (fixed.len != dims.len) return shapeMismatch(index, dims, fixed);
        // -1: a dim known only at run time, whatever the inputs make it.
        for (fixed, dims) |f, given| if (f >= 0 and f != given) return shapeMismatch(index, dims, fixed);
    }

    /// The first output the node has but the extension did not make.
    pub fn missing(self: *const RunOutputs) ?usize {
        for (self.run.node.outputs, self.run.outputs, 0..) |id, made, i| {
            if (id != null and made == null) return i;
        }
        return null;
    }
};

fn shapeMismatch(index: u32, dims: []const i64, fixed: []const i64) status.Error {
    return status.fail(error.ShapeError, "output {d} made with shape {any}; the model's shape for it is {any} (-1: any)", .{ index, dims, fixed });
}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory while running", .{});
}
