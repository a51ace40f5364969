//! The C ABI as one ordered list: every `tsr_*` function of the api modules. The library is
//! built as several copies of the same code (one per CPU level, see dispatch/levels.zig); each
//! copy hands the dispatcher this list as a table of function pointers, and the dispatcher
//! exports one trampoline per entry under the entry's name. The order comes from the source,
//! which every copy of one build shares, so index i means the same function in every table.
const std = @import("std");

pub const modules = .{
    @import("core_api.zig"),
    @import("log_api.zig"),
    @import("device_api.zig"),
    @import("tensor_api.zig"),
    @import("model_api.zig"),
    @import("container_api.zig"),
    @import("job_api.zig"),
    @import("request_api.zig"),
    @import("extension_api.zig"),
    @import("observe_api.zig"),
    @import("performance_api.zig"),
};

pub const Entry = struct { name: [:0]const u8, Type: type };

/// Every exported function's name and type, in table order.
pub const entries: []const Entry = blk: {
    @setEvalBranchQuota(100_000);
    var list: []const Entry = &.{};
    for (modules) |module| {
        for (@typeInfo(module).@"struct".decls) |decl| {
            if (!std.mem.startsWith(u8, decl.name, "tsr_")) continue;
            list = list ++ [_]Entry{.{ .name = decl.name, .Type = @TypeOf(@field(module, decl.name)) }};
        }
    }
    break :blk list;
};

pub const Table = [entries.len]*const anyopaque;

/// This copy's functions, in table order.
pub const table: Table = blk: {
    @setEvalBranchQuota(100_000);
    var out: Table = undefined;
    var index: usize = 0;
    for (modules) |module| {
        for (@typeInfo(module).@"struct".decls) |decl| {
            if (!std.mem.startsWith(u8, decl.name, "tsr_")) continue;
            out[index] = @ptrCast(&@field(module, decl.name));
            index += 1;
        }
    }
    break :blk out;
};

/// The symbol under which a level's copy publishes its table (hidden: not part of the ABI).
pub fn tableSymbol(comptime level_name: []const u8) [:0]const u8 {
    return "tessera_level_" ++ level_name;
}
