#version 450
// Elementwise binary ops on float32 with numpy broadcasting, up to rank 6. The output is
// contiguous; each input is read through strides that are 0 along its broadcast dims. The op is a
// push constant rather than a shader variant: one pipeline serves Add, Sub, Mul, Div, Max, Min, Pow.
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer A { float a[]; };
layout(set = 0, binding = 1) readonly buffer B { float b[]; };
layout(set = 0, binding = 2) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Parameters {
    uint count;
    uint op;
    uint rank;
    uint dims[6];
    uint a_strides[6];
    uint b_strides[6];
} p;

const uint ADD = 0u, SUB = 1u, MUL = 2u, DIV = 3u, MAX = 4u, MIN = 5u, POW = 6u;

// GLSL's pow is undefined for a negative base; ONNX's Pow (C's powf) is real there for whole
// exponents, and the common squares and square roots are exact as multiplications and sqrt.
float power(float u, float v) {
    if (v == 0.0) return 1.0;
    if (v == 2.0) return u * u;
    if (v == 1.0) return u;
    if (v == 0.5) return sqrt(u);
    if (u == 0.0) return v > 0.0 ? 0.0 : 1.0 / 0.0;
    if (u > 0.0) return pow(u, v);
    if (v != floor(v)) return 0.0 / 0.0;
    float magnitude = pow(-u, v);
    return mod(v, 2.0) == 0.0 ? magnitude : -magnitude;
}

float apply(float u, float v) {
    switch (p.op) {
        case ADD: return u + v;
        case SUB: return u - v;
        case MUL: return u * v;
        case DIV: return u / v;
        // ONNX Max and Min propagate NaN, which GLSL's max and min leave undefined.
        case MAX: return (isnan(u) || isnan(v)) ? u + v : max(u, v);
        case MIN: return (isnan(u) || isnan(v)) ? u + v : min(u, v);
        default: return power(u, v);
    }
}

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    // A grid-stride loop: the dispatch is capped at the device's workgroup count limit.
    for (uint i = gl_GlobalInvocationID.x; i < p.count; i += stride) {
        uint rest = i;
        uint ia = 0u;
        uint ib = 0u;
        for (int d = int(p.rank) - 1; d >= 0; d--) {
            uint coordinate = rest % p.dims[d];
            rest /= p.dims[d];
            ia += coordinate * p.a_strides[d];
            ib += coordinate * p.b_strides[d];
        }
        y[i] = apply(a[ia], b[ib]);
    }
}
