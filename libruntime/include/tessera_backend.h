/*
 * tessera_backend.h: the C ABI of backend extensions, shared libraries that add a device to
 * Tessera. A program loads one with tsr_extension_load (tessera.h) or rt.loadExtension; the
 * device it adds ("name:0") is then accepted by the `devices` load option, the partitioner puts
 * every node it supports on it, and the CPU runs the rest. docs/extensions.md walks through it,
 * and examples/extension/ is a complete one.
 *
 * The library exports one function, TSR_BACKEND_ENTRY_POINT:
 *
 *     TSR_BACKEND_EXPORT tsr_status tessera_backend_register(const tsr_backend_host *host,
 *                                                           const tsr_backend **backend);
 *
 * It keeps `host` (valid while the library stays loaded), points *backend at its vtable (which
 * must stay valid, unchanged, until the library is closed) and returns TSR_OK. Tessera then
 * checks the vtable's abi_version and size, copies it, and never calls the entry point again.
 *
 * The contract is split by lifetime, as Tessera's own backends are:
 *  - the backend, for the process: its name, kind, flags and functions (tsr_backend);
 *  - a device, opened for each model that names it (`open`, `close`);
 *  - a compiled node, made once at load (`compile`) and kept until the model is destroyed
 *    (`release`);
 *  - a run of one compiled node on host memory (`run`).
 * This version computes in host memory: inputs and outputs are the runtime's own buffers, and a
 * device that keeps values in memory of its own (a GPU's) is not part of it yet.
 *
 * Rules every function follows:
 *  - a fallible function returns a tsr_status: TSR_OK, or a negative TSR_* from tessera.h, having
 *    called host->set_error with a message first. Tessera reports it as that kind of error on the
 *    load or the request that made the call, prefixed with the device and the node; an unknown
 *    code becomes TSR_EXTENSION_ERROR. The model, the request and the process stay usable;
 *  - everything Tessera passes in (nodes, tensors, dims, names) is valid only during the call,
 *    except constant inputs' bytes, which stay valid until the compiled node is released;
 *  - without TSR_BACKEND_THREAD_SAFE in `flags`, Tessera calls the extension's functions one at a
 *    time, whatever the models and threads. With it, any may be called from several threads at
 *    once (requests run side by side), `run` on the same compiled node too;
 *  - a crash or a write out of bounds inside the library cannot be caught: it is the process's.
 *
 * C99; only <stdint.h> and tessera.h's status, dtype and device-kind constants.
 */
#ifndef TESSERA_BACKEND_H
#define TESSERA_BACKEND_H

#include <stdint.h>
#include "tessera.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define TSR_BACKEND_EXPORT __declspec(dllexport)
#else
#define TSR_BACKEND_EXPORT __attribute__((visibility("default")))
#endif

/* Bumped on any incompatible change to this file; a library built for another version is refused
 * at load. Fields added at the end of a struct keep the version and grow its size. */
#define TSR_BACKEND_ABI_VERSION 1
/* The one symbol an extension exports. */
#define TSR_BACKEND_ENTRY_POINT "tessera_backend_register"

/* tsr_backend.flags */
enum {
    /* Its functions may be called concurrently, from several threads (see above). */
    TSR_BACKEND_THREAD_SAFE = 1 << 0,
};

/* A value a node reads or writes, as shape inference settled it at load. */
typedef struct tsr_backend_value {
    int32_t kind;           /* TSR_KIND_* (tensor, sequence, ...); -1: an omitted optional one */
    int32_t dtype;          /* TSR_DTYPE_*; 0 when unknown */
    int32_t rank;           /* -1 when unknown */
    const int64_t *dims;    /* `rank` dims; -1 for one known only at run time (symbolic) */
    /* A constant (an initializer, or folded at load): its elements, little-endian, packed types
     * packed, as a run passes them; NULL otherwise. Valid until the compiled node is released. */
    const void *constant;
    uint64_t constant_bytes;
} tsr_backend_value;

/* The node asked about (`supports`) or compiled (`compile`). Read its attributes through the
 * host's attribute_* functions. */
typedef struct tsr_backend_node {
    uint32_t size;           /* sizeof(tsr_backend_node) as Tessera built it */
    uint32_t reserved;
    const char *name;        /* may be "" */
    const char *op_type;     /* "MatMul" */
    const char *domain;      /* "" for ai.onnx, else "ai.onnx.ml", "com.example", ... */
    int64_t opset;           /* the opset version of `domain` that the model imports */
    uint32_t input_count;
    uint32_t output_count;
    const tsr_backend_value *inputs;
    const tsr_backend_value *outputs;
} tsr_backend_node;

