//! House rules for libruntime/src, checked on every `zig build test` (as TigerBeetle's tidy.zig
//! does): imports go only down the folder layers, no file is over 600 lines, and no function is
//! over 100 lines. The test reads the sources from disk; build.zig runs the unit tests from
//! libruntime/.
//!
//! The layers, lowest first. A file may import its own folder and the folders below it:
//!   core     status, memory, logging, jobs, files: no knowledge of tensors or models
//!   tensor   dtypes, tensors, tensor files
//!   device   the devices a host has (CPU features and levels, Vulkan probe)
//!   model    ONNX decoding, the IR, shape inference, passes
//!   exec     run-time values, the executor, requests, the kernel interface
//!   backends the CPU backend (its kernels, GEMM, thread pool)
//!   api      the C exports and the library's lifetime
//! Backends also never import model/proto/ outside their tests: attributes reach kernels decoded
//! at load (model/attribute.zig).
//! Files directly in src/ (roots of the library, tests, fuzzer, benchmark) may import anything.
const std = @import("std");

const layers = [_][]const u8{ "core", "tensor", "device", "model", "exec", "backends", "api" };

const max_file_lines = 600;
const max_function_lines = 100;


fn layerOf(path: []const u8) ?usize {
    const slash = std.mem.indexOfScalar(u8, path, '/') orelse return null;
    for (layers, 0..) |name, i| if (std.mem.eql(u8, path[0..slash], name)) return i;
    return null;
}

/// Backends run what the compile stage decoded: outside their tests and the test-only
/// backends/testing/ (which builds nodes the way a model file gives them), nothing under
/// backends/ reads the protobuf structures of model/proto/.
fn readsProtobuf(path: []const u8, target: []const u8) bool {
    if (!std.mem.startsWith(u8, path, "backends/") or std.mem.startsWith(u8, path, "backends/testing/")) return false;
    return !std.mem.endsWith(u8, path, "_test.zig") and std.mem.startsWith(u8, target, "model/proto/");
}

const Finding = struct { path: []const u8, line: usize, message: []const u8 };

const Checker = struct {
    arena: std.mem.Allocator,
    findings: std.ArrayList(Finding) = .empty,

    fn report(self: *Checker, path: []const u8, line: usize, comptime format: []const u8, args: anytype) !void {
        try self.findings.append(self.arena, .{ .path = path, .line = line, .message = try std.fmt.allocPrint(self.arena, format, args) });
    }

    fn checkFile(self: *Checker, path: []const u8, source: [:0]const u8) !void {
        const lines = std.mem.count(u8, source, "\n") + @intFromBool(source.len > 0 and source[source.len - 1] != '\n');
        if (lines > max_file_lines) try self.report(path, 1, "{d} lines, more than {d}", .{ lines, max_file_lines });
        try self.checkImports(path, source);
        try self.checkFunctions(path, source);
    }

    /// Every `@import("x.zig")` resolved against the file's folder, compared by layer.
    fn checkImports(self: *Checker, path: []const u8, source: []const u8) !void {
        const from = layerOf(path) orelse return;
        const folder = std.fs.path.dirname(path) orelse "";
        var rest = source;
        const needle = "@import(\"";
        while (std.mem.indexOf(u8, rest, needle)) |at| {
            const start = at + needle.len;
            const end = std.mem.indexOfScalarPos(u8, rest, start, '"') orelse break;
            const target = rest[start..end];
            rest = rest[end..];
            if (!std.mem.endsWith(u8, target, ".zig")) continue;
            const resolved = try std.fs.path.resolvePosix(self.arena, &.{ folder, target });
            const to = layerOf(resolved) orelse continue;
            const line = 1 + std.mem.count(u8, source[0 .. source.len - rest.len], "\n");
            if (to > from) try self.report(path, line, "imports {s}: {s} sits above {s}", .{ resolved, layers[to], layers[from] });
            if (readsProtobuf(path, resolved)) try self.report(path, line, "imports {s}: backends read attributes decoded at load (model/attribute.zig), never protobuf", .{resolved});
        }
    }

    /// Function bodies longer than the limit. A function that returns a type is a generic
    /// container; its own functions are checked one by one instead.
    fn checkFunctions(self: *Checker, path: []const u8, source: [:0]const u8) !void {
        var tree = try std.zig.Ast.parse(self.arena, source, .zig);
        if (tree.errors.len > 0) return self.report(path, 1, "does not parse", .{});
        for (tree.nodes.items(.tag), 0..) |tag, i| {
            if (tag != .fn_decl) continue;
            const node: std.zig.Ast.Node.Index = @enumFromInt(i);
            var buffer: [1]std.zig.Ast.Node.Index = undefined;
            const proto = tree.fullFnProto(&buffer, node) orelse continue;
            if (proto.ast.return_type.unwrap()) |returns| {
                if (std.mem.eql(u8, tree.getNodeSource(returns), "type")) continue;
            }
            const first = tree.tokenLocation(0, tree.firstToken(node)).line;
            const last = tree.tokenLocation(0, tree.lastToken(node)).line;
            if (last - first + 1 > max_function_lines) {
                const name = if (proto.name_token) |t| tree.tokenSlice(t) else "(anonymous)";
                try self.report(path, first + 1, "function {s} is {d} lines, more than {d}", .{ name, last - first + 1, max_function_lines });
            }
        }
    }
};

test "tidy: layers, file lengths and function lengths" {
    var arena_state = std.heap.ArenaAllocator.init(std.testing.allocator);
    defer arena_state.deinit();
    const arena = arena_state.allocator();
    var src = try std.fs.cwd().openDir("src", .{ .iterate = true });
    defer src.close();
    var walker = try src.walk(arena);
    var checker: Checker = .{ .arena = arena };
    var files: usize = 0;
    while (try walker.next()) |entry| {
        if (entry.kind != .file or !std.mem.endsWith(u8, entry.path, ".zig")) continue;
        const path = try arena.dupe(u8, entry.path);
        std.mem.replaceScalar(u8, path, '\\', '/');
        const source = try src.readFileAllocOptions(arena, entry.path, 1 << 24, null, .of(u8), 0);
        try checker.checkFile(path, source);
        files += 1;
    }
    try std.testing.expect(files > 100);
    for (checker.findings.items) |f| std.debug.print("tidy: src/{s}:{d}: {s}\n", .{ f.path, f.line, f.message });
    try std.testing.expectEqual(@as(usize, 0), checker.findings.items.len);
}
