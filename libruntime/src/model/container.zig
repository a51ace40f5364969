//! Encrypted model containers (docs/encrypted-models.md): a fixed header, the ciphertext of an
//! archive (archive.zig) and an AES-256-GCM tag. The key comes from the passphrase through
//! Argon2id with the header's salt and parameters; the whole header is the associated data, so
//! a change anywhere in the file fails the tag. All cryptography is Zig's std.crypto.
//!
//! Every failure to open a container is one message, whatever the cause (wrong passphrase,
//! a flipped bit, truncation, a hostile header): the error tells an attacker nothing about which
//! part was wrong, and the plaintext is never touched before the tag has been checked
//! (std's Aes256Gcm.decrypt verifies the tag before it decrypts a byte).
const std = @import("std");
const status = @import("../core/status.zig");
const memory = @import("../core/memory.zig");

const Aes256Gcm = std.crypto.aead.aes_gcm.Aes256Gcm;
const argon2 = std.crypto.pwhash.argon2;

pub const magic = "TSRCRYPT".*;
pub const format_version: u16 = 1;
pub const salt_bytes = 16;
pub const nonce_bytes = Aes256Gcm.nonce_length;
pub const tag_bytes = Aes256Gcm.tag_length;
pub const header_bytes = 60;
/// Plaintexts are aligned for the archive's 64-byte-aligned files (weights read in place).
pub const plaintext_alignment = std.mem.Alignment.@"64";
pub const Plaintext = []align(64) u8;

pub const cannot_decrypt = "cannot decrypt the model: wrong passphrase or damaged file";

const kdf_argon2id: u8 = 1;

/// Argon2id's costs, as the header records them.
pub const KdfParams = struct {
    memory_kib: u32 = 64 * 1024,
    iterations: u32 = 3,
    parallelism: u32 = 1,

    /// What a container may ask for. The upper bounds are checked before deriving, so a hostile
    /// header cannot make the loader allocate or spin without limit.
    pub const memory_kib_min: u32 = 64;
    pub const memory_kib_max: u32 = 1024 * 1024;
    pub const iterations_max: u32 = 10;
    pub const parallelism_max: u32 = 4;

    pub fn valid(self: KdfParams) bool {
        return self.memory_kib >= memory_kib_min and self.memory_kib <= memory_kib_max and
            self.iterations >= 1 and self.iterations <= iterations_max and
            self.parallelism >= 1 and self.parallelism <= parallelism_max;
    }
};

pub const Header = struct {
    params: KdfParams,
    salt: [salt_bytes]u8,
    nonce: [nonce_bytes]u8,
    plaintext_len: u64,

    fn write(self: Header) [header_bytes]u8 {
        var out: [header_bytes]u8 = undefined;
        out[0..8].* = magic;
        std.mem.writeInt(u16, out[8..10], format_version, .little);
        out[10] = kdf_argon2id;
        out[11] = 0;
        std.mem.writeInt(u32, out[12..16], self.params.memory_kib, .little);
        std.mem.writeInt(u32, out[16..20], self.params.iterations, .little);
        std.mem.writeInt(u32, out[20..24], self.params.parallelism, .little);
        out[24..40].* = self.salt;
        out[40..52].* = self.nonce;
        std.mem.writeInt(u64, out[52..60], self.plaintext_len, .little);
        return out;
    }

    /// Null for anything but a version-1 Argon2id header with bounded costs whose length agrees
    /// with the file's; checked before any key is derived or memory allocated.
    fn parse(file: []const u8) ?Header {
        if (file.len < header_bytes + tag_bytes) return null;
        const bytes = file[0..header_bytes];
        if (!std.mem.eql(u8, bytes[0..8], &magic)) return null;
        if (std.mem.readInt(u16, bytes[8..10], .little) != format_version) return null;
        if (bytes[10] != kdf_argon2id or bytes[11] != 0) return null;
        const header: Header = .{
            .params = .{
                .memory_kib = std.mem.readInt(u32, bytes[12..16], .little),
                .iterations = std.mem.readInt(u32, bytes[16..20], .little),
                .parallelism = std.mem.readInt(u32, bytes[20..24], .little),
            },
            .salt = bytes[24..40].*,
            .nonce = bytes[40..52].*,
            .plaintext_len = std.mem.readInt(u64, bytes[52..60], .little),
        };
        if (!header.params.valid()) return null;
        if (header.plaintext_len != file.len - header_bytes - tag_bytes) return null;
        return header;
    }
};

