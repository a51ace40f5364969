/* myext: a Tessera backend extension in plain C99 (tessera_backend.h). It adds the device
 * "myext:0", which runs float32 Relu, Add (with ONNX broadcasting) and MatMul (A of rank 2 or more
 * times a 2-D B) with its own loops; the CPU runs everything else in the model. MatMul transposes
 * a constant B once, when the node is compiled, so a run reads both operands row by row.
 *
 * Build:  zig cc -shared -fPIC -std=c99 -O2 -I libruntime/include examples/extension/myext.c -o libmyext.so
 * Use:    const ext = rt.loadExtension("./libmyext.so");
 *         const model = await rt.loadModel("model.onnx", { devices: "myext:0,cpu" });
 */
#include <stdlib.h>
#include <string.h>
#include <tessera_backend.h>

enum { max_rank = 8 };
enum op { op_relu, op_add, op_matmul };

typedef struct compiled {
    enum op op;
    /* MatMul with a constant B [K, N]: B transposed to [N, K]; NULL otherwise. */
    float *b_transposed;
    int64_t k, n;
} compiled;

static const tsr_backend_host *host;

static tsr_status fail(tsr_status status, const char *message) {
    host->set_error(message);
    return status;
}

static int op_of(const tsr_backend_node *node, enum op *op) {
    if (node->domain[0] != '\0') return 0;
    if (strcmp(node->op_type, "Relu") == 0) *op = op_relu;
    else if (strcmp(node->op_type, "Add") == 0) *op = op_add;
    else if (strcmp(node->op_type, "MatMul") == 0) *op = op_matmul;
    else return 0;
    return 1;
}

static int is_float_tensor(const tsr_backend_value *v) {
    return v->kind == TSR_KIND_TENSOR && v->dtype == TSR_DTYPE_FLOAT32 && v->rank >= 0 && v->rank <= max_rank;
}

static const char *supports(void *device, const tsr_backend_node *node) {
    (void)device;
    enum op op;
    if (!op_of(node, &op)) return "myext runs Relu, Add and MatMul only";
    for (uint32_t i = 0; i < node->input_count; i++) {
        if (!is_float_tensor(&node->inputs[i])) return "myext runs float32 tensors of known rank (up to 8) only";
    }
    if (op == op_matmul) {
        const tsr_backend_value *a = &node->inputs[0], *b = &node->inputs[1];
        if (a->rank < 2 || b->rank != 2) return "myext's MatMul takes A of rank 2 or more and a 2-D B";
        int64_t ka = a->dims[a->rank - 1], kb = b->dims[0];
        if (ka >= 0 && kb >= 0 && ka != kb) return "MatMul's inner dims differ";
    }
    return NULL;
}

static tsr_status compile(void *device, const tsr_backend_node *node, void **out) {
    (void)device;
    compiled *self = calloc(1, sizeof *self);
    if (!self) return fail(TSR_OUT_OF_RESOURCE, "myext: out of memory");
    if (!op_of(node, &self->op)) {
        free(self);
        return fail(TSR_NOT_IMPLEMENTED, "myext: not an operator it runs");
    }
    const tsr_backend_value *b = node->input_count > 1 ? &node->inputs[1] : NULL;
    if (self->op == op_matmul && b->constant) {
        self->k = b->dims[0];
        self->n = b->dims[1];
        self->b_transposed = malloc((size_t)(self->k * self->n) * sizeof(float) + 1);
        if (!self->b_transposed) {
            free(self);
            return fail(TSR_OUT_OF_RESOURCE, "myext: out of memory packing MatMul's B");
        }
        const float *source = b->constant;
        for (int64_t r = 0; r < self->k; r++)
            for (int64_t c = 0; c < self->n; c++) self->b_transposed[c * self->k + r] = source[r * self->n + c];
    }
    *out = self;
    return TSR_OK;
}

static void release(void *device, void *handle) {
    (void)device;
    compiled *self = handle;
    free(self->b_transposed);
    free(self);
}

static int64_t count_of(const int64_t *dims, uint32_t rank) {
    int64_t n = 1;
    for (uint32_t i = 0; i < rank; i++) n *= dims[i];
    return n;
}

static tsr_status run_relu(const tsr_backend_tensor *x, tsr_backend_outputs *outputs) {
    void *memory;
    tsr_status status = host->output(outputs, 0, TSR_DTYPE_FLOAT32, x->dims, x->rank, &memory);
    if (status != TSR_OK) return status;
    float *y = memory;
    const float *in = x->data;
    for (int64_t i = 0, n = count_of(x->dims, x->rank); i < n; i++) y[i] = in[i] > 0.0f ? in[i] : 0.0f;
    return TSR_OK;
}

/* Broadcast strides of `t` against an output of rank `rank`: 0 along a dim it repeats. */
static void broadcast_strides(const tsr_backend_tensor *t, uint32_t rank, int64_t *strides) {
    int64_t stride = 1;
    for (uint32_t i = rank; i-- > 0;) {
        int64_t axis = (int64_t)i - (int64_t)(rank - t->rank);
        int64_t dim = axis >= 0 ? t->dims[axis] : 1;
        strides[i] = dim == 1 ? 0 : stride;
        stride *= dim;
    }
}

