//! C exports for watching work as it happens: a load's progress (a load option), cancelling a
//! job, and a request's node observer.
const jobs = @import("../core/jobs.zig");
const progress = @import("../core/progress.zig");
const registry = @import("../core/registry.zig");
const status = @import("../core/status.zig");
const options_module = @import("../model/options.zig");
const observer_module = @import("../exec/observer.zig");
const request_module = @import("../exec/request.zig");

/// Loads made with `options` call `callback` on the loading thread as each stage advances
/// (core/progress.zig); NULL removes it. A nonzero return cancels the load.
pub fn tsr_options_set_progress(options: ?*options_module.Options, callback: ?progress.Callback, user: ?*anyopaque) callconv(.c) i32 {
    return status.report(setProgress(options, callback, user));
}

fn setProgress(options: ?*options_module.Options, callback: ?progress.Callback, user: ?*anyopaque) status.Error!void {
    const self = try registry.get(options_module.Options, options, .options);
    self.progress = .{ .callback = callback, .user = if (callback == null) null else user };
}

/// Asks a job to stop early: a load fails at its next progress report with
/// TSR_INVALID_OPERATION. Other jobs run to their end. A finished job is left as it is.
pub fn tsr_job_cancel(job: ?*jobs.Job) callconv(.c) i32 {
    return status.report(jobCancel(job));
}

fn jobCancel(job: ?*jobs.Job) status.Error!void {
    const self = try registry.get(jobs.Job, job, .job);
    self.cancel_requested.store(true, .release);
}

/// Later runs of `request` call `callback` as each node of the model's graph starts and ends
/// (exec/observer.zig); NULL removes it. TSR_INVALID_STATE while the request runs.
pub fn tsr_request_set_observer(request: ?*request_module.Request, callback: ?observer_module.Callback, user: ?*anyopaque) callconv(.c) i32 {
    return status.report(setObserver(request, callback, user));
}

fn setObserver(request: ?*request_module.Request, callback: ?observer_module.Callback, user: ?*anyopaque) status.Error!void {
    const self = try registry.get(request_module.Request, request, .request);
    const observer: ?observer_module.Observer = if (callback) |c| .{ .callback = c, .user = user } else null;
    try self.setObserver(observer);
}
