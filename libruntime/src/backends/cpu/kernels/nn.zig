//! CPU kernels (family: nn): convolutions, pools, normalizations, resampling and vision ops. The
//! parts live in nn_<part>.zig and are concatenated here; nn_common.zig holds the float handling
//! and window geometry they share. See backends/cpu/kernel.zig for what a kernel can read and produce.

pub const kernels = @import("nn_conv.zig").kernels ++ @import("nn_convt.zig").kernels ++
    @import("nn_pool.zig").kernels ++
    @import("nn_norm.zig").kernels ++ @import("nn_norm_misc.zig").kernels ++ @import("nn_resize.zig").kernels ++
    @import("nn_vision.zig").kernels;

test {
    _ = @import("nn_common.zig");
    _ = @import("nn_im2col.zig");
}
