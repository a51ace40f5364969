//! Profiling events: a begin and an end per span, recorded into a request's ring buffer by every
//! stage that does work for it (model and subgraph init, request init, transfers, each node, each
//! thread-pool dispatch and the share of it each thread ran, copies, queueing, waiting).
//!
//! Recording is lock-free: a writer claims a slot with one atomic add and fills it, so the pool's
//! threads record into the same ring as the request's thread. The ring keeps the newest
//! `capacity` events and counts the ones it overwrote. It is read only between runs, when no
//! writer is active (the run's end orders every write before the read).
//!
//! With profiling off nothing is recorded: the executor holds a null ring and the pool reads one
//! thread-local pointer per dispatch.
const std = @import("std");
const builtin = @import("builtin");
const status = @import("status.zig");
const memory = @import("memory.zig");

/// In the C ABI's order (tsr_event_kind).
pub const Kind = enum(u32) {
    model_init,
    subgraph_init,
    request_init,
    transfer_from_input,
    transfer_to_output,
    layer_execute,
    launch,
    device_execute,
    copy,
    queue,
    wait,
    model_execute,
    subgraph_execute,
};

pub const Phase = enum(u32) { begin, end };

/// tsr_profile_event; 40 bytes.
pub const Event = extern struct {
    /// Nanoseconds on the monotonic clock since the library's first use of it.
    timestamp_ns: u64,
    kind: u32,
    phase: u32,
    op_index: i32,
    thread_id: u32,
    tensor_id: i32,
    src_device: i16,
    dst_device: i16,
    depth: u32,
    reserved: u32 = 0,
};

/// The optional fields of an event; -1 where they do not apply.
pub const Detail = struct {
    op_index: i32 = -1,
    tensor_id: i32 = -1,
    src_device: i16 = -1,
    dst_device: i16 = -1,
    depth: u32 = 0,
};

/// The CPU's device index in events.
pub const cpu_device: i16 = 0;

pub const default_capacity: u32 = 1 << 16;
/// 4 Mi events (160 MiB): far more than a profile of any real model needs.
pub const max_capacity: u32 = 1 << 22;

var epoch_ns = std.atomic.Value(u64).init(0);

/// CLOCK_MONOTONIC; on Windows, which has no clock_gettime, the performance counter, which is
/// monotonic too and the finest clock there.
fn monotonicNs() u64 {
    if (builtin.os.tag == .windows) {
        const windows = std.os.windows;
        return ticksToNs(windows.QueryPerformanceCounter(), windows.QueryPerformanceFrequency());
    }
    const ts = std.posix.clock_gettime(.MONOTONIC) catch return 0;
    return @as(u64, @intCast(ts.sec)) * std.time.ns_per_s + @as(u64, @intCast(ts.nsec));
}

/// `ticks` of a `frequency` Hz counter in ns; whole seconds and the rest apart, so that neither
/// product overflows (for any counter below 18 GHz).
fn ticksToNs(ticks: u64, frequency: u64) u64 {
    const seconds = ticks / frequency;
    const rest = ticks % frequency;
    return seconds * std.time.ns_per_s + rest * std.time.ns_per_s / frequency;
}

/// Now, in ns since the first call in this process (so timestamps fit a double exactly).
pub fn now() u64 {
    const t = monotonicNs();
    var epoch = epoch_ns.load(.monotonic);
    if (epoch == 0) epoch = epoch_ns.cmpxchgStrong(0, t, .monotonic, .monotonic) orelse t;
    return t -| epoch;
}

pub const Ring = struct {
    events: []Event,
    /// Slots claimed so far; slot i lives at events[i % capacity].
    next: std.atomic.Value(u64) = .init(0),

    pub fn create(capacity: u32) status.Error!*Ring {
        if (capacity == 0 or capacity > max_capacity) {
            return status.fail(error.InvalidArgument, "profile buffer size must be 1..{d} events, got {d}", .{ max_capacity, capacity });
        }
        const self = memory.allocator.create(Ring) catch return oom();
        errdefer memory.allocator.destroy(self);
        const events = memory.allocator.alloc(Event, capacity) catch return oom();
        self.* = .{ .events = events };
        return self;
    }

    pub fn destroy(self: *Ring) void {
        memory.allocator.free(self.events);
        memory.allocator.destroy(self);
    }

    pub fn record(self: *Ring, kind: Kind, phase: Phase, detail: Detail) void {
        self.recordAt(now(), kind, phase, detail);
    }

    pub fn recordAt(self: *Ring, timestamp_ns: u64, kind: Kind, phase: Phase, detail: Detail) void {
        self.recordFor(threadId(), timestamp_ns, kind, phase, detail);
    }

    /// Records an event that happened on another thread, which only noted its times.
    pub fn recordFor(self: *Ring, thread_id: u32, timestamp_ns: u64, kind: Kind, phase: Phase, detail: Detail) void {
        const slot = self.next.fetchAdd(1, .monotonic);
        self.events[@intCast(slot % self.events.len)] = makeEvent(thread_id, timestamp_ns, kind, phase, detail);
    }

    /// Records the begin now; call `end` on the result when the span is over.
    pub fn begin(self: *Ring, kind: Kind, detail: Detail) Span {
        self.record(kind, .begin, detail);
        return .{ .ring = self, .kind = kind, .detail = detail };
    }

    /// Events held (at most the capacity).
    pub fn count(self: *const Ring) usize {
        return @intCast(@min(self.next.load(.acquire), self.events.len));
    }

    /// Events overwritten because the ring was full.
    pub fn dropped(self: *const Ring) u64 {
        return self.next.load(.acquire) - self.count();
    }

    /// Copies the held events, oldest first, into `out`; returns how many were copied.
    pub fn copyOut(self: *const Ring, out: []Event) usize {
        const total = self.next.load(.acquire);
        const held = self.count();
        const n = @min(held, out.len);
        const first = total - held;
        for (out[0..n], 0..) |*slot, i| slot.* = self.events[@intCast((first + i) % self.events.len)];
        return n;
    }

    /// Copies `events` in as if recorded now (the model's init events, into a new request's ring).
    pub fn append(self: *Ring, events: []const Event) void {
        for (events) |event| {
            const slot = self.next.fetchAdd(1, .monotonic);
            self.events[@intCast(slot % self.events.len)] = event;
        }
    }

    pub fn clear(self: *Ring) void {
        self.next.store(0, .release);
    }
};

