//! The load pipeline's named stages, in order: decode (proto/), import (import.zig: IR, functions,
//! topological order), infer (infer/: types and symbolic shapes), fuse (fuse.zig: chains the
//! CPU kernels run as one). The compile stage follows (exec/model_state.zig, docs/compile-stage.md).
//! `run` takes model bytes that must outlive the result, since names
//! and raw weights are slices of them.
const std = @import("std");
const status = @import("../core/status.zig");
const memory = @import("../core/memory.zig");
const log = @import("../core/log.zig");
const constant_module = @import("constant.zig");
const import_module = @import("import.zig");
const engine_module = @import("infer/engine.zig");
const fuse = @import("fuse.zig");
const input_shapes_module = @import("input_shapes.zig");
const ir = @import("ir.zig");
const onnx = @import("proto/onnx.zig");
const symbolic = @import("symbolic.zig");
const profile = @import("../core/profile.zig");
const progress_module = @import("../core/progress.zig");

const Progress = progress_module.Progress;

pub const Pipeline = struct {
    arena_state: std.heap.ArenaAllocator,
    pool: symbolic.Pool,
    proto: onnx.ModelProto = .{},
    graph: *ir.Graph = undefined,
    /// Where `run` reports its stages; null: nobody listens.
    progress: ?*Progress = null,

    pub fn create() status.Error!*Pipeline {
        const self = memory.allocator.create(Pipeline) catch return status.fail(error.OutOfResource, "out of memory", .{});
        self.* = .{ .arena_state = std.heap.ArenaAllocator.init(memory.allocator), .pool = symbolic.Pool.init(memory.allocator) };
        return self;
    }

    pub fn destroy(self: *Pipeline) void {
        self.pool.deinit();
        self.arena_state.deinit();
        memory.allocator.destroy(self);
    }

    pub fn arena(self: *Pipeline) std.mem.Allocator {
        return self.arena_state.allocator();
    }

    /// decode → import → fix input shapes → infer → fuse. `input_shapes` is the load option
    /// (input_shapes.zig; empty: the shapes the model declares). Subgraph-init spans go to `init_log`.
    pub fn run(self: *Pipeline, bytes: []const u8, external: ?constant_module.ExternalResolver, init_log: ?*profile.Log, input_shapes: []const u8) status.Error!void {
        var timer = std.time.Timer.start() catch null;
        const progress = self.progress;
        try Progress.begin(progress, .decode);
        self.proto = try onnx.decodeModel(self.arena(), bytes);
        try Progress.end(progress);
        const decoded_ns = if (timer) |*t| t.lap() else 0;
        try Progress.begin(progress, .import);
        var importer = try import_module.Importer.init(self.arena(), &self.pool, &self.proto, external);
        importer.init_log = init_log;
        self.graph = try importer.importModel();
        try input_shapes_module.apply(self.arena(), &self.pool, self.graph, input_shapes);
        try Progress.end(progress);
        const imported_ns = if (timer) |*t| t.lap() else 0;
        try Progress.begin(progress, .infer);
        var engine = engine_module.Engine{ .arena = self.arena(), .pool = &self.pool, .progress = progress };
        try engine.inferModel(self.graph);
        try Progress.end(progress);
        const inferred_ns = if (timer) |*t| t.lap() else 0;
        try Progress.begin(progress, .fuse);
        const fused = try fuse.run(self.arena(), self.graph);
        try Progress.end(progress);
        log.write(.debug, "model pipeline: decode {d} us, import {d} us, infer {d} us, {d} nodes, {d} fused convolutions", .{
            decoded_ns / 1000, imported_ns / 1000, inferred_ns / 1000, self.graph.nodes.items.len, fused,
        });
    }
};
