//! Memory planning: one block per request run, with every intermediate at an offset fixed once
//! per model and input shape, and tensors whose lifetimes do not overlap sharing bytes.
//!
//! How a plan is made: the first run of a shape records each output a top-level node allocates
//! (its size and the node that made it) while memory is still plain and distinct. Which buffer a
//! value lives in is found by address, so a kernel that returns a view of its input (Reshape,
//! Identity, a branch of If) extends that buffer's life without having to say so. A buffer lives
//! from its producer to the last node that reads any value in it; graph outputs live to the end.
//! Offsets are then placed greedily, largest first, at the lowest offset that no live-overlapping
//! buffer uses (the classic interval-coloring heuristic of ORT and TFLite's planners).
//!
//! Why a planned run cannot go wrong silently: kernels may pick a different size or aliasing on
//! the same input shapes (data-dependent ops like NonZero, or If taking the other branch). A size
//! that differs from the plan gets fresh memory; an output that lands in the block where the plan
//! did not put it fails the run with `error.PlanMismatch`, and the caller runs again unplanned.
const std = @import("std");
const memory = @import("../core/memory.zig");
const tensor_module = @import("../tensor/tensor.zig");
const value = @import("value.zig");
const guarded_memory = @import("guarded_memory.zig");

const alignment = tensor_module.data_alignment;

/// How a run's top-level outputs get memory.
pub const Planning = union(enum) {
    /// Plain arena memory, all distinct (memory optimization off, or the graph cannot be planned).
    none,
    /// The first run of a shape: distinct memory, watched to make a plan.
    record: *Recorder,
    /// Later runs of that shape: memory at the plan's offsets.
    replay: *const Session,
    /// Distinct memory between guard bytes, recorded, so that the backend test harness can find
    /// writes outside an output (guarded_memory.zig).
    guarded: *guarded_memory.Guards,
};

/// One output of one node, as the plan knows it.
pub const Slot = struct {
    /// Index into `buffers` of the memory this output is; null: outside every planned buffer
    /// (a constant, a caller input, or memory a subgraph allocated).
    buffer: ?u32 = null,
    /// True when the output is its own buffer (not a view of another node's output).
    owns: bool = false,
};

pub const Buffer = struct {
    bytes: usize,
    first: u32,
    last: u32,
    offset: usize = 0,
};

pub const Plan = struct {
    key: []const i64,
    /// slots[slot_start[n] + i] is output i of node n.
    slot_start: []const u32,
    slots: []const Slot,
    buffers: []const Buffer,
    block_bytes: usize,
    references: u32 = 0,
    evicted: bool = false,

    fn destroy(self: *Plan) void {
        memory.allocator.free(self.key);
        memory.allocator.free(self.slot_start);
        memory.allocator.free(self.slots);
        memory.allocator.free(self.buffers);
        memory.allocator.destroy(self);
    }

    pub fn slot(self: *const Plan, node: u32, output: usize) Slot {
        const start = self.slot_start[node];
        const end = self.slot_start[node + 1];
        return if (start + output < end) self.slots[start + output] else .{};
    }
};

/// Places buffers in one block so that two buffers whose [first, last] node ranges overlap never
/// share bytes; returns the block's size. Deterministic: ties keep the recording order.
pub fn assignOffsets(allocator: std.mem.Allocator, buffers: []Buffer) error{OutOfMemory}!usize {
    const order = try allocator.alloc(u32, buffers.len);
    defer allocator.free(order);
    for (order, 0..) |*o, i| o.* = @intCast(i);
    std.sort.pdq(u32, order, buffers, struct {
        fn larger(b: []Buffer, x: u32, y: u32) bool {
            return if (b[x].bytes != b[y].bytes) b[x].bytes > b[y].bytes else x < y;
        }
    }.larger);
    // Placed buffers that live at the same time as the one being placed, sorted by offset.
    var live: std.ArrayList(u32) = .empty;
    defer live.deinit(allocator);
    var total: usize = 0;
    for (order, 0..) |index, placed_count| {
        const buffer = &buffers[index];
        live.clearRetainingCapacity();
        for (order[0..placed_count]) |other| {
            const b = buffers[other];
            if (b.first <= buffer.last and buffer.first <= b.last) try live.append(allocator, other);
        }
        std.sort.pdq(u32, live.items, buffers, struct {
            fn lower(b: []Buffer, x: u32, y: u32) bool {
                return b[x].offset < b[y].offset;
            }
        }.lower);
        var offset: usize = 0;
        for (live.items) |other| {
            const b = buffers[other];
            if (offset + buffer.bytes <= b.offset) break; // fits in the gap before `b`
            offset = @max(offset, std.mem.alignForward(usize, b.offset + b.bytes, alignment));
        }
        buffer.offset = offset;
        total = @max(total, offset + buffer.bytes);
    }
    return std.mem.alignForward(usize, total, alignment);
}

