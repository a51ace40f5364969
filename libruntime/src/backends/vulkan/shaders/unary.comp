#version 450
// Elementwise unary ops on float32, over contiguous elements. The op is a push constant; alpha
// and beta carry the op's attributes (LeakyRelu's slope, Clip's bounds).
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Parameters {
    uint count;
    uint op;
    float alpha;
    float beta;
} p;

const uint RELU = 0u, SIGMOID = 1u, TANH = 2u, EXP = 3u, LOG = 4u, ABS = 5u, NEG = 6u, SQRT = 7u;
const uint ERF = 8u, GELU = 9u, GELU_TANH = 10u, LEAKY_RELU = 11u, CLIP = 12u;

// tanh through exp(-2|x|), which never overflows: tanh's textbook form (e^2x-1)/(e^2x+1) gives
// inf/inf = NaN past |x| of about 44 on drivers that lower it that way.
float safeTanh(float v) {
    float t = exp(-2.0 * abs(v));
    return sign(v) * (1.0 - t) / (1.0 + t);
}

// erf by Abramowitz and Stegun 7.1.26 (absolute error under 1.5e-7): GLSL has no erf.
float erf(float v) {
    float s = sign(v);
    float a = abs(v);
    float t = 1.0 / (1.0 + 0.3275911 * a);
    float poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    return s * (1.0 - poly * exp(-a * a));
}

float apply(float v) {
    switch (p.op) {
        case RELU: return max(v, 0.0);
        case SIGMOID: return 1.0 / (1.0 + exp(-v));
        case TANH: return safeTanh(v);
        case EXP: return exp(v);
        case LOG: return log(v);
        case ABS: return abs(v);
        case NEG: return -v;
        case SQRT: return sqrt(v);
        case ERF: return erf(v);
        case GELU: return 0.5 * v * (1.0 + erf(v * 0.70710678118654752));
        case GELU_TANH: return 0.5 * v * (1.0 + safeTanh(0.79788456080286536 * (v + 0.044715 * v * v * v)));
        case LEAKY_RELU: return v >= 0.0 ? v : p.alpha * v;
        default: return isnan(v) ? v : min(max(v, p.alpha), p.beta);
    }
}

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.count; i += stride) y[i] = apply(x[i]);
}
