//! A request: one model's inputs, a run on the CPU executor, its outputs. Inputs are validated
//! before anything runs (type, rank, fixed dims); a failing run leaves the model and every other
//! request usable. Runs synchronously (tsr_request_run) or on a worker (tsr_request_run_async).
const std = @import("std");
const status = @import("../core/status.zig");
const memory = @import("../core/memory.zig");
const registry = @import("../core/registry.zig");
const model_module = @import("../model/model.zig");
const tensor_module = @import("../tensor/tensor.zig");
const executor_module = @import("executor.zig");
const value = @import("value.zig");

const Model = model_module.Model;

pub const State = enum(i32) { ready = 0, running = 1, fault = 2 };

pub const Request = struct {
    model: *Model,
    arena_state: std.heap.ArenaAllocator,
    /// Caller tensors bound to the model's inputs (to feed), by position; not owned.
    inputs: []?*tensor_module.Tensor,
    outputs: []*value.Tensor = &.{},
    state: std.atomic.Value(i32) = .init(@intFromEnum(State.ready)),
    cancelled: std.atomic.Value(bool) = .init(false),
    /// Relative deadline for the next run, in microseconds; 0: none.
    deadline_us: i64 = 0,

    pub fn create(model: *Model) status.Error!*Request {
        const self = memory.allocator.create(Request) catch return oom();
        errdefer memory.allocator.destroy(self);
        const inputs = memory.allocator.alloc(?*tensor_module.Tensor, model.input_names.len) catch return oom();
        @memset(inputs, null);
        self.* = .{ .model = model, .arena_state = std.heap.ArenaAllocator.init(memory.allocator), .inputs = inputs };
        registry.add(self, .request) catch |e| {
            memory.allocator.free(inputs);
            return e;
        };
        return self;
    }

    pub fn destroy(self: *Request) void {
        if (!registry.remove(self, .request)) return;
        self.arena_state.deinit();
        memory.allocator.free(self.inputs);
        memory.allocator.destroy(self);
    }

    pub fn setInput(self: *Request, name: []const u8, tensor: ?*tensor_module.Tensor) status.Error!void {
        for (self.model.input_names, 0..) |input, i| {
            if (std.mem.eql(u8, input, name)) {
                self.inputs[i] = tensor;
                return;
            }
        }
        return status.fail(error.InvalidArgument, "the model has no input named '{s}' (inputs: {d})", .{ name, self.model.input_names.len });
    }

    /// Checks every input against the model's declared type before anything runs.
    fn validate(self: *Request) status.Error!void {
        const graph = self.model.graph();
        const pool = &self.model.pipeline.pool;
        for (self.model.input_names, self.inputs) |name, maybe| {
            const tensor = maybe orelse return status.fail(error.InvalidArgument, "input '{s}' is missing", .{name});
            const declared = graph.value(graph.find(name).?).type;
            if (declared.dtype) |d| if (d != tensor.layout.dtype) {
                return status.fail(error.TypeError, "input '{s}' must be {s}, not {s}", .{ name, @tagName(d), @tagName(tensor.layout.dtype) });
            };
            const shape = declared.shape orelse continue;
            const given = tensor.layout.shape();
            var fixed = shape.len == given.len;
            if (fixed) for (shape, given) |d, g| {
                if (pool.value(d)) |v| if (v != g) {
                    fixed = false;
                };
            };
            if (!fixed) {
                var text: std.Io.Writer.Allocating = .init(memory.allocator);
                defer text.deinit();
                text.writer.writeAll("[") catch {};
                for (shape, 0..) |d, i| {
                    if (i > 0) text.writer.writeByte(',') catch {};
                    pool.format(d, &text.writer) catch {};
                }
                text.writer.writeAll("], not [") catch {};
                for (given, 0..) |g, i| text.writer.print("{s}{d}", .{ if (i > 0) "," else "", g }) catch {};
                return status.fail(error.ShapeError, "input '{s}' must have shape {s}]", .{ name, text.written() });
            }
        }
    }

    pub fn run(self: *Request) status.Error!void {
        if (self.state.cmpxchgStrong(@intFromEnum(State.ready), @intFromEnum(State.running), .acq_rel, .acquire)) |current| {
            if (current == @intFromEnum(State.running)) return status.fail(error.InvalidState, "the request is already running", .{});
            self.state.store(@intFromEnum(State.running), .release);
        }
        self.cancelled.store(false, .release);
        self.runUnchecked() catch |e| {
            self.state.store(@intFromEnum(State.fault), .release);
            return e;
        };
        self.state.store(@intFromEnum(State.ready), .release);
    }

    fn runUnchecked(self: *Request) status.Error!void {
        try self.validate();
        _ = self.arena_state.reset(.retain_capacity);
        const arena = self.arena_state.allocator();
        const graph = self.model.graph();
        const inputs = arena.alloc(?*const value.Tensor, graph.inputs.len) catch return oom();
        @memset(inputs, null);
        for (graph.inputs, 0..) |id, i| {
            const name = graph.value(id).name;
            for (self.model.input_names, self.inputs) |input_name, maybe| {
                if (!std.mem.eql(u8, input_name, name)) continue;
                inputs[i] = try viewOf(arena, maybe.?);
            }
        }
        const deadline: ?i128 = if (self.deadline_us > 0) std.time.nanoTimestamp() + @as(i128, self.deadline_us) * 1000 else null;
        const state = self.model.exec_state;
        if (state.scheduler == .exclusive) state.turn.enter();
        defer if (state.scheduler == .exclusive) state.turn.leave();
        var executor = executor_module.Executor{
            .arena = arena,
            .stop = .{ .cancelled = &self.cancelled, .deadline_ns = deadline },
            .pool = state.pool,
            .node_states = state.node_states,
        };
        self.outputs = try executor.run(graph, inputs);
    }

    pub fn cancel(self: *Request) void {
        self.cancelled.store(true, .release);
    }

    /// Output `index` as a new tensor the caller owns (a copy of the run's result).
    pub fn output(self: *Request, index: u32) status.Error!*tensor_module.Tensor {
        if (index >= self.outputs.len) return status.fail(error.InvalidArgument, "output {d} does not exist (the last run produced {d})", .{ index, self.outputs.len });
        const source = self.outputs[index];
        const copy = try tensor_module.Tensor.create(try tensor_module.Layout.init(source.dtype, source.shape));
        errdefer copy.destroy();
        if (source.dtype == .string) {
            for (source.strings, 0..) |s, i| try copy.setString(i, s);
        } else {
            @memcpy(copy.data, source.data[0..copy.data.len]);
        }
        return copy;
    }
};

/// The executor's view of a caller tensor: the same memory, no copy.
fn viewOf(arena: std.mem.Allocator, tensor: *tensor_module.Tensor) status.Error!*const value.Tensor {
    const view = arena.create(value.Tensor) catch return oom();
    view.* = .{ .dtype = tensor.layout.dtype, .shape = tensor.layout.shape(), .data = tensor.data };
    if (tensor.layout.dtype == .string) {
        const strings = arena.alloc([]const u8, tensor.strings().len) catch return oom();
        for (strings, 0..) |*s, i| s.* = tensor.getString(i) catch "";
        view.data = &.{};
        view.strings = strings;
    }
    return view;
}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory", .{});
}
