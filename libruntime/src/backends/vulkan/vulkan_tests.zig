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
    .{ .op = "Pow", .opset = 15, .inputs = &.{ randomIn(.float32, &.{ 7, 13 }, 0.1, 3), random(&.{13}) } },
    .{ .op = "Pow", .opset = 15, .inputs = &.{ random(&.{ 7, 13 }), op_cases.floats(&.{2}) } },
    .{ .op = "Pow", .opset = 15, .inputs = &.{ random(&.{ 3, 5 }), op_cases.floats(&.{3}) } },
} ++ convolution_cases ++ pooling_cases ++ reduction_cases ++ movement_cases;

const intList = op_cases.intList;
const int = op_cases.int;
const ints = op_cases.ints;

/// Both Conv kernels: the implicit GEMM (8 or more output channels per group, grouped too, with
/// odd tiles, strides, dilations, asymmetric pads, several images) and the direct one (depthwise
/// with a channel multiplier, strided and dilated).
const convolution_cases = [_]op_cases.Case{
    .{
        .op = "Conv",
        .opset = 11,
        .inputs = &.{ random(&.{ 2, 6, 11, 9 }), random(&.{ 16, 3, 3, 3 }), random(&.{16}) },
        .attributes = &.{ int("group", 2), intList("pads", &.{ 1, 0, 2, 1 }), intList("strides", &.{ 2, 1 }) },
        .max_nmse = T.dot,
    },
    .{
        .op = "Conv",
        .opset = 11,
        .inputs = &.{ random(&.{ 3, 5, 19, 17 }), random(&.{ 37, 5, 3, 5 }) },
        .attributes = &.{ intList("dilations", &.{ 2, 1 }), intList("pads", &.{ 2, 2, 2, 2 }), intList("strides", &.{ 1, 2 }) },
        .max_nmse = T.dot,
    },
    .{ .op = "Conv", .opset = 11, .inputs = &.{ random(&.{ 1, 70, 9, 9 }), random(&.{ 33, 70, 1, 1 }), random(&.{33}) }, .max_nmse = T.dot },
    .{
        .op = "Conv",
        .opset = 11,
        .inputs = &.{ random(&.{ 2, 6, 15, 13 }), random(&.{ 12, 1, 5, 5 }), random(&.{12}) },
        .attributes = &.{ int("group", 6), intList("pads", &.{ 4, 4, 4, 4 }), intList("strides", &.{ 2, 2 }), intList("dilations", &.{ 2, 2 }) },
        .max_nmse = T.dot,
    },
    .{
        .op = "Conv",
        .opset = 11,
        .inputs = &.{ random(&.{ 1, 4, 17 }), random(&.{ 4, 1, 3 }) },
        .attributes = &.{ int("group", 4), string("auto_pad", "SAME_LOWER"), intList("strides", &.{2}) },
        .max_nmse = T.dot,
    },
};

const string = op_cases.string;

const pooling_cases = [_]op_cases.Case{
    .{
        .op = "AveragePool",
        .opset = 19,
        .inputs = &.{random(&.{ 1, 3, 14, 13 })},
        .attributes = &.{ intList("kernel_shape", &.{ 3, 3 }), intList("strides", &.{ 2, 2 }), intList("pads", &.{ 1, 1, 1, 1 }), int("ceil_mode", 1), int("count_include_pad", 1) },
        .max_nmse = T.accumulating,
    },
    .{
        .op = "AveragePool",
        .opset = 19,
        .inputs = &.{random(&.{ 2, 3, 14, 13 })},
        .attributes = &.{ intList("kernel_shape", &.{ 2, 3 }), intList("strides", &.{ 2, 2 }), int("ceil_mode", 1) },
        .max_nmse = T.accumulating,
    },
    .{ .op = "MaxPool", .opset = 12, .inputs = &.{random(&.{ 2, 3, 19 })}, .attributes = &.{ intList("kernel_shape", &.{3}), intList("dilations", &.{2}), intList("pads", &.{ 2, 1 }) } },
    .{ .op = "MaxPool", .opset = 12, .inputs = &.{random(&.{ 1, 5, 10, 10 })}, .attributes = &.{ intList("kernel_shape", &.{ 3, 3 }), intList("strides", &.{ 2, 2 }), string("auto_pad", "SAME_UPPER") } },
    .{ .op = "GlobalMaxPool", .opset = 1, .inputs = &.{random(&.{ 2, 7, 13, 11 })} },
    .{ .op = "GlobalAveragePool", .opset = 1, .inputs = &.{random(&.{ 2, 5, 1000 })}, .max_nmse = T.accumulating },
};

