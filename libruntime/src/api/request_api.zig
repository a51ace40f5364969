//! C exports: inference requests (bind inputs and in-place outputs, select outputs, run
//! synchronously or on a worker, read outputs and intermediates, status, cancel, deadline).
const std = @import("std");
const args = @import("args.zig");
const jobs = @import("../core/jobs.zig");
const memory = @import("../core/memory.zig");
const registry = @import("../core/registry.zig");
const status = @import("../core/status.zig");
const model_module = @import("../model/model.zig");
const request_module = @import("../exec/request.zig");
const tensor_module = @import("../tensor/tensor.zig");
const profile = @import("../core/profile.zig");

const Request = request_module.Request;
const Model = model_module.Model;
const Tensor = tensor_module.Tensor;

fn requestOf(handle: ?*const Request) status.Error!*Request {
    return registry.get(Request, handle, .request);
}

pub fn tsr_request_create(model: ?*Model, request: ?*?*Request) callconv(.c) i32 {
    return status.report(requestCreate(model, request));
}

fn requestCreate(model: ?*Model, request: ?*?*Request) status.Error!void {
    const out = try args.out(?*Request, request, "request");
    out.* = try Request.create(try registry.get(Model, model, .model));
}

/// Destroying a request that runs on a worker waits for that run to end.
pub fn tsr_request_destroy(request: ?*Request) callconv(.c) void {
    if (request) |r| r.destroy();
}

/// Binds `tensor` to the input `name` (NULL unbinds). The tensor is read, not copied, when the
/// request runs: it must stay alive and unchanged until then.
pub fn tsr_request_set_input(request: ?*Request, name: ?[*:0]const u8, tensor: ?*Tensor) callconv(.c) i32 {
    return status.report(setInput(request, name, tensor));
}

fn setInput(request: ?*Request, name: ?[*:0]const u8, tensor: ?*Tensor) status.Error!void {
    const self = try requestOf(request);
    const bound = if (tensor) |t| try registry.get(Tensor, t, .tensor) else null;
    try self.setInput(try args.string(name, "name"), bound);
}

/// Runs on the calling thread.
pub fn tsr_request_run(request: ?*Request) callconv(.c) i32 {
    return status.report(run(request));
}

fn run(request: ?*Request) status.Error!void {
    try (try requestOf(request)).run();
}

/// Stops a run between nodes; it then fails with TSR_REQUEST_ERROR.
pub fn tsr_request_cancel(request: ?*Request) callconv(.c) i32 {
    return status.report(cancel(request));
}

fn cancel(request: ?*Request) status.Error!void {
    (try requestOf(request)).cancel();
}

/// Nodes not started `deadline_us` after a run begins are skipped and the run fails; 0: none.
pub fn tsr_request_set_deadline(request: ?*Request, deadline_us: i64) callconv(.c) i32 {
    return status.report(setDeadline(request, deadline_us));
}

fn setDeadline(request: ?*Request, deadline_us: i64) status.Error!void {
    if (deadline_us < 0) return status.fail(error.InvalidArgument, "deadline must be >= 0 microseconds", .{});
    (try requestOf(request)).deadline_us = deadline_us;
}

pub fn tsr_request_output_count(request: ?*const Request, count: ?*u32) callconv(.c) i32 {
    return status.report(outputCount(request, count));
}

fn outputCount(request: ?*const Request, count: ?*u32) status.Error!void {
    const out = try args.out(u32, count, "count");
    out.* = @intCast((try requestOf(request)).outputs.len);
}

/// A new tensor holding output `index` of the last run; the caller destroys it.
pub fn tsr_request_get_output(request: ?*Request, index: u32, tensor: ?*?*Tensor) callconv(.c) i32 {
    return status.report(getOutput(request, index, tensor));
}

fn getOutput(request: ?*Request, index: u32, tensor: ?*?*Tensor) status.Error!void {
    const out = try args.out(?*Tensor, tensor, "tensor");
    out.* = try (try requestOf(request)).output(index);
}

/// 0 ready, 1 running, 2 fault (the last run failed; the request stays usable).
pub fn tsr_request_status(request: ?*const Request, state: ?*i32) callconv(.c) i32 {
    return status.report(getStatus(request, state));
}

fn getStatus(request: ?*const Request, state: ?*i32) status.Error!void {
    const out = try args.out(i32, state, "state");
    out.* = @intFromEnum((try requestOf(request)).currentState());
}

