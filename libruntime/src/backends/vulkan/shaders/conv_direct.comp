#version 450
#extension GL_GOOGLE_include_directive : require
// Convolution computed directly, one invocation per output element: for grouped convolutions
// with few output channels per group (depthwise ones above all), where conv.comp's tiles of
// filters would sit mostly idle. Same parameters and fused store as conv.comp.
layout(local_size_x_id = 0) in;

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
    uint count;         // output elements
} p;

const uint HAS_BIAS = 1u, HAS_RESIDUAL = 2u;

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    uint P = p.out_height * p.out_width;
    uint plane = p.height * p.width;
    uint taps = p.kernel_height * p.kernel_width;
    for (uint i = gl_GlobalInvocationID.x; i < p.count; i += stride) {
        uint position = i % P;
        uint channel_out = (i / P) % (p.groups * p.filters);
        uint image = i / (P * p.groups * p.filters);
        uint group = channel_out / p.filters;
        int y0 = int((position / p.out_width) * p.stride_y) - p.pad_y;
        int x0 = int((position % p.out_width) * p.stride_x) - p.pad_x;
        uint x_base = (image * p.groups + group) * p.channels * plane;
        uint w_base = channel_out * p.channels * taps;
        float sum = 0.0;
        for (uint c = 0u; c < p.channels; c++) {
            for (uint ky = 0u; ky < p.kernel_height; ky++) {
                int iy = y0 + int(ky * p.dilation_y);
                if (iy < 0 || iy >= int(p.height)) continue;
                for (uint kx = 0u; kx < p.kernel_width; kx++) {
                    int ix = x0 + int(kx * p.dilation_x);
                    if (ix < 0 || ix >= int(p.width)) continue;
                    sum += w[w_base + (c * p.kernel_height + ky) * p.kernel_width + kx] * x[x_base + c * plane + uint(iy) * p.width + uint(ix)];
                }
            }
        }
        if ((p.flags & HAS_BIAS) != 0u) sum += bias[channel_out];
        if ((p.flags & HAS_RESIDUAL) != 0u) sum += residual[i];
        y[i] = activate(sum, p.activation, p.lo, p.hi);
    }
}
