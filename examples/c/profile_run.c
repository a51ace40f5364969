/* Runs a model with profiling on through tessera.h and prints how long each node took, from the
 * engine's own events. The model's first input must be float32 [N,4] (like add_relu); it is fed
 * a [2,4] tensor of ones. Build like devices_and_tensors.c; run: ./profile_run model.onnx */
#include <stdio.h>
#include <stdlib.h>
#include <tessera.h>

/* The struct crosses the ABI: its layout is part of the contract. */
_Static_assert(sizeof(tsr_profile_event) == 40, "tsr_profile_event is 40 bytes");

static int fail(const char *what) {
    printf("%s failed: %s\n", what, tsr_last_error());
    tsr_finalize();
    return 1;
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
    tsr_options_set(options, "profiling", "true");
    tsr_options_set(options, "profile_buffer_size", "1024");
    tsr_status status = tsr_model_load(argv[1], options, &model);
    tsr_options_destroy(options);
    if (status != TSR_OK) return fail("load");

    const int64_t shape[2] = {2, 4};
    tsr_tensor *x = NULL;
    tsr_request *request = NULL;
    const char *input = NULL;
    float *data = NULL;
    tsr_tensor_create(TSR_DTYPE_FLOAT32, shape, 2, &x);
    tsr_tensor_data(x, (void **)&data);
    for (int i = 0; i < 8; i++) data[i] = 1.0f;
    tsr_model_input_name(model, 0, &input);
    tsr_request_create(model, &request);
    tsr_request_clear_profile_events(request); /* drop the load's events: this run only */
    tsr_request_set_input(request, input, x);
    if (tsr_request_run(request) != TSR_OK) return fail("run");

    uint32_t count = 0;
    uint64_t dropped = 0;
    tsr_request_get_profile_events(request, NULL, 0, &count, &dropped);
    tsr_profile_event *events = calloc(count, sizeof *events);
    tsr_request_get_profile_events(request, events, count, &count, &dropped);
    printf("%u events, %llu dropped\n", count, (unsigned long long)dropped);
    /* A node's begin and end follow each other on the calling thread when the pool is unused. */
    for (uint32_t i = 0; i < count; i++) {
        const tsr_profile_event *e = &events[i];
        if (e->kind != TSR_EVENT_LAYER_EXECUTE || e->phase != TSR_PHASE_BEGIN) continue;
        for (uint32_t j = i + 1; j < count; j++) {
            const tsr_profile_event *end = &events[j];
            if (end->kind == e->kind && end->phase == TSR_PHASE_END && end->op_index == e->op_index) {
                const char *name = NULL, *op_type = NULL, *domain = NULL, *device = NULL;
                tsr_model_operation(model, (uint32_t)e->op_index, &name, &op_type, &domain, &device);
                printf("node %d %s: %llu ns\n", e->op_index, op_type, (unsigned long long)(end->timestamp_ns - e->timestamp_ns));
                break;
            }
        }
    }
    tsr_status busy = tsr_request_get_profile_events(request, NULL, 0, NULL, &dropped);
    printf("NULL count: status %d\n", busy);
    free(events);
    tsr_request_destroy(request);
    tsr_tensor_destroy(x);
    tsr_model_destroy(model);
    return tsr_finalize() == TSR_OK ? 0 : 1;
}
