//! Proves that include/tessera.h and the Zig exports agree: every prototype has the same name,
//! return type and parameter types, and every constant has the same value, in both directions.
//! A change on one side without the other fails `zig build test`.
const std = @import("std");
const header = @embedFile("tessera_h");
const log = @import("../core/log.zig");
const status = @import("../core/status.zig");
const cpu = @import("../device/cpu.zig");
const device = @import("../device/device.zig");
const host = @import("../core/host.zig");
const dtype = @import("../tensor/dtype.zig");
const tensor = @import("../tensor/tensor.zig");
const core_api = @import("core_api.zig");
const model_api = @import("model_api.zig");
const extension_api = @import("extension_api.zig");
const jobs = @import("../core/jobs.zig");
const ir = @import("../model/ir.zig");
const info_module = @import("../model/info.zig");
const model_module = @import("../model/model.zig");
const options_module = @import("../model/options.zig");
const profile = @import("../core/profile.zig");

const api_modules = @import("exports.zig").modules;

/// Zig enums whose fields are C constants: the prefix, and whether values are bit positions.
const constant_sets = .{
    .{ status.Status, "TSR_", false },
    .{ log.Level, "TSR_LOG_", false },
    .{ core_api.BuildKey, "TSR_BUILD_", false },
    .{ core_api.StatsKey, "TSR_STATS_", false },
    .{ host.Key, "TSR_HOST_", false },
    .{ device.Platform, "TSR_PLATFORM_", false },
    .{ device.Kind, "TSR_DEVICE_KIND_", false },
    .{ device.NumberKey, "TSR_DEVICE_", false },
    .{ device.StringKey, "TSR_DEVICE_", false },
    .{ cpu.Feature, "TSR_CPU_", true },
    .{ dtype.DType, "TSR_DTYPE_", false },
    .{ model_api.ModelStringKey, "TSR_MODEL_", false },
    .{ model_api.ModelNumberKey, "TSR_MODEL_", false },
    .{ model_api.InfoStringKey, "TSR_INFO_", false },
    .{ model_api.InfoNumberKey, "TSR_INFO_", false },
    .{ ir.TypeKind, "TSR_KIND_", false },
    .{ info_module.QuantizationKind, "TSR_QUANT_", false },
    .{ @import("../exec/request.zig").State, "TSR_REQUEST_", false },
    .{ profile.Kind, "TSR_EVENT_", false },
    .{ profile.Phase, "TSR_PHASE_", false },
    .{ extension_api.ExtensionStringKey, "TSR_EXTENSION_", false },
    .{ @import("../core/progress.zig").Stage, "TSR_LOAD_STAGE_", false },
    .{ @import("../exec/observer.zig").Event, "TSR_NODE_", false },
    .{ @import("performance_api.zig").ConfigKey, "TSR_CONFIG_", false },
    .{ options_module.PerformanceHint, "TSR_HINT_", false },
    .{ @import("performance_api.zig").MemorySource, "TSR_MEMORY_SOURCE_", false },
};

fn cType(comptime T: type) []const u8 {
    if (T == log.Callback or T == ?log.Callback) return "tsr_log_fn";
    if (T == jobs.CompletionCallback or T == ?jobs.CompletionCallback) return "tsr_job_fn";
    if (T == @import("../core/progress.zig").Callback) return "tsr_progress_fn";
    if (T == @import("../exec/observer.zig").Callback) return "tsr_node_fn";
    return switch (T) {
        void => "void",
        i32 => "int32_t",
        u32 => "uint32_t",
        i64 => "int64_t",
        u64 => "uint64_t",
        f32 => "float",
        f64 => "double",
        u8 => "char",
        anyopaque => "void",
        tensor.Tensor => "tsr_tensor",
        device.Device => "tsr_device",
        model_module.Model => "tsr_model",
        options_module.Options => "tsr_options",
        info_module.TensorInfo => "tsr_tensor_info",
        jobs.Job => "tsr_job",
        profile.Event => "tsr_profile_event",
        extension_api.Extension => "tsr_extension",
        @import("performance_api.zig").DeviceMemory => "tsr_device_memory",
        @import("../exec/request.zig").Request => "tsr_request",
        else => switch (@typeInfo(T)) {
            .optional => |o| cType(o.child),
            .pointer => |p| (if (p.is_const) "const " else "") ++ cType(p.child) ++ "*",
            else => @compileError("no C spelling for " ++ @typeName(T)),
        },
    };
}

