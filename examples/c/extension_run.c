/* Loads a backend extension, loads a model with its device first in `devices`, prints where each
 * operation runs, and runs the model once on a float32 input [rows, cols] of 1, -2, 3, -4, ...
 * printing the first output. Build like devices_and_tensors.c;
 * run: ./extension_run libmyext.so model.onnx rows cols */
#include <stdio.h>
#include <stdlib.h>
#include <tessera.h>

static int fail(const char *what) {
    printf("%s failed: %s\n", what, tsr_last_error());
    return 1;
}

static int run(tsr_model *model, int64_t rows, int64_t cols) {
    const int64_t shape[2] = {rows, cols};
    tsr_tensor *x = NULL, *y = NULL;
    tsr_request *request = NULL;
    const char *input = NULL;
    float *data = NULL;
    int code = 1;
    if (tsr_model_input_name(model, 0, &input) != TSR_OK) return fail("input name");
    if (tsr_tensor_create(TSR_DTYPE_FLOAT32, shape, 2, &x) != TSR_OK) return fail("tensor");
    tsr_tensor_data(x, (void **)&data);
    for (int64_t i = 0; i < rows * cols; i++) data[i] = (float)((i % 2 ? -1 : 1) * (i + 1));
    if (tsr_request_create(model, &request) != TSR_OK) code = fail("request");
    else if (tsr_request_set_input(request, input, x) != TSR_OK) code = fail("input");
    else if (tsr_request_run(request) != TSR_OK) code = fail("run");
    else if (tsr_request_get_output(request, 0, &y) != TSR_OK) code = fail("output");
    else {
        uint64_t bytes = 0;
        const float *out = NULL;
        tsr_tensor_byte_size(y, &bytes);
        tsr_tensor_data(y, (void **)&out);
        printf("y:");
        for (uint64_t i = 0; i < bytes / sizeof(float); i++) printf(" %.4f", out[i]);
        printf("\n");
        code = 0;
    }
    tsr_tensor_destroy(y);
    tsr_request_destroy(request);
    tsr_tensor_destroy(x);
    return code;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s EXTENSION MODEL ROWS COLS\n", argv[0]);
        return 2;
    }
    if (tsr_initialize() != TSR_OK) return fail("initialize");
    tsr_extension *extension = NULL;
    tsr_options *options = NULL;
    tsr_model *model = NULL;
    const char *device = NULL;
    int code = 1;
    if (tsr_extension_load(argv[1], &extension) != TSR_OK) {
        code = fail("extension load");
    } else if (tsr_extension_get_string(extension, TSR_EXTENSION_DEVICE, &device) != TSR_OK) {
        code = fail("extension device");
    } else {
        char devices[64];
        snprintf(devices, sizeof devices, "%s,cpu", device);
        if (tsr_options_create(&options) != TSR_OK || tsr_options_set(options, "devices", devices) != TSR_OK) {
            code = fail("options");
        } else if (tsr_model_load(argv[2], options, &model) != TSR_OK) {
            code = fail("model load");
        } else {
            int64_t count = 0;
            tsr_model_get_i64(model, TSR_MODEL_OPERATION_COUNT, &count);
            for (uint32_t i = 0; i < (uint32_t)count; i++) {
                const char *name, *op_type, *domain, *on;
                tsr_model_operation(model, i, &name, &op_type, &domain, &on);
                printf("%s %s on %s\n", name, op_type, on);
            }
            code = run(model, strtoll(argv[3], NULL, 10), strtoll(argv[4], NULL, 10));
        }
    }
    tsr_model_destroy(model);
    tsr_options_destroy(options);
    tsr_extension_destroy(extension);
    tsr_finalize();
    return code;
}
