//! Model-local functions (ModelProto.functions) are inlined at load: a node calling one is replaced
//! by the function's body, with its values renamed under the calling node's name and attribute
//! references (ref_attr_name) bound to the caller's attributes or the function's defaults.
const std = @import("std");
const status = @import("../core/status.zig");
const onnx = @import("proto/onnx.zig");

/// A node to import, with the opset imports in force where it was written (the model's, or the
/// function's for inlined bodies).
pub const Expanded = struct {
    proto: onnx.NodeProto,
    opsets: []const onnx.OperatorSetIdProto,
};

/// Functions calling functions may nest this deep; deeper means recursion.
const max_inline_depth = 32;

pub fn opsetOf(opsets: []const onnx.OperatorSetIdProto, domain: []const u8) ?i64 {
    const model: onnx.ModelProto = .{ .opset_import = opsets };
    return model.opsetVersion(domain);
}

pub const Library = struct {
    by_key: std.StringHashMapUnmanaged(*const onnx.FunctionProto) = .empty,

    pub fn init(arena: std.mem.Allocator, functions: []const onnx.FunctionProto) status.Error!Library {
        var library: Library = .{};
        for (functions) |*function| {
            const key = try keyOf(arena, function.domain, function.name, function.overload);
            const entry = library.by_key.getOrPut(arena, key) catch return outOfMemory();
            if (entry.found_existing) {
                return status.fail(error.ModelError, "function '{s}' (domain '{s}') is defined twice", .{ function.name, function.domain });
            }
            entry.value_ptr.* = function;
        }
        return library;
    }

    fn find(self: *const Library, arena: std.mem.Allocator, node: *const onnx.NodeProto) status.Error!?*const onnx.FunctionProto {
        if (self.by_key.count() == 0) return null;
        return self.by_key.get(try keyOf(arena, node.domain, node.op_type, node.overload));
    }

    /// Appends `nodes` to `out`, replacing every call of a local function by its renamed body.
    pub fn expand(self: *const Library, arena: std.mem.Allocator, nodes: []const onnx.NodeProto, opsets: []const onnx.OperatorSetIdProto, out: *std.ArrayList(Expanded)) status.Error!void {
        try self.expandAt(arena, nodes, opsets, out, 0);
    }

    fn expandAt(self: *const Library, arena: std.mem.Allocator, nodes: []const onnx.NodeProto, opsets: []const onnx.OperatorSetIdProto, out: *std.ArrayList(Expanded), depth: u32) status.Error!void {
        for (nodes, 0..) |*node, index| {
            const function = try self.find(arena, node) orelse {
                out.append(arena, .{ .proto = node.*, .opsets = opsets }) catch return outOfMemory();
                continue;
            };
            if (depth >= max_inline_depth) {
                return status.fail(error.ModelError, "function '{s}' calls functions more than {d} deep (recursion?)", .{ function.name, max_inline_depth });
            }
            const body = try instantiate(arena, function, node, index);
            const body_opsets = if (function.opset_import.len > 0) function.opset_import else opsets;
            try self.expandAt(arena, body, body_opsets, out, depth + 1);
        }
    }
};

fn keyOf(arena: std.mem.Allocator, domain: []const u8, name: []const u8, overload: []const u8) status.Error![]const u8 {
    const d = if (std.mem.eql(u8, domain, "ai.onnx")) "" else domain;
    return std.fmt.allocPrint(arena, "{s}\x00{s}\x00{s}", .{ d, name, overload }) catch outOfMemory();
}

/// The function's body as it runs for one call: renamed values, bound attributes.
fn instantiate(arena: std.mem.Allocator, function: *const onnx.FunctionProto, call: *const onnx.NodeProto, index: usize) status.Error![]const onnx.NodeProto {
    if (call.input.len > function.input.len or call.output.len > function.output.len) {
        return status.fail(error.ModelError, "node '{s}' calls function '{s}' with {d} inputs and {d} outputs; it takes {d} and {d}", .{ call.name, function.name, call.input.len, call.output.len, function.input.len, function.output.len });
    }
    const prefix = if (call.name.len > 0)
        std.fmt.allocPrint(arena, "{s}/", .{call.name}) catch return outOfMemory()
    else
        std.fmt.allocPrint(arena, "{s}#{d}/", .{ function.name, index }) catch return outOfMemory();
    var names: std.StringHashMapUnmanaged([]const u8) = .empty;
    for (function.input, 0..) |formal, i| names.put(arena, formal, if (i < call.input.len) call.input[i] else "") catch return outOfMemory();
    for (function.output, 0..) |formal, i| names.put(arena, formal, if (i < call.output.len) call.output[i] else "") catch return outOfMemory();
    const body = arena.alloc(onnx.NodeProto, function.node.len) catch return outOfMemory();
    for (function.node, body) |*node, *out| {
        out.* = node.*;
        out.name = std.fmt.allocPrint(arena, "{s}{s}", .{ prefix, node.name }) catch return outOfMemory();
        out.input = try renameAll(arena, node.input, &names, prefix);
        out.output = try renameAll(arena, node.output, &names, prefix);
        out.attribute = try bindAttributes(arena, node.attribute, function, call);
    }
    return body;
}

fn renameAll(arena: std.mem.Allocator, names: []const []const u8, map: *const std.StringHashMapUnmanaged([]const u8), prefix: []const u8) status.Error![]const []const u8 {
    const out = arena.alloc([]const u8, names.len) catch return outOfMemory();
    for (names, out) |name, *slot| {
        if (name.len == 0) {
            slot.* = "";
        } else if (map.get(name)) |actual| {
            slot.* = actual;
        } else {
            slot.* = std.fmt.allocPrint(arena, "{s}{s}", .{ prefix, name }) catch return outOfMemory();
        }
    }
    return out;
}

/// Attributes referring to the function's own (ref_attr_name) take the caller's value, else the
/// function's default, else they are left out, as ONNX specifies.
fn bindAttributes(arena: std.mem.Allocator, attributes: []const onnx.AttributeProto, function: *const onnx.FunctionProto, call: *const onnx.NodeProto) status.Error![]const onnx.AttributeProto {
    var out: std.ArrayList(onnx.AttributeProto) = .empty;
    for (attributes) |attribute| {
        if (attribute.ref_attr_name.len == 0) {
            out.append(arena, attribute) catch return outOfMemory();
            continue;
        }
        const source = call.findAttribute(attribute.ref_attr_name) orelse defaultOf(function, attribute.ref_attr_name) orelse continue;
        var bound = source.*;
        bound.name = attribute.name;
        bound.ref_attr_name = "";
        out.append(arena, bound) catch return outOfMemory();
    }
    return out.items;
}

fn defaultOf(function: *const onnx.FunctionProto, name: []const u8) ?*const onnx.AttributeProto {
    for (function.attribute_proto) |*attribute| {
        if (std.mem.eql(u8, attribute.name, name)) return attribute;
    }
    return null;
}

fn outOfMemory() status.Error {
    return status.fail(error.OutOfResource, "out of memory while inlining functions", .{});
}
