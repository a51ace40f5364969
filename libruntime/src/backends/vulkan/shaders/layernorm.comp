#version 450
// LayerNormalization over the trailing axes: each workgroup normalizes one row of `length`
// elements, computing its mean and then its variance (two passes, float32 sums in shared
// memory), then applies the scale and bias, which repeat every `parameter_length` elements.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WORKGROUP = 64;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer Scale { float scale[]; };
layout(set = 0, binding = 2) readonly buffer Bias { float bias[]; };
layout(set = 0, binding = 3) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Parameters {
    uint rows;
    uint row_length;
    float epsilon;
    uint has_bias;
    uint scale_length;
    uint bias_length;
    uint rows_per_dispatch_row;
} p;

shared float partial[WORKGROUP];

float total(float v) {
    uint t = gl_LocalInvocationID.x;
    partial[t] = v;
    barrier();
    for (uint half_size = WORKGROUP / 2u; half_size > 0u; half_size /= 2u) {
        if (t < half_size) partial[t] += partial[t + half_size];
        barrier();
    }
    float result = partial[0];
    barrier();
    return result;
}

void main() {
    uint row = gl_WorkGroupID.y * p.rows_per_dispatch_row + gl_WorkGroupID.x;
    if (row >= p.rows) return;
    uint base = row * p.row_length;
    uint t = gl_LocalInvocationID.x;
    float sum = 0.0;
    for (uint j = t; j < p.row_length; j += WORKGROUP) sum += x[base + j];
    float mean = total(sum) / float(p.row_length);
    float squares = 0.0;
    for (uint j = t; j < p.row_length; j += WORKGROUP) {
        float d = x[base + j] - mean;
        squares += d * d;
    }
    float inverse_deviation = 1.0 / sqrt(total(squares) / float(p.row_length) + p.epsilon);
    for (uint j = t; j < p.row_length; j += WORKGROUP) {
        float v = (x[base + j] - mean) * inverse_deviation * scale[j % p.scale_length];
        if (p.has_bias != 0u) v += bias[j % p.bias_length];
        y[base + j] = v;
    }
}
