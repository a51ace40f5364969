//! The backend test harness, as ggml's test-backend-ops: every op case (op_cases.zig) runs on
//! every backend that claims it, and its outputs are compared with the CPU's (compare.zig). The
//! CPU is the reference, and is itself checked on every case:
//!   - every input and output buffer sits between guard bytes (exec/guarded_memory.zig, outputs
//!     through memory_plan.Planning.guarded), which must be intact after the node ran, and the
//!     inputs must be unchanged;
//!   - its outputs must have the types shape inference gives them, and for ops that are a formula
//!     per element, the values the formula gives (expectation.zig);
//!   - the reference run starts its outputs filled with 0xFF bytes (NaN for floats) and a
//!     backend's run with zeros, so an output element a kernel never writes shows as a mismatch,
//!     the CPU's included (the CPU in the list of backends runs a second time).
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../../model/ir.zig");
const options_module = @import("../../model/options.zig");
const Harness = @import("../../model/infer/testing.zig").Harness;
const backend = @import("../../exec/backend.zig");
const node_run = @import("../../exec/node_run.zig");
const value = @import("../../exec/value.zig");
const guarded_memory = @import("../../exec/guarded_memory.zig");
const op_cases = @import("op_cases.zig");
const case_setup = @import("case_setup.zig");
const compare = @import("compare.zig");
const expectation = @import("expectation.zig");

const Tensor = value.Tensor;
const Case = op_cases.Case;

const reference_fill = 0xFF;
const backend_fill = 0x00;

pub const Counts = struct { passed: usize = 0, failed: usize = 0, skipped: usize = 0 };

pub const Failure = struct { device: []const u8, case: Case, message: []const u8 };

const Device = struct { instance: backend.Instance, counts: Counts = .{} };

/// A run of one case on one device: its outputs, or why there are none.
const Outcome = union(enum) { produced: []const *const Tensor, failed: []const u8 };

const load_options: options_module.Options = .{};

pub const Runner = struct {
    /// Holds the failures' messages; the caller's, for as long as it reads them.
    arena: std.mem.Allocator,
    /// The CPU, whose own failures (sentinels, shapes, formulas) are listed under
    /// `reference_name` and counted in `reference_counts`, whoever else claims the case.
    reference: Device,
    reference_name: []const u8,
    devices: []Device,
    failures: std.ArrayList(Failure) = .empty,

    /// Opens `reference` (the CPU) and every backend of `backends`, once for all cases.
    pub fn init(arena: std.mem.Allocator, reference: backend.Backend, backends: []const backend.Backend) !Runner {
        const devices = try arena.alloc(Device, backends.len);
        var opened: usize = 0;
        errdefer for (devices[0..opened]) |d| d.instance.destroy();
        for (backends, devices) |b, *d| {
            d.* = .{ .instance = try b.open(&load_options) };
            opened += 1;
        }
        const opened_reference = try reference.open(&load_options);
        return .{
            .arena = arena,
            .reference = .{ .instance = opened_reference },
            .reference_name = try std.fmt.allocPrint(arena, "{s} (reference)", .{opened_reference.vtable.device}),
            .devices = devices,
        };
    }

    pub fn deinit(self: *Runner) void {
        for (self.devices) |d| d.instance.destroy();
        self.reference.instance.destroy();
    }

    pub fn runAll(self: *Runner, cases: []const Case) !void {
        for (cases, 0..) |case, i| try self.runCase(case, 0x7e55e7a + i);
    }

    /// Runs `case` on the reference, then on every device that claims it.
    pub fn runCase(self: *Runner, case: Case, seed: u64) !void {
        var h = Harness.init();
        defer h.deinit();
        const setup = try case_setup.build(&h, case, seed);
        const origin: backend.Origin = .{ .graph = &h.graph, .dims = &h.pool };
        const reference = switch (try runOn(h.arena(), self.reference.instance, origin, setup, reference_fill)) {
            .produced => |outputs| if (try referenceDisagrees(h.arena(), case, setup, outputs)) |why| Outcome{ .failed = why } else Outcome{ .produced = outputs },
            .failed => |why| Outcome{ .failed = why },
        };
        try self.record(&self.reference, self.reference_name, case, if (reference == .failed) reference.failed else null);
        for (self.devices) |*device| {
            if (device.instance.supports(setup.node, origin) != null) {
                device.counts.skipped += 1;
                continue;
            }
            const message = switch (reference) {
                .failed => "the CPU reference failed on this case (see its line)",
                .produced => |expected| try agreement(h.arena(), device.instance, origin, setup, case, expected),
            };
            try self.record(device, device.instance.vtable.device, case, message);
        }
    }

    /// Counts a case as passed (no message) or failed, and keeps the failure's message.
    fn record(self: *Runner, device: *Device, name: []const u8, case: Case, message: ?[]const u8) !void {
        const text = message orelse {
            device.counts.passed += 1;
            return;
        };
        device.counts.failed += 1;
        try self.failures.append(self.arena, .{ .device = name, .case = case, .message = try self.arena.dupe(u8, text) });
    }

    pub fn countsOf(self: *const Runner, device: []const u8) ?Counts {
        for (self.devices) |d| if (std.mem.eql(u8, d.instance.vtable.device, device)) return d.counts;
        return null;
    }

    /// One line per device (passed, failed, skipped), then one per failure.
    pub fn summary(self: *const Runner, w: *std.Io.Writer) std.Io.Writer.Error!void {
        const r = self.reference.counts;
        try w.print("backend harness: {s}: {d} passed, {d} failed\n", .{ self.reference_name, r.passed, r.failed });
        for (self.devices) |d| {
            try w.print("backend harness: {s}: {d} passed, {d} failed, {d} skipped\n", .{ d.instance.vtable.device, d.counts.passed, d.counts.failed, d.counts.skipped });
        }
        for (self.failures.items) |f| try w.print("  FAILED on {s}: {f}: {s}\n", .{ f.device, f.case, f.message });
    }
};

