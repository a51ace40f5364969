//! Background jobs: work that must not block the caller's thread (model loads now, inference
//! requests later) runs on a small pool of persistent worker threads. A finished job wakes its
//! waiters and calls the completion callback, which the Bun binding uses to resolve promises.
const std = @import("std");
const os_error = @import("os_error.zig");
const memory = @import("memory.zig");
const registry = @import("registry.zig");
const status = @import("status.zig");

/// Called on a worker thread when a job finishes: its id and status.
pub const CompletionCallback = *const fn (job_id: u32, status: i32, user: ?*anyopaque) callconv(.c) void;

pub const Job = struct {
    id: u32,
    /// Runs on a worker; returns the result object or fails with a status error.
    run: *const fn (job: *Job) status.Error!?*anyopaque,
    /// Frees a result nobody took (the job was destroyed first).
    discard: *const fn (result: *anyopaque) void,
    /// Frees the job's own inputs once it has run.
    cleanup: *const fn (job: *Job) void,
    payload: *anyopaque,
    /// The thread that created the job: its completion callback is told when the job ends.
    origin: std.Thread.Id,

    mutex: std.Thread.Mutex = .{},
    finished: std.Thread.Condition = .{},
    done: bool = false,
    /// The owner destroyed the job while it was queued or running: the worker frees it.
    abandoned: bool = false,
    result_status: i32 = 0,
    message: [1024:0]u8 = [_:0]u8{0} ** 1024,
    result: ?*anyopaque = null,

    pub fn wait(self: *Job, timeout_us: i64) bool {
        self.mutex.lock();
        defer self.mutex.unlock();
        if (timeout_us < 0) {
            while (!self.done) self.finished.wait(&self.mutex);
            return true;
        }
        const deadline = std.time.nanoTimestamp() + @as(i128, timeout_us) * 1000;
        while (!self.done) {
            const left = deadline - std.time.nanoTimestamp();
            if (left <= 0) return false;
            self.finished.timedWait(&self.mutex, @intCast(left)) catch {};
        }
        return true;
    }

    pub fn isDone(self: *Job) bool {
        self.mutex.lock();
        defer self.mutex.unlock();
        return self.done;
    }

    /// Moves the result out; null once taken or when the job failed.
    pub fn take(self: *Job) ?*anyopaque {
        self.mutex.lock();
        defer self.mutex.unlock();
        defer self.result = null;
        return self.result;
    }
};

var next_id = std.atomic.Value(u32).init(1);
var mutex: std.Thread.Mutex = .{};
var work_available: std.Thread.Condition = .{};
var queue: std.ArrayList(*Job) = .empty;
var workers: [2]?std.Thread = .{ null, null };
var stopping = false;
var in_flight = std.atomic.Value(u32).init(0);
/// Completion callbacks, one per thread that installed one. A job's completion goes to the
/// callback of the thread that created it: every JS thread (the main one and each Worker)
/// installs its own, and a JS callback can only settle promises of the thread that made it. A job
/// from a thread that installed none goes to the most recently installed callback, so a C program
/// may install one callback for all its threads.
const Listener = struct { thread: std.Thread.Id, function: CompletionCallback, user: ?*anyopaque };
const max_listeners = 256;
/// Held while a callback runs, so that replacing one waits for calls in progress: the host may
/// free the old callback as soon as setCallback returns.
var callback_mutex: std.Thread.Mutex = .{};
var listeners: [max_listeners]Listener = undefined;
var listener_count: usize = 0;

/// Installs (or with null, removes) the calling thread's completion callback.
pub fn setCallback(function: ?CompletionCallback, user: ?*anyopaque) status.Error!void {
    callback_mutex.lock();
    defer callback_mutex.unlock();
    const self = std.Thread.getCurrentId();
    // Removed, then appended again when given, so that the last installed is last in the list.
    for (listeners[0..listener_count], 0..) |listener, i| {
        if (listener.thread != self) continue;
        std.mem.copyForwards(Listener, listeners[i .. listener_count - 1], listeners[i + 1 .. listener_count]);
        listener_count -= 1;
        break;
    }
    const installed = function orelse return;
    if (listener_count == max_listeners) {
        return status.fail(error.OutOfResource, "{d} threads have completion callbacks; no more can be installed", .{max_listeners});
    }
    listeners[listener_count] = .{ .thread = self, .function = installed, .user = user };
    listener_count += 1;
}

