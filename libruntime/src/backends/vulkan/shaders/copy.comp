#version 450
// The one data-movement kernel: copies a strided view of X into a strided view of Y, up to rank
// 6. Element i of the view has coordinates i in `dims` (row-major); it is read at
// source_offset + sum of coordinate * source_stride (strides may be 0 to broadcast, or negative
// to step backwards) and written at target_offset + sum of coordinate * target_stride. Transpose,
// Slice, Expand, Concat, Gather, Pad and the rest are views. In FILL mode it writes `fill` to
// `count` contiguous elements of Y from target_offset instead (Pad's border).
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Parameters {
    uint count;
    uint rank;
    int source_offset;
    uint target_offset;
    uint dims[6];
    int source_strides[6];
    uint target_strides[6];
    uint fill_mode;
    float fill;
} p;

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.count; i += stride) {
        if (p.fill_mode != 0u) {
            y[p.target_offset + i] = p.fill;
            continue;
        }
        uint rest = i;
        int source = p.source_offset;
        uint target = p.target_offset;
        for (int d = int(p.rank) - 1; d >= 0; d--) {
            uint coordinate = rest % p.dims[d];
            rest /= p.dims[d];
            source += int(coordinate) * p.source_strides[d];
            target += coordinate * p.target_strides[d];
        }
        y[target] = x[uint(source)];
    }
}
