//! Sequence, optional and map values crossing the request boundary: caller tensors bound as the
//! elements of a sequence (or optional) input or as a map input's keys and values, and run values
//! described and read element by element on the way out.
const std = @import("std");
const status = @import("../core/status.zig");
const memory = @import("../core/memory.zig");
const ir = @import("../model/ir.zig");
const tensor_module = @import("../tensor/tensor.zig");
const value = @import("value.zig");
const map_value = @import("map_value.zig");

/// A sequence, optional or map bound to a model input. The tensors are the caller's, not owned:
/// they are read in place when the request runs.
pub const CompositeInput = struct {
    kind: value.Kind,
    /// An optional input whose value is a sequence (Optional(Sequence(Tensor))).
    inner_sequence: bool = false,
    /// null: an optional with no value. A map's keys and values.
    elements: ?[]*tensor_module.Tensor,

    /// Copies the element list; `declared` is the model input's type.
    pub fn init(declared: ir.ValueType, name: []const u8, elements: ?[]const *tensor_module.Tensor) status.Error!CompositeInput {
        const kind: value.Kind = switch (declared.kind) {
            .sequence => .sequence,
            .optional => .optional,
            .map => return status.fail(error.TypeError, "input '{s}' is a map: bind it with its keys and values (tsr_request_set_input_map)", .{name}),
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

    /// A map input: `keys` (int64 or string) and `values`, 1-D and of one length, of the types
    /// `declared` names. Keys are checked to be distinct when the request runs.
    pub fn initMap(declared: ir.ValueType, name: []const u8, keys: *tensor_module.Tensor, values: *tensor_module.Tensor) status.Error!CompositeInput {
        if (declared.kind != .map) return status.fail(error.TypeError, "input '{s}' is a {s}, not a map", .{ name, @tagName(declared.kind) });
        const key_type = keys.layout.dtype;
        if (key_type != .int64 and key_type != .string) return status.fail(error.TypeError, "the keys of map input '{s}' must be int64 or string, not {s}", .{ name, @tagName(key_type) });
        if (declared.dtype) |d| if (d != key_type) {
            return status.fail(error.TypeError, "the keys of map input '{s}' must be {s}, not {s}", .{ name, @tagName(d), @tagName(key_type) });
        };
        if (declared.value_dtype) |d| if (d != values.layout.dtype) {
            return status.fail(error.TypeError, "the values of map input '{s}' must be {s}, not {s}", .{ name, @tagName(d), @tagName(values.layout.dtype) });
        };
        if (keys.layout.rank != 1 or values.layout.rank != 1 or keys.layout.count != values.layout.count) {
            return status.fail(error.ShapeError, "map input '{s}' needs 1-D keys and values of one length, not {d} and {d} elements in rank {d} and {d}", .{ name, keys.layout.count, values.layout.count, keys.layout.rank, values.layout.rank });
        }
        const pair = memory.allocator.alloc(*tensor_module.Tensor, 2) catch return oom();
        pair[value.Tensor.map_keys] = keys;
        pair[value.Tensor.map_values] = values;
        return .{ .kind = .map, .elements = pair };
    }

    pub fn deinit(self: *CompositeInput) void {
        if (self.elements) |list| memory.allocator.free(list);
    }

    /// The run value: element views over the caller's memory, no copies. `name` is the input's,
    /// for errors.
    pub fn view(self: *const CompositeInput, arena: std.mem.Allocator, name: []const u8, dtype: value.DType, viewOf: anytype) status.Error!*const value.Tensor {
        if (self.kind == .map) {
            var what: [200]u8 = undefined;
            const label = std.fmt.bufPrint(&what, "map input '{s}'", .{name}) catch "a map input";
            const list = self.elements.?;
            return map_value.make(arena, try viewOf(arena, list[value.Tensor.map_keys]), try viewOf(arena, list[value.Tensor.map_values]), label);
        }
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

/// For a sequence, the kind of its elements (a map for a sequence of maps); for an optional, the
/// kind of its value. A map's count is its entry count.
pub fn describe(v: *const value.Tensor) Description {
    return switch (v.kind) {
        .tensor => .{ .kind = .tensor, .inner_kind = .tensor, .count = 1 },
        .map => .{ .kind = .map, .inner_kind = .tensor, .count = @intCast(v.mapCount()) },
        .sequence => .{ .kind = .sequence, .inner_kind = elementKind(v), .count = @intCast(v.elements.len) },
        .optional => if (v.elements.len == 0)
            .{ .kind = .optional, .inner_kind = .tensor, .count = -1 }
        else switch (v.elements[0].kind) {
            .sequence => .{ .kind = .optional, .inner_kind = .sequence, .count = @intCast(v.elements[0].elements.len) },
            .map => .{ .kind = .optional, .inner_kind = .map, .count = @intCast(v.elements[0].mapCount()) },
            else => .{ .kind = .optional, .inner_kind = .tensor, .count = 1 },
        },
    };
}

/// What a sequence holds; an empty one reads as tensors (it holds nothing to read either way).
fn elementKind(sequence: *const value.Tensor) ir.TypeKind {
    if (sequence.elements.len > 0 and sequence.elements[0].kind == .map) return .map;
    return .tensor;
}

/// The map a value is: the value itself (element 0), map `index` of a sequence of maps, or an
/// optional's map (element 0).
pub fn mapAt(v: *const value.Tensor, index: u32) status.Error!*const value.Tensor {
    if (v.kind == .map) {
        if (index != 0) return status.fail(error.InvalidArgument, "the value is one map: element {d} does not exist", .{index});
        return v;
    }
    const item = try element(v, index);
    if (item.kind != .map) return status.fail(error.InvalidArgument, "element {d} is a {s}, not a map", .{ index, @tagName(item.kind) });
    return item;
}

/// Element `index` of a sequence (or of the sequence inside an optional), or an optional's tensor.
pub fn element(v: *const value.Tensor, index: u32) status.Error!*const value.Tensor {
    const list = switch (v.kind) {
        .tensor => return status.fail(error.InvalidArgument, "the value is a tensor: it has no elements", .{}),
        .map => return status.fail(error.InvalidArgument, "the value is a map: read its keys and values (tsr_request_get_output_map)", .{}),
        .sequence => v.elements,
        .optional => if (v.elements.len == 1 and v.elements[0].kind == .sequence) v.elements[0].elements else v.elements,
    };
    if (index >= list.len) return status.fail(error.InvalidArgument, "element {d} does not exist (the value has {d})", .{ index, list.len });
    return list[index];
}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory", .{});
}
