//! A loaded model: its bytes (memory-mapped when from a file), the IR after the pipeline's stages,
//! its options and metadata, and the information users ask for. Immutable after load, apart from
//! the TensorInfo cache, which a mutex guards.
const std = @import("std");
const status = @import("../core/status.zig");
const memory = @import("../core/memory.zig");
const registry = @import("../core/registry.zig");
const info_module = @import("info.zig");
const ir = @import("ir.zig");
const options_module = @import("options.zig");
const pipeline_module = @import("pipeline.zig");
const source_module = @import("source.zig");
const shape_query = @import("shape_query.zig");
const profile = @import("../core/profile.zig");
const progress_module = @import("../core/progress.zig");

pub const TensorInfo = info_module.TensorInfo;
pub const Options = options_module.Options;

pub const MetadataEntry = struct { key: [:0]const u8, value: [:0]const u8 };
pub const Opset = struct { domain: [:0]const u8, version: i64 };
pub const Operation = struct { name: [:0]const u8, op_type: [:0]const u8, domain: [:0]const u8, device: [:0]const u8 };
/// A value of the graph that runs copy from one device's memory to another's; `at_load`: a
/// constant, copied once when the model loads.
pub const Copy = struct { value: [:0]const u8, from: [:0]const u8, to: [:0]const u8, at_load: bool };

/// What a compile stage attaches to a loaded model, and how to free it with the model.
pub const Compiled = struct {
    state: *anyopaque,
    destroy: *const fn (state: *anyopaque) void,
};

/// The stage that turns a loaded, shape-inferred model into something runnable (exec/ gives it).
/// `donor`, for a hot update, is the model being replaced: what it compiled from the same bytes
/// is shared rather than made again.
pub const Compile = *const fn (model: *Model, donor: ?*Model) status.Error!Compiled;

