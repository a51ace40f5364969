//! One row of a kernel family's `kernels` table. It has a file of its own so that a family names
//! its rows without importing registry.zig, which imports every family.
const kernel = @import("../kernel.zig");
const prepare = @import("../prepare.zig");

pub const Entry = struct {
    domain: []const u8 = "",
    op: []const u8,
    run: kernel.Kernel,
    /// Builds, when the node is compiled at load, what `run` reads with Context.prepared (a weight
    /// packed from a constant); null for kernels that prepare nothing.
    prepare: ?prepare.Prepare = null,
};
