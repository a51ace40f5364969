//! C exports: load options, models (sync and async loading, information, shape queries), and
//! the TensorInfo of a model's values.
const std = @import("std");
const args = @import("args.zig");
const context = @import("context.zig");
const registry = @import("../core/registry.zig");
const status = @import("../core/status.zig");
const memory = @import("../core/memory.zig");
const model_module = @import("../model/model.zig");
const options_module = @import("../model/options.zig");
const source_module = @import("../model/source.zig");
const load_job = @import("../model/load_job.zig");
const ModelState = @import("../exec/model_state.zig").ModelState;
const cpu_backend = @import("../backends/cpu/backend.zig");
const vulkan_backend = @import("../backends/vulkan/backend.zig");
const backend = @import("../exec/backend.zig");
const extensions = @import("../backends/extension/loaded.zig");
const info_module = @import("../model/info.zig");
const jobs = @import("../core/jobs.zig");
const env = @import("../core/env.zig");
const cache_file = @import("../exec/cache_file.zig");
const model_cache = @import("../exec/model_cache.zig");

const Model = model_module.Model;
const Options = options_module.Options;
const TensorInfo = info_module.TensorInfo;

/// TSR_MODEL_* keys of tsr_model_get_string.
pub const ModelStringKey = enum(i32) { name = 0, producer_name = 1, producer_version = 2, domain = 3, doc_string = 4 };
/// TSR_MODEL_* keys of tsr_model_get_i64.
pub const ModelNumberKey = enum(i32) {
    ir_version = 0,
    model_version = 1,
    opset_count = 2,
    metadata_count = 3,
    input_count = 4,
    output_count = 5,
    operation_count = 6,
    is_dynamic = 7,
    parameter_count = 8,
    copy_count = 9,
    parameter_bytes = 10,
    packed_bytes = 11,
    cached_bytes = 12,
    shared_bytes = 13,
};
/// TSR_INFO_* keys of tsr_tensor_info_get_string.
pub const InfoStringKey = enum(i32) { name = 0, shape = 1 };
/// TSR_INFO_* keys of tsr_tensor_info_get_i64.
pub const InfoNumberKey = enum(i32) {
    kind = 0,
    dtype = 1,
    rank = 2,
    byte_size = 3,
    alignment = 4,
    padding = 5,
    is_constant = 6,
    opt_out = 7,
    quant_kind = 8,
    quant_axis = 9,
    quant_count = 10,
    value_dtype = 11,
};

const default_options: Options = .{};

fn optionsOf(handle: ?*const Options) status.Error!*const Options {
    if (handle == null) return &default_options;
    return registry.get(Options, handle, .options);
}

fn modelOf(handle: ?*const Model) status.Error!*Model {
    return registry.get(Model, handle, .model);
}

fn infoOf(handle: ?*const TensorInfo) status.Error!*TensorInfo {
    return registry.get(TensorInfo, handle, .tensor_info);
}

/// The backends built into this library.
const builtin_backends = [_]backend.Backend{ cpu_backend.cpu, vulkan_backend.vulkan };

/// The compile stage every load uses, over this library's backends and the extensions loaded
/// (each held until the devices opened from it hold it themselves).
fn compileModel(model: *Model, donor: ?*Model) status.Error!model_module.Compiled {
    var backends = extensions.Snapshot.take(&builtin_backends);
    defer backends.deinit();
    return ModelState.compile(model, backends.slice(), donor);
}

pub fn tsr_options_create(options: ?*?*Options) callconv(.c) i32 {
    return status.report(optionsCreate(options));
}

fn optionsCreate(options: ?*?*Options) status.Error!void {
    const out = try args.out(?*Options, options, "options");
    const self = memory.allocator.create(Options) catch return status.fail(error.OutOfResource, "out of memory", .{});
    self.* = .{};
    registry.add(self, .options) catch |e| {
        memory.allocator.destroy(self);
        return e;
    };
    out.* = self;
}

pub fn tsr_options_destroy(options: ?*Options) callconv(.c) void {
    const self = options orelse return;
    if (!registry.remove(self, .options)) return;
    self.deinit();
    memory.allocator.destroy(self);
}

pub fn tsr_options_set(options: ?*Options, key: ?[*:0]const u8, value: ?[*:0]const u8) callconv(.c) i32 {
    return status.report(optionsSet(options, key, value));
}

fn optionsSet(options: ?*Options, key: ?[*:0]const u8, value: ?[*:0]const u8) status.Error!void {
    const self = try registry.get(Options, options, .options);
    try self.set(try args.string(key, "key"), try args.string(value, "value"));
}

