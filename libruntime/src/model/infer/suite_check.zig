//! A development check of shape inference against the ONNX backend suite: for every case under
//! $TESSERA_ONNX_SUITE (e.g. .cache/onnx-backend/node), the shapes inferred from the model must
//! equal the dims of the expected outputs in test_data_set_0. Skipped when the variable is unset;
//! $TESSERA_SUITE_FILTER keeps only cases whose name contains it. Prints one line per problem.
const std = @import("std");
const env = @import("../../core/env.zig");
const status = @import("../../core/status.zig");
const pipeline = @import("../pipeline.zig");
const onnx = @import("../proto/onnx.zig");

const Outcome = enum { ok, unsupported, failed, mismatch };

test "shape inference matches the ONNX backend suite" {
    var root_buffer: env.Buffer = undefined;
    var filter_buffer: env.Buffer = undefined;
    const root = env.get("TESSERA_ONNX_SUITE", &root_buffer) orelse return error.SkipZigTest;
    const filter = env.get("TESSERA_SUITE_FILTER", &filter_buffer) orelse "";
    var dir = try std.fs.cwd().openDir(root, .{ .iterate = true });
    defer dir.close();
    var counts = std.EnumArray(Outcome, u32).initFill(0);
    var names: std.ArrayList([]const u8) = .empty;
    defer {
        for (names.items) |n| std.testing.allocator.free(n);
        names.deinit(std.testing.allocator);
    }
    var it = dir.iterate();
    while (try it.next()) |entry| {
        if (entry.kind != .directory or std.mem.indexOf(u8, entry.name, filter) == null) continue;
        try names.append(std.testing.allocator, try std.testing.allocator.dupe(u8, entry.name));
    }
    std.mem.sort([]const u8, names.items, {}, lessThan);
    for (names.items) |name| {
        const outcome = checkCase(dir, name) catch |e| blk: {
            std.debug.print("{s}: error {s}\n", .{ name, @errorName(e) });
            break :blk Outcome.failed;
        };
        counts.getPtr(outcome).* += 1;
    }
    std.debug.print("suite check: {d} ok, {d} unsupported, {d} failed, {d} mismatched\n", .{
        counts.get(.ok), counts.get(.unsupported), counts.get(.failed), counts.get(.mismatch),
    });
}

fn lessThan(_: void, a: []const u8, b: []const u8) bool {
    return std.mem.order(u8, a, b) == .lt;
}

fn checkCase(dir: std.fs.Dir, name: []const u8) !Outcome {
    var case_dir = try dir.openDir(name, .{});
    defer case_dir.close();
    const gpa = std.testing.allocator;
    const bytes = try case_dir.readFileAlloc(gpa, "model.onnx", 1 << 30);
    defer gpa.free(bytes);
    const loaded = try pipeline.Pipeline.create();
    defer loaded.destroy();
    loaded.run(bytes, null, null, "") catch |e| {
        const message = std.mem.span(status.lastMessage());
        std.debug.print("{s}: {s}: {s}\n", .{ name, @errorName(e), message });
        return if (e == error.NotImplemented) .unsupported else .failed;
    };
    var outcome: Outcome = .ok;
    for (loaded.graph.outputs, 0..) |id, k| {
        var file_name: [64]u8 = undefined;
        const path = try std.fmt.bufPrint(&file_name, "test_data_set_0/output_{d}.pb", .{k});
        const expected_bytes = case_dir.readFileAlloc(gpa, path, 1 << 30) catch continue;
        defer gpa.free(expected_bytes);
        var arena = std.heap.ArenaAllocator.init(gpa);
        defer arena.deinit();
        const value = loaded.graph.value(id);
        // Sequence and optional outputs are stored as SequenceProto/OptionalProto, not tensors.
        if (value.type.kind != .tensor) continue;
        const expected = onnx.decodeTensor(arena.allocator(), expected_bytes) catch continue;
        const shape = value.type.shape orelse {
            std.debug.print("{s}: output {d} '{s}': unknown rank, expected {any}\n", .{ name, k, value.name, expected.dims });
            outcome = .mismatch;
            continue;
        };
        var same = shape.len == expected.dims.len;
        if (same) for (shape, expected.dims) |d, e| {
            const v = loaded.pool.value(d);
            if (v != null and v.? != e) same = false;
        };
        if (value.type.dtype) |dt| if (@intFromEnum(dt) != expected.data_type) {
            same = false;
        };
        if (!same) {
            var text: std.Io.Writer.Allocating = .init(gpa);
            defer text.deinit();
            for (shape) |d| {
                try loaded.pool.format(d, &text.writer);
                try text.writer.writeAll(",");
            }
            std.debug.print("{s}: output {d} '{s}': inferred [{s}] {?}, expected {any} type {d}\n", .{ name, k, value.name, text.written(), value.type.dtype, expected.dims, expected.data_type });
            outcome = .mismatch;
        }
    }
    return outcome;
}
