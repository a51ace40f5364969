//! What a kernel's prepare hook (kernels/entry.zig, Entry.prepare) sees when the CPU compiles a
//! node at load, and what it hands back. The hook builds, once, what every run of the node would
//! otherwise build again from the same constants (a weight packed for the GEMM); runs read it with
//! Context.prepared. Nothing of a run exists yet: inputs other than constants have no values, only
//! the types inference gave them.
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../../model/ir.zig");
const symbolic = @import("../../model/symbolic.zig");
const weight_store = @import("weight_store.zig");

/// Data a prepare hook built with memory.allocator, and how to free it: the CPU backend calls
/// `release` once, when the model is destroyed.
pub const Prepared = struct {
    data: *anyopaque,
    release: *const fn (data: *anyopaque) void,

    /// `data`, type-erased, to be freed by `release`.
    pub fn of(comptime T: type, data: *T, comptime release: fn (data: *T) void) Prepared {
        const Release = struct {
            fn call(erased: *anyopaque) void {
                release(@ptrCast(@alignCast(erased)));
            }
        };
        return .{ .data = data, .release = Release.call };
    }
};

/// Builds a node's prepared data at load; null when there is nothing to prepare (no constant
/// weight, another element type), and the node's runs then do the work themselves. It fails only
/// when memory runs out: a malformed node is left for its run to report, in the run's words.
pub const Prepare = *const fn (preparation: *const Preparation) status.Error!?Prepared;

/// A float32 constant's shape and elements.
pub const Floats = struct { shape: []const i64, values: []const f32 };

/// A uint8 or int8 constant's shape and bytes.
pub const Quantized = struct { shape: []const i64, signed: bool, values: []const u8 };

pub const Preparation = struct {
    node: *const ir.Node,
    /// The graph that holds the node.
    graph: *const ir.Graph,
    /// The pool of the dims in the graph's value types.
    dims: *const symbolic.Pool,
    /// Where the model's packed weights come from and are kept: every GEMM operand a hook packs
    /// from a constant goes through it (shared after a hot update, mapped from the cache).
    store: *weight_store.Store,

    /// Input `i` when it is a float32 graph constant with elements to read in place: an
    /// initializer or Constant output of this graph or an enclosing one, never a graph input (a
    /// caller may feed another value), so the same values on every run.
    pub fn constantFloats(self: *const Preparation, i: usize) ?Floats {
        if (i >= self.node.inputs.len) return null;
        const constant = constantOf(self.graph, self.node.inputs[i] orelse return null) orelse return null;
        if (constant.dtype != .float32 or constant.count == 0 or constant.bytes.len < constant.count * 4) return null;
        // Load aligned every constant it could (model/constant.zig ensureAligned).
        if (!std.mem.isAligned(@intFromPtr(constant.bytes.ptr), @alignOf(f32))) return null;
        const values: [*]const f32 = @ptrCast(@alignCast(constant.bytes.ptr));
        return .{ .shape = constant.dims, .values = values[0..@intCast(constant.count)] };
    }

    /// Input `i` when it is a uint8 or int8 graph constant (a quantized weight), as constantFloats.
    pub fn constantQuantized(self: *const Preparation, i: usize) ?Quantized {
        if (i >= self.node.inputs.len) return null;
        const constant = constantOf(self.graph, self.node.inputs[i] orelse return null) orelse return null;
        if (constant.dtype != .uint8 and constant.dtype != .int8) return null;
        if (constant.count == 0 or constant.bytes.len < constant.count) return null;
        return .{ .shape = constant.dims, .signed = constant.dtype == .int8, .values = constant.bytes[0..@intCast(constant.count)] };
    }

    /// Output `i`'s extent on `axis` where inference settled on a number; null where it is
    /// symbolic or unknown.
    pub fn outputExtent(self: *const Preparation, i: usize, axis: usize) ?i64 {
        if (i >= self.node.outputs.len) return null;
        const id = self.node.outputs[i] orelse return null;
        const shape = self.graph.values.items[id].type.shape orelse return null;
        return if (axis < shape.len) self.dims.value(shape[axis]) else null;
    }
};

/// The constant behind value `id` of `graph`, following values read from enclosing graphs (the
/// weights of a Loop body are often its parent's initializers).
fn constantOf(graph: *const ir.Graph, id: ir.ValueId) ?*const ir.Constant {
    const v = &graph.values.items[id];
    if (v.role == .outer) return constantOf(graph.parent orelse return null, v.outer orelse return null);
    return if (v.role == .input) null else v.constant;
}
