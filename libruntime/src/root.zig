//! The unit tests' root: every C function (through the export table) and every test. The shipped
//! library is rooted elsewhere: src/dispatch.zig and one src/level.zig copy per CPU level.
comptime {
    _ = @import("api/exports.zig").table;
}

test {
    _ = @import("api/header_check.zig");
    _ = @import("core/status.zig");
    _ = @import("core/memory.zig");
    _ = @import("core/profile.zig");
    _ = @import("core/registry.zig");
    _ = @import("core/log.zig");
    _ = @import("core/text.zig");
    _ = @import("core/os_error.zig");
    _ = @import("core/folders.zig");
    _ = @import("core/env.zig");
    _ = @import("core/files.zig");
    _ = @import("core/host.zig");
    _ = @import("core/jobs.zig");
    _ = @import("api/context.zig");
    _ = @import("device/cpu.zig");
    _ = @import("device/cpu_level.zig");
    _ = @import("device/device.zig");
    _ = @import("tensor/dtype.zig");
    _ = @import("tensor/tensor.zig");
    _ = @import("tensor/file.zig");
    _ = @import("model/proto/onnx.zig");
    _ = @import("model/symbolic.zig");
    _ = @import("model/constant.zig");
    _ = @import("model/options.zig");
    _ = @import("model/input_shapes.zig");
    _ = @import("model/source.zig");
    _ = @import("model/container.zig");
    _ = @import("model/archive.zig");
    _ = @import("model/infer/suite_check.zig");
    _ = @import("model/infer/signature.zig");
    _ = @import("backends/cpu/cpu_tests.zig");
    _ = @import("exec/memory_plan.zig");
    _ = @import("exec/guarded_memory.zig");
    _ = @import("tidy.zig");
    _ = @import("backends/testing/partition_test.zig");
    _ = @import("backends/testing/fold_test.zig");
    _ = @import("backends/testing/harness_test.zig");
    _ = @import("backends/testing/compare.zig");
    _ = @import("backends/testing/expectation.zig");
    _ = @import("exec/map_value.zig");
    _ = @import("exec/constant_tensors.zig");
    _ = @import("exec/cache_file.zig");
    _ = @import("backends/vulkan/vulkan_tests.zig");
}
