//! Node attributes as the compile stage and the kernels read them. Each one is decoded once, at
//! load: numbers, strings and lists as the protobuf decoder typed them, and a tensor attribute
//! (dense or sparse) into a Constant, so that no kernel decodes a TensorProto on a run. Each is
//! also named by a `Key`, a small integer from the fixed list below, and readers name attributes
//! at compile time: a lookup compares a few integers instead of strings, and a misspelt name is a
//! compile error rather than a silent default.
const std = @import("std");
const status = @import("../core/status.zig");
const ir = @import("ir.zig");
const onnx = @import("proto/onnx.zig");
const constant_module = @import("constant.zig");
const sparse = @import("sparse.zig");

/// Every attribute name an ONNX operator schema declares (ai.onnx, ai.onnx.ml and
/// ai.onnx.preview.training, as of onnx 1.23), and the marks of Tessera's own passes (model/fuse.zig).
/// A name outside the list is kept on the node (functions and `tessera info` see it) with the
/// key `unknown`, which no reader asks for.
pub const Key = enum(u16) {
    unknown,
    @"tessera.fused",
    @"tessera.absorbed",
    // Tensor forms of float lists that the ai.onnx.ml kernels accept beside the lists.
    coefficients_as_tensor, imputed_value_floats_as_tensor, intercepts_as_tensor, offset_as_tensor,
    prob_a_as_tensor, prob_b_as_tensor, rho_as_tensor, scale_as_tensor, support_vectors_as_tensor,
    activation, activation_alpha, activation_beta, activations, aggregate_function, align_corners,
    @"allowzero", alpha, antialias, approximate, auto_pad, axes, axis, base_values,
    base_values_as_tensor, batch_axis, batch_dims, beta, bias, block_size, blocksize, body,
    broadcast, case_change_action, cast_to, cats_int64s, cats_strings, ceil_mode, center_point_box,
    chunk_size, class_ids, class_nodeids, class_treeids, class_weights, class_weights_as_tensor,
    classes_strings, classlabels_int64s, classlabels_ints, classlabels_strings, clip, coefficients,
    consumed_inputs, coordinate_transformation_mode, count_include_pad, cubic_coeff_a,
    decay_factor, default_float, default_int64, default_string, default_tensor, delimiter,
    detect_negative, detect_positive, dilations, direction, directions, dtype, else_branch, end,
    ends, epsilon, equation, exclude_outside, exclusive, extrapolation_value, fmod, gamma, group,
    height_scale, hidden_size, high, ignore_index, imputed_value_floats, imputed_value_int64s,
    input_forget, inputdimensions, int64_vocabulary, intercepts, interleaved, inverse,
    is_case_sensitive, is_causal, is_test, k, keep_aspect_ratio_policy, keepdims, kernel_params,
    kernel_shape, kernel_type, keys_floats, keys_int64s, keys_strings, keys_tensor, kv_num_heads,
    lambd, largest, layout, leaf_targetids, leaf_weights, left_window_size, linear_before_reset,
    locale, low, map_form, max, max_gram_length, max_map, max_skip_count, maxsplit, mean,
    membership_values, min, min_gram_length, mode, momentum, multi_class, n_supports, n_targets,
    nearest_mode, new_axis, ngram_counts, ngram_indexes, nodes_falseleafs, nodes_falsenodeids,
    nodes_featureids, nodes_hitrates, nodes_hitrates_as_tensor, nodes_missing_value_tracks_true,
    nodes_modes, nodes_nodeids, nodes_splits, nodes_treeids, nodes_trueleafs, nodes_truenodeids,
    nodes_values, nodes_values_as_tensor, noop_with_empty_axes, norm, norm_coefficient,
    norm_coefficient_post, num_groups, num_heads, num_outputs, num_scan_inputs, offset,
    offset_group, one_class, onesided, output_datatype, output_dtype, output_height,
    output_padding, output_sequence, output_shape, output_width, p, padding_mode, paddings, pads,
    pattern, periodic, perm, pixel_format, pool_int64s, pool_strings, pooled_shape, post_transform,
    precision, prob_a, prob_b, prob_mod, q_num_heads, qk_matmul_output_mode, ratio, reduction,
    replaced_value_float, replaced_value_int64, reverse, rho, right_window_size,
    rotary_embedding_dim, round_mode, sample_size, sampling_ratio, saturate, scale, scales,
    scan_input_axes, scan_input_directions, scan_output_axes, scan_output_directions, score_mod,
    seed, select_last_index, shape, size, softcap, softmax_precision, sorted, sparse_value,
    spatial, spatial_scale, split, start, starts, stash_type, stopwords, storage_order, strides,
    string_vocabulary, support_vectors, target_ids, target_nodeids, target_treeids, target_weights,
    target_weights_as_tensor, targets, then_branch, threshold, time_axis, to, training_mode,
    transA, transB, tree_roots, type, update_rule, upper, value, value_float, value_floats,
    value_int, value_ints, value_string, value_strings, values_floats, values_int64s,
    values_strings, values_tensor, vectors_per_class, weights, width_scale, xs, y, zeros, zs,
};