/// Binds a caller tensor that later runs fill in place with output `name` (NULL unbinds).
pub fn tsr_request_set_output(request: ?*Request, name: ?[*:0]const u8, tensor: ?*Tensor) callconv(.c) i32 {
    return status.report(setOutput(request, name, tensor));
}

fn setOutput(request: ?*Request, name: ?[*:0]const u8, tensor: ?*Tensor) status.Error!void {
    const self = try requestOf(request);
    const bound = if (tensor) |t| try registry.get(Tensor, t, .tensor) else null;
    try self.setOutput(try args.string(name, "name"), bound);
}

/// Later runs compute only what the newline-separated output `names` need; NULL or "": all.
pub fn tsr_request_select_outputs(request: ?*Request, names: ?[*:0]const u8) callconv(.c) i32 {
    return status.report(selectOutputs(request, names));
}

fn selectOutputs(request: ?*Request, names: ?[*:0]const u8) status.Error!void {
    const self = try requestOf(request);
    try self.selectOutputs(if (names) |n| std.mem.span(n) else "");
}

/// A new tensor holding the value `name` (input, intermediate or output) of the last run.
pub fn tsr_request_get_tensor(request: ?*Request, name: ?[*:0]const u8, tensor: ?*?*Tensor) callconv(.c) i32 {
    return status.report(getTensor(request, name, tensor));
}

fn getTensor(request: ?*Request, name: ?[*:0]const u8, tensor: ?*?*Tensor) status.Error!void {
    const out = try args.out(?*Tensor, tensor, "tensor");
    const self = try requestOf(request);
    out.* = try self.valueTensor(try args.string(name, "name"));
}

/// Binds a sequence or optional input: `count` caller tensors, read in place when the request
/// runs. For an optional input, NULL `elements` means no value.
pub fn tsr_request_set_input_elements(request: ?*Request, name: ?[*:0]const u8, elements: ?[*]?*Tensor, count: u32) callconv(.c) i32 {
    return status.report(setInputElements(request, name, elements, count));
}

fn setInputElements(request: ?*Request, name: ?[*:0]const u8, elements: ?[*]?*Tensor, count: u32) status.Error!void {
    const self = try requestOf(request);
    const list = elements orelse return self.setInputElements(try args.string(name, "name"), null);
    var checked: std.ArrayList(*Tensor) = .empty;
    defer checked.deinit(memory.allocator);
    for (list[0..count], 0..) |element, i| {
        if (element == null) return status.fail(error.InvalidArgument, "element {d} is NULL", .{i});
        checked.append(memory.allocator, try registry.get(Tensor, element, .tensor)) catch
            return status.fail(error.OutOfResource, "out of memory", .{});
    }
    try self.setInputElements(try args.string(name, "name"), checked.items);
}

/// What output `index` of the last run is: its kind (TSR_KIND_*), the kind inside an optional,
/// and its element count (1 for a tensor, -1 for an optional with no value).
pub fn tsr_request_output_kind(request: ?*Request, index: u32, kind: ?*i32, inner_kind: ?*i32, count: ?*i32) callconv(.c) i32 {
    return status.report(outputKind(request, index, kind, inner_kind, count));
}

fn outputKind(request: ?*Request, index: u32, kind: ?*i32, inner_kind: ?*i32, count: ?*i32) status.Error!void {
    const kind_out = try args.out(i32, kind, "kind");
    const inner_out = try args.out(i32, inner_kind, "inner_kind");
    const count_out = try args.out(i32, count, "count");
    const description = try (try requestOf(request)).outputDescription(index);
    kind_out.* = @intFromEnum(description.kind);
    inner_out.* = @intFromEnum(description.inner_kind);
    count_out.* = description.count;
}

/// A new tensor holding element `element` of sequence or optional output `index`.
pub fn tsr_request_get_output_element(request: ?*Request, index: u32, element: u32, tensor: ?*?*Tensor) callconv(.c) i32 {
    return status.report(getOutputElement(request, index, element, tensor));
}

fn getOutputElement(request: ?*Request, index: u32, element: u32, tensor: ?*?*Tensor) status.Error!void {
    const out = try args.out(?*Tensor, tensor, "tensor");
    out.* = try (try requestOf(request)).outputElement(index, element);
}

/// Binds a map input: `keys` (int64 or string) and `values`, 1-D tensors of one length, read in
/// place when the request runs. Their types are checked here (TSR_TYPE_ERROR); a key given twice
/// fails the run (TSR_INVALID_ARGUMENT).
pub fn tsr_request_set_input_map(request: ?*Request, name: ?[*:0]const u8, keys: ?*Tensor, values: ?*Tensor) callconv(.c) i32 {
    return status.report(setInputMap(request, name, keys, values));
}

