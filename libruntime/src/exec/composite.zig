//! Sequence and optional values crossing the request boundary: caller tensors bound as the
//! elements of a sequence (or optional) input, and run values described and read element by
//! element on the way out.
const std = @import("std");
const status = @import("../core/status.zig");
const memory = @import("../core/memory.zig");
const ir = @import("../model/ir.zig");
const tensor_module = @import("../tensor/tensor.zig");
const value = @import("value.zig");

/// A sequence or optional bound to a model input. The tensors are the caller's, not owned: they
/// are read in place when the request runs.
pub const CompositeInput = struct {
    kind: value.Kind,
    /// An optional input whose value is a sequence (Optional(Sequence(Tensor))).
    inner_sequence: bool = false,
    /// null: an optional with no value.
    elements: ?[]*tensor_module.Tensor,

    /// Copies the element list; `declared` is the model input's type.
    pub fn init(declared: ir.ValueType, name: []const u8, elements: ?[]const *tensor_module.Tensor) status.Error!CompositeInput {
        const kind: value.Kind = switch (declared.kind) {
            .sequence => .sequence,
            .optional => .optional,
            else => return status.fail(error.TypeError, "input '{s}' is a {s}, not a sequence or optional", .{ name, @tagName(declared.kind) }),
        };
        const inner_sequence = kind == .optional and declared.inner_kind == .sequence;
        if (kind == .sequence and elements == null) return status.fail(error.InvalidArgument, "sequence input '{s}' needs an element list (it may be empty)", .{name});
        if (kind == .optional and !inner_sequence) if (elements) |list| if (list.len != 1) {
            return status.fail(error.InvalidArgument, "optional tensor input '{s}' takes one tensor or none, not {d}", .{ name, list.len });
        };
        if (elements) |list| for (list) |t| if (declared.dtype) |d| if (t.layout.dtype != d) {
            return status.fail(error.TypeError, "the elements of input '{s}' must be {s}, not {s}", .{ name, @tagName(d), @tagName(t.layout.dtype) });
        };
        const copy = if (elements) |list| memory.allocator.dupe(*tensor_module.Tensor, list) catch return oom() else null;
        return .{ .kind = kind, .inner_sequence = inner_sequence, .elements = copy };
    }

    pub fn deinit(self: *CompositeInput) void {
        if (self.elements) |list| memory.allocator.free(list);
    }

    /// The run value: element views over the caller's memory, no copies.
    pub fn view(self: *const CompositeInput, arena: std.mem.Allocator, dtype: value.DType, viewOf: anytype) status.Error!*const value.Tensor {
        const result = arena.create(value.Tensor) catch return oom();
        const list = self.elements orelse {
            result.* = .{ .kind = .optional, .dtype = dtype, .shape = &.{} };
            return result;
        };
        const views = arena.alloc(*const value.Tensor, list.len) catch return oom();
        for (list, views) |t, *slot| slot.* = try viewOf(arena, t);
        if (self.kind == .optional and !self.inner_sequence) {
            result.* = .{ .kind = .optional, .dtype = dtype, .shape = &.{}, .elements = views };
            return result;
        }
        result.* = .{ .kind = .sequence, .dtype = dtype, .shape = &.{}, .elements = views };
        if (self.kind == .sequence) return result;
        const wrapper = arena.create(value.Tensor) catch return oom();
        const inner = arena.alloc(*const value.Tensor, 1) catch return oom();
        inner[0] = result;
        wrapper.* = .{ .kind = .optional, .dtype = dtype, .shape = &.{}, .elements = inner };
        return wrapper;
    }
};

/// What an output value is: its kind, the kind inside an optional, and its element count
/// (-1 for an optional with no value; 1 for a plain tensor).
pub const Description = struct { kind: ir.TypeKind, inner_kind: ir.TypeKind, count: i32 };

pub fn describe(v: *const value.Tensor) Description {
    return switch (v.kind) {
        .tensor => .{ .kind = .tensor, .inner_kind = .tensor, .count = 1 },
        .sequence => .{ .kind = .sequence, .inner_kind = .tensor, .count = @intCast(v.elements.len) },
        .optional => if (v.elements.len == 0)
            .{ .kind = .optional, .inner_kind = .tensor, .count = -1 }
        else if (v.elements[0].kind == .sequence)
            .{ .kind = .optional, .inner_kind = .sequence, .count = @intCast(v.elements[0].elements.len) }
        else
            .{ .kind = .optional, .inner_kind = .tensor, .count = 1 },
    };
}

/// Element `index` of a sequence (or of the sequence inside an optional), or an optional's tensor.
pub fn element(v: *const value.Tensor, index: u32) status.Error!*const value.Tensor {
    const list = switch (v.kind) {
        .tensor => return status.fail(error.InvalidArgument, "the value is a tensor: it has no elements", .{}),
        .sequence => v.elements,
        .optional => if (v.elements.len == 1 and v.elements[0].kind == .sequence) v.elements[0].elements else v.elements,
    };
    if (index >= list.len) return status.fail(error.InvalidArgument, "element {d} does not exist (the value has {d})", .{ index, list.len });
    return list[index];
}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory", .{});
}
