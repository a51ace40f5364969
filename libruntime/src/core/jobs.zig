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
    /// Asked by tsr_job_cancel; work that can stop early (a load, at its next progress report)
    /// looks at it.
    cancel_requested: std.atomic.Value(bool) = .init(false),
    result_status: i32 = 0,
    message: [1024:0]u8 = [_:0]u8{0} ** 1024,
    result: ?*anyopaque = null,

    pub fn wait(self: *Job, timeout_us: i64) bool {
        if (timeout_us == 0) return self.poll();
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

    /// Whether the job is done; if not, the calling thread gives up its CPU once (sched_yield).
    /// A JS thread that polls for the end of a short job (bindings/job-poller.ts) never sleeps,
    /// and the scheduler often puts the worker it woke on the same CPU: without the yield, the
    /// worker would wait there for the poller's time slice to end.
    fn poll(self: *Job) bool {
        if (self.isDone()) return true;
        std.Thread.yield() catch {};
        return false;
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
/// Jobs in the queue, readable without the mutex: a spinning worker watches it.
var queued = std.atomic.Value(u32).init(0);
/// 1 while a worker spins for work: one at a time, so that idle workers never take more than one
/// core between them.
var spinning = std.atomic.Value(u32).init(0);
/// How long a worker that has run a job watches the queue before it sleeps. A job submitted in
/// that time starts without a wake-up, which costs tens of µs where an idle CPU halts (virtual
/// machines); runs submitted one after another (a loop of `await run()`) then never pay it.
/// Short enough that an idle program burns no more than this after its last job.
const spin_ns: u64 = 200 * std.time.ns_per_us;
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
    const ahead = queued.fetchAdd(1, .release);
    // A spinning worker sees a lone job without a wake-up (one that stops spinning now checks the
    // queue under the mutex, held here, before it sleeps, so no job is lost). A job queued behind
    // another wakes a sleeping worker, so that the two run side by side.
    if (ahead > 0 or spinning.load(.acquire) == 0) work_available.signal();
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
        _ = queued.fetchSub(1, .monotonic);
        mutex.unlock();
        execute(job);
        spinForWork();
    }
}

/// Watches the queue for up to spin_ns, unless another worker does already; returns when a job
/// is queued or the time is up (the caller then takes it, or sleeps, under the mutex).
fn spinForWork() void {
    if (spinning.cmpxchgStrong(0, 1, .acquire, .monotonic) != null) return;
    defer spinning.store(0, .release);
    const start = std.time.Instant.now() catch return;
    var rounds: u32 = 0;
    while (queued.load(.acquire) == 0) : (rounds +%= 1) {
        if (rounds % 16 != 15) {
            std.atomic.spinLoopHint();
            continue;
        }
        // Yielding often lets a thread that shares this CPU run: the JS thread that this
        // worker's last job woke is often placed here, and would otherwise wait out the spin.
        std.Thread.yield() catch {};
        const now = std.time.Instant.now() catch return;
        if (now.since(start) >= spin_ns) return;
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

/// Test jobs: one that runs until a second one has run (or 5 s have passed), and that second one.
const SideBySide = struct {
    second_ran: std.atomic.Value(bool) = .init(false),
    first_saw_second: std.atomic.Value(bool) = .init(false),

    fn first(job: *Job) status.Error!?*anyopaque {
        const self: *SideBySide = @ptrCast(@alignCast(job.payload));
        const start = std.time.Instant.now() catch return null;
        while (!self.second_ran.load(.acquire)) {
            const now = std.time.Instant.now() catch return null;
            if (now.since(start) > 5 * std.time.ns_per_s) return null;
            std.Thread.yield() catch {};
        }
        self.first_saw_second.store(true, .release);
        return null;
    }

    fn second(job: *Job) status.Error!?*anyopaque {
        const self: *SideBySide = @ptrCast(@alignCast(job.payload));
        self.second_ran.store(true, .release);
        return null;
    }

    fn discard(_: *anyopaque) void {}
    fn cleanup(_: *Job) void {}
};

test "a job queued behind a running one starts on the other worker, also right after a job (while a worker spins)" {
    defer shutdown();
    // Rounds with no job just before (the workers asleep) and with one (a worker spinning).
    for ([_]bool{ false, true, true, false }) |warm| {
        var state: SideBySide = .{};
        if (warm) {
            const before = try create(SideBySide.second, SideBySide.discard, SideBySide.cleanup, &state);
            try submit(before);
            try std.testing.expect(before.wait(5 * std.time.us_per_s));
            destroy(before);
            state.second_ran.store(false, .release);
        }
        const first = try create(SideBySide.first, SideBySide.discard, SideBySide.cleanup, &state);
        const second = try create(SideBySide.second, SideBySide.discard, SideBySide.cleanup, &state);
        try submit(first);
        try submit(second);
        try std.testing.expect(first.wait(10 * std.time.us_per_s));
        try std.testing.expect(second.wait(10 * std.time.us_per_s));
        destroy(first);
        destroy(second);
        try std.testing.expect(state.first_saw_second.load(.acquire));
    }
}
