//! A node as tessera_backend.h describes it to an extension: its names, opset, and every input
//! and output with the element type and dims inference settled at load (-1 for a symbolic dim),
//! constants with their bytes. Built in an arena for the one call that reads it.
const std = @import("std");
const ir = @import("../../model/ir.zig");
const backend = @import("../../exec/backend.zig");
const host = @import("host.zig");

const c = host.c;

/// Why Tessera itself refuses `node` for any extension, before asking it; null when it may ask.
/// The ABI passes numeric tensors only: no strings, sequences, optionals or maps.
pub fn refusal(node: *const ir.Node, graph: *const ir.Graph) ?[]const u8 {
    for ([_][]const ?ir.ValueId{ node.inputs, node.outputs }) |ids| for (ids) |maybe| {
        const id = maybe orelse continue;
        const t = graph.values.items[id].type;
        if (t.kind != .tensor) return "extensions run tensors only, not sequences, optionals or maps";
        if (t.dtype == .string) return "extensions run numeric tensors only, not strings";
    };
    for (node.attributes) |a| {
        if (a.graph != null or a.graphs.len > 0) return "extensions do not run nodes with subgraphs";
    }
    return null;
}

pub fn describe(arena: std.mem.Allocator, node: *const ir.Node, origin: backend.Origin) error{OutOfMemory}!*host.NodeView {
    const view = try arena.create(host.NodeView);
    view.* = .{
        .node = node,
        .c = .{
            .size = @sizeOf(c.tsr_backend_node),
            .reserved = 0,
            .name = try arena.dupeZ(u8, node.name),
            .op_type = try arena.dupeZ(u8, node.op_type),
            .domain = try arena.dupeZ(u8, node.domain),
            .opset = node.opset,
            .input_count = @intCast(node.inputs.len),
            .output_count = @intCast(node.outputs.len),
            .inputs = (try values(arena, node.inputs, origin)).ptr,
            .outputs = (try values(arena, node.outputs, origin)).ptr,
        },
    };
    return view;
}

fn values(arena: std.mem.Allocator, ids: []const ?ir.ValueId, origin: backend.Origin) error{OutOfMemory}![]c.tsr_backend_value {
    const out = try arena.alloc(c.tsr_backend_value, ids.len);
    for (ids, out) |maybe, *slot| {
        slot.* = .{ .kind = -1, .dtype = 0, .rank = -1, .dims = null, .constant = null, .constant_bytes = 0 };
        const id = maybe orelse continue;
        const v = origin.graph.values.items[id];
        slot.kind = @intFromEnum(v.type.kind);
        slot.dtype = if (v.type.dtype) |d| @intFromEnum(d) else 0;
        if (v.type.shape) |shape| {
            const dims = try arena.alloc(i64, shape.len);
            for (shape, dims) |dim, *d| d.* = origin.dims.value(dim) orelse -1;
            slot.rank = @intCast(shape.len);
            slot.dims = dims.ptr;
        }
        if (v.constant) |constant| {
            slot.constant = if (constant.bytes.len == 0) null else constant.bytes.ptr;
            slot.constant_bytes = constant.bytes.len;
        }
    }
    return out;
}
