//! C exports: background jobs (async model loads now, requests later) and their completion.
const args = @import("args.zig");
const jobs = @import("../core/jobs.zig");
const registry = @import("../core/registry.zig");
const status = @import("../core/status.zig");
const model_module = @import("../model/model.zig");

const Job = jobs.Job;

fn jobOf(handle: ?*const Job) status.Error!*Job {
    return registry.get(Job, handle, .job);
}

pub fn tsr_job_id(job: ?*const Job, id: ?*u32) callconv(.c) i32 {
    return status.report(jobId(job, id));
}

fn jobId(job: ?*const Job, id: ?*u32) status.Error!void {
    const out = try args.out(u32, id, "id");
    out.* = (try jobOf(job)).id;
}

/// Blocks until the job is done or `timeout_us` passes (negative: no limit); `done` says which.
/// With a timeout of 0 it polls, and gives up the CPU once when the job is not done (Job.poll).
pub fn tsr_job_wait(job: ?*Job, timeout_us: i64, done: ?*u32) callconv(.c) i32 {
    return status.report(jobWait(job, timeout_us, done));
}

fn jobWait(job: ?*Job, timeout_us: i64, done: ?*u32) status.Error!void {
    const out = try args.out(u32, done, "done");
    out.* = @intFromBool((try jobOf(job)).wait(timeout_us));
}

/// The finished job's own status (TSR_OK or its error); TSR_INVALID_STATE while it runs.
pub fn tsr_job_result(job: ?*Job, result: ?*i32) callconv(.c) i32 {
    return status.report(jobResult(job, result));
}

fn jobResult(job: ?*Job, result: ?*i32) status.Error!void {
    const out = try args.out(i32, result, "result");
    const self = try jobOf(job);
    if (!self.isDone()) return status.fail(error.InvalidState, "job {d} has not finished", .{self.id});
    out.* = self.result_status;
}

/// The finished job's error message ("" when it succeeded); valid until the job is destroyed.
pub fn tsr_job_error(job: ?*Job, message: ?*?[*:0]const u8) callconv(.c) i32 {
    return status.report(jobError(job, message));
}

fn jobError(job: ?*Job, message: ?*?[*:0]const u8) status.Error!void {
    const out = try args.out(?[*:0]const u8, message, "message");
    const self = try jobOf(job);
    if (!self.isDone()) return status.fail(error.InvalidState, "job {d} has not finished", .{self.id});
    out.* = &self.message;
}

/// Moves the loaded model out of a finished load job; the caller destroys it.
pub fn tsr_job_take_model(job: ?*Job, model: ?*?*model_module.Model) callconv(.c) i32 {
    return status.report(jobTakeModel(job, model));
}

fn jobTakeModel(job: ?*Job, model: ?*?*model_module.Model) status.Error!void {
    const out = try args.out(?*model_module.Model, model, "model");
    const self = try jobOf(job);
    if (!self.isDone()) return status.fail(error.InvalidState, "job {d} has not finished", .{self.id});
    if (self.result_status != 0) return status.fail(error.InvalidState, "job {d} failed: {s}", .{ self.id, @as([*:0]const u8, &self.message) });
    const result = self.take() orelse return status.fail(error.InvalidState, "job {d}'s model was already taken", .{self.id});
    out.* = @ptrCast(@alignCast(result));
}

/// A job still running is abandoned: its worker frees it, and any model it loads, when done.
pub fn tsr_job_destroy(job: ?*Job) callconv(.c) void {
    if (job) |j| jobs.destroy(j);
}

/// The calling thread's completion callback, called on a worker thread as each job this thread
/// started finishes; NULL removes it. Returns once no thread is inside the previous callback.
pub fn tsr_jobs_set_callback(callback: ?jobs.CompletionCallback, user: ?*anyopaque) callconv(.c) i32 {
    return status.report(jobs.setCallback(callback, user));
}
