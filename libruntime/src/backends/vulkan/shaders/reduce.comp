#version 450
// ReduceSum, ReduceMean and ReduceMax over any set of axes, and the global pools: one workgroup
// per output element, whose invocations stride over the reduced elements and combine their
// partial results in shared memory. The kept and the reduced axes are each described by dims and
// element strides into the input, so no transpose is needed. Sums are in float32.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WORKGROUP = 64;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Parameters {
    uint outputs;
    uint reduced;
    uint kept_rank;
    uint reduced_rank;
    uint op;
    uint outputs_per_dispatch_row;
    uint kept_dims[6];
    uint kept_strides[6];
    uint reduced_dims[6];
    uint reduced_strides[6];
} p;

const uint SUM = 0u, MEAN = 1u, MAX = 2u;

shared float partial[WORKGROUP];

float combine(float u, float v) {
    if (p.op != MAX) return u + v;
    return (isnan(u) || u > v) ? u : v;
}

void main() {
    uint index = gl_WorkGroupID.y * p.outputs_per_dispatch_row + gl_WorkGroupID.x;
    if (index >= p.outputs) return;
    uint base = 0u;
    uint rest = index;
    for (int d = int(p.kept_rank) - 1; d >= 0; d--) {
        base += (rest % p.kept_dims[d]) * p.kept_strides[d];
        rest /= p.kept_dims[d];
    }
    uint t = gl_LocalInvocationID.x;
    float acc = p.op == MAX ? -1.0 / 0.0 : 0.0;
    for (uint j = t; j < p.reduced; j += WORKGROUP) {
        uint offset = base;
        uint r = j;
        for (int d = int(p.reduced_rank) - 1; d >= 0; d--) {
            offset += (r % p.reduced_dims[d]) * p.reduced_strides[d];
            r /= p.reduced_dims[d];
        }
        acc = combine(acc, x[offset]);
    }
    partial[t] = acc;
    barrier();
    for (uint half_size = WORKGROUP / 2u; half_size > 0u; half_size /= 2u) {
        if (t < half_size) partial[t] = combine(partial[t], partial[t + half_size]);
        barrier();
    }
    if (t == 0u) y[index] = p.op == MEAN ? partial[0] / float(p.reduced) : partial[0];
}
