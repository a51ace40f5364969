//! The kernels' side of the chains model/fuse.zig marks at load: a Conv that also adds the
//! residual and applies the activation that follow it, and the absorbed nodes (Add, Relu, Clip,
//! Sigmoid, Mul), whose outputs are then views of the Conv's output.
//!
//! A run fuses only when its intermediates cannot be observed (ctx.fuse): the top-level graph
//! under a memory plan (memoryOptimization, the default), where getTensor refuses intermediates
//! anyway, and with no intermediateSavePath.
//! Without a plan every node computes its own value, exactly as the file says, so getTensor and
//! intermediateSavePath see true intermediates. Both sides of a chain test the same conditions
//! (ctx.fuse, float32 data), so they always agree on whether the work was done.
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");
const fuse = @import("../../../model/fuse.zig");
const activation_module = @import("activation.zig");

const Context = kernel.Context;
const Tensor = kernel.Tensor;
pub const Activation = activation_module.Activation;

/// Whether this run may fuse (see the file comment).
pub fn enabled(ctx: *const Context) bool {
    return ctx.fuse;
}

/// What a convolution applies in its store, after its bias.
pub const ConvFusion = struct {
    /// Added element by element: laid out like the output (N x M x spatial).
    residual: ?[]const f32 = null,
    activation: Activation = .none,

    pub const none: ConvFusion = .{};

    pub fn any(self: ConvFusion) bool {
        return self.residual != null or self.activation.kind != .none;
    }
};

/// The fusion a marked Conv performs in this run (none when unmarked, not enabled, or X is not
/// float32). `out_shape` is the Conv's output shape, which the residual must have.
pub fn forConv(ctx: *const Context, x: *const Tensor, out_shape: []const i64) status.Error!ConvFusion {
    const mark = (ctx.node.attr(fuse.producer_attribute) orelse return .none).proto;
    if (!enabled(ctx) or x.dtype != .float32) return .none;
    if (mark.ints.len != 2 or mark.floats.len != 2) return ctx.fail("has a malformed fusion mark", .{});
    const kind = std.meta.intToEnum(activation_module.Kind, mark.ints[0]) catch
        return ctx.fail("has an unknown fused activation {d}", .{mark.ints[0]});
    var fusion: ConvFusion = .{ .activation = .{ .kind = kind, .lo = mark.floats[0], .hi = mark.floats[1] } };
    if (mark.ints[1] != 0) {
        const residual = try ctx.require(fuse.residual_input);
        // Load checked that both shapes are the same static shape: a difference here is a bug.
        if (residual.dtype != .float32 or !std.mem.eql(i64, residual.shape, out_shape)) {
            return ctx.fail("the fused residual does not match the output's shape", .{});
        }
        if (!std.mem.isAligned(@intFromPtr(residual.data.ptr), @alignOf(f32))) return ctx.fail("the fused residual is misaligned", .{});
        fusion.residual = residual.items(f32)[0..@intCast(residual.count())];
    }
    return fusion;
}

/// For a node marked absorbed: when this run fuses, its producer already did its work, and its
/// output is the passed-through input itself. Returns whether it handled the node.
pub fn passThrough(ctx: *Context) status.Error!bool {
    const mark = (ctx.node.attr(fuse.absorbed_attribute) orelse return false).proto;
    if (!enabled(ctx)) return false;
    const index = std.math.cast(usize, mark.i) orelse return ctx.fail("has a malformed fusion mark", .{});
    const source = try ctx.require(index);
    if (source.dtype != .float32) return false;
    // An absorbed Add or Mul reads two operands of the same static shape (checked at load).
    if (ctx.inputCount() == 2 and !std.mem.eql(u8, ctx.node.op_type, "Clip")) {
        if (index > 1) return ctx.fail("has a malformed fusion mark", .{});
        const other = try ctx.require(1 - index);
        if (!std.mem.eql(i64, other.shape, source.shape)) return ctx.fail("a fused operand does not match the other's shape", .{});
    }
    try ctx.alias(0, index, source.shape);
    return true;
}

/// `run`, unless the node was absorbed into its producer in this run.
pub fn absorbable(comptime run: kernel.Kernel) kernel.Kernel {
    return struct {
        fn call(ctx: *Context) status.Error!void {
            if (try passThrough(ctx)) return;
            return run(ctx);
        }
    }.call;
}
