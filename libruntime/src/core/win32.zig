//! The Win32 functions, structures and constants the library calls that Zig's std does not
//! declare, and the helpers over them that more than one file needs. Only code behind a comptime
//! check for Windows uses them, so on other systems they are never analyzed. The functions live
//! in kernel32.dll and advapi32.dll, whose import libraries Zig links by the names given here.
const std = @import("std");
const windows = std.os.windows;

const BOOL = windows.BOOL;
const DWORD = windows.DWORD;
const WORD = windows.WORD;
const HANDLE = windows.HANDLE;
const HMODULE = windows.HMODULE;
const LPCWSTR = windows.LPCWSTR;
const KAFFINITY = windows.KAFFINITY;

// ---- Environment, names, modules ----

pub extern "kernel32" fn GetEnvironmentVariableW(name: LPCWSTR, buffer: ?[*]u16, size: DWORD) callconv(.winapi) DWORD;

pub const ComputerNameFormat = enum(c_int) { netbios = 0, dns_hostname = 1, dns_domain = 2, dns_fully_qualified = 3 };
pub extern "kernel32" fn GetComputerNameExW(format: ComputerNameFormat, buffer: ?[*]u16, size: *DWORD) callconv(.winapi) BOOL;

/// `name` is an address inside the module when GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS is set.
pub extern "kernel32" fn GetModuleHandleExW(flags: DWORD, name: ?*const anyopaque, module: *HMODULE) callconv(.winapi) BOOL;
pub const GET_MODULE_HANDLE_EX_FLAG_PIN: DWORD = 0x1;
pub const GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS: DWORD = 0x4;

// ---- Files and mappings ----

pub extern "kernel32" fn GetFileType(file: HANDLE) callconv(.winapi) DWORD;
pub const FILE_TYPE_UNKNOWN: DWORD = 0;
pub const FILE_TYPE_DISK: DWORD = 1;
pub const FILE_TYPE_CHAR: DWORD = 2;
pub const FILE_TYPE_PIPE: DWORD = 3;

pub extern "kernel32" fn CreateFileMappingW(
    file: HANDLE,
    attributes: ?*windows.SECURITY_ATTRIBUTES,
    protect: DWORD,
    maximum_size_high: DWORD,
    maximum_size_low: DWORD,
    name: ?LPCWSTR,
) callconv(.winapi) ?HANDLE;
pub extern "kernel32" fn MapViewOfFile(mapping: HANDLE, access: DWORD, offset_high: DWORD, offset_low: DWORD, bytes: usize) callconv(.winapi) ?*anyopaque;
pub extern "kernel32" fn UnmapViewOfFile(base: *const anyopaque) callconv(.winapi) BOOL;
pub const FILE_MAP_READ: DWORD = windows.SECTION_MAP_READ;

// ---- Processors ----

pub extern "kernel32" fn GetCurrentThread() callconv(.winapi) HANDLE;
pub extern "kernel32" fn SetThreadGroupAffinity(thread: HANDLE, affinity: *const GroupAffinity, previous: ?*GroupAffinity) callconv(.winapi) BOOL;
extern "kernel32" fn GetLogicalProcessorInformationEx(relationship: Relationship, buffer: ?[*]u8, length: *DWORD) callconv(.winapi) BOOL;

/// LOGICAL_PROCESSOR_RELATIONSHIP.
pub const Relationship = enum(u32) { processor_core = 0, numa_node = 1, cache = 2, processor_package = 3, group = 4, all = 0xffff, _ };

/// GROUP_AFFINITY: processors `mask` of processor group `group`.
pub const GroupAffinity = extern struct { mask: KAFFINITY, group: WORD, reserved: [3]WORD = .{ 0, 0, 0 } };

/// SYSTEM_LOGICAL_PROCESSOR_INFORMATION_EX without its union: the relationship's structure
/// follows at `body_offset`, and `size` counts both.
pub const Record = extern struct {
    relationship: Relationship,
    size: DWORD,

    /// The union starts 8-aligned (its members hold KAFFINITY-aligned GROUP_AFFINITY arrays).
    const body_offset = 8;

    /// The relationship's structure: T must match `relationship`.
    pub fn body(self: *align(1) const Record, comptime T: type) *align(1) const T {
        return @ptrCast(@as([*]const u8, @ptrCast(self)) + body_offset);
    }
};

/// PROCESSOR_RELATIONSHIP (RelationProcessorCore, RelationProcessorPackage).
pub const ProcessorRelationship = extern struct {
    flags: u8,
    efficiency_class: u8,
    reserved: [20]u8,
    group_count: WORD,
    group_mask: GroupAffinity,
};

/// PROCESSOR_CACHE_TYPE.
pub const CacheType = enum(u32) { unified = 0, instruction = 1, data = 2, trace = 3, _ };

