//! The Vulkan backend's tests. Those that need a device run on the first one the loader lists
//! (lavapipe where there is no GPU) and are skipped, saying so, only on a machine without any.
const std = @import("std");
const status = @import("../../core/status.zig");
const options_module = @import("../../model/options.zig");
const cpu = @import("../cpu/backend.zig").cpu;
const harness = @import("../testing/harness.zig");
const op_cases = @import("../testing/op_cases.zig");
const vulkan_backend = @import("backend.zig");
const Context = @import("context.zig").Context;
const Pipelines = @import("pipelines.zig").Pipelines;
const pipeline_cache = @import("pipeline_cache.zig");
const shaders = @import("shaders.zig");
const kernels = @import("kernels.zig");

const testing = std.testing;

test {
    _ = @import("shaders.zig");
    _ = @import("suballocator.zig");
    _ = @import("functions.zig");
    _ = @import("pipeline_cache.zig");
    _ = @import("window.zig");
}

/// Vulkan device 0, or a skip when this machine has no Vulkan device at all.
fn openContext() !Context {
    return Context.open(0) catch |e| {
        if (e != error.DeviceError) return e;
        std.debug.print("\nskipped: no Vulkan device here ({s})\n", .{std.mem.span(status.lastMessage())});
        return error.SkipZigTest;
    };
}

const T = op_cases.Threshold;
const random = op_cases.random;
const randomIn = op_cases.randomIn;

/// Cases for what the Vulkan kernels do beyond the shared table: the other elementwise ops, the
/// attributes of LeakyRelu and Clip, LogSoftmax on any axis, coerced Softmax, a larger MatMul.
const vulkan_cases = [_]op_cases.Case{
    .{ .op = "Max", .opset = 13, .inputs = &.{ random(&.{ 3, 1, 7 }), random(&.{ 5, 1 }) } },
    .{ .op = "Min", .opset = 13, .inputs = &.{ random(&.{ 2, 3, 4, 5, 2, 3 }), random(&.{ 4, 1, 2, 1 }) } },
    .{ .op = "Abs", .opset = 13, .inputs = &.{random(&.{ 7, 13 })} },
    .{ .op = "Neg", .opset = 13, .inputs = &.{random(&.{1037})} },
    .{ .op = "Sqrt", .opset = 13, .inputs = &.{randomIn(.float32, &.{ 7, 13 }, 0, 9)} },
    .{ .op = "Log", .opset = 13, .inputs = &.{randomIn(.float32, &.{ 7, 13 }, 0.01, 9)} },
    .{ .op = "Sigmoid", .opset = 13, .inputs = &.{randomIn(.float32, &.{33}, -100, 100)} },
    .{ .op = "Tanh", .opset = 13, .inputs = &.{randomIn(.float32, &.{33}, -100, 100)} },
    .{ .op = "LeakyRelu", .opset = 16, .inputs = &.{random(&.{ 7, 13 })}, .attributes = &.{op_cases.float("alpha", 0.2)} },
    .{ .op = "Clip", .opset = 13, .inputs = &.{ random(&.{ 7, 13 }), op_cases.floats(&.{-0.25}), op_cases.floats(&.{0.5}) } },
    .{ .op = "Clip", .opset = 6, .inputs = &.{random(&.{ 7, 13 })}, .attributes = &.{ op_cases.float("min", -0.5), op_cases.float("max", 0.25) } },
    .{ .op = "LogSoftmax", .opset = 13, .inputs = &.{random(&.{ 3, 7, 13 })}, .attributes = &.{op_cases.int("axis", 1)}, .max_nmse = T.accumulating },
    .{ .op = "Softmax", .opset = 11, .inputs = &.{random(&.{ 3, 4, 5 })}, .attributes = &.{op_cases.int("axis", 1)}, .max_nmse = T.accumulating },
    .{ .op = "Softmax", .opset = 13, .inputs = &.{random(&.{ 2, 1000 })}, .max_nmse = T.accumulating },
    .{ .op = "MatMul", .opset = 13, .inputs = &.{ random(&.{ 2, 1, 33, 70 }), random(&.{ 3, 70, 65 }) }, .max_nmse = T.dot },
};

test "the backend harness runs every op case Vulkan claims, agreeing with the CPU" {
    var context = try openContext();
    context.close();
    var arena_state = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena_state.deinit();
    var runner = try harness.Runner.init(arena_state.allocator(), cpu, &.{vulkan_backend.vulkan});
    defer runner.deinit();
    const started = std.time.nanoTimestamp();
    try runner.runAll(&op_cases.cases);
    for (vulkan_cases, 0..) |case, i| try runner.runCase(case, 0xb0c5 + i);
    var text: std.Io.Writer.Allocating = .init(arena_state.allocator());
    try runner.summary(&text.writer);
    std.debug.print("\n{s}Vulkan harness took {d} ms\n", .{ text.written(), @divTrunc(std.time.nanoTimestamp() - started, std.time.ns_per_ms) });
    try testing.expectEqual(@as(usize, 0), runner.failures.items.len);
    const counts = runner.countsOf("vulkan:0").?;
    // MatMul, Gemm, Softmax and the float elementwise cases of the shared table, and all of ours.
    try testing.expect(counts.passed >= 30 + vulkan_cases.len);
    try testing.expect(counts.skipped > 0);
}

test "a Vulkan device that does not exist is a DeviceError naming it" {
    var options: options_module.Options = .{};
    defer options.deinit();
    try options.set("devices", "vulkan:15,cpu");
    try testing.expectError(error.DeviceError, vulkan_backend.vulkan.open(&options));
    try testing.expect(std.mem.indexOf(u8, std.mem.span(status.lastMessage()), "no Vulkan device 15") != null);
    try testing.expectEqual(@as(u32, 3), try vulkan_backend.indexIn("cpu, vulkan:3"));
    try testing.expectEqual(@as(u32, 0), try vulkan_backend.indexIn("vulkan"));
}

test "the pipeline cache is written, reused, and a corrupted file is rejected and rebuilt" {
    var context = try openContext();
    defer context.close();
    var tmp = std.testing.tmpDir(.{});
    defer tmp.cleanup();
    var root_buffer: [std.fs.max_path_bytes]u8 = undefined;
    const root = try tmp.dir.realpath(".", &root_buffer);
    var path_buffer: [std.fs.max_path_bytes]u8 = undefined;
    const file_path = try std.fmt.bufPrint(&path_buffer, "{s}/pipelines.bin", .{root});
    const identity = @import("pipelines.zig").identityOf(&context);
    for (0..3) |round| {
        if (round == 2) try tmp.dir.writeFile(.{ .sub_path = "pipelines.bin", .data = "TSRVKPC1 corrupted: the header is garbage and the blob is missing" });
        var pipelines = try Pipelines.init(&context, file_path);
        _ = try pipelines.get(shaders.matmul, &kernels.matmul_tile);
        _ = try pipelines.get(shaders.unary, &.{kernels.elementwise_workgroup});
        pipelines.deinit();
        const bytes = try tmp.dir.readFileAlloc(testing.allocator, "pipelines.bin", 64 << 20);
        defer testing.allocator.free(bytes);
        try testing.expect(pipeline_cache.validate(identity, bytes) == .blob);
    }
}