const reduction_cases = [_]op_cases.Case{
    .{ .op = "ReduceSum", .opset = 13, .inputs = &.{ random(&.{ 3, 4, 5, 6 }), ints(&.{ 0, 2 }) }, .max_nmse = T.accumulating },
    .{ .op = "ReduceSum", .opset = 13, .inputs = &.{ random(&.{ 3, 4, 5 }), ints(&.{}) }, .attributes = &.{int("noop_with_empty_axes", 1)} },
    .{ .op = "ReduceMean", .opset = 18, .inputs = &.{random(&.{ 3, 4, 5 })}, .attributes = &.{int("keepdims", 0)}, .max_nmse = T.accumulating },
    .{ .op = "ReduceMean", .opset = 18, .inputs = &.{ random(&.{ 2, 1037 }), ints(&.{1}) }, .max_nmse = T.accumulating },
    .{ .op = "ReduceMax", .opset = 13, .inputs = &.{random(&.{ 5, 7, 3 })}, .attributes = &.{ intList("axes", &.{ -1, 0 }), int("keepdims", 0) } },
    .{ .op = "LayerNormalization", .opset = 17, .inputs = &.{ random(&.{ 3, 1000 }), random(&.{1000}), random(&.{1000}) }, .attributes = &.{float("epsilon", 1e-12)}, .max_nmse = T.accumulating },
    .{ .op = "LayerNormalization", .opset = 17, .inputs = &.{ random(&.{ 2, 3, 4, 5 }), random(&.{ 1, 5 }), random(&.{5}) }, .attributes = &.{int("axis", -3)}, .max_nmse = T.accumulating },
    .{
        .op = "BatchNormalization",
        .opset = 9,
        .inputs = &.{ random(&.{ 2, 5 }), random(&.{5}), random(&.{5}), random(&.{5}), randomIn(.float32, &.{5}, 0.5, 2) },
        .max_nmse = T.accumulating,
    },
};

const float = op_cases.float;

const movement_cases = [_]op_cases.Case{
    .{ .op = "Transpose", .opset = 13, .inputs = &.{random(&.{ 2, 3, 1, 4, 5, 2 })}, .attributes = &.{intList("perm", &.{ 5, 3, 0, 2, 4, 1 })} },
    .{ .op = "Transpose", .opset = 13, .inputs = &.{random(&.{ 1, 8, 4, 7 })}, .attributes = &.{intList("perm", &.{ 0, 2, 1, 3 })} },
    .{ .op = "Concat", .opset = 13, .inputs = &.{ random(&.{ 2, 3, 5, 5 }), random(&.{ 2, 1, 5, 5 }), random(&.{ 2, 4, 5, 5 }) }, .attributes = &.{int("axis", 1)} },
    .{ .op = "Concat", .opset = 13, .inputs = &.{ random(&.{ 1, 3 }), random(&.{ 0, 3 }), random(&.{ 4, 3 }) }, .attributes = &.{int("axis", -2)} },
    .{ .op = "Slice", .opset = 13, .inputs = &.{ random(&.{ 5, 13, 7 }), ints(&.{ 10, -1 }), ints(&.{ std.math.minInt(i64), 0 }), ints(&.{ 1, 2 }), ints(&.{ -3, -2 }) } },
    .{ .op = "Slice", .opset = 13, .inputs = &.{ random(&.{ 4, 9 }), ints(&.{ 1, 0 }), ints(&.{ 3, std.math.maxInt(i64) }) } },
    .{ .op = "Expand", .opset = 13, .inputs = &.{ random(&.{ 3, 1, 5 }), ints(&.{ 2, 1, 4, 1 }) } },
    .{ .op = "Expand", .opset = 13, .inputs = &.{ random(&.{7}), ints(&.{ 3, 1 }) } },
    .{ .op = "Pad", .opset = 13, .inputs = &.{ random(&.{ 2, 3, 5, 4 }), ints(&.{ 0, 1, 2, -1, 0, 0, 1, 3 }), op_cases.floats(&.{0.5}) } },
    .{ .op = "Pad", .opset = 13, .inputs = &.{ random(&.{ 3, 7 }), ints(&.{ 1, 1, 1, 1 }) } },
    .{ .op = "Gather", .opset = 13, .inputs = &.{ random(&.{ 3, 13, 5 }), ints(&.{ 4, -1, 0, 4 }) }, .attributes = &.{int("axis", 1)} },
    .{ .op = "Gather", .opset = 13, .inputs = &.{ random(&.{ 4, 6 }), ints(&.{2}) }, .attributes = &.{int("axis", -1)} },
    .{ .op = "Flatten", .opset = 13, .inputs = &.{random(&.{ 2, 3, 4, 5 })}, .attributes = &.{int("axis", 2)} },
    .{ .op = "Squeeze", .opset = 13, .inputs = &.{ random(&.{ 3, 1, 5, 1 }), ints(&.{-1}) } },
    .{ .op = "Squeeze", .opset = 11, .inputs = &.{random(&.{ 1, 3, 1, 5 })} },
    .{ .op = "Unsqueeze", .opset = 13, .inputs = &.{ random(&.{ 3, 5 }), ints(&.{ 0, -1 }) } },
    .{ .op = "Identity", .opset = 16, .inputs = &.{random(&.{ 7, 13 })} },
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
    // Every float case of the shared table but Where, Cast, MaxPool's indices and Resize, and all of ours.
    try testing.expect(counts.passed >= 76 + vulkan_cases.len);
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