/* A tensor of a run, in host memory. Inputs are read-only. */
typedef struct tsr_backend_tensor {
    int32_t dtype;           /* TSR_DTYPE_*; 0 for an omitted optional input (data NULL) */
    uint32_t rank;
    const int64_t *dims;
    const void *data;        /* elements, little-endian, aligned to their size; NULL when empty */
    uint64_t bytes;
} tsr_backend_tensor;

/* Tessera's side of one run's outputs, handed to host->output. */
typedef struct tsr_backend_outputs tsr_backend_outputs;

/* What Tessera offers the extension; given to the entry point, valid while the library is loaded. */
typedef struct tsr_backend_host {
    uint32_t abi_version;    /* TSR_BACKEND_ABI_VERSION of the runtime */
    uint32_t size;           /* sizeof(tsr_backend_host) of the runtime */
    /* The message of the failure the calling function is about to return (copied; the calling
     * thread's). */
    void (*set_error)(const char *message);
    /* Logs through Tessera's sinks (TSR_LOG_* level). */
    void (*log)(int32_t level, const char *message);
    /* Node attributes by name. Each returns 1 and sets the out-values when the node has the
     * attribute with that type, 0 when it has none by that name, and TSR_TYPE_ERROR (negative)
     * when it has one of another type. Lists and strings are valid during the call. */
    int32_t (*attribute_int)(const tsr_backend_node *node, const char *name, int64_t *value);
    int32_t (*attribute_float)(const tsr_backend_node *node, const char *name, float *value);
    int32_t (*attribute_string)(const tsr_backend_node *node, const char *name, const char **bytes,
                                uint64_t *length);
    int32_t (*attribute_ints)(const tsr_backend_node *node, const char *name, const int64_t **values,
                              uint64_t *count);
    int32_t (*attribute_floats)(const tsr_backend_node *node, const char *name, const float **values,
                                uint64_t *count);
    /* Output `index` of the running node: `rank` dims of element type `dtype`. *data gets its
     * memory (64-byte aligned, uninitialized, `bytes` the size tsr_dtype_byte_size gives), owned by
     * Tessera and valid until `run` returns. Checked against what shape inference gave the output at
     * load (type, rank, every dim it fixed): a mismatch returns TSR_SHAPE_ERROR, and the run then
     * fails with TSR_EXTENSION_ERROR whatever `run` returns. Each output is asked for once. */
    tsr_status (*output)(tsr_backend_outputs *outputs, uint32_t index, int32_t dtype, const int64_t *dims,
                         uint32_t rank, void **data);
} tsr_backend_host;

/* The backend's vtable. Functions marked optional may be NULL. */
typedef struct tsr_backend {
    uint32_t abi_version;    /* TSR_BACKEND_ABI_VERSION the extension was built with */
    uint32_t size;           /* sizeof(tsr_backend) as it was built */
    /* The device kind, [a-z][a-z0-9_]* up to 31 characters, not cpu, vulkan or auto: the device is
     * "<name>:0", and no two loaded extensions share a name. */
    const char *name;
    const char *description; /* one line for people; may be NULL */
    int32_t device_kind;     /* TSR_DEVICE_KIND_* */
    uint32_t flags;          /* TSR_BACKEND_* */
    /* Optional: opens the device for one model; *device is passed to every call for that model
     * (NULL when `open` is NULL). */
    tsr_status (*open)(void **device);
    /* Optional: the model is destroyed; every compiled node was released first. */
    void (*close)(void *device);
    /* NULL when the device runs `node`; otherwise why not, in words (valid until the next call on
     * this device). Tessera only asks about nodes whose inputs and outputs are all numeric tensors. */
    const char *(*supports)(void *device, const tsr_backend_node *node);
    /* Prepares a node `supports` accepted; *compiled (not NULL) is handed to `run` and `release`. */
    tsr_status (*compile)(void *device, const tsr_backend_node *node, void **compiled);
    /* Optional: frees what `compile` made, when the model is destroyed. */
    void (*release)(void *device, void *compiled);
    /* Runs a compiled node: `inputs` in the node's order (input_count as at compile), outputs
     * through host->output. Returning TSR_OK means every output was made and written. */
    tsr_status (*run)(void *device, void *compiled, const tsr_backend_tensor *inputs, uint32_t input_count,
                      tsr_backend_outputs *outputs);
    /* Optional: called once, after the last device was closed and before the library is unloaded. */
    void (*unload)(void);
} tsr_backend;

/* The entry point's type. */
typedef tsr_status (*tsr_backend_register_fn)(const tsr_backend_host *host, const tsr_backend **backend);

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_BACKEND_H */