fn setInputMap(request: ?*Request, name: ?[*:0]const u8, keys: ?*Tensor, values: ?*Tensor) status.Error!void {
    const self = try requestOf(request);
    const key_tensor = try registry.get(Tensor, keys, .tensor);
    const value_tensor = try registry.get(Tensor, values, .tensor);
    try self.setInputMap(try args.string(name, "name"), key_tensor, value_tensor);
}

/// The keys and values of map output `index` (element 0), or of map `element` of a sequence of
/// maps (or of an optional map), as new tensors the caller destroys.
pub fn tsr_request_get_output_map(request: ?*Request, index: u32, element: u32, keys: ?*?*Tensor, values: ?*?*Tensor) callconv(.c) i32 {
    return status.report(getOutputMap(request, index, element, keys, values));
}

fn getOutputMap(request: ?*Request, index: u32, element: u32, keys: ?*?*Tensor, values: ?*?*Tensor) status.Error!void {
    const keys_out = try args.out(?*Tensor, keys, "keys");
    const values_out = try args.out(?*Tensor, values, "values");
    const pair = try (try requestOf(request)).outputMap(index, element);
    keys_out.* = pair[0];
    values_out.* = pair[1];
}

/// Runs on a worker thread; the job finishes when the run does (see tsr_job_*).
pub fn tsr_request_run_async(request: ?*Request, job: ?*?*jobs.Job) callconv(.c) i32 {
    return status.report(runAsync(request, job));
}

fn runAsync(request: ?*Request, job: ?*?*jobs.Job) status.Error!void {
    const out = try args.out(?*jobs.Job, job, "job");
    const self = try requestOf(request);
    const started = try jobs.create(runJob, discardNothing, cleanupNothing, self);
    self.queue();
    jobs.submit(started) catch |e| {
        memory.allocator.destroy(started);
        return e;
    };
    out.* = started;
}

fn runJob(job: *jobs.Job) status.Error!?*anyopaque {
    const self: *Request = @ptrCast(@alignCast(job.payload));
    try self.runQueued();
    return null;
}

fn discardNothing(_: *anyopaque) void {}
fn cleanupNothing(_: *jobs.Job) void {}

/// Records later runs' events into a ring of `capacity` events (0: stop profiling, free it).
pub fn tsr_request_set_profiling(request: ?*Request, capacity: u32) callconv(.c) i32 {
    return status.report(setProfiling(request, capacity));
}

fn setProfiling(request: ?*Request, capacity: u32) status.Error!void {
    const self = try requestOf(request);
    if (capacity == 0) {
        try self.refuseWhileRunning();
        return self.disableProfiling();
    }
    try self.enableProfiling(capacity);
}

/// Copies up to `capacity` held events, oldest first; `count` gets how many are held, `dropped`
/// how many the ring overwrote. Refused while the request runs.
pub fn tsr_request_get_profile_events(request: ?*Request, events: ?[*]profile.Event, capacity: u32, count: ?*u32, dropped: ?*u64) callconv(.c) i32 {
    return status.report(getProfileEvents(request, events, capacity, count, dropped));
}

fn getProfileEvents(request: ?*Request, events: ?[*]profile.Event, capacity: u32, count: ?*u32, dropped: ?*u64) status.Error!void {
    const count_out = try args.out(u32, count, "count");
    const dropped_out = try args.out(u64, dropped, "dropped");
    const self = try requestOf(request);
    try self.refuseWhileRunning();
    const ring = self.ring orelse return status.fail(error.InvalidState, "profiling is off for this request", .{});
    count_out.* = @intCast(ring.count());
    dropped_out.* = ring.dropped();
    if (capacity == 0) return;
    const out = events orelse return status.fail(error.InvalidArgument, "events is NULL with capacity {d}", .{capacity});
    _ = ring.copyOut(out[0..capacity]);
}

/// Forgets the recorded events (the ring stays, empty).
pub fn tsr_request_clear_profile_events(request: ?*Request) callconv(.c) i32 {
    return status.report(clearProfileEvents(request));
}

fn clearProfileEvents(request: ?*Request) status.Error!void {
    const self = try requestOf(request);
    try self.refuseWhileRunning();
    const ring = self.ring orelse return status.fail(error.InvalidState, "profiling is off for this request", .{});
    ring.clear();
}
