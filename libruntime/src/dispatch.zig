//! Root of the dispatcher, the part of libtessera built for the baseline CPU that exports the C
//! ABI. The rest of the library is compiled once per CPU level (level.zig, build.zig); each copy
//! publishes a table of its C functions. On the first call of any `tsr_*` function the
//! dispatcher picks one copy for the whole process (device/cpu_level.zig: the widest level the
//! CPU supports, capped by TESSERA_CPU_LEVEL), and every exported function is a trampoline that
//! jumps through that copy's table. Nothing above the baseline runs before the CPU is asked.
//!
//! Why whole copies rather than only the hot loops: Zig 0.15 has no per-function target
//! attributes, so code for another level must be a separate compilation, and a copy of the whole
//! library needs no Zig types to cross between compilations (only C calls do). Every kernel, not
//! just a chosen few, then runs at the width of its level.
const std = @import("std");
const builtin = @import("builtin");
const cpu = @import("device/cpu.zig");
const cpu_level = @import("device/cpu_level.zig");
const env = @import("core/env.zig");
const exports = @import("api/exports.zig");
const pin = @import("core/pin.zig");

const Table = exports.Table;

fn levelTable(comptime level: cpu_level.Level) *const Table {
    return @extern(*const Table, .{ .name = exports.tableSymbol(@tagName(level)), .visibility = .hidden });
}

var chosen: *const Table = undefined;
var choose_once = std.once(choose);

fn choose() void {
    pin.pinObjectOf(@ptrCast(&choose));
    var env_buffer: env.Buffer = undefined;
    const choice = cpu_level.choose(cpu.features(), cpu_level.capFromEnvironment(&env_buffer));
    inline for (cpu_level.compiled) |level| {
        if (choice.level == level) chosen = levelTable(level);
    }
}

inline fn entry(comptime index: usize) *const exports.entries[index].Type {
    choose_once.call();
    return @ptrCast(@alignCast(chosen[index]));
}

/// A function with the C signature of entry `index` that calls the chosen copy's entry.
fn trampoline(comptime index: usize) *const exports.entries[index].Type {
    const F = exports.entries[index].Type;
    const info = @typeInfo(F).@"fn";
    const R = info.return_type.?;
    const p = info.params;
    const T = struct {
        fn arg(comptime i: usize) type {
            return p[i].type.?;
        }
    };
    return switch (p.len) {
        0 => &struct {
            fn call() callconv(.c) R {
                return entry(index)();
            }
        }.call,
        1 => &struct {
            fn call(a: T.arg(0)) callconv(.c) R {
                return entry(index)(a);
            }
        }.call,
        2 => &struct {
            fn call(a: T.arg(0), b: T.arg(1)) callconv(.c) R {
                return entry(index)(a, b);
            }
        }.call,
        3 => &struct {
            fn call(a: T.arg(0), b: T.arg(1), c: T.arg(2)) callconv(.c) R {
                return entry(index)(a, b, c);
            }
        }.call,
        4 => &struct {
            fn call(a: T.arg(0), b: T.arg(1), c: T.arg(2), d: T.arg(3)) callconv(.c) R {
                return entry(index)(a, b, c, d);
            }
        }.call,
        5 => &struct {
            fn call(a: T.arg(0), b: T.arg(1), c: T.arg(2), d: T.arg(3), e: T.arg(4)) callconv(.c) R {
                return entry(index)(a, b, c, d, e);
            }
        }.call,
        6 => &struct {
            fn call(a: T.arg(0), b: T.arg(1), c: T.arg(2), d: T.arg(3), e: T.arg(4), f: T.arg(5)) callconv(.c) R {
                return entry(index)(a, b, c, d, e, f);
            }
        }.call,
        7 => &struct {
            fn call(a: T.arg(0), b: T.arg(1), c: T.arg(2), d: T.arg(3), e: T.arg(4), f: T.arg(5), g: T.arg(6)) callconv(.c) R {
                return entry(index)(a, b, c, d, e, f, g);
            }
        }.call,
        8 => &struct {
            fn call(a: T.arg(0), b: T.arg(1), c: T.arg(2), d: T.arg(3), e: T.arg(4), f: T.arg(5), g: T.arg(6), h: T.arg(7)) callconv(.c) R {
                return entry(index)(a, b, c, d, e, f, g, h);
            }
        }.call,
        else => @compileError(exports.entries[index].name ++ " has more parameters than the dispatcher forwards"),
    };
}

comptime {
    for (exports.entries, 0..) |e, index| {
        @export(trampoline(index), .{ .name = e.name });
    }
}
