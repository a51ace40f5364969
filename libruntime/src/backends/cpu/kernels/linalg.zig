//! CPU kernels (family: linalg). See exec/kernel.zig for what a kernel can read and produce.
const registry = @import("registry.zig");

pub const kernels = [_]registry.Entry{};
