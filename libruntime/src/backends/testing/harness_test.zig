//! Runs the backend harness (harness.zig) over every op case on the CPU and the test backend,
//! and proves its checks catch what they are for, with a backend that does Neg wrongly on
//! purpose: writing past its output, before it, into its input, or leaving an element unwritten.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../../model/ir.zig");
const options_module = @import("../../model/options.zig");
const backend = @import("../../exec/backend.zig");
const node_run = @import("../../exec/node_run.zig");
const value = @import("../../exec/value.zig");
const cpu = @import("../cpu/backend.zig").cpu;
const add_relu = @import("add_relu.zig").add_relu;
const harness = @import("harness.zig");
const op_cases = @import("op_cases.zig");

const testing = std.testing;

test "every op case runs on the CPU with sentinels, and on each backend that claims it, agreeing with the CPU" {
    var arena_state = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena_state.deinit();
    var runner = try harness.Runner.init(arena_state.allocator(), cpu, &.{ cpu, add_relu });
    defer runner.deinit();
    try runner.runAll(&op_cases.cases);

    var text: std.Io.Writer.Allocating = .init(arena_state.allocator());
    try runner.summary(&text.writer);
    std.debug.print("\n{s}", .{text.written()});
    const on_cpu = runner.countsOf("cpu:0").?;
    try testing.expectEqual(op_cases.cases.len, on_cpu.passed + on_cpu.failed);
    try testing.expectEqual(@as(usize, 0), runner.failures.items.len);
    // The test device claims Add and Relu only; the cases have some of each.
    const on_test = runner.countsOf("test:0").?;
    try testing.expect(on_test.passed > 0 and on_test.skipped > 0);
    try testing.expect(op_cases.cases.len >= 60);
}

/// What the faulty backend does wrong.
const Fault = enum { past_the_end, before_the_start, into_the_input, last_unwritten };

/// A backend that runs float32 Neg with one fault. (Neg, not Relu: the harness checks the
/// reference's Relu against a formula, which would hide the reference's own unwritten element.)
fn faulty(comptime fault: Fault) backend.Backend {
    const Device = struct {
        const vtable: backend.Instance.VTable = .{
            .device = "faulty:0",
            .event_device = 0,
            .buffers = null,
            .wait = null,
            .memory = memoryInfo,
            .supports = supports,
            .compile = compile,
            .run = run,
            .enter_run = enterRun,
            .leave_run = leaveRun,
            .destroy = destroy,
        };

        fn open(_: ?*anyopaque, _: *const options_module.Options) status.Error!backend.Instance {
            return .{ .context = @constCast(&vtable), .vtable = &vtable };
        }

        fn memoryInfo(_: *anyopaque) backend.MemoryInfo {
            return .{ .used = 0, .total = 0 };
        }

        fn supports(_: *anyopaque, node: *const ir.Node, _: backend.Origin) ?[]const u8 {
            return if (std.mem.eql(u8, node.op_type, "Neg")) null else "Neg only";
        }

        fn compile(_: *anyopaque, _: *const ir.Node, _: ?backend.Origin) status.Error!*const anyopaque {
            return &vtable;
        }

        fn run(_: *anyopaque, _: *const anyopaque, r: *const node_run.NodeRun) status.Error!void {
            const x = r.inputs[0].?;
            const out = r.arena.create(value.Tensor) catch return error.OutOfResource;
            const data = try node_run.outputMemory(r.arena, r.planning, r.node, r.node_id, 0, x.data.len);
            out.* = .{ .dtype = .float32, .shape = x.shape, .data = data };
            const y = out.items(f32);
            const written = if (fault == .last_unwritten) y.len - 1 else y.len;
            for (y[0..written], x.items(f32)[0..written]) |*o, v| o.* = -v;
            switch (fault) {
                .past_the_end => data.ptr[data.len] = 0,
                .before_the_start => (data.ptr - 3)[0] = 0,
                .into_the_input => x.data[5] +%= 1,
                .last_unwritten => {},
            }
            r.outputs[0] = out;
        }

        fn enterRun(_: *anyopaque) u64 {
            return 0;
        }

        fn leaveRun(_: *anyopaque, _: u64) void {}

        fn destroy(_: *anyopaque) void {}
    };
    return .{ .name = "faulty", .open_fn = Device.open };
}

const neg_case: op_cases.Case = .{ .op = "Neg", .opset = 13, .inputs = &.{op_cases.random(&.{ 7, 13 })} };

/// The one failure the faulty backend's run of Neg on [7,13] floats gives (364 bytes).
fn expectFailure(reference: backend.Backend, device: backend.Backend, expected: []const u8) !void {
    var arena_state = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena_state.deinit();
    var runner = try harness.Runner.init(arena_state.allocator(), reference, &.{device});
    defer runner.deinit();
    try runner.runCase(neg_case, 1);
    try testing.expectEqual(@as(usize, 1), runner.failures.items.len);
    try testing.expectEqualStrings("faulty:0", runner.failures.items[0].device);
    try testing.expectEqualStrings(expected, runner.failures.items[0].message);
    try testing.expectEqual(harness.Counts{ .failed = 1 }, runner.countsOf("faulty:0").?);
}

test "the sentinels catch a write one byte past an output, and name the buffer and the offset" {
    try expectFailure(cpu, faulty(.past_the_end), "sentinel: output 0 (364 bytes) was written at byte offset 364, past its end");
}

test "the sentinels catch a write before an output's first byte" {
    try expectFailure(cpu, faulty(.before_the_start), "sentinel: output 0 (364 bytes) was written 3 bytes before its first byte");
}

test "a kernel that changes its input is caught" {
    try expectFailure(cpu, faulty(.into_the_input), "input 0 was modified at byte offset 5");
}

test "an output element the reference never writes shows as a NaN against the second run's zero" {
    try expectFailure(faulty(.last_unwritten), faulty(.last_unwritten), "output 0: NMSE inf: element 90 is 0 where the CPU gives -nan");
}

test "a failure of the reference is listed under it, and fails every backend that claims the case" {
    var arena_state = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena_state.deinit();
    var runner = try harness.Runner.init(arena_state.allocator(), faulty(.past_the_end), &.{cpu});
    defer runner.deinit();
    try runner.runCase(neg_case, 1);
    const failures = runner.failures.items;
    try testing.expectEqual(@as(usize, 2), failures.len);
    try testing.expectEqualStrings("faulty:0 (reference)", failures[0].device);
    try testing.expectEqualStrings("sentinel: output 0 (364 bytes) was written at byte offset 364, past its end", failures[0].message);
    try testing.expectEqualStrings("cpu:0", failures[1].device);
    try testing.expectEqual(harness.Counts{ .failed = 1 }, runner.reference.counts);
    try testing.expectEqual(harness.Counts{ .failed = 1 }, runner.countsOf("cpu:0").?);
}

test "a backend that claims nothing is skipped on every case" {
    var arena_state = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena_state.deinit();
    var runner = try harness.Runner.init(arena_state.allocator(), cpu, &.{faulty(.past_the_end)});
    defer runner.deinit();
    const add_case: op_cases.Case = .{ .op = "Add", .opset = 14, .inputs = &.{ op_cases.random(&.{3}), op_cases.random(&.{3}) } };
    try runner.runCase(add_case, 1);
    try testing.expectEqual(harness.Counts{ .skipped = 1 }, runner.countsOf("faulty:0").?);
}