pub fn tsr_model_load(path: ?[*:0]const u8, options: ?*const Options, model: ?*?*Model) callconv(.c) i32 {
    return status.report(modelLoad(path, options, model));
}

fn modelLoad(path: ?[*:0]const u8, options: ?*const Options, model: ?*?*Model) status.Error!void {
    const out = try args.out(?*Model, model, "model");
    try context.require();
    out.* = try Model.load(try source_module.Source.fromPath(try args.string(path, "path")), try optionsOf(options), compileModel, null);
}

pub fn tsr_model_load_bytes(bytes: ?*const anyopaque, byte_length: u64, options: ?*const Options, model: ?*?*Model) callconv(.c) i32 {
    return status.report(modelLoadBytes(bytes, byte_length, options, model));
}

fn modelLoadBytes(bytes: ?*const anyopaque, byte_length: u64, options: ?*const Options, model: ?*?*Model) status.Error!void {
    const out = try args.out(?*Model, model, "model");
    try context.require();
    const data = try args.slice(u8, @ptrCast(bytes), byte_length, "bytes");
    out.* = try Model.load(try source_module.Source.fromBytes(data), try optionsOf(options), compileModel, null);
}

/// Loads on a worker thread: `path`, or else `bytes` (copied before this returns).
pub fn tsr_model_load_async(path: ?[*:0]const u8, bytes: ?*const anyopaque, byte_length: u64, options: ?*const Options, job: ?*?*jobs.Job) callconv(.c) i32 {
    return status.report(modelLoadAsync(path, bytes, byte_length, options, job));
}

fn modelLoadAsync(path: ?[*:0]const u8, bytes: ?*const anyopaque, byte_length: u64, options: ?*const Options, job: ?*?*jobs.Job) status.Error!void {
    const out = try args.out(?*jobs.Job, job, "job");
    try context.require();
    const resolved_options = try optionsOf(options);
    const request: load_job.Request = if (path) |p| .{ .path = std.mem.span(p) } else .{ .bytes = try args.slice(u8, @ptrCast(bytes), byte_length, "bytes") };
    out.* = try load_job.start(request, resolved_options, compileModel, null);
}

/// A hot update: the model at `path`, or else in `bytes`, loaded with `model`'s options, sharing
/// every packed weight whose bytes and packing are the same as in `model`.
pub fn tsr_model_update(model: ?*Model, path: ?[*:0]const u8, bytes: ?*const anyopaque, byte_length: u64, updated: ?*?*Model) callconv(.c) i32 {
    return status.report(modelUpdate(model, path, bytes, byte_length, updated));
}

fn modelUpdate(model: ?*Model, path: ?[*:0]const u8, bytes: ?*const anyopaque, byte_length: u64, updated: ?*?*Model) status.Error!void {
    const out = try args.out(?*Model, updated, "updated");
    try context.require();
    const old = try modelOf(model);
    const source = if (path) |p| try source_module.Source.fromPath(std.mem.span(p)) else try source_module.Source.fromBytes(try args.slice(u8, @ptrCast(bytes), byte_length, "bytes"));
    out.* = try Model.load(source, &old.options, compileModel, old);
}

/// tsr_model_update on a worker thread; `model` must stay alive until the job has finished.
pub fn tsr_model_update_async(model: ?*Model, path: ?[*:0]const u8, bytes: ?*const anyopaque, byte_length: u64, job: ?*?*jobs.Job) callconv(.c) i32 {
    return status.report(modelUpdateAsync(model, path, bytes, byte_length, job));
}

fn modelUpdateAsync(model: ?*Model, path: ?[*:0]const u8, bytes: ?*const anyopaque, byte_length: u64, job: ?*?*jobs.Job) status.Error!void {
    const out = try args.out(?*jobs.Job, job, "job");
    try context.require();
    const old = try modelOf(model);
    const request: load_job.Request = if (path) |p| .{ .path = std.mem.span(p) } else .{ .bytes = try args.slice(u8, @ptrCast(bytes), byte_length, "bytes") };
    out.* = try load_job.start(request, &old.options, compileModel, old);
}

/// Removes the compiled-model cache's entries from `folder` (NULL: TESSERA_CACHE_DIR's), and
/// nothing else; `removed` gets how many (may be NULL).
pub fn tsr_cache_clear(folder: ?[*:0]const u8, removed: ?*u32) callconv(.c) i32 {
    return status.report(cacheClear(folder, removed));
}