fn zigSignature(comptime function: anytype) []const u8 {
    const info = @typeInfo(@TypeOf(function)).@"fn";
    comptime var text: []const u8 = cType(info.return_type.?) ++ "(";
    if (info.params.len == 0) text = text ++ "void";
    inline for (info.params, 0..) |param, i| {
        text = text ++ (if (i > 0) "," else "") ++ cType(param.type.?);
    }
    return text ++ ")";
}

const Prototype = struct { name: []const u8, signature: []const u8 };

/// Spells a declaration's type the way cType does: "const char *name" → "const char*".
fn typeOfDeclaration(buffer: []u8, declaration: []const u8, drop_name: bool) []const u8 {
    var text = std.mem.trim(u8, declaration, " \n\t");
    if (drop_name and !std.mem.eql(u8, text, "void")) {
        var end = text.len;
        while (end > 0 and (std.ascii.isAlphanumeric(text[end - 1]) or text[end - 1] == '_')) end -= 1;
        // A bare type with no parameter name (e.g. "void") has nothing before it to keep.
        if (end > 0) text = text[0..end];
    }
    var len: usize = 0;
    var words = std.mem.tokenizeAny(u8, text, " \n\t");
    while (words.next()) |raw_word| {
        // tsr_status is `typedef int32_t tsr_status`, spelled for readers, not a distinct type.
        const word = if (std.mem.eql(u8, raw_word, "tsr_status")) "int32_t" else raw_word;
        if (len > 0 and word[0] != '*' and buffer[len - 1] != '*') {
            buffer[len] = ' ';
            len += 1;
        }
        @memcpy(buffer[len .. len + word.len], word);
        len += word.len;
    }
    return std.mem.trimRight(u8, buffer[0..len], " ");
}

fn parsePrototype(arena: std.mem.Allocator, text: []const u8) !Prototype {
    const open = std.mem.indexOfScalar(u8, text, '(').?;
    const close = std.mem.lastIndexOfScalar(u8, text, ')').?;
    const head = std.mem.trim(u8, text[0..open], " \n\t");
    var name_start = head.len;
    while (name_start > 0 and (std.ascii.isAlphanumeric(head[name_start - 1]) or head[name_start - 1] == '_')) name_start -= 1;
    var buffer: [256]u8 = undefined;
    var signature: std.ArrayList(u8) = .empty;
    try signature.appendSlice(arena, typeOfDeclaration(&buffer, head[0..name_start], false));
    try signature.append(arena, '(');
    var params = std.mem.splitScalar(u8, text[open + 1 .. close], ',');
    var first = true;
    while (params.next()) |param| : (first = false) {
        if (!first) try signature.append(arena, ',');
        try signature.appendSlice(arena, typeOfDeclaration(&buffer, param, true));
    }
    try signature.append(arena, ')');
    return .{ .name = head[name_start..], .signature = signature.items };
}

fn headerPrototypes(arena: std.mem.Allocator) !std.StringHashMapUnmanaged([]const u8) {
    var map: std.StringHashMapUnmanaged([]const u8) = .empty;
    var rest: []const u8 = header;
    // Prototypes start a line with TSR_API; the macro's own #define does not.
    while (std.mem.indexOf(u8, rest, "\nTSR_API ")) |start| {
        const after = rest[start + "\nTSR_API ".len ..];
        const end = std.mem.indexOfScalar(u8, after, ';') orelse break;
        rest = after[end..];
        const prototype = try parsePrototype(arena, after[0..end]);
        try map.put(arena, prototype.name, prototype.signature);
    }
    return map;
}

