//! Compute pipelines: every one shares one descriptor-set layout (`max_bindings` storage
//! buffers) and one push-constant range, so binding and parameters work the same for every
//! kernel; each is made from an embedded shader with its specialization constants (constant i
//! at byte 4i), once per model, through the pipeline cache that persists on disk
//! (pipeline_cache.zig).
const std = @import("std");
const status = @import("../../core/status.zig");
const memory = @import("../../core/memory.zig");
const log = @import("../../core/log.zig");
const functions = @import("functions.zig");
const Context = @import("context.zig").Context;
const pipeline_cache = @import("pipeline_cache.zig");
const shaders = @import("shaders.zig");

const vk = functions.vk;

/// Storage buffers a kernel may bind: its inputs and its output (a fused Conv binds X, W, B, the
/// residual and Y; BatchNormalization X, its four parameters and Y). Vulkan only guarantees 4
/// per stage, but every desktop and mobile GPU driver in use has 8 or more.
pub const max_bindings = 6;
/// The push-constant block every kernel may use, the size Vulkan guarantees.
pub const push_constant_bytes = 128;
pub const max_constants = 8;

const Made = struct { spirv: [*]const u8, constants: [max_constants]u32, count: usize, pipeline: vk.VkPipeline };

pub const Pipelines = struct {
    context: *const Context,
    set_layout: vk.VkDescriptorSetLayout,
    layout: vk.VkPipelineLayout,
    cache: vk.VkPipelineCache,
    identity: pipeline_cache.Identity,
    /// Guards `made` and `cache_changed`: models compile on the loading thread, but a node
    /// built after load compiles on a request's.
    mutex: std.Thread.Mutex = .{},
    made: std.ArrayList(Made) = .empty,
    /// A pipeline was created that the cache file did not hold: it is written back at the end.
    cache_changed: bool = false,
    /// Where the cache file lives; empty when nothing persists.
    cache_path: [std.fs.max_path_bytes]u8 = undefined,
    cache_path_len: usize = 0,

    /// `cache_file` is where the pipeline cache persists (pipeline_cache.path); null: nowhere.
    pub fn init(context: *const Context, cache_file: ?[]const u8) status.Error!Pipelines {
        const fns = &context.fns;
        const allowed = context.limits().maxPerStageDescriptorStorageBuffers;
        if (allowed < max_bindings) return status.fail(error.DeviceError, "Vulkan device {s} binds {d} storage buffers per shader; the kernels need {d}", .{ context.name(), allowed, max_bindings });
        var self: Pipelines = .{ .context = context, .set_layout = null, .layout = null, .cache = null, .identity = identityOf(context) };
        var bindings: [max_bindings]vk.VkDescriptorSetLayoutBinding = undefined;
        for (&bindings, 0..) |*b, i| b.* = .{
            .binding = @intCast(i),
            .descriptorType = vk.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .descriptorCount = 1,
            .stageFlags = vk.VK_SHADER_STAGE_COMPUTE_BIT,
            .pImmutableSamplers = null,
        };
        const set_info = std.mem.zeroInit(vk.VkDescriptorSetLayoutCreateInfo, .{
            .sType = vk.VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
            .bindingCount = max_bindings,
            .pBindings = &bindings,
        });
        try functions.check(fns.vkCreateDescriptorSetLayout(context.device, &set_info, null, &self.set_layout), "vkCreateDescriptorSetLayout");
        errdefer fns.vkDestroyDescriptorSetLayout(context.device, self.set_layout, null);
        const range: vk.VkPushConstantRange = .{ .stageFlags = vk.VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = push_constant_bytes };
        const layout_info = std.mem.zeroInit(vk.VkPipelineLayoutCreateInfo, .{
            .sType = vk.VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
            .setLayoutCount = 1,
            .pSetLayouts = &self.set_layout,
            .pushConstantRangeCount = 1,
            .pPushConstantRanges = &range,
        });
        try functions.check(fns.vkCreatePipelineLayout(context.device, &layout_info, null, &self.layout), "vkCreatePipelineLayout");
        errdefer fns.vkDestroyPipelineLayout(context.device, self.layout, null);
        if (cache_file) |p| {
            if (p.len > self.cache_path.len) return status.fail(error.InvalidArgument, "the pipeline cache path is too long", .{});
            @memcpy(self.cache_path[0..p.len], p);
            self.cache_path_len = p.len;
        }
        try self.openCache();
        return self;
    }

    /// The driver's pipeline cache, seeded from the file when it is valid for this device.
    fn openCache(self: *Pipelines) status.Error!void {
        var initial: ?[]u8 = null;
        defer if (initial) |blob| memory.allocator.free(blob);
        if (self.cache_path_len > 0) initial = pipeline_cache.load(memory.allocator, self.cache_path[0..self.cache_path_len], self.identity);
        const info = std.mem.zeroInit(vk.VkPipelineCacheCreateInfo, .{
            .sType = vk.VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
            .initialDataSize = if (initial) |blob| blob.len else 0,
            .pInitialData = if (initial) |blob| blob.ptr else null,
        });
        try functions.check(self.context.fns.vkCreatePipelineCache(self.context.device, &info, null, &self.cache), "vkCreatePipelineCache");
    }

    /// The caller has waited for the device to be idle.
    pub fn deinit(self: *Pipelines) void {
        const fns = &self.context.fns;
        const device = self.context.device;
        if (self.cache_changed) self.saveCache();
        for (self.made.items) |m| fns.vkDestroyPipeline(device, m.pipeline, null);
        self.made.deinit(memory.allocator);
        fns.vkDestroyPipelineCache(device, self.cache, null);
        fns.vkDestroyPipelineLayout(device, self.layout, null);
        fns.vkDestroyDescriptorSetLayout(device, self.set_layout, null);
    }

    fn saveCache(self: *Pipelines) void {
        if (self.cache_path_len == 0) return;
        const file_path = self.cache_path[0..self.cache_path_len];
        const fns = &self.context.fns;
        var size: usize = 0;
        if (fns.vkGetPipelineCacheData(self.context.device, self.cache, &size, null) != vk.VK_SUCCESS) return;
        const blob = memory.allocator.alloc(u8, size) catch return;
        defer memory.allocator.free(blob);
        if (fns.vkGetPipelineCacheData(self.context.device, self.cache, &size, blob.ptr) != vk.VK_SUCCESS) return;
        pipeline_cache.save(memory.allocator, file_path, self.identity, blob[0..size]) catch |e| {
            log.write(.info, "cannot write the Vulkan pipeline cache {s}: {s}", .{ file_path, @errorName(e) });
        };
    }

    /// The pipeline of `spirv` with `constants`, made on first use.
    pub fn get(self: *Pipelines, spirv: []align(4) const u8, constants: []const u32) status.Error!vk.VkPipeline {
        self.mutex.lock();
        defer self.mutex.unlock();
        for (self.made.items) |m| {
            if (m.spirv == spirv.ptr and std.mem.eql(u32, m.constants[0..m.count], constants)) return m.pipeline;
        }
        const pipeline = try self.create(spirv, constants);
        var entry: Made = .{ .spirv = spirv.ptr, .constants = undefined, .count = constants.len, .pipeline = pipeline };
        @memcpy(entry.constants[0..constants.len], constants);
        self.made.append(memory.allocator, entry) catch {
            self.context.fns.vkDestroyPipeline(self.context.device, pipeline, null);
            return status.fail(error.OutOfResource, "out of memory", .{});
        };
        self.cache_changed = true;
        return pipeline;
    }

    fn create(self: *Pipelines, spirv: []align(4) const u8, constants: []const u32) status.Error!vk.VkPipeline {
        const fns = &self.context.fns;
        const device = self.context.device;
        const module_info = std.mem.zeroInit(vk.VkShaderModuleCreateInfo, .{
            .sType = vk.VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
            .codeSize = spirv.len,
            .pCode = @as([*]const u32, @ptrCast(spirv.ptr)),
        });
        var module: vk.VkShaderModule = null;
        try functions.check(fns.vkCreateShaderModule(device, &module_info, null, &module), "vkCreateShaderModule");
        defer fns.vkDestroyShaderModule(device, module, null);
        var entries: [max_constants]vk.VkSpecializationMapEntry = undefined;
        for (entries[0..constants.len], 0..) |*e, i| e.* = .{ .constantID = @intCast(i), .offset = @intCast(4 * i), .size = 4 };
        const specialization: vk.VkSpecializationInfo = .{
            .mapEntryCount = @intCast(constants.len),
            .pMapEntries = &entries,
            .dataSize = 4 * constants.len,
            .pData = constants.ptr,
        };
        const stage = std.mem.zeroInit(vk.VkPipelineShaderStageCreateInfo, .{
            .sType = vk.VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
            .stage = vk.VK_SHADER_STAGE_COMPUTE_BIT,
            .module = module,
            .pName = "main",
            .pSpecializationInfo = &specialization,
        });
        const info = std.mem.zeroInit(vk.VkComputePipelineCreateInfo, .{
            .sType = vk.VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
            .stage = stage,
            .layout = self.layout,
        });
        var pipeline: vk.VkPipeline = null;
        try functions.check(fns.vkCreateComputePipelines(device, self.cache, 1, &info, null, &pipeline), "vkCreateComputePipelines");
        return pipeline;
    }
};

pub fn identityOf(context: *const Context) pipeline_cache.Identity {
    const p = &context.properties;
    return .{
        .vendor_id = p.vendorID,
        .device_id = p.deviceID,
        .driver_version = p.driverVersion,
        .uuid = p.pipelineCacheUUID,
        .shader_hash = shaders.hash(),
    };
}
