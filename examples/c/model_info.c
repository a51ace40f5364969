/* Loads an ONNX model through tessera.h and prints its signature with symbolic shapes.
 * Build like devices_and_tensors.c; run: ./model_info model.onnx */
#include <stdio.h>
#include <tessera.h>

static void print_tensor(const tsr_model *model, const char *name) {
    const tsr_tensor_info *info = NULL;
    const char *shape = NULL;
    int64_t dtype = 0, bytes = 0;
    if (tsr_model_tensor_info(model, name, &info) != TSR_OK) {
        printf("  %s: %s\n", name, tsr_last_error());
        return;
    }
    tsr_tensor_info_get_string(info, TSR_INFO_SHAPE, &shape);
    tsr_tensor_info_get_i64(info, TSR_INFO_DTYPE, &dtype);
    tsr_tensor_info_get_i64(info, TSR_INFO_BYTE_SIZE, &bytes);
    printf("  %s: dtype %lld shape %s bytes %lld\n", name, (long long)dtype, shape, (long long)bytes);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s model.onnx\n", argv[0]);
        return 2;
    }
    if (tsr_initialize() != TSR_OK) return 1;
    tsr_options *options = NULL;
    tsr_model *model = NULL;
    tsr_options_create(&options);
    tsr_options_set(options, "threads", "1");
    tsr_status status = tsr_model_load(argv[1], options, &model);
    tsr_options_destroy(options);
    if (status != TSR_OK) {
        printf("load failed: status %d (%s)\n", status, tsr_last_error());
        tsr_finalize();
        return 1;
    }
    int64_t inputs = 0, outputs = 0, dynamic = 0;
    const char *name = NULL;
    tsr_model_get_string(model, TSR_MODEL_NAME, &name);
    tsr_model_get_i64(model, TSR_MODEL_INPUT_COUNT, &inputs);
    tsr_model_get_i64(model, TSR_MODEL_OUTPUT_COUNT, &outputs);
    tsr_model_get_i64(model, TSR_MODEL_IS_DYNAMIC, &dynamic);
    printf("model %s, dynamic %lld\ninputs\n", name, (long long)dynamic);
    for (uint32_t i = 0; i < (uint32_t)inputs; i++) {
        tsr_model_input_name(model, i, &name);
        print_tensor(model, name);
    }
    printf("outputs\n");
    for (uint32_t i = 0; i < (uint32_t)outputs; i++) {
        tsr_model_output_name(model, i, &name);
        print_tensor(model, name);
    }
    char shape[128];
    uint32_t length = 0;
    if (tsr_model_infer_shape(model, "y", "x=7,4", shape, sizeof shape, &length) == TSR_OK) {
        printf("y for x=[7,4]: %s\n", shape);
    }
    tsr_model_destroy(model);
    tsr_model_destroy(NULL);
    return tsr_finalize() == TSR_OK ? 0 : 1;
}
