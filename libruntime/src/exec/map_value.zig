//! Map run values (ONNX's map(K, V)): a keys tensor (int64 or string) and a values tensor of the
//! same length, held as a value of kind .map. Made here by kernels and by bound inputs, so that
//! every map the executor passes on has the same form: 1-D, equal lengths, no key twice.
const std = @import("std");
const status = @import("../core/status.zig");
const value = @import("value.zig");

const Tensor = value.Tensor;

/// A map value over `keys` and `values`, which must live as long as the run; checked as every
/// map is (see `check`). `what` names the map in error messages ("input 'x'", "node ...").
pub fn make(arena: std.mem.Allocator, keys: *const Tensor, values: *const Tensor, what: []const u8) status.Error!*Tensor {
    try check(arena, keys, values, what);
    return assemble(arena, keys, values);
}

/// A map value over `keys` and `values` that passed `check` already (another map's keys, say).
pub fn assemble(arena: std.mem.Allocator, keys: *const Tensor, values: *const Tensor) status.Error!*Tensor {
    const elements = arena.alloc(*const Tensor, 2) catch return oom();
    elements[Tensor.map_keys] = keys;
    elements[Tensor.map_values] = values;
    const map = arena.create(Tensor) catch return oom();
    map.* = .{ .kind = .map, .dtype = keys.dtype, .shape = &.{}, .elements = elements };
    return map;
}

/// Keys int64 or string (TypeError); both 1-D tensors of one length (ShapeError); no key twice
/// (InvalidArgument): a map is a function of its keys, and kernels rely on that.
pub fn check(arena: std.mem.Allocator, keys: *const Tensor, values: *const Tensor, what: []const u8) status.Error!void {
    if (!keys.isTensor() or !values.isTensor()) return status.fail(error.TypeError, "{s}: a map's keys and values must be tensors", .{what});
    if (keys.dtype != .int64 and keys.dtype != .string) {
        return status.fail(error.TypeError, "{s}: map keys must be int64 or string, not {s}", .{ what, @tagName(keys.dtype) });
    }
    if (keys.rank() != 1 or values.rank() != 1) {
        return status.fail(error.ShapeError, "{s}: a map's keys and values must be 1-D, not rank {d} and {d}", .{ what, keys.rank(), values.rank() });
    }
    if (keys.shape[0] != values.shape[0]) {
        return status.fail(error.ShapeError, "{s}: a map needs one value per key: {d} keys, {d} values", .{ what, keys.shape[0], values.shape[0] });
    }
    const order = try keyOrder(arena, keys);
    for (order[0..order.len -| 1], order[@min(1, order.len)..]) |a, b| {
        if (compareKeys(keys, a, b) != .eq) continue;
        if (keys.dtype == .string) return status.fail(error.InvalidArgument, "{s}: map key '{s}' appears twice", .{ what, keys.strings[a] });
        return status.fail(error.InvalidArgument, "{s}: map key {d} appears twice", .{ what, keys.items(i64)[a] });
    }
}

/// The positions of `keys` in ascending key order (strings by their bytes).
pub fn keyOrder(arena: std.mem.Allocator, keys: *const Tensor) status.Error![]u32 {
    const order = arena.alloc(u32, keys.count()) catch return oom();
    for (order, 0..) |*slot, i| slot.* = @intCast(i);
    std.sort.pdq(u32, order, keys, lessThan);
    return order;
}

fn lessThan(keys: *const Tensor, a: u32, b: u32) bool {
    return compareKeys(keys, a, b) == .lt;
}

fn compareKeys(keys: *const Tensor, a: u32, b: u32) std.math.Order {
    if (keys.dtype == .string) return std.mem.order(u8, keys.strings[a], keys.strings[b]);
    const ints = keys.items(i64);
    return std.math.order(ints[a], ints[b]);
}

/// A map's keys by value, for lookups in time independent of the map's size.
pub const KeyIndex = union(enum) {
    ints: std.AutoHashMapUnmanaged(i64, u32),
    strings: std.StringHashMapUnmanaged(u32),

    pub fn init(arena: std.mem.Allocator, keys: *const Tensor) status.Error!KeyIndex {
        if (keys.dtype == .string) {
            var index: std.StringHashMapUnmanaged(u32) = .empty;
            index.ensureTotalCapacity(arena, @intCast(keys.count())) catch return oom();
            for (keys.strings, 0..) |k, i| index.putAssumeCapacity(k, @intCast(i));
            return .{ .strings = index };
        }
        var index: std.AutoHashMapUnmanaged(i64, u32) = .empty;
        index.ensureTotalCapacity(arena, @intCast(keys.count())) catch return oom();
        for (keys.items(i64), 0..) |k, i| index.putAssumeCapacity(k, @intCast(i));
        return .{ .ints = index };
    }

    pub fn findInt(self: *const KeyIndex, key: i64) ?u32 {
        return if (self.* == .ints) self.ints.get(key) else null;
    }

    pub fn findString(self: *const KeyIndex, key: []const u8) ?u32 {
        return if (self.* == .strings) self.strings.get(key) else null;
    }
};

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory", .{});
}

test "a map is checked: key type, shapes, and no key twice" {
    var arena_state = std.heap.ArenaAllocator.init(std.testing.allocator);
    defer arena_state.deinit();
    const arena = arena_state.allocator();
    var key_data = [_]i64{ 3, 1, 2 };
    var value_data = [_]f32{ 0.3, 0.1, 0.2 };
    const keys = Tensor{ .dtype = .int64, .shape = &.{3}, .data = std.mem.sliceAsBytes(&key_data) };
    const values = Tensor{ .dtype = .float32, .shape = &.{3}, .data = std.mem.sliceAsBytes(&value_data) };
    const map = try make(arena, &keys, &values, "test");
    try std.testing.expectEqual(@as(usize, 3), map.mapCount());
    try std.testing.expectEqualSlices(u32, &.{ 1, 2, 0 }, try keyOrder(arena, &keys));
    const short = Tensor{ .dtype = .float32, .shape = &.{2}, .data = std.mem.sliceAsBytes(value_data[0..2]) };
    try std.testing.expectError(error.ShapeError, make(arena, &keys, &short, "test"));
    try std.testing.expectError(error.TypeError, make(arena, &values, &values, "test"));
    key_data[2] = 1;
    try std.testing.expectError(error.InvalidArgument, make(arena, &keys, &values, "test"));
    var names = [_][]const u8{ "b", "a" };
    const string_keys = Tensor{ .dtype = .string, .shape = &.{2}, .strings = &names };
    try std.testing.expectEqualSlices(u32, &.{ 1, 0 }, try keyOrder(arena, &string_keys));
    const index = try KeyIndex.init(arena, &string_keys);
    try std.testing.expectEqual(@as(?u32, 1), index.findString("a"));
    try std.testing.expectEqual(@as(?u32, null), index.findString("c"));
}