/// Whether the bytes are meant as a container: their first bytes are the magic, or within two
/// flipped bits of it (a damaged container still reads as one, and fails as one). No ONNX file
/// comes close: a protobuf begins with a field tag such as 0x08, four bits from 'T'.
pub fn looksSealed(bytes: []const u8) bool {
    const prefix = bytes[0..@min(bytes.len, magic.len)];
    if (prefix.len == 0) return false;
    var distance: u32 = 0;
    for (prefix, magic[0..prefix.len]) |a, b| distance += @popCount(a ^ b);
    return distance <= 2;
}

/// The container's size for a plaintext of `plaintext_len` bytes.
pub fn sealedLen(plaintext_len: usize) usize {
    return header_bytes + plaintext_len + tag_bytes;
}

/// Encrypts `plaintext` into `out` (sealedLen bytes) with a fresh random salt and nonce.
pub fn seal(out: []u8, plaintext: []const u8, passphrase: []const u8, params: KdfParams) status.Error!void {
    std.debug.assert(out.len == sealedLen(plaintext.len));
    if (!params.valid()) {
        return status.fail(error.InvalidArgument, "KDF parameters must be {d}..{d} KiB, 1..{d} iterations, 1..{d} lanes", .{
            KdfParams.memory_kib_min, KdfParams.memory_kib_max, KdfParams.iterations_max, KdfParams.parallelism_max,
        });
    }
    try checkPassphrase(passphrase);
    var header: Header = .{ .params = params, .salt = undefined, .nonce = undefined, .plaintext_len = plaintext.len };
    std.crypto.random.bytes(&header.salt);
    std.crypto.random.bytes(&header.nonce);
    var key = try deriveKey(passphrase, header.salt, params);
    defer std.crypto.secureZero(u8, &key);
    const header_text = header.write();
    out[0..header_bytes].* = header_text;
    const body = out[header_bytes..][0..plaintext.len];
    const tag = out[header_bytes + plaintext.len ..][0..tag_bytes];
    Aes256Gcm.encrypt(body, tag, plaintext, &header_text, header.nonce, key);
}

/// Decrypts a container into a new buffer, which the caller zeroes (std.crypto.secureZero) and
/// frees with memory.allocator. Every failure is ContainerError with the one message.
pub fn open(file: []const u8, passphrase: []const u8) status.Error!Plaintext {
    const header = Header.parse(file) orelse return damaged();
    var key = deriveKey(passphrase, header.salt, header.params) catch |e| switch (e) {
        error.OutOfResource => return e,
        else => return damaged(),
    };
    defer std.crypto.secureZero(u8, &key);
    const len: usize = @intCast(header.plaintext_len);
    const plaintext = memory.allocator.alignedAlloc(u8, plaintext_alignment, len) catch
        return status.fail(error.OutOfResource, "out of memory for a {d}-byte decrypted model", .{len});
    const body = file[header_bytes..][0..len];
    const tag = file[header_bytes + len ..][0..tag_bytes].*;
    Aes256Gcm.decrypt(plaintext, body, tag, file[0..header_bytes], header.nonce, key) catch {
        memory.allocator.free(plaintext);
        return damaged();
    };
    return plaintext;
}

/// Zeroes and frees a plaintext `open` returned.
pub fn release(plaintext: Plaintext) void {
    std.crypto.secureZero(u8, plaintext);
    memory.allocator.free(plaintext);
}

fn damaged() status.Error {
    return status.fail(error.ContainerError, cannot_decrypt, .{});
}

pub fn checkPassphrase(passphrase: []const u8) status.Error!void {
    if (passphrase.len == 0) return status.fail(error.InvalidArgument, "the passphrase is empty", .{});
}

