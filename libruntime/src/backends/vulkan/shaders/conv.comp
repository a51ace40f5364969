#version 450
#extension GL_GOOGLE_include_directive : require
// Convolution as an implicit GEMM, 1-D and 2-D (a 1-D input is a 2-D one of height 1), grouped:
// per image n and group g, Y[g*M + m, p] = sum over k of W[g*M + m, k] * X'[k, p], where k runs
// over (input channel of the group, kernel row, kernel column) and p over output positions. X' is
// the im2col matrix, never written: each tile of it is gathered from X straight into shared
// memory, with padding read as 0. The tiling is matmul.comp's (spec constants WORKGROUP, BM, BN,
// BK, TM, TN). The store adds the bias, the fused residual, and applies the fused activation.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WORKGROUP = 64;
layout(constant_id = 1) const uint BM = 32;
layout(constant_id = 2) const uint BN = 32;
layout(constant_id = 3) const uint BK = 8;
layout(constant_id = 4) const uint TM = 4;
layout(constant_id = 5) const uint TN = 4;

#include "epilogue.glsl"

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer W { float w[]; };
layout(set = 0, binding = 2) readonly buffer Bias { float bias[]; };
layout(set = 0, binding = 3) readonly buffer Residual { float residual[]; };
layout(set = 0, binding = 4) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Parameters {
    uint channels;      // input channels per group
    uint height;
    uint width;
    uint filters;       // output channels per group
    uint out_height;
    uint out_width;
    uint kernel_height;
    uint kernel_width;
    uint stride_y;
    uint stride_x;
    uint dilation_y;
    uint dilation_x;
    int pad_y;
    int pad_x;
    uint groups;
    uint flags;
    uint activation;
    float lo;
    float hi;
} p;

const uint HAS_BIAS = 1u, HAS_RESIDUAL = 2u;

shared float tile_w[BK * BM];
shared float tile_x[BK * BN];

void main() {
    uint image = gl_WorkGroupID.z / p.groups;
    uint group = gl_WorkGroupID.z % p.groups;
    uint taps = p.kernel_height * p.kernel_width;
    uint K = p.channels * taps;
    uint P = p.out_height * p.out_width;
    uint plane = p.height * p.width;
    uint x_base = (image * p.groups + group) * p.channels * plane;
    uint w_base = group * p.filters * K;
    uint t = gl_LocalInvocationID.x;
    uint row0 = gl_WorkGroupID.y * BM;
    uint column0 = gl_WorkGroupID.x * BN;
    uint thread_row = (t / (BN / TN)) * TM;
    uint thread_column = (t % (BN / TN)) * TN;
    float sums[TM * TN];
    for (uint i = 0u; i < TM * TN; i++) sums[i] = 0.0;
    for (uint k0 = 0u; k0 < K; k0 += BK) {
        for (uint i = t; i < BK * BM; i += WORKGROUP) {
            uint m = row0 + i % BM;
            uint k = k0 + i / BM;
            tile_w[i] = (m < p.filters && k < K) ? w[w_base + m * K + k] : 0.0;
        }
        for (uint i = t; i < BK * BN; i += WORKGROUP) {
            uint position = column0 + i % BN;
            uint k = k0 + i / BN;
            float v = 0.0;
            if (position < P && k < K) {
                uint channel = k / taps;
                uint tap = k % taps;
                int iy = int((position / p.out_width) * p.stride_y + (tap / p.kernel_width) * p.dilation_y) - p.pad_y;
                int ix = int((position % p.out_width) * p.stride_x + (tap % p.kernel_width) * p.dilation_x) - p.pad_x;
                if (iy >= 0 && iy < int(p.height) && ix >= 0 && ix < int(p.width)) v = x[x_base + channel * plane + uint(iy) * p.width + uint(ix)];
            }
            tile_x[i] = v;
        }
        barrier();
        for (uint k = 0u; k < BK; k++) {
            for (uint i = 0u; i < TM; i++) {
                float u = tile_w[k * BM + thread_row + i];
                for (uint j = 0u; j < TN; j++) sums[i * TN + j] += u * tile_x[k * BN + thread_column + j];
            }
        }
        barrier();
    }
    for (uint i = 0u; i < TM; i++) {
        uint m = row0 + thread_row + i;
        if (m >= p.filters) continue;
        uint channel_out = group * p.filters + m;
        float b = (p.flags & HAS_BIAS) != 0u ? bias[channel_out] : 0.0;
        uint y_base = (image * p.groups * p.filters + channel_out) * P;
        for (uint j = 0u; j < TN; j++) {
            uint position = column0 + thread_column + j;
            if (position >= P) continue;
            float v = sums[i * TN + j] + b;
            if ((p.flags & HAS_RESIDUAL) != 0u) v += residual[y_base + position];
            y[y_base + position] = activate(v, p.activation, p.lo, p.hi);
        }
    }
}