fn cacheClear(folder: ?[*:0]const u8, removed: ?*u32) status.Error!void {
    var env_buffer: env.Buffer = undefined;
    const chosen = if (folder) |f| std.mem.span(f) else env.get(model_cache.environment_variable, &env_buffer) orelse
        return status.fail(error.InvalidArgument, "no cache folder given, and TESSERA_CACHE_DIR is not set", .{});
    if (chosen.len == 0) return status.fail(error.InvalidArgument, "the cache folder is empty", .{});
    const count = try cache_file.clear(chosen);
    if (removed) |r| r.* = count;
}

pub fn tsr_model_destroy(model: ?*Model) callconv(.c) void {
    if (model) |m| m.destroy();
}

pub fn tsr_model_get_string(model: ?*const Model, key: i32, value: ?*?[*:0]const u8) callconv(.c) i32 {
    return status.report(modelString(model, key, value));
}

fn modelString(model: ?*const Model, key: i32, value: ?*?[*:0]const u8) status.Error!void {
    const out = try args.out(?[*:0]const u8, value, "value");
    const self = try modelOf(model);
    const k = std.meta.intToEnum(ModelStringKey, key) catch return status.fail(error.InvalidArgument, "unknown model string key {d}", .{key});
    out.* = switch (k) {
        .name => self.name,
        .producer_name => self.producer_name,
        .producer_version => self.producer_version,
        .domain => self.domain,
        .doc_string => self.doc_string,
    };
}

pub fn tsr_model_get_i64(model: ?*const Model, key: i32, value: ?*i64) callconv(.c) i32 {
    return status.report(modelNumber(model, key, value));
}

fn modelNumber(model: ?*const Model, key: i32, value: ?*i64) status.Error!void {
    const out = try args.out(i64, value, "value");
    const self = try modelOf(model);
    const k = std.meta.intToEnum(ModelNumberKey, key) catch return status.fail(error.InvalidArgument, "unknown model number key {d}", .{key});
    const proto = &self.pipeline.proto;
    out.* = switch (k) {
        .ir_version => proto.ir_version,
        .model_version => proto.model_version,
        .opset_count => @intCast(self.opsets.len),
        .metadata_count => @intCast(self.metadata.len),
        .input_count => @intCast(self.input_names.len),
        .output_count => @intCast(self.output_names.len),
        .operation_count => @intCast(self.operations.len),
        .is_dynamic => @intFromBool(self.is_dynamic),
        .parameter_count => @intCast(self.parameter_count),
        .copy_count => @intCast(self.copies.len),
        .parameter_bytes => @intCast(self.parameter_bytes),
        .packed_bytes => @intCast(ModelState.of(self).weights.packed_bytes),
        .cached_bytes => @intCast(ModelState.of(self).weights.cached_bytes),
        .shared_bytes => @intCast(ModelState.of(self).weights.shared_bytes),
    };
}

fn checkIndex(index: u32, count: usize, what: []const u8) status.Error!void {
    if (index >= count) return status.fail(error.InvalidArgument, "{s} index {d} out of range: the model has {d}", .{ what, index, count });
}

pub fn tsr_model_opset(model: ?*const Model, index: u32, domain: ?*?[*:0]const u8, version: ?*i64) callconv(.c) i32 {
    return status.report(modelOpset(model, index, domain, version));
}

fn modelOpset(model: ?*const Model, index: u32, domain: ?*?[*:0]const u8, version: ?*i64) status.Error!void {
    const domain_out = try args.out(?[*:0]const u8, domain, "domain");
    const version_out = try args.out(i64, version, "version");
    const self = try modelOf(model);
    try checkIndex(index, self.opsets.len, "opset");
    domain_out.* = self.opsets[index].domain;
    version_out.* = self.opsets[index].version;
}

pub fn tsr_model_metadata(model: ?*const Model, index: u32, key: ?*?[*:0]const u8, value: ?*?[*:0]const u8) callconv(.c) i32 {
    return status.report(modelMetadata(model, index, key, value));
}

fn modelMetadata(model: ?*const Model, index: u32, key: ?*?[*:0]const u8, value: ?*?[*:0]const u8) status.Error!void {
    const key_out = try args.out(?[*:0]const u8, key, "key");
    const value_out = try args.out(?[*:0]const u8, value, "value");
    const self = try modelOf(model);
    try checkIndex(index, self.metadata.len, "metadata");
    key_out.* = self.metadata[index].key;
    value_out.* = self.metadata[index].value;
}

pub fn tsr_model_input_name(model: ?*const Model, index: u32, name: ?*?[*:0]const u8) callconv(.c) i32 {
    return status.report(modelIoName(model, index, name, true));
}

pub fn tsr_model_output_name(model: ?*const Model, index: u32, name: ?*?[*:0]const u8) callconv(.c) i32 {
    return status.report(modelIoName(model, index, name, false));
}

