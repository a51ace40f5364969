//! OpenVINO's performance hints as load options: `performance_hint` (latency or throughput) and
//! `num_requests` (how many requests the caller keeps in flight) choose, once at load, the
//! model's kernel threads, its streams (how many of its runs go on side by side) and the size of
//! a request queue for it, and the model reports what was chosen (tsr_model_get_config).
//!
//! - latency: one stream with every core's thread, so each run finishes as soon as it can;
//! - throughput: a stream per core (at most num_requests), each with an equal share of the
//!   threads, so that runs go on side by side rather than one wide run at a time;
//! - none: the threads option as given, runs not limited.
//! An explicit `threads` option wins over what a hint would choose, as in OpenVINO.
const std = @import("std");
const options_module = @import("../model/options.zig");

const Hint = options_module.PerformanceHint;

pub const Config = struct {
    /// The kernel threads of the model's CPU pool (0: the pool's default, a thread per core).
    threads: u32,
    /// Runs of the model that go on at once; 0: not limited.
    streams: u32,
    /// The requests a queue over the model should hold to keep its streams busy.
    queue_size: u32,
};

/// What `options` ask for on a machine with `cores` physical cores.
pub fn choose(options: *const options_module.Options, cores: u32) Config {
    std.debug.assert(cores >= 1);
    const asked = options.num_requests;
    return switch (options.performance_hint) {
        // A second request queued behind each native worker's run keeps the workers busy.
        .none => .{ .threads = options.threads, .streams = 0, .queue_size = if (asked > 0) asked else @max(2, cores) },
        .latency => .{ .threads = if (options.threads > 0) options.threads else cores, .streams = 1, .queue_size = if (asked > 0) asked else 1 },
        .throughput => throughput(options.threads, asked, cores),
    };
}

fn throughput(threads_option: u32, asked: u32, cores: u32) Config {
    const streams = if (asked > 0) @min(asked, cores) else cores;
    const threads = if (threads_option > 0) threads_option else @max(1, cores / streams);
    // Twice the streams: one request runs while the next waits, ready, behind it.
    return .{ .threads = threads, .streams = streams, .queue_size = if (asked > 0) asked else 2 * streams };
}

/// At most `limit` holders at once (0: no limit); waiting holders are woken one per release.
pub const Streams = struct {
    limit: u32,
    mutex: std.Thread.Mutex = .{},
    freed: std.Thread.Condition = .{},
    running: u32 = 0,

    pub fn enter(self: *Streams) void {
        if (self.limit == 0) return;
        self.mutex.lock();
        defer self.mutex.unlock();
        while (self.running >= self.limit) self.freed.wait(&self.mutex);
        self.running += 1;
    }

    pub fn leave(self: *Streams) void {
        if (self.limit == 0) return;
        self.mutex.lock();
        defer self.mutex.unlock();
        std.debug.assert(self.running > 0);
        self.running -= 1;
        self.freed.signal();
    }
};

test "latency takes every core for one stream; throughput splits them among the requests" {
    var options: options_module.Options = .{};
    try std.testing.expectEqual(Config{ .threads = 0, .streams = 0, .queue_size = 8 }, choose(&options, 8));
    options.performance_hint = .latency;
    try std.testing.expectEqual(Config{ .threads = 8, .streams = 1, .queue_size = 1 }, choose(&options, 8));
    options.performance_hint = .throughput;
    try std.testing.expectEqual(Config{ .threads = 1, .streams = 8, .queue_size = 16 }, choose(&options, 8));
    options.num_requests = 2;
    try std.testing.expectEqual(Config{ .threads = 4, .streams = 2, .queue_size = 2 }, choose(&options, 8));
    options.threads = 3; // an explicit thread count wins
    try std.testing.expectEqual(Config{ .threads = 3, .streams = 2, .queue_size = 2 }, choose(&options, 8));
}

test "streams let at most `limit` holders in" {
    var streams: Streams = .{ .limit = 1 };
    streams.enter();
    const Waiter = struct {
        fn run(s: *Streams, entered: *std.atomic.Value(bool)) void {
            s.enter();
            entered.store(true, .release);
            s.leave();
        }
    };
    var entered = std.atomic.Value(bool).init(false);
    const thread = try std.Thread.spawn(.{}, Waiter.run, .{ &streams, &entered });
    std.Thread.sleep(20 * std.time.ns_per_ms);
    try std.testing.expect(!entered.load(.acquire));
    streams.leave();
    thread.join();
    try std.testing.expect(entered.load(.acquire));
}