/// The callback for a job made on `thread`; callback_mutex must be held.
fn listenerFor(thread: std.Thread.Id) ?Listener {
    for (listeners[0..listener_count]) |listener| if (listener.thread == thread) return listener;
    return if (listener_count > 0) listeners[listener_count - 1] else null;
}

pub fn create(run: @FieldType(Job, "run"), discard: @FieldType(Job, "discard"), cleanup: @FieldType(Job, "cleanup"), payload: *anyopaque) status.Error!*Job {
    const job = memory.allocator.create(Job) catch return status.fail(error.OutOfResource, "out of memory creating a job", .{});
    job.* = .{ .id = next_id.fetchAdd(1, .monotonic), .run = run, .discard = discard, .cleanup = cleanup, .payload = payload, .origin = std.Thread.getCurrentId() };
    return job;
}

pub fn submit(job: *Job) status.Error!void {
    mutex.lock();
    defer mutex.unlock();
    try startWorkers();
    queue.append(memory.allocator, job) catch return status.fail(error.OutOfResource, "out of memory queueing a job", .{});
    registry.add(job, .job) catch |e| {
        _ = queue.pop();
        return e;
    };
    _ = in_flight.fetchAdd(1, .monotonic);
    work_available.signal();
}

fn startWorkers() status.Error!void {
    stopping = false;
    for (&workers) |*slot| {
        if (slot.* != null) continue;
        slot.* = std.Thread.spawn(.{}, workerLoop, .{}) catch |e|
            return status.fail(error.OSError, "cannot start a worker thread: {s}", .{os_error.describe(e)});
    }
}

/// Destroys a job; one still queued or running is freed by its worker when it ends.
pub fn destroy(job: *Job) void {
    if (!registry.remove(job, .job)) return;
    job.mutex.lock();
    if (!job.done) {
        job.abandoned = true;
        job.mutex.unlock();
        return;
    }
    job.mutex.unlock();
    free(job);
}

fn free(job: *Job) void {
    if (job.result) |r| job.discard(r);
    memory.allocator.destroy(job);
}

pub fn inFlight() u32 {
    return in_flight.load(.monotonic);
}

fn workerLoop() void {
    while (true) {
        mutex.lock();
        while (queue.items.len == 0 and !stopping) work_available.wait(&mutex);
        if (queue.items.len == 0) {
            mutex.unlock();
            return;
        }
        const job = queue.orderedRemove(0);
        mutex.unlock();
        execute(job);
    }
}

fn execute(job: *Job) void {
    const outcome = job.run(job);
    job.cleanup(job);
    job.mutex.lock();
    if (outcome) |result| {
        job.result = result;
    } else |err| {
        job.result_status = status.toStatus(err);
        const message = std.mem.span(status.lastMessage());
        const len = @min(message.len, job.message.len);
        @memcpy(job.message[0..len], message[0..len]);
        job.message[len] = 0;
    }
    job.done = true;
    const abandoned = job.abandoned;
    const id = job.id;
    const origin = job.origin;
    const job_status = job.result_status;
    job.finished.broadcast();
    job.mutex.unlock();
    _ = in_flight.fetchSub(1, .monotonic);
    if (abandoned) {
        free(job);
        return;
    }
    callback_mutex.lock();
    defer callback_mutex.unlock();
    if (listenerFor(origin)) |listener| listener.function(id, job_status, listener.user);
}

/// Stops the workers once the queue is empty; called by the last finalize.
pub fn shutdown() void {
    mutex.lock();
    stopping = true;
    work_available.broadcast();
    mutex.unlock();
    for (&workers) |*slot| {
        if (slot.*) |thread| thread.join();
        slot.* = null;
    }
    queue.deinit(memory.allocator);
    queue = .empty;
}