/// Watches an unplanned run and turns it into a Plan.
pub const Recorder = struct {
    allocator: std.mem.Allocator,
    /// For each value of the top graph: the last node that reads it; graph outputs: node count.
    last_use: []const u32,
    slot_start: []u32,
    slots: []Slot,
    buffers: std.ArrayList(Buffer) = .empty,
    /// Where each recorded buffer is in this run, to find views by address.
    ranges: std.ArrayList([]const u8) = .empty,

    pub fn init(allocator: std.mem.Allocator, last_use: []const u32, outputs_per_node: []const usize) error{OutOfMemory}!Recorder {
        const slot_start = try allocator.alloc(u32, outputs_per_node.len + 1);
        var total: u32 = 0;
        for (outputs_per_node, 0..) |n, i| {
            slot_start[i] = total;
            total += @intCast(n);
        }
        slot_start[outputs_per_node.len] = total;
        const slots = try allocator.alloc(Slot, total);
        @memset(slots, .{});
        return .{ .allocator = allocator, .last_use = last_use, .slot_start = slot_start, .slots = slots };
    }

    /// A kernel allocated `bytes` for output `output` of `node`, holding value `value_id`.
    pub fn allocated(self: *Recorder, node: u32, output: usize, value_id: ?u32, data: []const u8) error{OutOfMemory}!void {
        const last = if (value_id) |id| self.last_use[id] else node;
        try self.buffers.append(self.allocator, .{ .bytes = data.len, .first = node, .last = @max(last, node) });
        try self.ranges.append(self.allocator, data);
        self.slots[self.slot_start[node] + output] = .{ .buffer = @intCast(self.buffers.items.len - 1), .owns = true };
    }

    /// After `node` ran: finds which buffer each output is in, and keeps that buffer alive for
    /// as long as the output's value is read.
    pub fn produced(self: *Recorder, node: u32, output: usize, value_id: ?u32, tensor: *const value.Tensor) void {
        const slot = &self.slots[self.slot_start[node] + output];
        if (slot.owns) {
            const range = self.ranges.items[slot.buffer.?];
            if (tensor.data.ptr == range.ptr) return;
            slot.* = .{}; // the kernel allocated, then returned something else
        }
        const found = self.containing(tensor.data) orelse return;
        slot.buffer = found;
        if (value_id) |id| {
            const b = &self.buffers.items[found];
            b.last = @max(b.last, self.last_use[id]);
        }
    }

    fn containing(self: *const Recorder, data: []const u8) ?u32 {
        if (data.len == 0) return null;
        const address = @intFromPtr(data.ptr);
        for (self.ranges.items, 0..) |range, i| {
            const start = @intFromPtr(range.ptr);
            if (address >= start and address < start + range.len) return @intCast(i);
        }
        return null;
    }

    /// The finished plan (owned by memory.allocator), for input shapes `key`.
    pub fn finish(self: *Recorder, key: []const i64) error{OutOfMemory}!*Plan {
        const buffers = try memory.allocator.dupe(Buffer, self.buffers.items);
        errdefer memory.allocator.free(buffers);
        const block_bytes = try assignOffsets(self.allocator, buffers);
        const plan = try memory.allocator.create(Plan);
        errdefer memory.allocator.destroy(plan);
        const owned_key = try memory.allocator.dupe(i64, key);
        errdefer memory.allocator.free(owned_key);
        const slot_start = try memory.allocator.dupe(u32, self.slot_start);
        errdefer memory.allocator.free(slot_start);
        plan.* = .{
            .key = owned_key,
            .slot_start = slot_start,
            .slots = try memory.allocator.dupe(Slot, self.slots),
            .buffers = buffers,
            .block_bytes = block_bytes,
        };
        return plan;
    }
};

/// A planned run: hands out the plan's offsets and checks that outputs land where it said.
pub const Session = struct {
    plan: *const Plan,
    block: []u8,

    /// The planned memory for this output, or null when the plan has none of this size.
    pub fn take(self: *const Session, node: u32, output: usize, bytes: usize) ?[]u8 {
        const slot = self.plan.slot(node, output);
        if (!slot.owns) return null;
        const buffer = self.plan.buffers[slot.buffer.?];
        if (buffer.bytes != bytes) return null;
        return self.block[buffer.offset..][0..bytes];
    }

    /// False when the output is inside the block somewhere the plan did not put it.
    pub fn agrees(self: *const Session, node: u32, output: usize, tensor: *const value.Tensor) bool {
        if (tensor.data.len == 0) return true;
        const start = @intFromPtr(self.block.ptr);
        const address = @intFromPtr(tensor.data.ptr);
        if (address < start or address >= start + self.block.len) return true; // fresh or foreign memory
        const index = self.plan.slot(node, output).buffer orelse return false;
        const buffer = self.plan.buffers[index];
        return address >= start + buffer.offset and address + tensor.data.len <= start + buffer.offset + buffer.bytes;
    }
};

