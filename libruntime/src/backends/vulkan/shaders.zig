//! The compute shaders, compiled to SPIR-V by build.zig (glslangValidator, Vulkan 1.1) from
//! shaders/*.comp and embedded 4-byte aligned, and one hash of them all, which keys the pipeline
//! cache file: a library with other shaders never reads another's cache.
const std = @import("std");
const generated = @import("vulkan_shaders");

pub const Shader = generated.Shader;
pub const all = generated.all;

pub const binary = generated.binary;
pub const unary = generated.unary;
pub const matmul = generated.matmul;
pub const softmax = generated.softmax;
pub const conv = generated.conv;
pub const conv_direct = generated.conv_direct;
pub const pool = generated.pool;
pub const reduce = generated.reduce;
pub const layernorm = generated.layernorm;
pub const batchnorm = generated.batchnorm;
pub const copy = generated.copy;

/// The first word of every SPIR-V module.
pub const spirv_magic: u32 = 0x07230203;

/// A 64-bit hash of every shader's name and bytes, in order.
pub fn hash() u64 {
    var hasher = std.hash.Wyhash.init(0);
    for (all) |shader| {
        hasher.update(shader.name);
        hasher.update(shader.spirv);
    }
    return hasher.final();
}

test "every shader is embedded as 4-byte aligned SPIR-V" {
    try std.testing.expect(all.len >= 4);
    for (all) |shader| {
        try std.testing.expectEqual(@as(usize, 0), @intFromPtr(shader.spirv.ptr) % 4);
        try std.testing.expectEqual(@as(usize, 0), shader.spirv.len % 4);
        try std.testing.expect(shader.spirv.len > 20);
        const words = std.mem.bytesAsSlice(u32, shader.spirv);
        try std.testing.expectEqual(spirv_magic, std.mem.littleToNative(u32, words[0]));
    }
    try std.testing.expectEqual(hash(), hash());
}