pub const Model = struct {
    source: source_module.Source,
    pipeline: *pipeline_module.Pipeline,
    options: Options,
    name: [:0]const u8 = "",
    producer_name: [:0]const u8 = "",
    producer_version: [:0]const u8 = "",
    domain: [:0]const u8 = "",
    doc_string: [:0]const u8 = "",
    opsets: []const Opset = &.{},
    metadata: []const MetadataEntry = &.{},
    /// One per node of the graph; the compile stage fills in each one's device.
    operations: []Operation = &.{},
    /// The copies between devices' memories in the graph, as the compile stage planned them;
    /// none when every device computes in host memory.
    copies: []const Copy = &.{},
    input_names: []const [:0]const u8 = &.{},
    output_names: []const [:0]const u8 = &.{},
    parameter_count: u64 = 0,
    parameter_bytes: u64 = 0,
    is_dynamic: bool = false,
    infos: std.StringHashMapUnmanaged(*TensorInfo) = .empty,
    mutex: std.Thread.Mutex = .{},
    /// What running needs (the executor's ModelState), built at load by the caller's compile
    /// stage and opaque here: the model layer sits below the executor.
    compiled: ?Compiled = null,
    /// The load's model-init and subgraph-init spans: every profiling request's ring starts
    /// with them.
    init_events: profile.Log = .{},
    /// The load's progress reporter, while the load runs (the compile stage reports through it);
    /// null after, and when nobody listens.
    progress: ?*progress_module.Progress = null,

    /// Loads from a path (file or folder) or from bytes and compiles with `compile`; the result
    /// is registered as a handle. `donor` (see Compile) must stay alive until this returns.
    pub fn load(source: source_module.Source, options: *const Options, compile: Compile, donor: ?*Model) status.Error!*Model {
        const began_ns = profile.now();
        var owned_source = source;
        errdefer owned_source.deinit();
        var reporter: progress_module.Progress = .{ .listener = options.progress };
        const progress: ?*progress_module.Progress = if (options.progress.listens()) &reporter else null;
        try progress_module.Progress.begin(progress, .read);
        try owned_source.unseal(options.passphrase);
        try progress_module.Progress.end(progress);
        const pipeline = try pipeline_module.Pipeline.create();
        errdefer pipeline.destroy();
        var owned_options = try options.clone();
        errdefer owned_options.deinit();
        const self = memory.allocator.create(Model) catch return status.fail(error.OutOfResource, "out of memory", .{});
        errdefer memory.allocator.destroy(self);
        self.* = .{ .source = owned_source, .pipeline = pipeline, .options = owned_options, .progress = progress };
        // The reporter lives on this stack: the model forgets it when the load ends.
        defer self.progress = null;
        self.options.progress = .{};
        errdefer self.init_events.deinit();
        pipeline.progress = progress;
        try pipeline.run(self.source.bytes, self.source.resolver(), &self.init_events, self.options.input_shapes);
        try self.describe();
        const compiled = try compile(self, donor);
        self.compiled = compiled;
        errdefer compiled.destroy(compiled.state);
        self.init_events.span(.model_init, began_ns, profile.now(), .{});
        try registry.add(self, .model);
        return self;
    }

    pub fn destroy(self: *Model) void {
        if (!registry.remove(self, .model)) return;
        var infos = self.infos.valueIterator();
        while (infos.next()) |info| _ = registry.remove(info.*, .tensor_info);
        if (self.compiled) |compiled| compiled.destroy(compiled.state);
        self.init_events.deinit();
        self.options.deinit();
        self.pipeline.destroy();
        self.source.deinit();
        memory.allocator.destroy(self);
    }

    pub fn graph(self: *Model) *ir.Graph {
        return self.pipeline.graph;
    }

    fn describe(self: *Model) status.Error!void {
        const arena = self.pipeline.arena();
        const proto = &self.pipeline.proto;
        const z = info_module.z;
        self.name = try z(arena, if (proto.graph) |g| g.name else "");
        self.producer_name = try z(arena, proto.producer_name);
        self.producer_version = try z(arena, proto.producer_version);
        self.domain = try z(arena, proto.domain);
        self.doc_string = try z(arena, proto.doc_string);
        const opsets = arena.alloc(Opset, proto.opset_import.len) catch return oom();
        for (proto.opset_import, opsets) |o, *out| out.* = .{ .domain = try z(arena, if (o.domain.len == 0) "ai.onnx" else o.domain), .version = o.version };
        self.opsets = opsets;
        self.metadata = try self.collectMetadata();
        const g = self.graph();
        self.input_names = try self.namesOf(g.inputs, true);
        self.output_names = try self.namesOf(g.outputs, false);
        const operations = arena.alloc(Operation, g.nodes.items.len) catch return oom();
        for (g.nodes.items, operations) |node, *out| out.* = .{
            .name = try z(arena, node.name),
            .op_type = try z(arena, node.op_type),
            .domain = try z(arena, if (node.domain.len == 0) "ai.onnx" else node.domain),
            .device = "",
        };
        self.operations = operations;
        const parameters = info_module.parameters(g);
        self.parameter_count = parameters.count;
        self.parameter_bytes = parameters.bytes;
        self.is_dynamic = info_module.isDynamic(&self.pipeline.pool, g);
    }

    /// Inputs the caller feeds: initializer-backed inputs (defaults) come last, after the rest.
    fn namesOf(self: *Model, ids: []const ir.ValueId, inputs: bool) status.Error![]const [:0]const u8 {
        const arena = self.pipeline.arena();
        const g = self.graph();
        var names: std.ArrayList([:0]const u8) = .empty;
        for (ids) |id| {
            if (inputs and g.value(id).has_default) continue;
            names.append(arena, try info_module.z(arena, g.value(id).name)) catch return oom();
        }
        return names.items;
    }

    /// The file's metadata_props, then tessera.json's "metadata" object (which wins on a clash).
    fn collectMetadata(self: *Model) status.Error![]const MetadataEntry {
        const arena = self.pipeline.arena();
        var entries: std.ArrayList(MetadataEntry) = .empty;
        for (self.pipeline.proto.metadata_props) |p| {
            entries.append(arena, .{ .key = try info_module.z(arena, p.key), .value = try info_module.z(arena, p.value) }) catch return oom();
        }
        const manifest = self.source.manifest orelse return entries.items;
        const parsed = std.json.parseFromSliceLeaky(std.json.Value, arena, manifest, .{}) catch
            return status.fail(error.ContainerError, "tessera.json is not valid JSON", .{});
        const root = switch (parsed) {
            .object => |o| o,
            else => return status.fail(error.ContainerError, "tessera.json must hold a JSON object", .{}),
        };
        const metadata = root.get("metadata") orelse return entries.items;
        if (metadata != .object) return status.fail(error.ContainerError, "tessera.json's \"metadata\" must be an object of strings", .{});
        var it = metadata.object.iterator();
        while (it.next()) |entry| {
            const text = switch (entry.value_ptr.*) {
                .string => |s| s,
                else => return status.fail(error.ContainerError, "tessera.json metadata '{s}' is not a string", .{entry.key_ptr.*}),
            };
            entries.append(arena, .{ .key = try info_module.z(arena, entry.key_ptr.*), .value = try info_module.z(arena, text) }) catch return oom();
        }
        return entries.items;
    }

    /// TensorInfo for any value of the main graph, by name; computed once, then cached.
    pub fn tensorInfo(self: *Model, name: []const u8) status.Error!*const TensorInfo {
        self.mutex.lock();
        defer self.mutex.unlock();
        if (self.infos.get(name)) |cached| return cached;
        const g = self.graph();
        const id = g.find(name) orelse return status.fail(error.InvalidArgument, "the model has no tensor named '{s}'", .{name});
        const arena = self.pipeline.arena();
        const info = arena.create(TensorInfo) catch return oom();
        info.* = try info_module.describeValue(arena, &self.pipeline.pool, g, id);
        self.infos.put(arena, info.name, info) catch return oom();
        // Registered so a C caller using it after the model is gone gets an error, not a crash.
        try registry.add(info, .tensor_info);
        return info;
    }

    /// The shape of `output` when the inputs have the given shapes (see shape_query.zig).
    pub fn inferShape(self: *Model, output: []const u8, input_shapes: []const u8, out: *std.Io.Writer) status.Error!void {
        self.mutex.lock();
        defer self.mutex.unlock();
        try shape_query.run(self, output, input_shapes, out);
    }
};

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory", .{});
}