/// CACHE_RELATIONSHIP. Before Windows 10 20H2 `group_count` was reserved (0) and only one mask
/// followed; either way the first mask is there.
pub const CacheRelationship = extern struct {
    level: u8,
    associativity: u8,
    line_size: WORD,
    cache_size: DWORD,
    type: CacheType,
    reserved: [18]u8,
    group_count: WORD,
    group_mask: GroupAffinity,

    /// Its masks: `group_count` of them (one where Windows left the count 0).
    pub fn masks(self: *align(1) const CacheRelationship) []align(1) const GroupAffinity {
        const first: [*]align(1) const GroupAffinity = @ptrCast(&self.group_mask);
        return first[0..@max(1, self.group_count)];
    }
};

/// PROCESSOR_GROUP_INFO.
pub const ProcessorGroupInfo = extern struct {
    maximum_processor_count: u8,
    active_processor_count: u8,
    reserved: [38]u8,
    active_processor_mask: KAFFINITY,
};

/// GROUP_RELATIONSHIP: `active_group_count` ProcessorGroupInfo follow from `group_info`.
pub const GroupRelationship = extern struct {
    maximum_group_count: WORD,
    active_group_count: WORD,
    reserved: [20]u8,
    group_info: ProcessorGroupInfo,

    pub fn groups(self: *align(1) const GroupRelationship) []align(1) const ProcessorGroupInfo {
        const first: [*]align(1) const ProcessorGroupInfo = @ptrCast(&self.group_info);
        return first[0..self.active_group_count];
    }
};

comptime {
    // The offsets winnt.h gives these structures on 64-bit Windows.
    if (@sizeOf(usize) == 8) {
        std.debug.assert(@sizeOf(GroupAffinity) == 16);
        std.debug.assert(@offsetOf(ProcessorRelationship, "group_mask") == 24);
        std.debug.assert(@offsetOf(CacheRelationship, "group_mask") == 32);
        std.debug.assert(@sizeOf(ProcessorGroupInfo) == 48);
        std.debug.assert(@offsetOf(GroupRelationship, "group_info") == 24);
    }
}

/// The records GetLogicalProcessorInformationEx gives for one relationship, in memory from
/// `allocator`; `deinit` frees it.
pub const Records = struct {
    allocator: std.mem.Allocator,
    bytes: []align(8) u8,
    /// How much of `bytes` Windows filled.
    len: usize,
    offset: usize = 0,

    /// Null when Windows does not answer (or memory runs out).
    pub fn read(allocator: std.mem.Allocator, relationship: Relationship) ?Records {
        var length: DWORD = 0;
        if (GetLogicalProcessorInformationEx(relationship, null, &length) != 0) return null;
        var last_error = windows.GetLastError();
        // The size can grow between the calls (processors added while running): ask again then.
        for (0..3) |_| {
            if (last_error != .INSUFFICIENT_BUFFER or length == 0) return null;
            const bytes = allocator.alignedAlloc(u8, .@"8", length) catch return null;
            var filled = length;
            if (GetLogicalProcessorInformationEx(relationship, bytes.ptr, &filled) != 0) {
                return .{ .allocator = allocator, .bytes = bytes, .len = @min(filled, bytes.len) };
            }
            last_error = windows.GetLastError(); // before freeing, which may overwrite it
            allocator.free(bytes);
            length = filled;
        }
        return null;
    }

    pub fn deinit(self: *Records) void {
        self.allocator.free(self.bytes);
    }

    pub fn next(self: *Records) ?*align(1) const Record {
        if (self.len - self.offset < @sizeOf(Record)) return null;
        const record: *align(1) const Record = @ptrCast(self.bytes[self.offset..].ptr);
        if (record.size < @sizeOf(Record) or record.size > self.len - self.offset) return null;
        self.offset += record.size;
        return record;
    }
};

// ---- Text ----

/// `wide` (WTF-16, as Windows hands out names) as WTF-8 in `buffer`, the encoding std.fs takes
/// for paths on Windows; null when it does not fit.
pub fn toUtf8(buffer: []u8, wide: []const u16) ?[]u8 {
    if (std.unicode.calcWtf8Len(wide) > buffer.len) return null;
    return buffer[0..std.unicode.wtf16LeToWtf8(buffer, wide)];
}

/// A REG_SZ value under HKEY_LOCAL_MACHINE, as WTF-8 in `buffer`; null when it is missing, not
/// a string, or too long. Reads the 64-bit view of the registry even from a 32-bit process.
pub fn readMachineString(comptime subkey: []const u8, comptime value: []const u8, buffer: []u8) ?[]u8 {
    var wide: [512]u16 = undefined;
    var size: DWORD = @sizeOf(@TypeOf(wide));
    const flags = windows.advapi32.RRF.RT_REG_SZ | windows.advapi32.RRF.SUBKEY_WOW6464KEY;
    const rc = windows.advapi32.RegGetValueW(
        windows.HKEY_LOCAL_MACHINE,
        std.unicode.utf8ToUtf16LeStringLiteral(subkey),
        std.unicode.utf8ToUtf16LeStringLiteral(value),
        flags,
        null,
        &wide,
        &size,
    );
    if (rc != 0) return null;
    // RegGetValueW terminates REG_SZ data; `size` counts the bytes with the terminator.
    const units = std.mem.sliceTo(wide[0..@min(size / 2, wide.len)], 0);
    return toUtf8(buffer, units);
}