/// An open span: `end` records its end with the same kind and detail.
pub const Span = struct {
    ring: *Ring,
    kind: Kind,
    detail: Detail,

    pub fn end(self: Span) void {
        self.ring.record(self.kind, .end, self.detail);
    }
};

/// Opens a span when `ring` is set; the result's `end` is then a no-op for a null ring.
pub fn maybeBegin(ring: ?*Ring, kind: Kind, detail: Detail) ?Span {
    return if (ring) |r| r.begin(kind, detail) else null;
}

pub fn maybeEnd(span: ?Span) void {
    if (span) |s| s.end();
}

/// What the thread pool needs to attribute a dispatch: set on the submitting thread around a
/// node's kernel, read when that kernel calls parallelFor.
pub const Scope = struct {
    ring: *Ring,
    op_index: i32,
    depth: u32,
};

pub threadlocal var current: ?Scope = null;

pub fn threadId() u32 {
    return @truncate(@as(u64, @intCast(std.Thread.getCurrentId())));
}

/// Events recorded outside any request (the model's load), kept to be copied into the rings of
/// the requests that profile later.
pub const Log = struct {
    events: std.ArrayList(Event) = .empty,

    pub fn deinit(self: *Log) void {
        self.events.deinit(memory.allocator);
    }

    /// Adds a finished span; a failure to grow only loses the event.
    pub fn span(self: *Log, kind: Kind, begin_ns: u64, end_ns: u64, detail: Detail) void {
        const id = threadId();
        const pair = [2]Event{ makeEvent(id, begin_ns, kind, .begin, detail), makeEvent(id, end_ns, kind, .end, detail) };
        self.events.appendSlice(memory.allocator, &pair) catch {};
    }
};

fn makeEvent(thread_id: u32, timestamp_ns: u64, kind: Kind, phase: Phase, detail: Detail) Event {
    return .{
        .timestamp_ns = timestamp_ns,
        .kind = @intFromEnum(kind),
        .phase = @intFromEnum(phase),
        .op_index = detail.op_index,
        .thread_id = thread_id,
        .tensor_id = detail.tensor_id,
        .src_device = detail.src_device,
        .dst_device = detail.dst_device,
        .depth = detail.depth,
    };
}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory for the profile buffer", .{});
}

test "the ring keeps the newest events, oldest first, and counts the overwritten ones" {
    const ring = try Ring.create(4);
    defer ring.destroy();
    for (0..6) |i| ring.recordAt(i, .layer_execute, if (i % 2 == 0) .begin else .end, .{ .op_index = @intCast(i) });
    try std.testing.expectEqual(@as(usize, 4), ring.count());
    try std.testing.expectEqual(@as(u64, 2), ring.dropped());
    var out: [8]Event = undefined;
    const n = ring.copyOut(&out);
    try std.testing.expectEqual(@as(usize, 4), n);
    for (out[0..n], 2..) |event, i| try std.testing.expectEqual(@as(u64, i), event.timestamp_ns);
    ring.clear();
    try std.testing.expectEqual(@as(usize, 0), ring.count());
}

test "spans from several threads all land" {
    const ring = try Ring.create(1024);
    defer ring.destroy();
    const Worker = struct {
        fn run(r: *Ring) void {
            for (0..100) |_| r.begin(.device_execute, .{}).end();
        }
    };
    var threads: [3]std.Thread = undefined;
    for (&threads) |*t| t.* = try std.Thread.spawn(.{}, Worker.run, .{ring});
    for (threads) |t| t.join();
    try std.testing.expectEqual(@as(usize, 600), ring.count());
    var out: [600]Event = undefined;
    _ = ring.copyOut(&out);
    var begins: usize = 0;
    for (out) |event| begins += @intFromBool(event.phase == @intFromEnum(Phase.begin));
    try std.testing.expectEqual(@as(usize, 300), begins);
}

test "counter ticks convert to ns" {
    try std.testing.expectEqual(@as(u64, 1_500_000_100), ticksToNs(15_000_001, 10_000_000));
    try std.testing.expectEqual(@as(u64, 86_400 * std.time.ns_per_s), ticksToNs(86_400 * 3_000_000_000, 3_000_000_000));
}

test "capacity is checked" {
    try std.testing.expectError(error.InvalidArgument, Ring.create(0));
    try std.testing.expectError(error.InvalidArgument, Ring.create(max_capacity + 1));
}
