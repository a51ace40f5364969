//! C exports: writing encrypted model containers (docs/encrypted-models.md). Opening one is a
//! load option (passphrase), not a function of its own.
const std = @import("std");
const args = @import("args.zig");
const context = @import("context.zig");
const status = @import("../core/status.zig");
const jobs = @import("../core/jobs.zig");
const container = @import("../model/container.zig");
const encrypt = @import("../model/encrypt.zig");

/// 0 means the default for either cost.
fn paramsOf(kdf_memory_kib: u32, kdf_iterations: u32) container.KdfParams {
    const defaults: container.KdfParams = .{};
    return .{
        .memory_kib = if (kdf_memory_kib == 0) defaults.memory_kib else kdf_memory_kib,
        .iterations = if (kdf_iterations == 0) defaults.iterations else kdf_iterations,
    };
}

fn inputOf(path: ?[*:0]const u8, bytes: ?*const anyopaque, byte_length: u64) status.Error!encrypt.Input {
    if (path) |p| return .{ .path = std.mem.span(p) };
    return .{ .bytes = try args.slice(u8, @ptrCast(bytes), byte_length, "bytes") };
}

/// Encrypts `path` (a .onnx file or a model folder), or else `bytes`, into a container at `out_path`.
pub fn tsr_model_encrypt(path: ?[*:0]const u8, bytes: ?*const anyopaque, byte_length: u64, passphrase: ?[*:0]const u8, kdf_memory_kib: u32, kdf_iterations: u32, out_path: ?[*:0]const u8) callconv(.c) i32 {
    return status.report(modelEncrypt(path, bytes, byte_length, passphrase, kdf_memory_kib, kdf_iterations, out_path));
}

fn modelEncrypt(path: ?[*:0]const u8, bytes: ?*const anyopaque, byte_length: u64, passphrase: ?[*:0]const u8, kdf_memory_kib: u32, kdf_iterations: u32, out_path: ?[*:0]const u8) status.Error!void {
    const input = try inputOf(path, bytes, byte_length);
    const out = try args.string(out_path, "out_path");
    try encrypt.encryptToFile(input, out, try args.string(passphrase, "passphrase"), paramsOf(kdf_memory_kib, kdf_iterations));
}

/// The same on a worker thread: the arguments are copied before this returns.
pub fn tsr_model_encrypt_async(path: ?[*:0]const u8, bytes: ?*const anyopaque, byte_length: u64, passphrase: ?[*:0]const u8, kdf_memory_kib: u32, kdf_iterations: u32, out_path: ?[*:0]const u8, job: ?*?*jobs.Job) callconv(.c) i32 {
    return status.report(modelEncryptAsync(path, bytes, byte_length, passphrase, kdf_memory_kib, kdf_iterations, out_path, job));
}

fn modelEncryptAsync(path: ?[*:0]const u8, bytes: ?*const anyopaque, byte_length: u64, passphrase: ?[*:0]const u8, kdf_memory_kib: u32, kdf_iterations: u32, out_path: ?[*:0]const u8, job: ?*?*jobs.Job) status.Error!void {
    const out = try args.out(?*jobs.Job, job, "job");
    try context.require();
    const input = try inputOf(path, bytes, byte_length);
    const out_text = try args.string(out_path, "out_path");
    const secret = try args.string(passphrase, "passphrase");
    try container.checkPassphrase(secret);
    out.* = try encrypt.start(input, out_text, secret, paramsOf(kdf_memory_kib, kdf_iterations));
}