fn modelIoName(model: ?*const Model, index: u32, name: ?*?[*:0]const u8, input: bool) status.Error!void {
    const out = try args.out(?[*:0]const u8, name, "name");
    const self = try modelOf(model);
    const names = if (input) self.input_names else self.output_names;
    try checkIndex(index, names.len, if (input) "input" else "output");
    out.* = names[index];
}

pub fn tsr_model_operation(
    model: ?*const Model,
    index: u32,
    name: ?*?[*:0]const u8,
    op_type: ?*?[*:0]const u8,
    domain: ?*?[*:0]const u8,
    device: ?*?[*:0]const u8,
) callconv(.c) i32 {
    return status.report(modelOperation(model, index, name, op_type, domain, device));
}

fn modelOperation(model: ?*const Model, index: u32, name: ?*?[*:0]const u8, op_type: ?*?[*:0]const u8, domain: ?*?[*:0]const u8, device: ?*?[*:0]const u8) status.Error!void {
    const name_out = try args.out(?[*:0]const u8, name, "name");
    const op_out = try args.out(?[*:0]const u8, op_type, "op_type");
    const domain_out = try args.out(?[*:0]const u8, domain, "domain");
    const device_out = try args.out(?[*:0]const u8, device, "device");
    const self = try modelOf(model);
    try checkIndex(index, self.operations.len, "operation");
    const operation = self.operations[index];
    name_out.* = operation.name;
    op_out.* = operation.op_type;
    domain_out.* = operation.domain;
    device_out.* = operation.device;
}

pub fn tsr_model_copy(model: ?*const Model, index: u32, value: ?*?[*:0]const u8, from: ?*?[*:0]const u8, to: ?*?[*:0]const u8, at_load: ?*i32) callconv(.c) i32 {
    return status.report(modelCopy(model, index, value, from, to, at_load));
}

fn modelCopy(model: ?*const Model, index: u32, value: ?*?[*:0]const u8, from: ?*?[*:0]const u8, to: ?*?[*:0]const u8, at_load: ?*i32) status.Error!void {
    const value_out = try args.out(?[*:0]const u8, value, "value");
    const from_out = try args.out(?[*:0]const u8, from, "from");
    const to_out = try args.out(?[*:0]const u8, to, "to");
    const at_load_out = try args.out(i32, at_load, "at_load");
    const self = try modelOf(model);
    try checkIndex(index, self.copies.len, "copy");
    const copy = self.copies[index];
    value_out.* = copy.value;
    from_out.* = copy.from;
    to_out.* = copy.to;
    at_load_out.* = @intFromBool(copy.at_load);
}

/// Copies the option's value as text into `buffer`; `length` gets its length (call with a NULL
/// buffer and capacity 0 to learn it).
pub fn tsr_model_get_option(model: ?*const Model, key: ?[*:0]const u8, buffer: ?[*]u8, capacity: u32, length: ?*u32) callconv(.c) i32 {
    return status.report(modelOption(model, key, buffer, capacity, length));
}

fn modelOption(model: ?*const Model, key: ?[*:0]const u8, buffer: ?[*]u8, capacity: u32, length: ?*u32) status.Error!void {
    const length_out = try args.out(u32, length, "length");
    const self = try modelOf(model);
    var scratch: [32]u8 = undefined;
    const text = try self.options.get(try args.string(key, "key"), &scratch);
    try copyOut(text, buffer, capacity, length_out);
}

/// Two-call string results: the length always, the bytes (NUL-terminated) when they fit.
fn copyOut(text: []const u8, buffer: ?[*]u8, capacity: u32, length: *u32) status.Error!void {
    length.* = @intCast(text.len);
    if (capacity == 0) return;
    const out = buffer orelse return status.fail(error.InvalidArgument, "buffer is NULL", .{});
    if (capacity < text.len + 1) {
        return status.fail(error.InvalidArgument, "buffer holds {d} bytes; {d} are needed", .{ capacity, text.len + 1 });
    }
    @memcpy(out[0..text.len], text);
    out[text.len] = 0;
}

pub fn tsr_model_tensor_info(model: ?*const Model, name: ?[*:0]const u8, info: ?*?*const TensorInfo) callconv(.c) i32 {
    return status.report(modelTensorInfo(model, name, info));
}

fn modelTensorInfo(model: ?*const Model, name: ?[*:0]const u8, info: ?*?*const TensorInfo) status.Error!void {
    const out = try args.out(?*const TensorInfo, info, "info");
    const self = try modelOf(model);
    out.* = try self.tensorInfo(try args.string(name, "name"));
}

