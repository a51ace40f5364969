#version 450
// BatchNormalization for inference, over N x C x anything: each element is normalized with its
// channel's running mean and variance, then scaled and shifted.
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer Scale { float scale[]; };
layout(set = 0, binding = 2) readonly buffer Bias { float bias[]; };
layout(set = 0, binding = 3) readonly buffer Mean { float mean[]; };
layout(set = 0, binding = 4) readonly buffer Variance { float variance[]; };
layout(set = 0, binding = 5) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Parameters {
    uint count;
    uint channels;
    uint inner;
    float epsilon;
} p;

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.count; i += stride) {
        uint c = (i / p.inner) % p.channels;
        y[i] = (x[i] - mean[c]) / sqrt(variance[c] + p.epsilon) * scale[c] + bias[c];
    }
}
