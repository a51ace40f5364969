// The activation a fused Conv applies last (after its bias and residual), with the codes of
// model/fuse.zig's ActivationCode: none, Relu, Clip (lo, hi), Sigmoid, SiLU.
const uint ACT_NONE = 0u, ACT_RELU = 1u, ACT_CLIP = 2u, ACT_SIGMOID = 3u, ACT_SILU = 4u;

float activate(float v, uint kind, float lo, float hi) {
    switch (kind) {
        case ACT_RELU: return max(v, 0.0);
        case ACT_CLIP: return isnan(v) ? v : min(max(v, lo), hi);
        case ACT_SIGMOID: return 1.0 / (1.0 + exp(-v));
        case ACT_SILU: return v / (1.0 + exp(-v));
        default: return v;
    }
}
