//! The CPU backend's unit tests, pulled in by root.zig with one import.
test {
    _ = @import("thread_pool.zig");
    _ = @import("gemm.zig");
}
