//! Writing encrypted containers (tsr_model_encrypt): a .onnx file, a model folder (every regular
//! file under it: model.onnx, external data, tessera.json) or model bytes become one archive,
//! encrypted (container.zig) and written to the output path. Input files are memory-mapped; the
//! packed plaintext is zeroed before it is freed. On a worker thread too, as a job.
const std = @import("std");
const status = @import("../core/status.zig");
const memory = @import("../core/memory.zig");
const files_module = @import("../core/files.zig");
const jobs = @import("../core/jobs.zig");
const os_error = @import("../core/os_error.zig");
const archive = @import("archive.zig");
const container = @import("container.zig");
const source_module = @import("source.zig");

pub const Input = union(enum) { path: []const u8, bytes: []const u8 };

/// The files to pack, with the mappings and names that back them.
const Collected = struct {
    files: std.ArrayList(archive.File) = .empty,
    mappings: std.ArrayList(files_module.Mapping) = .empty,
    names: std.ArrayList([]u8) = .empty,

    fn deinit(self: *Collected) void {
        for (self.mappings.items) |m| files_module.unmap(m);
        for (self.names.items) |n| memory.allocator.free(n);
        self.files.deinit(memory.allocator);
        self.mappings.deinit(memory.allocator);
        self.names.deinit(memory.allocator);
    }

    fn addMapped(self: *Collected, name: []const u8, path: []const u8) status.Error!void {
        const mapped = try source_module.mapFile(path, "model");
        if (mapped.len > 0) {
            self.mappings.append(memory.allocator, mapped) catch {
                files_module.unmap(mapped);
                return oom();
            };
        }
        const kept = memory.allocator.dupe(u8, name) catch return oom();
        self.names.append(memory.allocator, kept) catch {
            memory.allocator.free(kept);
            return oom();
        };
        self.files.append(memory.allocator, .{ .name = kept, .bytes = mapped }) catch return oom();
    }
};

/// Encrypts the model at `input` into a container at `out_path` (replaced if it exists).
pub fn encryptToFile(input: Input, out_path: []const u8, passphrase: []const u8, params: container.KdfParams) status.Error!void {
    try container.checkPassphrase(passphrase);
    var collected: Collected = .{};
    defer collected.deinit();
    switch (input) {
        .bytes => |b| collected.files.append(memory.allocator, .{ .name = archive.model_name, .bytes = b }) catch return oom(),
        .path => |p| try collectPath(&collected, p),
    }
    for (collected.files.items) |file| {
        if (std.mem.eql(u8, file.name, archive.model_name) and container.looksSealed(file.bytes)) {
            return status.fail(error.InvalidArgument, "the model is already encrypted", .{});
        }
    }
    const sealed = try archive.sealFiles(collected.files.items, passphrase, params);
    defer memory.allocator.free(sealed);
    // The inputs are unmapped before the output is written: it may replace one of them.
    collected.deinit();
    collected = .{};
    std.fs.cwd().writeFile(.{ .sub_path = out_path, .data = sealed }) catch |e|
        return status.fail(error.IOError, "cannot write '{s}': {s}", .{ out_path, os_error.describe(e) });
}

fn collectPath(collected: *Collected, path: []const u8) status.Error!void {
    const stat = files_module.stat(path) catch |e|
        return status.fail(error.IOError, "cannot open model '{s}': {s}", .{ path, os_error.describe(e) });
    if (stat.kind != .directory) return collected.addMapped(archive.model_name, path);
    var dir = std.fs.cwd().openDir(path, .{ .iterate = true }) catch |e|
        return status.fail(error.IOError, "cannot open model folder '{s}': {s}", .{ path, os_error.describe(e) });
    defer dir.close();
    var walker = dir.walk(memory.allocator) catch return oom();
    defer walker.deinit();
    while (walker.next() catch |e| return status.fail(error.IOError, "cannot list '{s}': {s}", .{ path, os_error.describe(e) })) |entry| {
        switch (entry.kind) {
            .directory => continue,
            .file => {},
            // A link could pull in a file from outside the folder, which the loader would refuse.
            else => return status.fail(error.InvalidArgument, "cannot pack '{s}/{s}': only regular files and folders are packed", .{ path, entry.path }),
        }
        var name_buffer: [4096]u8 = undefined;
        const name = try archive.nameFromPath(entry.path, &name_buffer);
        var path_buffer: [std.fs.max_path_bytes]u8 = undefined;
        const full = std.fmt.bufPrint(&path_buffer, "{s}/{s}", .{ path, entry.path }) catch
            return status.fail(error.IOError, "path too long", .{});
        try collected.addMapped(name, full);
    }
    for (collected.files.items) |file| if (std.mem.eql(u8, file.name, archive.model_name)) return;
    return status.fail(error.ContainerError, "model folder '{s}' has no model.onnx", .{path});
}

const Payload = struct { input: Input, out_path: []u8, passphrase: []u8, params: container.KdfParams };

/// Encrypts on a worker thread; every argument is copied before this returns.
pub fn start(input: Input, out_path: []const u8, passphrase: []const u8, params: container.KdfParams) status.Error!*jobs.Job {
    const payload = memory.allocator.create(Payload) catch return oom();
    payload.* = .{ .input = .{ .bytes = &.{} }, .out_path = &.{}, .passphrase = &.{}, .params = params };
    errdefer freePayload(payload);
    payload.input = switch (input) {
        .path => |p| .{ .path = memory.allocator.dupe(u8, p) catch return oom() },
        .bytes => |b| .{ .bytes = memory.allocator.dupe(u8, b) catch return oom() },
    };
    payload.out_path = memory.allocator.dupe(u8, out_path) catch return oom();
    payload.passphrase = memory.allocator.dupe(u8, passphrase) catch return oom();
    const job = try jobs.create(run, discard, cleanup, payload);
    jobs.submit(job) catch |e| {
        memory.allocator.destroy(job);
        return e;
    };
    return job;
}

fn run(job: *jobs.Job) status.Error!?*anyopaque {
    const payload: *Payload = @ptrCast(@alignCast(job.payload));
    try encryptToFile(payload.input, payload.out_path, payload.passphrase, payload.params);
    return null;
}

/// An encryption job has no result object to discard.
fn discard(_: *anyopaque) void {
    unreachable;
}

fn cleanup(job: *jobs.Job) void {
    freePayload(@ptrCast(@alignCast(job.payload)));
}

fn freePayload(payload: *Payload) void {
    switch (payload.input) {
        .path => |p| memory.allocator.free(p),
        .bytes => |b| memory.allocator.free(b),
    }
    memory.allocator.free(payload.out_path);
    std.crypto.secureZero(u8, payload.passphrase);
    memory.allocator.free(payload.passphrase);
    memory.allocator.destroy(payload);
}

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory", .{});
}