fn headerConstants(arena: std.mem.Allocator) !std.StringHashMapUnmanaged(i64) {
    var map: std.StringHashMapUnmanaged(i64) = .empty;
    var lines = std.mem.splitScalar(u8, header, '\n');
    while (lines.next()) |line| {
        var entries = std.mem.splitScalar(u8, line, ',');
        while (entries.next()) |entry| {
            const eq = std.mem.indexOf(u8, entry, " = ") orelse continue;
            var name = std.mem.trim(u8, entry[0..eq], " \t{");
            if (std.mem.lastIndexOfScalar(u8, name, ' ')) |space| name = name[space + 1 ..];
            if (!std.mem.startsWith(u8, name, "TSR_")) continue;
            var value_text = std.mem.trim(u8, entry[eq + 3 ..], " \t};");
            if (std.mem.indexOf(u8, value_text, "/*")) |comment| value_text = std.mem.trim(u8, value_text[0..comment], " ");
            const value = if (std.mem.startsWith(u8, value_text, "1 << "))
                @as(i64, 1) << @intCast(try std.fmt.parseInt(u6, value_text[5..], 10))
            else
                try std.fmt.parseInt(i64, value_text, 10);
            try map.put(arena, name, value);
        }
    }
    return map;
}

test "every export matches its prototype in tessera.h, and nothing is missing" {
    var arena_state = std.heap.ArenaAllocator.init(std.testing.allocator);
    defer arena_state.deinit();
    const arena = arena_state.allocator();
    var prototypes = try headerPrototypes(arena);
    var exported: usize = 0;
    @setEvalBranchQuota(100_000);
    inline for (api_modules) |module| {
        inline for (@typeInfo(module).@"struct".decls) |decl| {
            if (comptime !std.mem.startsWith(u8, decl.name, "tsr_")) continue;
            const expected = comptime zigSignature(@field(module, decl.name));
            const declared = prototypes.get(decl.name) orelse {
                std.debug.print("tessera.h lacks {s}: {s}\n", .{ decl.name, expected });
                return error.MissingPrototype;
            };
            if (!std.mem.eql(u8, expected, declared)) {
                std.debug.print("{s}: Zig {s}, tessera.h {s}\n", .{ decl.name, expected, declared });
                return error.PrototypeMismatch;
            }
            _ = prototypes.remove(decl.name);
            exported += 1;
        }
    }
    var stale = prototypes.keyIterator();
    while (stale.next()) |name| std.debug.print("tessera.h declares {s}, which is not exported\n", .{name.*});
    try std.testing.expectEqual(@as(u32, 0), prototypes.count());
    try std.testing.expect(exported > 20);
}

test "every constant in tessera.h has the Zig value, and every Zig value is declared" {
    var arena_state = std.heap.ArenaAllocator.init(std.testing.allocator);
    defer arena_state.deinit();
    const arena = arena_state.allocator();
    var constants = try headerConstants(arena);
    @setEvalBranchQuota(100_000);
    inline for (constant_sets) |set| {
        inline for (@typeInfo(set[0]).@"enum".fields) |field| {
            const name = comptime set[1] ++ upper(field.name);
            const value: i64 = if (set[2]) @as(i64, 1) << field.value else field.value;
            const declared = constants.get(name) orelse {
                std.debug.print("tessera.h lacks {s} = {d}\n", .{ name, value });
                return error.MissingConstant;
            };
            if (declared != value) {
                std.debug.print("{s}: Zig {d}, tessera.h {d}\n", .{ name, value, declared });
                return error.ConstantMismatch;
            }
            _ = constants.remove(name);
        }
    }
    var stale = constants.keyIterator();
    while (stale.next()) |name| std.debug.print("tessera.h has {s}, which Zig does not define\n", .{name.*});
    try std.testing.expectEqual(@as(u32, 0), constants.count());
    const abi_line = "#define TSR_ABI_VERSION ";
    const at = std.mem.indexOf(u8, header, abi_line).? + abi_line.len;
    const end = std.mem.indexOfScalarPos(u8, header, at, '\n').?;
    try std.testing.expectEqual(core_api.abi_version, try std.fmt.parseInt(u32, header[at..end], 10));
}

fn upper(comptime name: []const u8) []const u8 {
    comptime {
        @setEvalBranchQuota(10_000);
        var result: [name.len]u8 = undefined;
        _ = std.ascii.upperString(&result, name);
        const final = result;
        return &final;
    }
}