/// Why the device's run of the case does not agree with the reference; null if it does.
fn agreement(
    arena: std.mem.Allocator,
    instance: backend.Instance,
    origin: backend.Origin,
    setup: case_setup.Setup,
    case: Case,
    expected: []const *const Tensor,
) !?[]const u8 {
    const got = switch (try runOn(arena, instance, origin, setup, backend_fill)) {
        .failed => |why| return why,
        .produced => |outputs| outputs,
    };
    for (expected, got, 0..) |e, g, k| {
        const verdict = compare.compare(e, g, case.max_nmse);
        if (verdict == .same) continue;
        var text: std.Io.Writer.Allocating = .init(arena);
        try text.writer.print("output {d}: ", .{k});
        try compare.describe(&text.writer, verdict, e, g);
        return text.written();
    }
    return null;
}

/// Compiles and runs the setup's node on `instance`, with every host buffer guarded, and checks
/// the guards and the inputs afterwards. A device with memory of its own gets its inputs uploaded
/// from the guarded buffers, and its outputs downloaded into guarded buffers after its queue is
/// done, so an upload or download of the wrong size breaks a guard too.
fn runOn(arena: std.mem.Allocator, instance: backend.Instance, origin: backend.Origin, setup: case_setup.Setup, fill: u8) !Outcome {
    var guards: guarded_memory.Guards = .{ .allocator = arena, .fill = fill };
    const inputs = try arena.alloc(?*const Tensor, setup.inputs.len);
    for (setup.inputs, inputs, 0..) |maybe, *slot, k| {
        const input = maybe orelse {
            slot.* = null;
            continue;
        };
        const t = try arena.create(Tensor);
        t.* = .{ .dtype = input.dtype, .shape = input.shape, .data = try guards.allocate(.input, k, input.bytes.len) };
        @memcpy(t.data, input.bytes);
        slot.* = t;
    }
    const outputs = try arena.alloc(?*Tensor, setup.node.outputs.len);
    @memset(outputs, null);
    const this_run: node_run.NodeRun = .{
        .arena = arena,
        .node = setup.node,
        .node_id = 0,
        .inputs = inputs,
        .outputs = outputs,
        .subgraphs = .{ .context = undefined, .run = noSubgraphs },
        .graph = origin.graph,
        .planning = .{ .guarded = &guards },
    };
    const compiled = instance.compile(setup.node, origin) catch return failed(arena, "compile", instance);
    var on_device: DeviceBuffers = .{ .instance = instance, .arena = arena };
    defer on_device.release();
    if (!instance.hostMemory()) {
        for (inputs) |*slot| if (slot.*) |t| {
            slot.* = on_device.upload(t) catch return failed(arena, "upload", instance);
        };
    }
    const saved = instance.enterRun();
    const ran = instance.vtable.run(instance.context, compiled, &this_run);
    instance.leaveRun(saved);
    ran catch return failed(arena, "run", instance);
    if (!instance.hostMemory()) {
        instance.wait() catch return failed(arena, "wait", instance);
        for (outputs, 0..) |*slot, k| if (slot.*) |t| {
            slot.* = on_device.download(&guards, k, t) catch return failed(arena, "download", instance);
        };
    }
    if (try brokenGuard(arena, &guards, setup.inputs)) |why| return .{ .failed = why };
    const produced = try arena.alloc(*const Tensor, outputs.len);
    for (outputs, produced, 0..) |maybe, *slot, k| {
        slot.* = maybe orelse return .{ .failed = try std.fmt.allocPrint(arena, "output {d} was not produced", .{k}) };
        if (!fromGuardedMemory(&guards, slot.*)) return .{ .failed = try std.fmt.allocPrint(arena, "output {d} is memory node_run.outputMemory did not give, so no guard watches it", .{k}) };
    }
    return .{ .produced = produced };
}

