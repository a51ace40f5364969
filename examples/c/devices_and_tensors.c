/* A C program using libtessera through tessera.h: devices, a tensor saved and loaded, an error.
 * Build: scripts/zig cc -Ilibruntime/include examples/c/devices_and_tensors.c
 *          -Llibruntime/zig-out/lib -ltessera -Wl,-rpath,libruntime/zig-out/lib -o devices_and_tensors
 * Run:   ./devices_and_tensors /tmp/example.tsr */
#include <stdio.h>
#include <string.h>
#include <tessera.h>

static int fail(const char *what) {
    fprintf(stderr, "%s failed: %s\n", what, tsr_last_error());
    return 1;
}

static int list_devices(void) {
    uint32_t count = 0;
    if (tsr_device_count(&count) != TSR_OK) return fail("tsr_device_count");
    for (uint32_t i = 0; i < count; i++) {
        tsr_device *device = NULL;
        const char *id = NULL, *name = NULL;
        uint64_t kind = 0;
        if (tsr_device_get(i, &device) != TSR_OK) return fail("tsr_device_get");
        tsr_device_get_string(device, TSR_DEVICE_ID, &id);
        tsr_device_get_string(device, TSR_DEVICE_NAME, &name);
        tsr_device_get_u64(device, TSR_DEVICE_KIND, &kind);
        printf("device %s kind=%llu name=%s\n", id, (unsigned long long)kind, name);
    }
    return 0;
}

static int round_trip(const char *path) {
    const int64_t shape[2] = {2, 3};
    tsr_tensor *tensor = NULL, *loaded = NULL;
    const float value = 0.5f;
    if (tsr_tensor_create(TSR_DTYPE_FLOAT32, shape, 2, &tensor) != TSR_OK) return fail("create");
    if (tsr_tensor_fill(tensor, &value, sizeof value) != TSR_OK) return fail("fill");
    if (tsr_tensor_save(tensor, path) != TSR_OK) return fail("save");
    if (tsr_tensor_load(path, &loaded) != TSR_OK) return fail("load");
    float *data = NULL;
    uint64_t bytes = 0;
    tsr_tensor_data(loaded, (void **)&data);
    tsr_tensor_byte_size(loaded, &bytes);
    printf("loaded %llu bytes, last element %.2f\n", (unsigned long long)bytes, data[5]);
    tsr_tensor_destroy(loaded);
    tsr_tensor_destroy(tensor);
    tsr_tensor_destroy(NULL); /* a no-op, by contract */
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s <scratch.tsr>\n", argv[0]);
        return 2;
    }
    if (tsr_abi_version() != TSR_ABI_VERSION) {
        fprintf(stderr, "ABI mismatch: library %u, header %d\n", tsr_abi_version(), TSR_ABI_VERSION);
        return 1;
    }
    if (tsr_initialize() != TSR_OK) return fail("tsr_initialize");
    printf("tessera %s\n", tsr_version());
    if (list_devices() != 0 || round_trip(argv[1]) != 0) return 1;
    const int64_t bad_shape[1] = {-4};
    tsr_tensor *tensor = NULL;
    tsr_status status = tsr_tensor_create(TSR_DTYPE_FLOAT32, bad_shape, 1, &tensor);
    printf("negative dim: status %d (%s)\n", status, tsr_last_error());
    return tsr_finalize() == TSR_OK ? 0 : fail("tsr_finalize");
}
