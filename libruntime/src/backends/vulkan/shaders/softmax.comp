#version 450
// Softmax and LogSoftmax along one axis, any axis: the input is viewed as [outer, length, inner]
// and each workgroup does one row (an outer and inner index pair), its invocations striding
// along the axis and reducing the maximum and the sum in shared memory. Sums are in float32.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WORKGROUP = 64;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Parameters {
    uint rows;
    uint axis_length;
    uint inner;
    uint log_softmax;
    uint rows_per_dispatch_row;
} p;

shared float partial[WORKGROUP];

float reduce(float v, bool take_max) {
    uint t = gl_LocalInvocationID.x;
    partial[t] = v;
    barrier();
    for (uint half_size = WORKGROUP / 2u; half_size > 0u; half_size /= 2u) {
        if (t < half_size) partial[t] = take_max ? max(partial[t], partial[t + half_size]) : partial[t] + partial[t + half_size];
        barrier();
    }
    float result = partial[0];
    barrier();
    return result;
}

void main() {
    uint row = gl_WorkGroupID.y * p.rows_per_dispatch_row + gl_WorkGroupID.x;
    if (row >= p.rows) return;
    uint base = (row / p.inner) * p.axis_length * p.inner + row % p.inner;
    uint t = gl_LocalInvocationID.x;
    float largest = -1.0 / 0.0;
    for (uint j = t; j < p.axis_length; j += WORKGROUP) largest = max(largest, x[base + j * p.inner]);
    largest = reduce(largest, true);
    float sum = 0.0;
    for (uint j = t; j < p.axis_length; j += WORKGROUP) sum += exp(x[base + j * p.inner] - largest);
    sum = reduce(sum, false);
    float log_sum = log(sum);
    for (uint j = t; j < p.axis_length; j += WORKGROUP) {
        float shifted = x[base + j * p.inner] - largest;
        y[base + j * p.inner] = p.log_softmax != 0u ? shifted - log_sum : exp(shifted) / sum;
    }
}
