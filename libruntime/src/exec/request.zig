//! A request: one model's inputs, a run on the CPU executor, its outputs. Inputs are validated
//! before anything runs (type, rank, fixed dims); a failing run leaves the model and every other
//! request usable. Runs synchronously (tsr_request_run) or on a worker (tsr_request_run_async).
const std = @import("std");
const folders = @import("../core/folders.zig");
const status = @import("../core/status.zig");
const memory = @import("../core/memory.zig");
const registry = @import("../core/registry.zig");
const model_module = @import("../model/model.zig");
const ir = @import("../model/ir.zig");
const tensor_module = @import("../tensor/tensor.zig");
const executor_module = @import("executor.zig");
const value = @import("value.zig");
const memory_plan = @import("memory_plan.zig");
const snapshot = @import("snapshot.zig");
const composite = @import("composite.zig");
const ModelState = @import("model_state.zig").ModelState;
const partition = @import("partition.zig");
const profile = @import("../core/profile.zig");
const Observer = @import("observer.zig").Observer;

const Model = model_module.Model;

pub const State = enum(i32) { ready = 0, running = 1, fault = 2 };

pub const Request = struct {
    model: *Model,
    arena_state: std.heap.ArenaAllocator,
    /// Caller tensors bound to the model's inputs (to feed), by position; not owned.
    inputs: []?*tensor_module.Tensor,
    /// Sequence, optional and map inputs, by position (instead of `inputs`).
    composite_inputs: []?composite.CompositeInput,
    /// Caller tensors the next runs fill in place, by output position; not owned.
    bound_outputs: []?*tensor_module.Tensor,
    /// Which outputs runs compute; null: all.
    selected: ?[]bool = null,
    /// The last run's outputs (null: not selected), and its top-level values by id.
    outputs: []?*value.Tensor = &.{},
    values: []?*const value.Tensor = &.{},
    /// The last run used a memory plan, so intermediates may have been overwritten.
    values_reused: bool = false,
    /// Bytes the arena keeps between runs: after a recording run, the plan's block and some
    /// scratch, so the recording's distinct buffers are given back; after planned runs, what
    /// they used.
    arena_keep_bytes: ?usize = null,
    state: std.atomic.Value(i32) = .init(@intFromEnum(State.ready)),
    cancelled: std.atomic.Value(bool) = .init(false),
    /// Relative deadline for the next run, in microseconds; 0: none.
    deadline_us: i64 = 0,
    /// Profile events of this request's runs; null when profiling is off.
    ring: ?*profile.Ring = null,
    /// When `queue` was called: the queue span's begin, recorded when the run starts.
    queued_at_ns: ?u64 = null,
    /// Told as each node of the model's graph starts and ends; null: no one.
    observer: ?Observer = null,

    pub fn create(model: *Model) status.Error!*Request {
        const began_ns = profile.now();
        const self = memory.allocator.create(Request) catch return oom();
        errdefer memory.allocator.destroy(self);
        const inputs = memory.allocator.alloc(?*tensor_module.Tensor, model.input_names.len) catch return oom();
        errdefer memory.allocator.free(inputs);
        @memset(inputs, null);
        const composite_inputs = memory.allocator.alloc(?composite.CompositeInput, model.input_names.len) catch return oom();
        errdefer memory.allocator.free(composite_inputs);
        @memset(composite_inputs, null);
        const bound_outputs = memory.allocator.alloc(?*tensor_module.Tensor, model.output_names.len) catch return oom();
        errdefer memory.allocator.free(bound_outputs);
        @memset(bound_outputs, null);
        self.* = .{
            .model = model,
            .arena_state = std.heap.ArenaAllocator.init(memory.allocator),
            .inputs = inputs,
            .composite_inputs = composite_inputs,
            .bound_outputs = bound_outputs,
        };
        if (model.options.profiling) try self.enableProfiling(model.options.profile_buffer_size);
        errdefer self.disableProfiling();
        if (self.ring) |ring| {
            ring.recordAt(began_ns, .request_init, .begin, .{});
            ring.record(.request_init, .end, .{});
        }
        try registry.add(self, .request);
        return self;
    }

    /// Records later runs' events into a ring of `capacity` events, which starts with the model's
    /// load events. A request that profiles already gets a new, empty ring.
    pub fn enableProfiling(self: *Request, capacity: u32) status.Error!void {
        try self.refuseWhileRunning();
        const ring = try profile.Ring.create(capacity);
        self.disableProfiling();
        ring.append(self.model.init_events.events.items);
        self.ring = ring;
    }

    pub fn disableProfiling(self: *Request) void {
        if (self.ring) |ring| ring.destroy();
        self.ring = null;
    }

    pub fn destroy(self: *Request) void {
        if (!registry.remove(self, .request)) return;
        self.arena_state.deinit();
        memory.allocator.free(self.inputs);
        for (self.composite_inputs) |*maybe| if (maybe.*) |*c| c.deinit();
        memory.allocator.free(self.composite_inputs);
        memory.allocator.free(self.bound_outputs);
        if (self.selected) |selected| memory.allocator.free(selected);
        self.disableProfiling();
        memory.allocator.destroy(self);
    }

    pub fn setInput(self: *Request, name: []const u8, tensor: ?*tensor_module.Tensor) status.Error!void {
        const i = try self.inputIndex(name);
        self.clearComposite(i);
        self.inputs[i] = tensor;
    }

    /// Binds a sequence or optional input: `elements` (the caller's tensors, read in place), or
    /// for an optional, null for no value.
    pub fn setInputElements(self: *Request, name: []const u8, elements: ?[]const *tensor_module.Tensor) status.Error!void {
        const i = try self.inputIndex(name);
        const graph = self.model.graph();
        const bound = try composite.CompositeInput.init(graph.value(graph.find(name).?).type, name, elements);
        self.clearComposite(i);
        self.inputs[i] = null;
        self.composite_inputs[i] = bound;
    }

    /// Binds a map input: the caller's `keys` and `values` tensors, read in place.
    pub fn setInputMap(self: *Request, name: []const u8, keys: *tensor_module.Tensor, values: *tensor_module.Tensor) status.Error!void {
        const i = try self.inputIndex(name);
        const graph = self.model.graph();
        const bound = try composite.CompositeInput.initMap(graph.value(graph.find(name).?).type, name, keys, values);
        self.clearComposite(i);
        self.inputs[i] = null;
        self.composite_inputs[i] = bound;
    }

    fn clearComposite(self: *Request, i: usize) void {
        if (self.composite_inputs[i]) |*c| c.deinit();
        self.composite_inputs[i] = null;
    }

    fn inputIndex(self: *const Request, name: []const u8) status.Error!usize {
        for (self.model.input_names, 0..) |input, i| if (std.mem.eql(u8, input, name)) return i;
        return status.fail(error.InvalidArgument, "the model has no input named '{s}' (inputs: {d})", .{ name, self.model.input_names.len });
    }

    /// Binds a caller tensor that later runs fill in place (null unbinds).
    pub fn setOutput(self: *Request, name: []const u8, tensor: ?*tensor_module.Tensor) status.Error!void {
        try self.refuseWhileRunning();
        const index = self.outputIndex(name) orelse
            return status.fail(error.InvalidArgument, "the model has no output named '{s}'", .{name});
        self.bound_outputs[index] = tensor;
    }

    /// Restricts later runs to the named outputs (newline-separated; empty: all of them).
    pub fn selectOutputs(self: *Request, names: []const u8) status.Error!void {
        try self.refuseWhileRunning();
        if (std.mem.trim(u8, names, "\n ").len == 0) {
            if (self.selected) |selected| memory.allocator.free(selected);
            self.selected = null;
            return;
        }
        const selected = memory.allocator.alloc(bool, self.model.output_names.len) catch return oom();
        errdefer memory.allocator.free(selected);
        @memset(selected, false);
        var parts = std.mem.tokenizeScalar(u8, names, '\n');
        while (parts.next()) |name| {
            const index = self.outputIndex(name) orelse
                return status.fail(error.InvalidArgument, "the model has no output named '{s}'", .{name});
            selected[index] = true;
        }
        if (self.selected) |old| memory.allocator.free(old);
        self.selected = selected;
    }

    pub fn currentState(self: *const Request) State {
        return @enumFromInt(self.state.load(.acquire));
    }

    pub fn refuseWhileRunning(self: *const Request) status.Error!void {
        if (self.currentState() == .running) return status.fail(error.InvalidState, "the request is running", .{});
    }

    fn outputIndex(self: *const Request, name: []const u8) ?usize {
        for (self.model.output_names, 0..) |output_name, i| if (std.mem.eql(u8, output_name, name)) return i;
        return null;
    }

    /// Checks every input against the model's declared type before anything runs.
    fn validate(self: *Request) status.Error!void {
        const graph = self.model.graph();
        const pool = &self.model.pipeline.pool;
        for (self.model.input_names, self.inputs, self.composite_inputs) |name, maybe, maybe_composite| {
            const declared = graph.value(graph.find(name).?).type;
            if (maybe_composite != null) continue; // checked when bound
            const tensor = maybe orelse return status.fail(error.InvalidArgument, "input '{s}' is missing", .{name});
            if (declared.kind == .sequence or declared.kind == .optional) {
                return status.fail(error.TypeError, "input '{s}' is a {s}: bind it with its elements, not a tensor", .{ name, @tagName(declared.kind) });
            }
            if (declared.kind == .map) return status.fail(error.TypeError, "input '{s}' is a map: bind it with its keys and values, not a tensor", .{name});
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

    /// Runs on the calling thread; a cancel from before this call does not apply.
    pub fn run(self: *Request) status.Error!void {
        self.cancelled.store(false, .release);
        return self.runQueued();
    }

    /// Clears an old cancel when a run is queued on a worker: a cancel that arrives while the
    /// job waits in the queue then still stops it (runQueued keeps the flag).
    pub fn queue(self: *Request) void {
        self.cancelled.store(false, .release);
        self.queued_at_ns = if (self.ring != null) profile.now() else null;
    }

    /// Runs a run that `queue` announced, honouring a cancel made since.
    pub fn runQueued(self: *Request) status.Error!void {
        if (self.state.cmpxchgStrong(@intFromEnum(State.ready), @intFromEnum(State.running), .acq_rel, .acquire)) |current| {
            if (current == @intFromEnum(State.running)) return status.fail(error.InvalidState, "the request is already running", .{});
            self.state.store(@intFromEnum(State.running), .release);
        }
        if (self.queued_at_ns) |queued| if (self.ring) |ring| {
            // Both ends on this thread, so the pair nests with the run that follows.
            ring.recordAt(queued, .queue, .begin, .{});
            ring.record(.queue, .end, .{});
        };
        self.queued_at_ns = null;
        self.runUnchecked() catch |e| {
            self.state.store(@intFromEnum(State.fault), .release);
            return e;
        };
        self.state.store(@intFromEnum(State.ready), .release);
    }

    fn runUnchecked(self: *Request) status.Error!void {
        try self.validate();
        const state = ModelState.of(self.model);
        if (state.scheduler == .exclusive) {
            const wait = profile.maybeBegin(self.ring, .wait, .{});
            state.turn.enter();
            profile.maybeEnd(wait);
        }
        defer if (state.scheduler == .exclusive) state.turn.leave();
        if (state.streams.limit > 0) {
            const wait = profile.maybeBegin(self.ring, .wait, .{});
            state.streams.enter();
            profile.maybeEnd(wait);
        }
        defer state.streams.leave();
        if (state.intermediate_save_path.len > 0) try folders.make(state.intermediate_save_path);
        self.values = &.{};
        self.outputs = &.{};
        _ = self.arena_state.reset(if (self.arena_keep_bytes) |limit| .{ .retain_with_limit = limit } else .retain_capacity);
        if (!state.memory_optimization or !state.plannable) return self.execute(.none, null);

        const key = try self.planKey();
        if (state.plans.acquire(key)) |plan| {
            defer state.plans.release(plan);
            const block = self.arena_state.allocator().alignedAlloc(u8, .fromByteUnits(tensor_module.data_alignment), plan.block_bytes) catch return oom();
            const session = memory_plan.Session{ .plan = plan, .block = block };
            var mismatch = false;
            self.execute(.{ .replay = &session }, &mismatch) catch |e| {
                if (!mismatch) return e;
                // A kernel put an output somewhere else on this input; the plan cannot hold for
                // this shape. Drop it and run again with plain memory (same result, once).
                state.plans.forget(key);
                _ = self.arena_state.reset(.retain_capacity);
                return self.execute(.none, null);
            };
            self.values_reused = true;
            // Keep what a planned run needs (the block and the kernels' scratch), so the next run
            // of this shape allocates nothing and touches no fresh pages.
            self.arena_keep_bytes = @max(self.arena_keep_bytes orelse 0, self.arena_state.queryCapacity());
            return;
        }
        const graph = self.model.graph();
        const arena = self.arena_state.allocator();
        const outputs_per_node = arena.alloc(usize, graph.nodes.items.len) catch return oom();
        for (graph.nodes.items, outputs_per_node) |node, *n| n.* = node.outputs.len;
        var recorder = memory_plan.Recorder.init(arena, state.uses.last_use, outputs_per_node) catch return oom();
        try self.execute(.{ .record = &recorder }, null);
        const plan = recorder.finish(key) catch return oom();
        self.arena_keep_bytes = plan.block_bytes + scratch_allowance;
        state.plans.insert(plan);
        // The recording run's memory was all distinct; report intermediates as reused anyway, so
        // getTensor answers the same on every run of a memory-optimized model.
        self.values_reused = true;
    }

    /// Input shapes and the output selection: what a memory plan depends on.
    fn planKey(self: *Request) status.Error![]const i64 {
        var key: std.ArrayList(i64) = .empty;
        const arena = self.arena_state.allocator();
        for (self.inputs) |maybe| {
            const shape = (maybe orelse continue).layout.shape();
            key.append(arena, @intCast(shape.len)) catch return oom();
            key.appendSlice(arena, shape) catch return oom();
        }
        if (self.selected) |selected| for (selected) |s| key.append(arena, if (s) 1 else 0) catch return oom();
        return key.items;
    }

    fn execute(self: *Request, planning: memory_plan.Planning, mismatch: ?*bool) status.Error!void {
        self.values_reused = false;
        const arena = self.arena_state.allocator();
        const graph = self.model.graph();
        const inputs = arena.alloc(?*const value.Tensor, graph.inputs.len) catch return oom();
        @memset(inputs, null);
        for (graph.inputs, 0..) |id, i| {
            // On the CPU an input is bound in place; the span is that binding.
            const transfer = self.transferSpan(.transfer_from_input, id);
            defer profile.maybeEnd(transfer);
            const name = graph.value(id).name;
            for (self.model.input_names, self.inputs, self.composite_inputs) |input_name, maybe, maybe_composite| {
                if (!std.mem.eql(u8, input_name, name)) continue;
                if (maybe_composite) |*c| {
                    inputs[i] = try c.view(arena, input_name, graph.value(id).type.dtype orelse .float32, viewOf);
                } else {
                    inputs[i] = try viewOf(arena, maybe.?);
                }
            }
        }
        const deadline: ?i128 = if (self.deadline_us > 0) std.time.nanoTimestamp() + @as(i128, self.deadline_us) * 1000 else null;
        const state = ModelState.of(self.model);
        // Each device's settings for the requesting thread (the CPU's denormal mode).
        const devices = state.devices.list;
        var saved: [partition.max_devices]u64 = undefined;
        for (devices, 0..) |device, i| saved[i] = device.enterRun();
        defer for (devices, 0..) |device, i| device.leaveRun(saved[i]);
        var executor = executor_module.Executor{
            .arena = arena,
            .stop = .{ .cancelled = &self.cancelled, .deadline_ns = deadline },
            .devices = state.devices,
            .constants = &state.constants,
            .top = .{
                .uses = &state.uses,
                .wanted = self.selected,
                .planning = planning,
                .save_path = state.intermediate_save_path,
            },
            .ring = self.ring,
            .observer = self.observer,
        };
        const outputs = executor.runTop(graph, inputs) catch |e| {
            if (mismatch) |flag| flag.* = executor.plan_mismatch;
            return e;
        };
        self.values = executor.top_values;
        self.outputs = outputs;
        try self.fillBoundOutputs();
    }

    fn fillBoundOutputs(self: *Request) status.Error!void {
        const graph = self.model.graph();
        for (self.bound_outputs, self.outputs, self.model.output_names, graph.outputs) |maybe_target, maybe_source, name, id| {
            const target = maybe_target orelse continue;
            const source = maybe_source orelse continue;
            const transfer = self.transferSpan(.transfer_to_output, id);
            defer profile.maybeEnd(transfer);
            if (!source.isTensor()) return status.fail(error.TypeError, "output '{s}' is a {s}: it cannot fill a tensor", .{ name, @tagName(source.kind) });
            if (target.layout.dtype != source.dtype) {
                return status.fail(error.TypeError, "output '{s}' is {s}, but the tensor bound to it is {s}", .{ name, @tagName(source.dtype), @tagName(target.layout.dtype) });
            }
            if (!std.mem.eql(i64, target.layout.shape(), source.shape)) {
                return status.fail(error.ShapeError, "output '{s}' has {d} dims ({d} elements), but the tensor bound to it has {d} dims ({d} elements)", .{ name, source.shape.len, source.count(), target.layout.rank, target.layout.count });
            }
            try snapshot.copyInto(source, target);
        }
    }

    /// Later runs tell `observer` of each node (null: no one).
    pub fn setObserver(self: *Request, observer: ?Observer) status.Error!void {
        try self.refuseWhileRunning();
        self.observer = observer;
    }

    pub fn cancel(self: *Request) void {
        self.cancelled.store(true, .release);
    }

    /// Output `index` as a new tensor the caller owns (a copy of the run's result).
    pub fn output(self: *Request, index: u32) status.Error!*tensor_module.Tensor {
        const source = try self.outputValue(index);
        if (source.kind == .map) return status.fail(error.InvalidArgument, "output '{s}' is a map: read its keys and values (tsr_request_get_output_map)", .{self.model.output_names[index]});
        if (!source.isTensor()) return status.fail(error.InvalidArgument, "output '{s}' is a {s}: read it element by element", .{ self.model.output_names[index], @tagName(source.kind) });
        const transfer = self.transferSpan(.transfer_to_output, self.model.graph().outputs[index]);
        defer profile.maybeEnd(transfer);
        return snapshot.copyOut(source);
    }

    /// A transfer or copy span for value `id`, CPU to CPU; null when not profiling.
    fn transferSpan(self: *Request, kind: profile.Kind, id: ir.ValueId) ?profile.Span {
        const ring = self.ring orelse return null;
        return ring.begin(kind, .{ .tensor_id = @intCast(id), .src_device = profile.cpu_device, .dst_device = profile.cpu_device });
    }

    fn outputValue(self: *Request, index: u32) status.Error!*const value.Tensor {
        if (index >= self.outputs.len) return status.fail(error.InvalidArgument, "output {d} does not exist (the last run produced {d})", .{ index, self.outputs.len });
        return self.outputs[index] orelse
            status.fail(error.InvalidArgument, "output '{s}' was not among the selected outputs", .{self.model.output_names[index]});
    }

    /// What output `index` is: a tensor, a sequence (with its length) or an optional.
    pub fn outputDescription(self: *Request, index: u32) status.Error!composite.Description {
        return composite.describe(try self.outputValue(index));
    }

    /// Element `element` of a sequence or optional output, as a new tensor the caller owns.
    pub fn outputElement(self: *Request, index: u32, element: u32) status.Error!*tensor_module.Tensor {
        const item = try composite.element(try self.outputValue(index), element);
        if (item.kind == .map) return status.fail(error.InvalidArgument, "output '{s}' holds maps: read them with tsr_request_get_output_map", .{self.model.output_names[index]});
        if (!item.isTensor()) return status.fail(error.NotImplemented, "output '{s}' nests a {s} inside: only tensors can be read out", .{ self.model.output_names[index], @tagName(item.kind) });
        const copy = self.transferSpan(.copy, self.model.graph().outputs[index]);
        defer profile.maybeEnd(copy);
        return snapshot.copyOut(item);
    }

    /// The keys and values of map output `index` (element 0), or of map `element` of a sequence
    /// of maps, as new tensors the caller owns.
    pub fn outputMap(self: *Request, index: u32, element: u32) status.Error![2]*tensor_module.Tensor {
        const map = composite.mapAt(try self.outputValue(index), element) catch |e| {
            return status.fail(e, "output '{s}': {s}", .{ self.model.output_names[index], std.mem.span(status.lastMessage()) });
        };
        const copy = self.transferSpan(.copy, self.model.graph().outputs[index]);
        defer profile.maybeEnd(copy);
        const keys = try snapshot.copyOut(map.elements[value.Tensor.map_keys]);
        errdefer keys.destroy();
        return .{ keys, try snapshot.copyOut(map.elements[value.Tensor.map_values]) };
    }

    /// Any value of the last run by name, as a new tensor the caller owns.
    pub fn valueTensor(self: *Request, name: []const u8) status.Error!*tensor_module.Tensor {
        const graph = self.model.graph();
        const id = graph.find(name) orelse return status.fail(error.InvalidArgument, "the model has no value named '{s}'", .{name});
        if (self.values.len == 0) return status.fail(error.InvalidState, "the request has not run yet", .{});
        if (self.outputIndex(name)) |index| return self.output(@intCast(index));
        const v = graph.value(id);
        if (self.values_reused and v.role == .intermediate) {
            return status.fail(error.InvalidState, "'{s}' is an intermediate whose memory was reused (load the model with memoryOptimization off to read intermediates)", .{name});
        }
        const source = self.values[id] orelse {
            // A run frees the buffers of devices with memory of their own; only copies remain.
            const on_devices = ModelState.of(self.model).devices.copies.graphs.len > 0;
            const why = if (on_devices) "not needed by the selected outputs, or left in a device's own memory" else "not needed by the selected outputs";
            return status.fail(error.InvalidState, "'{s}' was not computed by the last run ({s})", .{ name, why });
        };
        if (!source.isTensor()) return status.fail(error.InvalidArgument, "'{s}' is a {s}, not a tensor", .{ name, @tagName(source.kind) });
        const copy = self.transferSpan(.copy, id);
        defer profile.maybeEnd(copy);
        return snapshot.copyOut(source);
    }
};

/// Arena bytes kept beyond a plan's block, for kernel scratch and small run-time tables.
const scratch_allowance = 8 << 20;

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
