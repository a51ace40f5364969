/* Encrypts a model into a container and loads it back with its passphrase (docs/encrypted-models.md).
 * The passphrase comes from the environment, never from the command line, where `ps` shows it.
 * Build like devices_and_tensors.c; run: TESSERA_PASSPHRASE=... ./encrypted_model model.onnx out.tsrc */
#include <stdio.h>
#include <stdlib.h>
#include <tessera.h>

/* Loads `path` with `passphrase` (NULL: none) and prints its input count, or the error. */
static tsr_status load(const char *path, const char *passphrase) {
    tsr_options *options = NULL;
    tsr_model *model = NULL;
    tsr_options_create(&options);
    tsr_status status = passphrase ? tsr_options_set(options, "passphrase", passphrase) : TSR_OK;
    if (status == TSR_OK) status = tsr_model_load(path, options, &model);
    tsr_options_destroy(options);
    if (status != TSR_OK) {
        printf("load: status %d (%s)\n", status, tsr_last_error());
        return status;
    }
    int64_t inputs = 0;
    tsr_model_get_i64(model, TSR_MODEL_INPUT_COUNT, &inputs);
    printf("loaded: %lld input(s)\n", (long long)inputs);
    tsr_model_destroy(model);
    return TSR_OK;
}

int main(int argc, char **argv) {
    const char *passphrase = getenv("TESSERA_PASSPHRASE");
    if (argc < 3 || passphrase == NULL) {
        fprintf(stderr, "usage: TESSERA_PASSPHRASE=... %s model.onnx out.tsrc\n", argv[0]);
        return 2;
    }
    if (tsr_initialize() != TSR_OK) return 1;
    /* The cheapest Argon2id costs (64 KiB, one pass) keep this quick; 0, 0 gives the defaults. */
    tsr_status status = tsr_model_encrypt(argv[1], NULL, 0, passphrase, 64, 1, argv[2]);
    if (status != TSR_OK) {
        printf("encrypt: status %d (%s)\n", status, tsr_last_error());
        tsr_finalize();
        return 1;
    }
    int ok = load(argv[2], passphrase) == TSR_OK;
    ok = ok && load(argv[2], "not the passphrase") == TSR_CONTAINER_ERROR;
    ok = ok && load(argv[2], NULL) == TSR_CONTAINER_ERROR;
    return tsr_finalize() == TSR_OK && ok ? 0 : 1;
}
