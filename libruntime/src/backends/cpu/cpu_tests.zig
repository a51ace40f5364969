//! The CPU backend's unit tests, pulled in by root.zig with one import. Zig collects the tests of
//! the files named here, not of every file they import, so each file with tests is listed.
test {
    _ = @import("thread_pool.zig");
    _ = @import("gemm.zig");
    _ = @import("qgemm.zig");
    _ = @import("blocking_test.zig");
    _ = @import("kernel_coverage_test.zig");
    _ = @import("prepare_test.zig");
    _ = @import("kernels/activation.zig");
    _ = @import("kernels/broadcast.zig");
    _ = @import("kernels/elementwise_gated.zig");
    _ = @import("kernels/elementwise_test.zig");
    _ = @import("kernels/fused_test.zig");
    _ = @import("kernels/linalg_attention.zig");
    _ = @import("kernels/linalg_qtypes.zig");
    _ = @import("kernels/linalg_quant.zig");
    _ = @import("kernels/nn_conv_int8_test.zig");
    _ = @import("kernels/linalg_rotary.zig");
    _ = @import("kernels/linalg_sgemm.zig");
    _ = @import("kernels/ml_scores.zig");
    _ = @import("kernels/ml_svm_probability.zig");
    _ = @import("kernels/ml_test.zig");
    _ = @import("kernels/nn_common.zig");
    _ = @import("kernels/nn_conv_winograd_test.zig");
    _ = @import("kernels/nn_im2col.zig");
    _ = @import("kernels/random.zig");
    _ = @import("kernels/random_generators_test.zig");
    _ = @import("kernels/sequence_test.zig");
    _ = @import("kernels/signal.zig");
    _ = @import("kernels/simd_math.zig");
    _ = @import("kernels/tensor_ops_cast_small.zig");
    _ = @import("kernels/tensor_ops_join.zig");
    _ = @import("kernels/tensor_ops_util.zig");
    _ = @import("kernels/text.zig");
    _ = @import("kernels/text_regex.zig");
    _ = @import("kernels/training.zig");
    _ = @import("weight_store.zig");
}
