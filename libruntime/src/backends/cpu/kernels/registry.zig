//! Which operators the CPU backend can run: every (domain, op_type) with a kernel, by family.
//! An operator missing here is a NotImplementedError when a request reaches it.
const std = @import("std");
const kernel = @import("../kernel.zig");

pub const Entry = @import("entry.zig").Entry;

const families = .{
    @import("elementwise.zig"),
    @import("tensor_ops.zig"),
    @import("nn.zig"),
    @import("linalg.zig"),
    @import("reduce.zig"),
    @import("control.zig"),
    @import("sequence.zig"),
    @import("training.zig"),
    @import("signal.zig"),
    @import("text.zig"),
    @import("ml.zig"),
    @import("ml_linear.zig"),
    @import("ml_svm.zig"),
    @import("ml_tree_classic.zig"),
    @import("ml_preprocess.zig"),
    @import("ml_maps.zig"),
    @import("random.zig"),
};

const table = @import("../../../core/op_table.zig").OpTable(kernel.Kernel, families, "kernels", "run");

/// The entry for an operator; "ai.onnx" and "" are the same domain.
pub const lookup = table.lookup;

/// How many operators have entries.
pub const count = table.count;

/// Every operator with an entry, as "domain:op".
pub const keys = table.keys;
