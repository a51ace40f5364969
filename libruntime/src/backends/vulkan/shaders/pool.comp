#version 450
// MaxPool and AveragePool over 1-D and 2-D windows (a 1-D input is a 2-D one of height 1), one
// invocation per output element. Taps in the padding are skipped; AveragePool divides by the taps
// inside the input, or with count_include_pad by those inside the padded extent (the overhang of
// ceil_mode past the end pad is never counted).
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Parameters {
    uint count;
    uint height;
    uint width;
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
    int pad_end_y;
    int pad_end_x;
    uint mode;
} p;

const uint MAX = 0u, AVERAGE = 1u, AVERAGE_INCLUDING_PAD = 2u;

// Taps of a window starting at `start` that lie before `limit`.
int tapsBefore(int start, int limit, uint kernel_size, uint dilation) {
    int room = limit - start;
    if (room <= 0) return 0;
    return min(int(kernel_size), (room + int(dilation) - 1) / int(dilation));
}

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    uint P = p.out_height * p.out_width;
    for (uint i = gl_GlobalInvocationID.x; i < p.count; i += stride) {
        uint position = i % P;
        uint base = (i / P) * p.height * p.width;
        int y0 = int((position / p.out_width) * p.stride_y) - p.pad_y;
        int x0 = int((position % p.out_width) * p.stride_x) - p.pad_x;
        float largest = -1.0 / 0.0;
        float sum = 0.0;
        uint taken = 0u;
        for (uint ky = 0u; ky < p.kernel_height; ky++) {
            int iy = y0 + int(ky * p.dilation_y);
            if (iy < 0 || iy >= int(p.height)) continue;
            for (uint kx = 0u; kx < p.kernel_width; kx++) {
                int ix = x0 + int(kx * p.dilation_x);
                if (ix < 0 || ix >= int(p.width)) continue;
                float v = x[base + uint(iy) * p.width + uint(ix)];
                largest = (isnan(v) || v > largest) ? v : largest;
                sum += v;
                taken++;
            }
        }
        if (p.mode == MAX) {
            y[i] = largest;
        } else if (p.mode == AVERAGE) {
            y[i] = sum / float(taken);
        } else {
            int rows = tapsBefore(y0, int(p.height) + p.pad_end_y, p.kernel_height, p.dilation_y);
            int columns = tapsBefore(x0, int(p.width) + p.pad_end_x, p.kernel_width, p.dilation_x);
            y[i] = sum / float(rows * columns);
        }
    }
}
