//! Load progress: each stage of a load reports how far it is, and the caller's callback (the load
//! option set by tsr_options_set_progress) hears of it on the loading thread. Within a stage the
//! fraction only grows, the stage opens with 0 and closes with 1, and in between a report goes
//! out only when the fraction has grown by a percent or 20 ms have passed since the last one, so a
//! model of a million nodes makes about as many calls as one of a hundred.
//!
//! The callback returning nonzero cancels the load, and so does a cancel asked of its job
//! (tsr_job_cancel): the next report fails it with InvalidOperation.
const std = @import("std");
const status = @import("status.zig");
const profile = @import("profile.zig");

/// The stages of a load, in the order they run (TSR_LOAD_STAGE_*).
pub const Stage = enum(i32) {
    /// Opening the file or folder (memory-mapped), and decrypting an encrypted container.
    read = 0,
    /// Decoding the ONNX protobuf.
    decode = 1,
    /// Building the IR: functions inlined, nodes in topological order.
    import = 2,
    /// Types and symbolic shapes of every value.
    infer = 3,
    /// Marking the chains the CPU kernels run as one.
    fuse = 4,
    /// Constant folding and dead-node removal.
    fold = 5,
    /// Placing each node on a device and compiling it there (kernels chosen, weights packed).
    compile = 6,
};

/// tsr_progress_fn: called with the stage, the fraction of it done (0..1), and the user pointer.
pub const Callback = *const fn (stage: i32, fraction: f64, user: ?*anyopaque) callconv(.c) i32;

/// Where a load's reports go: the load option (copied into every load made with it).
pub const Listener = struct {
    callback: ?Callback = null,
    user: ?*anyopaque = null,
    /// Set from another thread to stop the load at its next report (a load job's cancel flag).
    cancel: ?*const std.atomic.Value(bool) = null,

    /// Whether a load needs a reporter at all.
    pub fn listens(self: Listener) bool {
        return self.callback != null or self.cancel != null;
    }
};

/// The smallest growth of the fraction, and the longest silence, between two reports.
const step_fraction = 0.01;
const interval_ns = 20 * std.time.ns_per_ms;

/// One load's reporter. Every method takes an optional pointer, so a load without a listener
/// pays one null test per report point.
pub const Progress = struct {
    listener: Listener,
    stage: Stage = .read,
    fraction: f64 = 0,
    reported_ns: u64 = 0,

    /// Opens `stage` with a report of 0.
    pub fn begin(self: ?*Progress, stage: Stage) status.Error!void {
        const p = self orelse return;
        p.stage = stage;
        p.fraction = 0;
        try p.report(0);
    }

    /// `done` of `total` items of the current stage are done; reported when throttling allows.
    pub fn update(self: ?*Progress, done: usize, total: usize) status.Error!void {
        const p = self orelse return;
        std.debug.assert(done <= total);
        if (total == 0) return;
        // Below 1: only end() closes a stage.
        const fraction = @min(@as(f64, @floatFromInt(done)) / @as(f64, @floatFromInt(total)), 0.999);
        if (fraction <= p.fraction) return;
        if (fraction - p.fraction < step_fraction and profile.now() -| p.reported_ns < interval_ns) return;
        try p.report(fraction);
    }

    /// Closes the current stage with a report of 1.
    pub fn end(self: ?*Progress) status.Error!void {
        const p = self orelse return;
        try p.report(1);
    }

    fn report(self: *Progress, fraction: f64) status.Error!void {
        std.debug.assert(fraction >= self.fraction or fraction == 0);
        if (self.listener.cancel) |flag| if (flag.load(.acquire)) return cancelled(self.stage);
        self.fraction = fraction;
        self.reported_ns = profile.now();
        const callback = self.listener.callback orelse return;
        if (callback(@intFromEnum(self.stage), fraction, self.listener.user) != 0) return cancelled(self.stage);
    }
};

fn cancelled(stage: Stage) status.Error {
    return status.fail(error.InvalidOperation, "the load was cancelled during its {s} stage", .{@tagName(stage)});
}

const Recorded = struct {
    stages: [128]i32 = undefined,
    fractions: [128]f64 = undefined,
    count: usize = 0,
    stop_after: usize = std.math.maxInt(usize),

    fn callback(stage: i32, fraction: f64, user: ?*anyopaque) callconv(.c) i32 {
        const self: *Recorded = @ptrCast(@alignCast(user.?));
        self.stages[self.count] = stage;
        self.fractions[self.count] = fraction;
        self.count += 1;
        return @intFromBool(self.count >= self.stop_after);
    }
};

test "a stage opens with 0, grows in steps of at least a percent, and closes with 1" {
    var recorded: Recorded = .{};
    var progress: Progress = .{ .listener = .{ .callback = Recorded.callback, .user = &recorded } };
    const p: ?*Progress = &progress;
    try Progress.begin(p, .compile);
    for (0..10_000) |i| try Progress.update(p, i + 1, 10_000);
    try Progress.end(p);
    try std.testing.expect(recorded.count >= 3 and recorded.count <= 102);
    try std.testing.expectEqual(@as(f64, 0), recorded.fractions[0]);
    try std.testing.expectEqual(@as(f64, 1), recorded.fractions[recorded.count - 1]);
    for (1..recorded.count) |i| {
        try std.testing.expect(recorded.fractions[i] > recorded.fractions[i - 1]);
        try std.testing.expectEqual(@intFromEnum(Stage.compile), recorded.stages[i]);
    }
    try Progress.begin(null, .read); // no listener: nothing to do
}

test "a nonzero return or the cancel flag stops the load with InvalidOperation" {
    var recorded: Recorded = .{ .stop_after = 2 };
    var progress: Progress = .{ .listener = .{ .callback = Recorded.callback, .user = &recorded } };
    try Progress.begin(&progress, .decode);
    try std.testing.expectError(error.InvalidOperation, Progress.end(&progress));
    var flag = std.atomic.Value(bool).init(true);
    var flagged: Progress = .{ .listener = .{ .cancel = &flag } };
    try std.testing.expectError(error.InvalidOperation, Progress.begin(&flagged, .read));
}
