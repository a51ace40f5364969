//! Loading a model on a worker thread (tsr_model_load_async): the request's path or bytes and
//! the options are copied first, so the caller's memory is free to go once the call returns.
const std = @import("std");
const status = @import("../core/status.zig");
const memory = @import("../core/memory.zig");
const jobs = @import("../core/jobs.zig");
const model_module = @import("model.zig");
const options_module = @import("options.zig");
const source_module = @import("source.zig");

pub const Request = union(enum) { path: []const u8, bytes: []const u8 };

const Payload = struct {
    request: Request,
    options: options_module.Options,
    compile: model_module.Compile,
    donor: ?*model_module.Model,
};

/// `donor` (a hot update's model to share with; see model.Compile) must outlive the job's run.
pub fn start(request: Request, options: *const options_module.Options, compile: model_module.Compile, donor: ?*model_module.Model) status.Error!*jobs.Job {
    const payload = memory.allocator.create(Payload) catch return oom();
    errdefer memory.allocator.destroy(payload);
    const copy = switch (request) {
        .path => |p| Request{ .path = memory.allocator.dupe(u8, p) catch return oom() },
        .bytes => |b| Request{ .bytes = memory.allocator.dupe(u8, b) catch return oom() },
    };
    payload.* = .{ .request = copy, .compile = compile, .donor = donor, .options = options.clone() catch |e| {
        freeRequest(copy);
        return e;
    } };
    const job = jobs.create(run, discard, cleanup, payload) catch |e| {
        freePayload(payload);
        return e;
    };
    jobs.submit(job) catch |e| {
        freePayload(payload);
        memory.allocator.destroy(job);
        return e;
    };
    return job;
}

fn run(job: *jobs.Job) status.Error!?*anyopaque {
    const payload: *Payload = @ptrCast(@alignCast(job.payload));
    // tsr_job_cancel stops the load at its next progress report.
    payload.options.progress.cancel = &job.cancel_requested;
    const source = switch (payload.request) {
        .path => |p| try source_module.Source.fromPath(p),
        .bytes => |b| try source_module.Source.fromBytes(b),
    };
    return try model_module.Model.load(source, &payload.options, payload.compile, payload.donor);
}

fn discard(result: *anyopaque) void {
    const model: *model_module.Model = @ptrCast(@alignCast(result));
    model.destroy();
}

fn cleanup(job: *jobs.Job) void {
    const payload: *Payload = @ptrCast(@alignCast(job.payload));
    freePayload(payload);
}

fn freeRequest(request: Request) void {
    switch (request) {
        .path => |p| memory.allocator.free(p),
        .bytes => |b| memory.allocator.free(b),
    }
}

fn freePayload(payload: *Payload) void {
    freeRequest(payload.request);
    payload.options.deinit();
    memory.allocator.destroy(payload);
}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory starting a load", .{});
}
