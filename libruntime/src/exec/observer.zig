//! Per-request node observers (tsr_request_set_observer): a caller's function told as each node
//! of the model's graph starts and ends, with the node's index and, at the end, how long it took.
//! Subgraph nodes (If, Loop and Scan bodies) are inside their node's span and not told apart;
//! nodes that a run skips (not needed by the selected outputs, folded at load) are not told.
//! A request without an observer pays one null test per node. The function returning nonzero
//! stops the run there: it fails with RequestError, and the request and model stay usable.
const std = @import("std");
const status = @import("../core/status.zig");
const profile = @import("../core/profile.zig");

/// TSR_NODE_* events: a node's start and end, and the end of a run that ran every node it had
/// to (its `node` the count of nodes told), after which nothing more is told of that run.
pub const Event = enum(i32) { start = 0, end = 1, run_end = 2 };

/// tsr_node_fn: the event, the node's index in the model's operations, the node's duration in
/// µs (0 for a start), and the user pointer; nonzero stops the run.
pub const Callback = *const fn (event: i32, node: u32, duration_us: f64, user: ?*anyopaque) callconv(.c) i32;

pub const Observer = struct {
    callback: Callback,
    user: ?*anyopaque,

    /// Tells of node `index` starting; returns when it started, for `end`.
    pub fn start(self: Observer, index: u32) status.Error!u64 {
        try self.tell(.start, index, 0);
        return profile.now();
    }

    pub fn end(self: Observer, index: u32, started_ns: u64) status.Error!void {
        const duration_ns = profile.now() -| started_ns;
        try self.tell(.end, index, @as(f64, @floatFromInt(duration_ns)) / std.time.ns_per_us);
    }

    /// After the last node of a run that went well: what `count` nodes were told. Its return
    /// is not looked at: there is nothing left to stop.
    pub fn runEnd(self: Observer, count: u32) void {
        _ = self.callback(@intFromEnum(Event.run_end), count, 0, self.user);
    }

    fn tell(self: Observer, event: Event, index: u32, duration_us: f64) status.Error!void {
        if (self.callback(@intFromEnum(event), index, duration_us, self.user) == 0) return;
        return status.fail(error.RequestError, "the run was stopped by its observer at the {s} of node {d}", .{ @tagName(event), index });
    }
};

const Recorded = struct {
    events: [8]i32 = undefined,
    count: usize = 0,

    fn callback(event: i32, node: u32, duration_us: f64, user: ?*anyopaque) callconv(.c) i32 {
        const self: *Recorded = @ptrCast(@alignCast(user.?));
        std.debug.assert(duration_us >= 0);
        self.events[self.count] = event * 100 + @as(i32, @intCast(node));
        self.count += 1;
        return @intFromBool(node == 7);
    }
};

test "an observer hears starts and ends, and stops the run by returning nonzero" {
    var recorded: Recorded = .{};
    const observer: Observer = .{ .callback = Recorded.callback, .user = &recorded };
    const started = try observer.start(3);
    try observer.end(3, started);
    try std.testing.expectEqualSlices(i32, &.{ 3, 103 }, recorded.events[0..recorded.count]);
    try std.testing.expectError(error.RequestError, observer.start(7));
}
