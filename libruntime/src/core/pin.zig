//! Keeps the library mapped until the process ends. Kernel pool threads and job workers run its
//! code for as long as models exist, and a host may unload it under them: Deno closes its
//! Deno.dlopen libraries at exit while those threads still run, which crashed the process. A
//! library opened again with RTLD_NODELETE is never unmapped, whatever dlclose calls follow; on
//! Windows, a DLL pinned with GetModuleHandleExW stays loaded whatever FreeLibrary calls follow.
const std = @import("std");
const builtin = @import("builtin");
const win32 = @import("win32.zig");

const DlInfo = extern struct {
    fname: ?[*:0]const u8,
    fbase: ?*anyopaque,
    sname: ?[*:0]const u8,
    saddr: ?*anyopaque,
};
extern "c" fn dladdr(address: *const anyopaque, info: *DlInfo) c_int;

/// Pins the shared object that holds `address` (any function of the library). Best effort: a
/// static build, or a platform without dladdr, has nothing to pin.
pub fn pinObjectOf(address: *const anyopaque) void {
    switch (builtin.os.tag) {
        .linux, .macos => {},
        .windows => return pinModuleOf(address),
        else => return,
    }
    var info: DlInfo = undefined;
    if (dladdr(address, &info) == 0) return;
    const path = info.fname orelse return;
    // NOLOAD: only the copy already loaded (by the host) gets the flag; nothing is loaded anew.
    _ = std.c.dlopen(path, .{ .NOW = true, .NOLOAD = true, .NODELETE = true });
}

/// Windows: the module (DLL, or the program a static build is linked into) that holds `address`,
/// pinned. The handle it returns needs no release: a pinned module's count is no longer kept.
fn pinModuleOf(address: *const anyopaque) void {
    var module: std.os.windows.HMODULE = undefined;
    _ = win32.GetModuleHandleExW(win32.GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | win32.GET_MODULE_HANDLE_EX_FLAG_PIN, address, &module);
}