/// The key of `name`, checked when the reader is compiled.
pub fn key(comptime name: []const u8) Key {
    return comptime if (@hasField(Key, name)) @field(Key, name) else @compileError("no attribute key '" ++ name ++ "' (model/attribute.zig)");
}

pub const Attribute = struct {
    name: []const u8,
    key: Key,
    proto: *const onnx.AttributeProto,
    /// A tensor or sparse_tensor attribute, decoded (a sparse one densified).
    tensor: ?*const constant_module.Constant = null,
    /// The imported subgraph of a graph attribute, and of each element of a graphs attribute.
    graph: ?*ir.Graph = null,
    graphs: []const *ir.Graph = &.{},

    /// Decodes `proto` (which must outlive the attribute); subgraphs are the importer's to add.
    pub fn decode(arena: std.mem.Allocator, proto: *const onnx.AttributeProto) status.Error!Attribute {
        var self: Attribute = .{
            .name = proto.name,
            .key = std.meta.stringToEnum(Key, proto.name) orelse .unknown,
            .proto = proto,
        };
        if (proto.t != null or proto.sparse_tensor != null) {
            const decoded = arena.create(constant_module.Constant) catch return oom();
            decoded.* = if (proto.t) |t|
                try constant_module.fromProto(arena, t, null)
            else
                try sparse.densify(arena, proto.sparse_tensor.?, null);
            self.tensor = decoded;
        }
        return self;
    }

    /// An attribute made by a pass or a test: one int, float, string, or list of ints or floats,
    /// by the type of `v`.
    pub fn make(arena: std.mem.Allocator, name: []const u8, v: anytype) status.Error!Attribute {
        const proto = arena.create(onnx.AttributeProto) catch return oom();
        proto.* = switch (@TypeOf(v)) {
            comptime_int, i64 => .{ .name = name, .type = .int, .i = v },
            comptime_float, f32 => .{ .name = name, .type = .float, .f = v },
            []const u8 => .{ .name = name, .type = .string, .s = v },
            []const i64 => .{ .name = name, .type = .ints, .ints = v },
            []const f32 => .{ .name = name, .type = .floats, .floats = v },
            onnx.AttributeProto => blk: {
                var copy = v;
                copy.name = name;
                break :blk copy;
            },
            else => @compileError("no attribute of type " ++ @typeName(@TypeOf(v))),
        };
        return decode(arena, proto);
    }
};

fn oom() status.Error {
    return status.fail(error.OutOfResource, "out of memory", .{});
}

test "names map to keys at load; unknown names are kept with the key unknown" {
    var arena_state = std.heap.ArenaAllocator.init(std.testing.allocator);
    defer arena_state.deinit();
    const arena = arena_state.allocator();
    const axis = try Attribute.make(arena, "axis", @as(i64, 2));
    try std.testing.expectEqual(key("axis"), axis.key);
    try std.testing.expectEqual(@as(i64, 2), axis.proto.i);
    const other = try Attribute.make(arena, "not_an_onnx_attribute", @as(i64, 1));
    try std.testing.expectEqual(Key.unknown, other.key);
    try std.testing.expectEqualStrings("not_an_onnx_attribute", other.name);
}