static tsr_status run_add(const tsr_backend_tensor *a, const tsr_backend_tensor *b, tsr_backend_outputs *outputs) {
    uint32_t rank = a->rank > b->rank ? a->rank : b->rank;
    int64_t dims[max_rank], sa[max_rank], sb[max_rank], index[max_rank] = {0};
    for (uint32_t i = 0; i < rank; i++) {
        int64_t ia = (int64_t)i - (int64_t)(rank - a->rank), ib = (int64_t)i - (int64_t)(rank - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1) return fail(TSR_SHAPE_ERROR, "myext: Add's shapes do not broadcast");
        dims[i] = da == 1 ? db : da;
    }
    broadcast_strides(a, rank, sa);
    broadcast_strides(b, rank, sb);
    void *memory;
    tsr_status status = host->output(outputs, 0, TSR_DTYPE_FLOAT32, dims, rank, &memory);
    if (status != TSR_OK) return status;
    float *y = memory;
    const float *pa = a->data, *pb = b->data;
    int64_t oa = 0, ob = 0;
    for (int64_t i = 0, n = count_of(dims, rank); i < n; i++) {
        y[i] = pa[oa] + pb[ob];
        /* Steps the multi-index like an odometer, moving both offsets with it. */
        for (uint32_t axis = rank; axis-- > 0;) {
            oa += sa[axis];
            ob += sb[axis];
            if (++index[axis] < dims[axis]) break;
            oa -= sa[axis] * dims[axis];
            ob -= sb[axis] * dims[axis];
            index[axis] = 0;
        }
    }
    return TSR_OK;
}

/* Y[..., M, N] = A[..., M, K] · B[K, N], with B read transposed: both operands row by row. */
static tsr_status run_matmul(const compiled *self, const tsr_backend_tensor *a, const tsr_backend_tensor *b,
                             tsr_backend_outputs *outputs) {
    int64_t k = a->dims[a->rank - 1], n = b->dims[1];
    if (b->dims[0] != k) return fail(TSR_SHAPE_ERROR, "myext: MatMul's inner dims differ");
    int64_t dims[max_rank];
    memcpy(dims, a->dims, a->rank * sizeof(int64_t));
    dims[a->rank - 1] = n;
    void *memory;
    tsr_status status = host->output(outputs, 0, TSR_DTYPE_FLOAT32, dims, a->rank, &memory);
    if (status != TSR_OK) return status;
    float *y = memory;
    float *transposed = self->b_transposed;
    if (!transposed) {
        transposed = malloc((size_t)(k * n) * sizeof(float) + 1);
        if (!transposed) return fail(TSR_OUT_OF_RESOURCE, "myext: out of memory transposing MatMul's B");
        const float *source = b->data;
        for (int64_t r = 0; r < k; r++)
            for (int64_t c = 0; c < n; c++) transposed[c * k + r] = source[r * n + c];
    }
    const float *pa = a->data;
    for (int64_t row = 0, rows = count_of(a->dims, a->rank) / (k ? k : 1); row < rows; row++) {
        for (int64_t c = 0; c < n; c++) {
            float sum = 0.0f;
            for (int64_t i = 0; i < k; i++) sum += pa[row * k + i] * transposed[c * k + i];
            y[row * n + c] = sum;
        }
    }
    if (transposed != self->b_transposed) free(transposed);
    return TSR_OK;
}

static tsr_status run(void *device, void *handle, const tsr_backend_tensor *inputs, uint32_t input_count,
                      tsr_backend_outputs *outputs) {
    (void)device;
    const compiled *self = handle;
    if (input_count < (self->op == op_relu ? 1u : 2u)) return fail(TSR_INVALID_ARGUMENT, "myext: an input is missing");
    switch (self->op) {
    case op_relu: return run_relu(&inputs[0], outputs);
    case op_add: return run_add(&inputs[0], &inputs[1], outputs);
    case op_matmul: return run_matmul(self, &inputs[0], &inputs[1], outputs);
    }
    return fail(TSR_NOT_IMPLEMENTED, "myext: unknown compiled node");
}

static const tsr_backend backend = {
    .abi_version = TSR_BACKEND_ABI_VERSION,
    .size = sizeof(tsr_backend),
    .name = "myext",
    .description = "example extension: float32 Relu, Add and MatMul in plain C",
    .device_kind = TSR_DEVICE_KIND_OTHER,
    /* Runs keep no state between calls: requests may run side by side. */
    .flags = TSR_BACKEND_THREAD_SAFE,
    .supports = supports,
    .compile = compile,
    .release = release,
    .run = run,
};

TSR_BACKEND_EXPORT tsr_status tessera_backend_register(const tsr_backend_host *given, const tsr_backend **out) {
    if (given->abi_version != TSR_BACKEND_ABI_VERSION) return TSR_EXTENSION_ERROR;
    host = given;
    *out = &backend;
    return TSR_OK;
}
