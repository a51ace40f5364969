/* Runs a model on seeded inputs through tessera.h and prints which CPU level's kernels ran and
 * every value of the first output, one per line: a run on one machine can be compared with a
 * run on another (or under an emulated CPU) value by value. Every input must be float32 with
 * fixed dims; symbolic dims are taken as 1. Build like devices_and_tensors.c;
 * run: ./run_model model.onnx */
#include <stdio.h>
#include <stdlib.h>
#include <tessera.h>

enum { max_rank = 8, max_inputs = 16 };

static int fail(const char *what) {
    printf("%s failed: %s\n", what, tsr_last_error());
    tsr_finalize();
    return 1;
}

/* The same values on every machine: a 32-bit LCG mapped to [-1, 1). */
static float next_value(uint32_t *state) {
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / (float)(1u << 23) - 1.0f;
}

/* A float32 tensor shaped like the model's input `name`, filled from `state`. */
static tsr_status seeded_input(const tsr_model *model, const char *name, uint32_t *state, tsr_tensor **out) {
    const tsr_tensor_info *info = NULL;
    int64_t rank = 0, shape[max_rank];
    tsr_status status = tsr_model_tensor_info(model, name, &info);
    if (status == TSR_OK) status = tsr_tensor_info_get_i64(info, TSR_INFO_RANK, &rank);
    if (status != TSR_OK) return status;
    if (rank < 0 || rank > max_rank) return TSR_INVALID_ARGUMENT;
    for (uint32_t i = 0; i < (uint32_t)rank; i++) {
        const char *text = NULL;
        if ((status = tsr_tensor_info_dim(info, i, &shape[i], &text)) != TSR_OK) return status;
        if (shape[i] < 0) shape[i] = 1;
    }
    if ((status = tsr_tensor_create(TSR_DTYPE_FLOAT32, shape, (uint32_t)rank, out)) != TSR_OK) return status;
    uint64_t bytes = 0;
    float *data = NULL;
    tsr_tensor_byte_size(*out, &bytes);
    tsr_tensor_data(*out, (void **)&data);
    for (uint64_t i = 0; i < bytes / sizeof(float); i++) data[i] = next_value(state);
    return TSR_OK;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s model.onnx\n", argv[0]);
        return 2;
    }
    if (tsr_initialize() != TSR_OK) return 1;
    tsr_device *cpu = NULL;
    const char *level = NULL;
    tsr_device_get(0, &cpu);
    tsr_device_get_string(cpu, TSR_DEVICE_CPU_LEVEL, &level);
    printf("level %s\n", level);

    tsr_model *model = NULL;
    if (tsr_model_load(argv[1], NULL, &model) != TSR_OK) return fail("load");
    tsr_request *request = NULL;
    if (tsr_request_create(model, &request) != TSR_OK) return fail("request");
    int64_t inputs = 0;
    tsr_model_get_i64(model, TSR_MODEL_INPUT_COUNT, &inputs);
    if (inputs > max_inputs) {
        printf("more than %d inputs\n", max_inputs);
        return 1;
    }
    /* The request reads bound inputs in place: they live until the run has ended. */
    tsr_tensor *x[max_inputs] = {NULL};
    uint32_t state = 2024;
    for (uint32_t i = 0; i < (uint32_t)inputs; i++) {
        const char *name = NULL;
        tsr_model_input_name(model, i, &name);
        if (seeded_input(model, name, &state, &x[i]) != TSR_OK) return fail("input");
        if (tsr_request_set_input(request, name, x[i]) != TSR_OK) return fail("set input");
    }
    if (tsr_request_run(request) != TSR_OK) return fail("run");
    for (uint32_t i = 0; i < (uint32_t)inputs; i++) tsr_tensor_destroy(x[i]);

    tsr_tensor *y = NULL;
    uint64_t bytes = 0;
    float *values = NULL;
    int32_t dtype = 0;
    if (tsr_request_get_output(request, 0, &y) != TSR_OK) return fail("output");
    tsr_tensor_dtype(y, &dtype);
    if (dtype != TSR_DTYPE_FLOAT32) {
        printf("output 0 is not float32\n");
        return 1;
    }
    tsr_tensor_byte_size(y, &bytes);
    tsr_tensor_data(y, (void **)&values);
    for (uint64_t i = 0; i < bytes / sizeof(float); i++) printf("%.9g\n", values[i]);
    tsr_tensor_destroy(y);
    tsr_request_destroy(request);
    tsr_model_destroy(model);
    tsr_finalize();
    return 0;
}
