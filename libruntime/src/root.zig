//! libtessera's root: pulls in every C export and every unit test.
comptime {
    _ = @import("api/core_api.zig");
    _ = @import("api/log_api.zig");
    _ = @import("api/device_api.zig");
    _ = @import("api/tensor_api.zig");
    _ = @import("api/model_api.zig");
    _ = @import("api/job_api.zig");
    _ = @import("api/request_api.zig");
}

test {
    _ = @import("api/header_check.zig");
    _ = @import("core/status.zig");
    _ = @import("core/memory.zig");
    _ = @import("core/profile.zig");
    _ = @import("core/registry.zig");
    _ = @import("core/log.zig");
    _ = @import("core/text.zig");
    _ = @import("core/host.zig");
    _ = @import("core/context.zig");
    _ = @import("device/cpu.zig");
    _ = @import("device/device.zig");
    _ = @import("tensor/dtype.zig");
    _ = @import("tensor/tensor.zig");
    _ = @import("tensor/file.zig");
    _ = @import("model/proto/onnx.zig");
    _ = @import("model/symbolic.zig");
    _ = @import("model/constant.zig");
    _ = @import("model/options.zig");
    _ = @import("model/source.zig");
    _ = @import("model/infer/suite_check.zig");
    _ = @import("backends/cpu/cpu_tests.zig");
    _ = @import("exec/memory_plan.zig");
}
