//! Which operators the CPU backend can run: every (domain, op_type) with a kernel, by family.
//! An operator missing here is a NotImplementedError when a request reaches it.
const kernel = @import("../kernel.zig");
const prepare = @import("../prepare.zig");

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

/// How the CPU compiles an operator: the compiled form of its kernel with nothing prepared (one
/// static copy, shared by every node that gets no prepared data), and its prepare hook.
pub const Compiling = struct {
    plain: *const kernel.Compiled,
    prepare: ?prepare.Prepare,
};

const Row = struct { domain: []const u8, op: []const u8, compiling: Compiling };

const rows = blk: {
    @setEvalBranchQuota(200_000);
    var list: []const Row = &.{};
    for (families) |family| for (family.kernels) |e| {
        list = list ++ [_]Row{.{ .domain = e.domain, .op = e.op, .compiling = .{ .plain = plain(e.run), .prepare = e.prepare } }};
    };
    break :blk list;
};

fn plain(comptime run: kernel.Kernel) *const kernel.Compiled {
    return &struct {
        const compiled: kernel.Compiled = .{ .run = run };
    }.compiled;
}

const table = @import("../../../core/op_table.zig").OpTable(Compiling, .{struct {
    pub const kernels = rows;
}}, "kernels", "compiling");

/// How to compile an operator; "ai.onnx" and "" are the same domain.
pub const lookup = table.lookup;

/// How many operators have entries.
pub const count = table.count;

/// Every operator with an entry, as "domain:op".
pub const keys = table.keys;