/// Argon2id works in memory of its own, which is zeroed before it is freed: its last blocks
/// determine the key.
fn deriveKey(passphrase: []const u8, salt: [salt_bytes]u8, params: KdfParams) status.Error![Aes256Gcm.key_length]u8 {
    std.debug.assert(params.valid());
    // Argon2's blocks plus room for the lanes' thread handles when parallelism > 1.
    const work_len = @as(usize, params.memory_kib) * 1024 + 64 * 1024;
    const work = memory.allocator.alloc(u8, work_len) catch
        return status.fail(error.OutOfResource, "out of memory for the key derivation ({d} KiB)", .{params.memory_kib});
    defer {
        std.crypto.secureZero(u8, work);
        memory.allocator.free(work);
    }
    var fixed = std.heap.FixedBufferAllocator.init(work);
    var key: [Aes256Gcm.key_length]u8 = undefined;
    const argon_params: argon2.Params = .{ .t = params.iterations, .m = params.memory_kib, .p = @intCast(params.parallelism) };
    argon2.kdf(fixed.allocator(), &key, passphrase, &salt, argon_params, .argon2id) catch
        return status.fail(error.ContainerError, cannot_decrypt, .{});
    return key;
}

const test_params: KdfParams = .{ .memory_kib = KdfParams.memory_kib_min, .iterations = 1 };

fn sealForTest(plaintext: []const u8, passphrase: []const u8) ![]u8 {
    const out = try std.testing.allocator.alloc(u8, sealedLen(plaintext.len));
    errdefer std.testing.allocator.free(out);
    try seal(out, plaintext, passphrase, test_params);
    return out;
}

fn expectCannotDecrypt(file: []const u8, passphrase: []const u8) !void {
    try std.testing.expectError(error.ContainerError, open(file, passphrase));
    try std.testing.expectEqualStrings(cannot_decrypt, std.mem.span(status.lastMessage()));
}

test "container round trip, fresh salt and nonce per file" {
    const text = "model bytes, not secret in a test";
    const first = try sealForTest(text, "correct horse");
    defer std.testing.allocator.free(first);
    const second = try sealForTest(text, "correct horse");
    defer std.testing.allocator.free(second);
    try std.testing.expect(looksSealed(first));
    try std.testing.expect(!std.mem.eql(u8, first[24..52], second[24..52]));
    const plaintext = try open(first, "correct horse");
    defer release(plaintext);
    try std.testing.expectEqualStrings(text, plaintext);
    try expectCannotDecrypt(first, "correct horsE");
}

test "container: every flipped bit and every truncation fails with the one message" {
    const sealed = try sealForTest("abc", "pw");
    defer std.testing.allocator.free(sealed);
    const copy = try std.testing.allocator.dupe(u8, sealed);
    defer std.testing.allocator.free(copy);
    for (0..sealed.len * 8) |bit| {
        copy[bit / 8] ^= @as(u8, 1) << @intCast(bit % 8);
        try std.testing.expect(looksSealed(copy));
        try expectCannotDecrypt(copy, "pw");
        copy[bit / 8] ^= @as(u8, 1) << @intCast(bit % 8);
    }
    for (0..sealed.len) |len| try expectCannotDecrypt(sealed[0..len], "pw");
}

test "container: hostile KDF costs are refused before anything is allocated" {
    const sealed = try sealForTest("abc", "pw");
    defer std.testing.allocator.free(sealed);
    const cases = [_]struct { at: usize, value: u32 }{
        .{ .at = 12, .value = 100 * 1024 * 1024 }, // 100 GiB
        .{ .at = 12, .value = 8 },
        .{ .at = 16, .value = 1_000_000 },
        .{ .at = 16, .value = 0 },
        .{ .at = 20, .value = 255 },
    };
    for (cases) |case| {
        const copy = try std.testing.allocator.dupe(u8, sealed);
        defer std.testing.allocator.free(copy);
        std.mem.writeInt(u32, copy[case.at..][0..4], case.value, .little);
        const allocations = memory.allocationsTotal();
        try expectCannotDecrypt(copy, "pw");
        try std.testing.expectEqual(allocations, memory.allocationsTotal());
    }
}

test "container: detection by magic, near misses included" {
    try std.testing.expect(!looksSealed(""));
    try std.testing.expect(!looksSealed("\x08\x07\x12\x04onnx"));
    try std.testing.expect(looksSealed("TSRCRYPT\x01"));
    try std.testing.expect(looksSealed("TSRCRYPU"));
    try std.testing.expect(!looksSealed("PKRCRYPT"));
}