/// The plans of one model, one per input shape (and output selection). Plans are shared by
/// concurrent runs; a plan evicted while in use is freed by its last user.
pub const PlanCache = struct {
    mutex: std.Thread.Mutex = .{},
    plans: std.ArrayList(*Plan) = .empty,

    /// Shapes kept at once; a model fed more distinct shapes re-plans the oldest away.
    pub const capacity = 16;

    pub fn deinit(self: *PlanCache) void {
        for (self.plans.items) |plan| plan.destroy();
        self.plans.deinit(memory.allocator);
    }

    /// The plan for `key`, referenced until `release`; null when there is none yet.
    pub fn acquire(self: *PlanCache, key: []const i64) ?*Plan {
        self.mutex.lock();
        defer self.mutex.unlock();
        for (self.plans.items, 0..) |plan, i| {
            if (!std.mem.eql(i64, plan.key, key)) continue;
            // Most recently used last, so eviction takes the least recently used.
            _ = self.plans.orderedRemove(i);
            self.plans.appendAssumeCapacity(plan);
            plan.references += 1;
            return plan;
        }
        return null;
    }

    pub fn release(self: *PlanCache, plan: *Plan) void {
        self.mutex.lock();
        defer self.mutex.unlock();
        plan.references -= 1;
        if (plan.evicted and plan.references == 0) plan.destroy();
    }

    /// Keeps `plan` (made by Recorder.finish); if another run of the same shape got there first,
    /// the newcomer is dropped.
    pub fn insert(self: *PlanCache, plan: *Plan) void {
        self.mutex.lock();
        defer self.mutex.unlock();
        for (self.plans.items) |existing| if (std.mem.eql(i64, existing.key, plan.key)) {
            plan.destroy();
            return;
        };
        if (self.plans.items.len == capacity) {
            const oldest = self.plans.orderedRemove(0);
            oldest.evicted = true;
            if (oldest.references == 0) oldest.destroy();
        }
        self.plans.append(memory.allocator, plan) catch plan.destroy();
    }

    /// Drops the plan for `key` (a planned run disagreed with it).
    pub fn forget(self: *PlanCache, key: []const i64) void {
        self.mutex.lock();
        defer self.mutex.unlock();
        for (self.plans.items, 0..) |plan, i| if (std.mem.eql(i64, plan.key, key)) {
            _ = self.plans.orderedRemove(i);
            plan.evicted = true;
            if (plan.references == 0) plan.destroy();
            return;
        };
    }
};

test "buffers that live at the same time never share bytes; others do" {
    var buffers = [_]Buffer{
        .{ .bytes = 100, .first = 0, .last = 1 },
        .{ .bytes = 200, .first = 1, .last = 2 },
        .{ .bytes = 100, .first = 2, .last = 3 }, // may reuse buffer 0's bytes
        .{ .bytes = 50, .first = 3, .last = 4 },
    };
    const total = try assignOffsets(std.testing.allocator, &buffers);
    for (buffers, 0..) |a, i| for (buffers[i + 1 ..]) |b| {
        const overlap_in_time = a.first <= b.last and b.first <= a.last;
        const overlap_in_space = a.offset < b.offset + b.bytes and b.offset < a.offset + a.bytes;
        try std.testing.expect(!(overlap_in_time and overlap_in_space));
        try std.testing.expect(a.offset % alignment == 0);
    };
    // 64-byte aligned, the four buffers need 576 bytes side by side; the 200-byte one plus one
    // slot reused by the two 100-byte ones and the 50-byte one need 384.
    try std.testing.expectEqual(@as(usize, 384), total);
}

test "the cache keeps a plan per key and frees evicted plans after their last user" {
    var cache: PlanCache = .{};
    defer cache.deinit();
    try cache.plans.ensureTotalCapacity(memory.allocator, PlanCache.capacity + 1);
    var recorder = try Recorder.init(std.testing.allocator, &.{ 1, 1 }, &.{1});
    defer {
        std.testing.allocator.free(recorder.slot_start);
        std.testing.allocator.free(recorder.slots);
        recorder.buffers.deinit(std.testing.allocator);
        recorder.ranges.deinit(std.testing.allocator);
    }
    var bytes: [64]u8 = undefined;
    try recorder.allocated(0, 0, 1, &bytes);
    for (0..PlanCache.capacity) |k| cache.insert(try recorder.finish(&.{@intCast(k)}));
    const held = cache.acquire(&.{0}).?; // now most recently used
    try std.testing.expectEqual(@as(usize, 64), held.block_bytes);
    cache.insert(try recorder.finish(&.{99})); // evicts key 1, the least recently used
    try std.testing.expect(cache.acquire(&.{1}) == null);
    cache.forget(&.{0}); // evicted while held: freed by the release below
    cache.release(held);
    try std.testing.expect(cache.acquire(&.{0}) == null);
}