/// The buffers a case's run holds on a device with memory of its own, freed when it is over.
const DeviceBuffers = struct {
    instance: backend.Instance,
    arena: std.mem.Allocator,
    held: std.ArrayList(value.Buffer) = .empty,

    fn upload(self: *DeviceBuffers, host: *const Tensor) !*const Tensor {
        const buffer = try self.hold(host.data.len);
        try self.instance.upload(buffer, host.data);
        const t = try self.arena.create(Tensor);
        t.* = .{ .dtype = host.dtype, .shape = host.shape, .buffer = buffer };
        return t;
    }

    /// Output `k`, which the device wrote to `t.buffer`, as guarded host memory.
    fn download(self: *DeviceBuffers, guards: *guarded_memory.Guards, k: usize, t: *Tensor) !*Tensor {
        const buffer = t.buffer orelse return t;
        // An output that is a view of an input's buffer (Reshape, Identity) is held already.
        for (self.held.items) |held| {
            if (held.handle == buffer.handle) break;
        } else try self.held.append(self.arena, buffer);
        const host = try self.arena.create(Tensor);
        host.* = .{ .dtype = t.dtype, .shape = t.shape, .data = try guards.allocate(.output, k, buffer.bytes) };
        try self.instance.download(buffer, host.data);
        return host;
    }

    fn hold(self: *DeviceBuffers, bytes: usize) !value.Buffer {
        const buffer = try self.instance.alloc(bytes);
        self.held.append(self.arena, buffer) catch |e| {
            self.instance.free(buffer);
            return e;
        };
        return buffer;
    }

    fn release(self: *DeviceBuffers) void {
        for (self.held.items) |buffer| self.instance.free(buffer);
        self.held.clearRetainingCapacity();
    }
};

fn failed(arena: std.mem.Allocator, stage: []const u8, instance: backend.Instance) !Outcome {
    return .{ .failed = try std.fmt.allocPrint(arena, "{s} on {s} failed: {s}", .{ stage, instance.vtable.device, std.mem.span(status.lastMessage()) }) };
}

/// The first guard byte a run overwrote, or the first input byte it changed, in words.
fn brokenGuard(arena: std.mem.Allocator, guards: *const guarded_memory.Guards, pristine: []const ?case_setup.InputData) !?[]const u8 {
    if (guards.check()) |broken| {
        const r = broken.region;
        if (broken.offset < 0) return try std.fmt.allocPrint(arena, "sentinel: {s} {d} ({d} bytes) was written {d} bytes before its first byte", .{ @tagName(r.role), r.index, r.bytes, -broken.offset });
        return try std.fmt.allocPrint(arena, "sentinel: {s} {d} ({d} bytes) was written at byte offset {d}, past its end", .{ @tagName(r.role), r.index, r.bytes, broken.offset });
    }
    for (guards.regions.items) |region| {
        if (region.role != .input) continue;
        const original = pristine[region.index].?.bytes;
        if (std.mem.indexOfDiff(u8, original, region.data())) |at| {
            return try std.fmt.allocPrint(arena, "input {d} was modified at byte offset {d}", .{ region.index, at });
        }
    }
    return null;
}

/// An output that is an input (Reshape, Identity) is watched by that input's guards.
fn fromGuardedMemory(guards: *const guarded_memory.Guards, t: *const Tensor) bool {
    if (!t.isTensor() or t.data.len == 0) return true;
    const start = @intFromPtr(t.data.ptr);
    for (guards.regions.items) |region| {
        const data = region.data();
        const low = @intFromPtr(data.ptr);
        if (start >= low and start + t.data.len <= low + data.len) return true;
    }
    return false;
}

/// Why the reference's outputs are not what the op promises (the types shape inference gave
/// them, and for elementwise formulas the values); null if they are.
fn referenceDisagrees(arena: std.mem.Allocator, case: Case, setup: case_setup.Setup, outputs: []const *const Tensor) !?[]const u8 {
    for (setup.expected, outputs, 0..) |e, t, k| {
        const shape = e.shape orelse return try std.fmt.allocPrint(arena, "shape inference leaves output {d}'s shape unknown", .{k});
        if (e.dtype == t.dtype and std.mem.eql(i64, shape, t.shape)) continue;
        return try std.fmt.allocPrint(arena, "output {d} is {s}{any}; shape inference says {s}{any}", .{ k, @tagName(t.dtype), t.shape, if (e.dtype) |d| @tagName(d) else "?", shape });
    }
    const x = setup.inputs[0] orelse return null;
    const input: Tensor = .{ .dtype = x.dtype, .shape = x.shape, .data = @constCast(x.bytes) };
    const nmse = try expectation.deviation(arena, case, &input, outputs[0]) orelse return null;
    if (nmse <= case.max_nmse) return null;
    return try std.fmt.allocPrint(arena, "output 0 is {e} (NMSE) from what {s} means", .{ nmse, case.op });
}

fn noSubgraphs(_: *anyopaque, _: *ir.Graph, _: []const *const Tensor) status.Error![]*Tensor {
    return status.fail(error.NotImplemented, "the backend harness runs nodes without subgraphs", .{});
}