pub fn tsr_model_infer_shape(model: ?*const Model, output: ?[*:0]const u8, input_shapes: ?[*:0]const u8, buffer: ?[*]u8, capacity: u32, length: ?*u32) callconv(.c) i32 {
    return status.report(modelInferShape(model, output, input_shapes, buffer, capacity, length));
}

fn modelInferShape(model: ?*const Model, output: ?[*:0]const u8, input_shapes: ?[*:0]const u8, buffer: ?[*]u8, capacity: u32, length: ?*u32) status.Error!void {
    const length_out = try args.out(u32, length, "length");
    const self = try modelOf(model);
    var text: std.Io.Writer.Allocating = .init(memory.allocator);
    defer text.deinit();
    const shapes = if (input_shapes) |s| std.mem.span(s) else "";
    try self.inferShape(try args.string(output, "output"), shapes, &text.writer);
    try copyOut(text.written(), buffer, capacity, length_out);
}

pub fn tsr_tensor_info_get_string(info: ?*const TensorInfo, key: i32, value: ?*?[*:0]const u8) callconv(.c) i32 {
    return status.report(infoString(info, key, value));
}

fn infoString(info: ?*const TensorInfo, key: i32, value: ?*?[*:0]const u8) status.Error!void {
    const out = try args.out(?[*:0]const u8, value, "value");
    const self = try infoOf(info);
    const k = std.meta.intToEnum(InfoStringKey, key) catch return status.fail(error.InvalidArgument, "unknown tensor info string key {d}", .{key});
    out.* = switch (k) {
        .name => self.name,
        .shape => self.shape_text,
    };
}

pub fn tsr_tensor_info_get_i64(info: ?*const TensorInfo, key: i32, value: ?*i64) callconv(.c) i32 {
    return status.report(infoNumber(info, key, value));
}

fn infoNumber(info: ?*const TensorInfo, key: i32, value: ?*i64) status.Error!void {
    const out = try args.out(i64, value, "value");
    const self = try infoOf(info);
    const k = std.meta.intToEnum(InfoNumberKey, key) catch return status.fail(error.InvalidArgument, "unknown tensor info number key {d}", .{key});
    out.* = switch (k) {
        .kind => @intFromEnum(self.kind),
        .dtype => if (self.dtype) |d| @intFromEnum(d) else 0,
        .rank => if (self.dims) |d| @intCast(d.len) else -1,
        .byte_size => self.byte_size,
        .alignment => self.alignment,
        .padding => self.padding,
        .is_constant => @intFromBool(self.is_constant),
        .opt_out => @intFromBool(self.opt_out),
        .quant_kind => @intFromEnum(self.quantization.kind),
        .quant_axis => self.quantization.axis,
        .quant_count => @intCast(self.quantization.scales.len),
        .value_dtype => if (self.value_dtype) |d| @intFromEnum(d) else 0,
    };
}

/// Dim `index`: its value (-1 when symbolic) and its text ("224", "batch", "2*N").
pub fn tsr_tensor_info_dim(info: ?*const TensorInfo, index: u32, value: ?*i64, text: ?*?[*:0]const u8) callconv(.c) i32 {
    return status.report(infoDim(info, index, value, text));
}

fn infoDim(info: ?*const TensorInfo, index: u32, value: ?*i64, text: ?*?[*:0]const u8) status.Error!void {
    const value_out = try args.out(i64, value, "value");
    const text_out = try args.out(?[*:0]const u8, text, "text");
    const self = try infoOf(info);
    const dims = self.dims orelse return status.fail(error.InvalidOperation, "'{s}' has unknown rank", .{self.name});
    if (index >= dims.len) return status.fail(error.InvalidArgument, "dim {d} out of range: '{s}' has rank {d}", .{ index, self.name, dims.len });
    value_out.* = dims[index];
    text_out.* = self.dim_texts[index];
}

pub fn tsr_tensor_info_quant(info: ?*const TensorInfo, index: u32, scale: ?*f64, zero_point: ?*i64) callconv(.c) i32 {
    return status.report(infoQuant(info, index, scale, zero_point));
}

fn infoQuant(info: ?*const TensorInfo, index: u32, scale: ?*f64, zero_point: ?*i64) status.Error!void {
    const scale_out = try args.out(f64, scale, "scale");
    const zero_out = try args.out(i64, zero_point, "zero_point");
    const self = try infoOf(info);
    const q = self.quantization;
    if (index >= q.scales.len) return status.fail(error.InvalidArgument, "quantization parameter {d} out of range: '{s}' has {d}", .{ index, self.name, q.scales.len });
    scale_out.* = q.scales[index];
    zero_out.* = q.zero_points[index];
}
