/* Map values (ONNX's map(K, V)) through tessera.h. A map crosses the ABI as two 1-D tensors of
 * one length, its keys and its values. This program reads the sequence of maps a ZipMap gives (a
 * scikit-learn classifier's probabilities, class label -> probability, one map per row) and feeds
 * a map of word counts to a DictVectorizer. Build like devices_and_tensors.c;
 * run: ./map_values classifier.onnx dict_vectorizer.onnx
 * (the classifier: x float32 [N, 3] -> label, output_probability; the vectorizer: m map(string,
 * float) -> y float32 [1, V].) */
#include <stdio.h>
#include <string.h>
#include <tessera.h>

static int fail(const char *what) {
    printf("%s failed: %s\n", what, tsr_last_error());
    tsr_finalize();
    return 1;
}

/* Prints each map of output `index`, a sequence of maps with int64 keys and float values. */
static tsr_status print_maps(tsr_request *request, uint32_t index) {
    int32_t kind = 0, inner = 0, count = 0;
    tsr_status status = tsr_request_output_kind(request, index, &kind, &inner, &count);
    if (status != TSR_OK) return status;
    if (kind != TSR_KIND_SEQUENCE || inner != TSR_KIND_MAP) return TSR_TYPE_ERROR;
    for (uint32_t m = 0; m < (uint32_t)count; m++) {
        tsr_tensor *keys = NULL, *values = NULL;
        if ((status = tsr_request_get_output_map(request, index, m, &keys, &values)) != TSR_OK) return status;
        int64_t entries = 0, *labels = NULL;
        float *probabilities = NULL;
        tsr_tensor_shape(keys, &entries, 1);
        tsr_tensor_data(keys, (void **)&labels);
        tsr_tensor_data(values, (void **)&probabilities);
        printf("row %u:", m);
        for (int64_t i = 0; i < entries; i++) printf(" %lld=%.4f", (long long)labels[i], probabilities[i]);
        printf("\n");
        tsr_tensor_destroy(keys);
        tsr_tensor_destroy(values);
    }
    return TSR_OK;
}

static int classify(const char *path) {
    tsr_model *model = NULL;
    tsr_request *request = NULL;
    if (tsr_model_load(path, NULL, &model) != TSR_OK) return fail("load");
    if (tsr_request_create(model, &request) != TSR_OK) return fail("request");
    float scores[] = {1, 2, 3, 0, 0, 0};
    int64_t shape[] = {2, 3};
    tsr_tensor *x = NULL;
    if (tsr_tensor_wrap(TSR_DTYPE_FLOAT32, shape, 2, scores, sizeof scores, &x) != TSR_OK) return fail("wrap");
    if (tsr_request_set_input(request, "x", x) != TSR_OK) return fail("set input");
    if (tsr_request_run(request) != TSR_OK) return fail("run");
    if (print_maps(request, 1) != TSR_OK) return fail("read maps");
    tsr_tensor_destroy(x);
    tsr_request_destroy(request);
    tsr_model_destroy(model);
    return 0;
}

/* A 1-D string tensor holding `items`. */
static tsr_status strings(const char *const *items, uint32_t n, tsr_tensor **out) {
    int64_t shape[] = {n};
    tsr_status status = tsr_tensor_create(TSR_DTYPE_STRING, shape, 1, out);
    for (uint32_t i = 0; status == TSR_OK && i < n; i++) {
        status = tsr_tensor_set_string(*out, i, items[i], (uint32_t)strlen(items[i]));
    }
    return status;
}

static int vectorize(const char *path) {
    tsr_model *model = NULL;
    tsr_request *request = NULL;
    if (tsr_model_load(path, NULL, &model) != TSR_OK) return fail("load");
    if (tsr_request_create(model, &request) != TSR_OK) return fail("request");
    const char *words[] = {"c", "a"};
    float counts[] = {3, 1};
    int64_t shape[] = {2};
    tsr_tensor *keys = NULL, *values = NULL, *wrong = NULL;
    if (strings(words, 2, &keys) != TSR_OK) return fail("keys");
    if (tsr_tensor_wrap(TSR_DTYPE_FLOAT32, shape, 1, counts, sizeof counts, &values) != TSR_OK) return fail("values");
    /* The model declares string keys: int64 keys are refused when bound. */
    int64_t numbers[] = {1, 2};
    if (tsr_tensor_wrap(TSR_DTYPE_INT64, shape, 1, numbers, sizeof numbers, &wrong) != TSR_OK) return fail("wrap");
    printf("int64 keys: status %d\n", tsr_request_set_input_map(request, "m", wrong, values));
    /* Keys and values are read in place when the request runs: they live until it has ended. */
    if (tsr_request_set_input_map(request, "m", keys, values) != TSR_OK) return fail("set input map");
    if (tsr_request_run(request) != TSR_OK) return fail("run");
    tsr_tensor *y = NULL;
    if (tsr_request_get_output(request, 0, &y) != TSR_OK) return fail("output");
    uint64_t bytes = 0;
    float *data = NULL;
    tsr_tensor_byte_size(y, &bytes);
    tsr_tensor_data(y, (void **)&data);
    printf("y:");
    for (uint64_t i = 0; i < bytes / sizeof(float); i++) printf(" %.1f", data[i]);
    printf("\n");
    tsr_tensor_destroy(y);
    tsr_tensor_destroy(keys);
    tsr_tensor_destroy(values);
    tsr_tensor_destroy(wrong);
    tsr_request_destroy(request);
    tsr_model_destroy(model);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s classifier.onnx dict_vectorizer.onnx\n", argv[0]);
        return 2;
    }
    if (tsr_initialize() != TSR_OK) return 1;
    int result = classify(argv[1]);
    if (result == 0) result = vectorize(argv[2]);
    if (result == 0) tsr_finalize();
    return result;
}
