#version 450
// Batched float32 matrix product Y = alpha * op(A) op(B) + beta * C, for MatMul (alpha 1, no C)
// and Gemm (transA, transB, a C broadcast to [M, N] through strides). Batch dims (up to 4)
// broadcast as numpy does: an input's batch stride is 0 along a dim it has as 1.
// Each workgroup computes a BM x BN tile of Y, each invocation a TM x TN block of it in
// registers, stepping through K by BK with both input tiles staged in shared memory. The tile
// sizes are specialization constants; the workgroup size must be (BM/TM)*(BN/TN).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WORKGROUP = 64;
layout(constant_id = 1) const uint BM = 32;
layout(constant_id = 2) const uint BN = 32;
layout(constant_id = 3) const uint BK = 8;
layout(constant_id = 4) const uint TM = 4;
layout(constant_id = 5) const uint TN = 4;

layout(set = 0, binding = 0) readonly buffer A { float a[]; };
layout(set = 0, binding = 1) readonly buffer B { float b[]; };
layout(set = 0, binding = 2) readonly buffer C { float c[]; };
layout(set = 0, binding = 3) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Parameters {
    uint M;
    uint N;
    uint K;
    uint batch_rank;
    uint flags;
    uint batch_dims[4];
    uint a_batch_strides[4];
    uint b_batch_strides[4];
    float alpha;
    float beta;
    uint c_row_stride;
    uint c_column_stride;
} p;

const uint TRANS_A = 1u, TRANS_B = 2u, HAS_C = 4u;

shared float tile_a[BK * BM];
shared float tile_b[BK * BN];

float loadA(uint base, uint m, uint k) {
    if (m >= p.M || k >= p.K) return 0.0;
    return (p.flags & TRANS_A) != 0u ? a[base + k * p.M + m] : a[base + m * p.K + k];
}

float loadB(uint base, uint k, uint n) {
    if (k >= p.K || n >= p.N) return 0.0;
    return (p.flags & TRANS_B) != 0u ? b[base + n * p.K + k] : b[base + k * p.N + n];
}

void main() {
    uint batch = gl_WorkGroupID.z;
    uint rest = batch;
    uint a_base = 0u;
    uint b_base = 0u;
    for (int d = int(p.batch_rank) - 1; d >= 0; d--) {
        uint coordinate = rest % p.batch_dims[d];
        rest /= p.batch_dims[d];
        a_base += coordinate * p.a_batch_strides[d];
        b_base += coordinate * p.b_batch_strides[d];
    }
    uint t = gl_LocalInvocationID.x;
    uint row0 = gl_WorkGroupID.y * BM;
    uint column0 = gl_WorkGroupID.x * BN;
    uint thread_row = (t / (BN / TN)) * TM;
    uint thread_column = (t % (BN / TN)) * TN;
    float sums[TM * TN];
    for (uint i = 0u; i < TM * TN; i++) sums[i] = 0.0;
    for (uint k0 = 0u; k0 < p.K; k0 += BK) {
        for (uint i = t; i < BK * BM; i += WORKGROUP) tile_a[i] = loadA(a_base, row0 + i % BM, k0 + i / BM);
        for (uint i = t; i < BK * BN; i += WORKGROUP) tile_b[i] = loadB(b_base, k0 + i / BN, column0 + i % BN);
        barrier();
        for (uint k = 0u; k < BK; k++) {
            for (uint i = 0u; i < TM; i++) {
                float u = tile_a[k * BM + thread_row + i];
                for (uint j = 0u; j < TN; j++) sums[i * TN + j] += u * tile_b[k * BN + thread_column + j];
            }
        }
        barrier();
    }
    uint y_base = batch * p.M * p.N;
    for (uint i = 0u; i < TM; i++) {
        uint m = row0 + thread_row + i;
        if (m >= p.M) continue;
        for (uint j = 0u; j < TN; j++) {
            uint n = column0 + thread_column + j;
            if (n >= p.N) continue;
            float v = p.alpha * sums[i * TN + j];
            if ((p.flags & HAS_C) != 0u) v += p.beta * c[m * p.c_row_stride + n * p.c_column_stride];
            y[y_base + m * p.N + n] = v;
        }
    }
}
