/*
 * tessera.h: the C ABI of libtessera, an inference runtime.
 *
 * One grammar throughout:
 *  - functions are tsr_<object>_<verb> and work on opaque handles;
 *  - every fallible call returns a tsr_status (int32_t): 0 is TSR_OK, negative is the kind of
 *    error, and tsr_last_error() gives this thread's message for the last failure;
 *  - tsr_<object>_destroy(NULL) is a no-op, and so is destroying a handle twice;
 *  - no varargs and no structs by value (Bun's FFI cannot call them); results come back through
 *    out-pointers; lengths and counts are 32-bit where they fit;
 *  - strings handed out are owned by the library and stay valid as documented per call.
 *
 * A unit test (libruntime/src/api/header_check.zig) proves that every prototype and constant here
 * matches the Zig exports, so this file and the library cannot drift apart.
 */
#ifndef TESSERA_H
#define TESSERA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define TSR_API /* the DLL exports every tsr_ function; no import attribute is needed to call them */
#else
#define TSR_API __attribute__((visibility("default")))
#endif

/* Bumped on any incompatible change; compare with tsr_abi_version() at load time. */
#define TSR_ABI_VERSION 1

typedef struct tsr_tensor tsr_tensor;
typedef struct tsr_device tsr_device;
typedef struct tsr_options tsr_options;
typedef struct tsr_model tsr_model;
typedef struct tsr_tensor_info tsr_tensor_info;
typedef struct tsr_job tsr_job;
typedef struct tsr_request tsr_request;
typedef struct tsr_extension tsr_extension;

/* ---- status codes ------------------------------------------------------------------------- */
typedef int32_t tsr_status;
enum {
    TSR_OK = 0,
    TSR_INVALID_ARGUMENT = -1,
    TSR_INVALID_STATE = -2,
    TSR_INVALID_OPERATION = -3,
    TSR_TYPE_ERROR = -4,
    TSR_SHAPE_ERROR = -5,
    TSR_EXTENSION_ERROR = -6,
    TSR_DEVICE_ERROR = -7,
    TSR_MODEL_ERROR = -8,
    TSR_REQUEST_ERROR = -9,
    TSR_INFER_ERROR = -10,
    TSR_OUT_OF_RESOURCE = -11,
    TSR_CONTAINER_ERROR = -12,
    TSR_REMOTE_ERROR = -13,
    TSR_IO_ERROR = -14,
    TSR_NETWORK_ERROR = -15,
    TSR_OS_ERROR = -16,
    TSR_NOT_IMPLEMENTED = -17,
    TSR_TIMEOUT = -18, /* a request's deadline passed; the nodes not yet started were skipped */
};

/* ---- version, build, errors, lifetime ---------------------------------------------------- */
enum { TSR_BUILD_VERSION = 0, TSR_BUILD_ZIG_VERSION = 1, TSR_BUILD_OPTIMIZE = 2, TSR_BUILD_TARGET = 3 };

TSR_API uint32_t tsr_abi_version(void);
/* "major.minor.patch"; static. */
TSR_API const char *tsr_version(void);
/* A static string for a TSR_BUILD_* key. */
TSR_API tsr_status tsr_build_get_string(int32_t key, const char **value);
/* The calling thread's message for its last failed call; valid until its next failed call. */
TSR_API const char *tsr_last_error(void);

/* Reference-counted: each successful tsr_initialize needs one tsr_finalize. The first initialize
 * reads TESSERA_LOG and TESSERA_LOGFILE and discovers devices, unless TESSERA_DEFER_INIT=1 defers
 * discovery to the first device query. The last finalize fails with TSR_INVALID_STATE, and keeps
 * the library initialized, while tensors are alive. Finalizing when not initialized is a no-op. */
TSR_API tsr_status tsr_initialize(void);
TSR_API tsr_status tsr_finalize(void);
TSR_API uint32_t tsr_is_initialized(void);

enum { TSR_STATS_LIVE_BYTES = 0, TSR_STATS_PEAK_BYTES = 1, TSR_STATS_ALLOCATIONS = 2, TSR_STATS_LIVE_TENSORS = 3,
       TSR_STATS_LIVE_MODELS = 4 };
/* The library's own allocations and live objects, for leak checks. */
TSR_API tsr_status tsr_stats_get(int32_t key, uint64_t *value);

/* ---- logging ------------------------------------------------------------------------------- */
enum { TSR_LOG_TRACE = 0, TSR_LOG_DEBUG = 1, TSR_LOG_INFO = 2, TSR_LOG_WARN = 3, TSR_LOG_ERR = 4, TSR_LOG_OFF = 5 };

/* `message` is valid only during the call. Called only on the thread that installed the callback
 * (hosts such as Bun and Deno cannot be entered from other threads); messages logged on other
 * threads go to the console and file sinks only. */
typedef void (*tsr_log_fn)(int32_t level, const char *message, void *user);

TSR_API tsr_status tsr_log_set_level(int32_t level);
TSR_API int32_t tsr_log_get_level(void);
/* Console output goes to stderr; on by default. */
TSR_API tsr_status tsr_log_set_console(uint32_t enabled);
/* Appends to `path`; NULL closes the file sink. */
TSR_API tsr_status tsr_log_set_file(const char *path);
/* NULL removes the callback; returns once no thread is inside the previous one. */
TSR_API tsr_status tsr_log_set_callback(tsr_log_fn callback, void *user);
/* Sends a message through the sinks, for hosts that log through Tessera. */
TSR_API tsr_status tsr_log_write(int32_t level, const char *message);

/* ---- host and devices ---------------------------------------------------------------------- */
enum { TSR_HOST_ID = 0, TSR_HOST_NAME = 1, TSR_HOST_ARCH = 2, TSR_HOST_OS = 3 };
/* Strings stay valid until the last tsr_finalize. */
TSR_API tsr_status tsr_host_get_string(int32_t key, const char **value);

enum { TSR_PLATFORM_CPU = 0, TSR_PLATFORM_VULKAN = 1 };
enum {
    TSR_DEVICE_KIND_CPU = 0,
    TSR_DEVICE_KIND_INTEGRATED_GPU = 1,
    TSR_DEVICE_KIND_DISCRETE_GPU = 2,
    TSR_DEVICE_KIND_VIRTUAL_GPU = 3,
    TSR_DEVICE_KIND_SOFTWARE = 4, /* a CPU implementation of a GPU API, such as lavapipe */
    TSR_DEVICE_KIND_OTHER = 5,
};
/* Keys of tsr_device_get_u64. */
enum {
    TSR_DEVICE_PLATFORM = 0,
    TSR_DEVICE_KIND = 1,
    TSR_DEVICE_INDEX = 2,
    TSR_DEVICE_FEATURES = 3, /* CPU: TSR_CPU_* bits */
    TSR_DEVICE_CORES = 4,
    TSR_DEVICE_THREADS = 5,
    TSR_DEVICE_CACHE_L1D_BYTES = 6,
    TSR_DEVICE_CACHE_L2_BYTES = 7,
    TSR_DEVICE_CACHE_L3_BYTES = 8,
    TSR_DEVICE_MEMORY_BYTES = 9, /* CPU: system memory; GPU: device-local heaps */
    TSR_DEVICE_VENDOR_ID = 10,
    TSR_DEVICE_DEVICE_ID = 11,
    TSR_DEVICE_API_VERSION = 12,
    TSR_DEVICE_DRIVER_VERSION = 13,
    TSR_DEVICE_SUBGROUP_SIZE = 14,
    TSR_DEVICE_FP16 = 15,
    TSR_DEVICE_INT8 = 16,
    TSR_DEVICE_HEAP_COUNT = 17,
    TSR_DEVICE_MEMORY_USED_BYTES = 18, /* what this library holds there; CPU: TSR_STATS_LIVE_BYTES */
};
/* Keys of tsr_device_get_string. */
enum {
    TSR_DEVICE_ID = 0,
    TSR_DEVICE_NAME = 1,
    TSR_DEVICE_VENDOR = 2,
    TSR_DEVICE_DRIVER = 3,
    /* CPU: the instruction-set level whose kernels run ("baseline", "avx2", "avx512"), chosen once
     * per process from the CPU's features and capped by the environment's TESSERA_CPU_LEVEL. */
    TSR_DEVICE_CPU_LEVEL = 4,
    /* CPU: the kernels that level chose, and why the level is what it is (free text). */
    TSR_DEVICE_KERNELS = 5,
};
/* CPU features detected at run time (TSR_DEVICE_FEATURES). */
enum {
    TSR_CPU_SSE41 = 1 << 0,
    TSR_CPU_AVX = 1 << 1,
    TSR_CPU_AVX2 = 1 << 2,
    TSR_CPU_FMA = 1 << 3,
    TSR_CPU_F16C = 1 << 4,
    TSR_CPU_AVX512F = 1 << 5,
    TSR_CPU_AVX512BW = 1 << 6,
    TSR_CPU_AVX512VL = 1 << 7,
    TSR_CPU_AVX512DQ = 1 << 8,
    TSR_CPU_AVX512VNNI = 1 << 9,
    TSR_CPU_AVX_VNNI = 1 << 10,
    TSR_CPU_AVX512BF16 = 1 << 11,
    TSR_CPU_AVX512CD = 1 << 12,
    TSR_CPU_BMI1 = 1 << 13,
    TSR_CPU_BMI2 = 1 << 14,
    TSR_CPU_LZCNT = 1 << 15,
    TSR_CPU_NEON = 1 << 16,
    TSR_CPU_ARM_DOTPROD = 1 << 17,
    TSR_CPU_ARM_FP16 = 1 << 18,
    TSR_CPU_ARM_I8MM = 1 << 19,
    TSR_CPU_MOVBE = 1 << 20,
};

/* Device 0 is the CPU; Vulkan devices follow. Handles are borrowed until the last finalize. */
TSR_API tsr_status tsr_device_count(uint32_t *count);
TSR_API tsr_status tsr_device_get(uint32_t index, tsr_device **device);
TSR_API tsr_status tsr_device_get_u64(const tsr_device *device, int32_t key, uint64_t *value);
TSR_API tsr_status tsr_device_get_string(const tsr_device *device, int32_t key, const char **value);
/* Vulkan memory heap `index`: its size and VkMemoryHeapFlags. */
TSR_API tsr_status tsr_device_get_heap(const tsr_device *device, uint32_t index, uint64_t *size_bytes,
                                       uint32_t *flags);

/* ---- element types and tensors ------------------------------------------------------------ */
/* 1..26 are ONNX's TensorProto.DataType values; 100 and up are Tessera's own. */
enum {
    TSR_DTYPE_FLOAT32 = 1,
    TSR_DTYPE_UINT8 = 2,
    TSR_DTYPE_INT8 = 3,
    TSR_DTYPE_UINT16 = 4,
    TSR_DTYPE_INT16 = 5,
    TSR_DTYPE_INT32 = 6,
    TSR_DTYPE_INT64 = 7,
    TSR_DTYPE_STRING = 8,
    TSR_DTYPE_BOOL = 9,
    TSR_DTYPE_FLOAT16 = 10,
    TSR_DTYPE_FLOAT64 = 11,
    TSR_DTYPE_UINT32 = 12,
    TSR_DTYPE_UINT64 = 13,
    TSR_DTYPE_COMPLEX64 = 14,
    TSR_DTYPE_COMPLEX128 = 15,
    TSR_DTYPE_BFLOAT16 = 16,
    TSR_DTYPE_FLOAT8E4M3FN = 17,
    TSR_DTYPE_FLOAT8E4M3FNUZ = 18,
    TSR_DTYPE_FLOAT8E5M2 = 19,
    TSR_DTYPE_FLOAT8E5M2FNUZ = 20,
    TSR_DTYPE_UINT4 = 21,
    TSR_DTYPE_INT4 = 22,
    TSR_DTYPE_FLOAT4E2M1 = 23,
    TSR_DTYPE_FLOAT8E8M0 = 24,
    TSR_DTYPE_UINT2 = 25,
    TSR_DTYPE_INT2 = 26,
    TSR_DTYPE_TFLOAT32 = 100, /* stored as float32; kernels may compute with a 10-bit mantissa */
    TSR_DTYPE_UINT1 = 101,    /* packed bits, the first element in the lowest bit */
    TSR_DTYPE_QINT8 = 102,    /* quantized types carry a scale and a zero point */
    TSR_DTYPE_QUINT8 = 103,
    TSR_DTYPE_QINT16 = 104,
    TSR_DTYPE_QUINT16 = 105,
    TSR_DTYPE_QINT32 = 106,
    TSR_DTYPE_QINT4 = 107,
    TSR_DTYPE_QUINT4 = 108,
};

/* Bits per element (string elements are a 16-byte pointer and length). */
TSR_API tsr_status tsr_dtype_bits(int32_t dtype, uint32_t *bits);
/* Validates dtype and shape, and gives the bytes a tensor of them needs (packed types round up). */
TSR_API tsr_status tsr_dtype_byte_size(int32_t dtype, const int64_t *shape, uint32_t rank,
                                       uint64_t *byte_size);

/* A tensor with fresh memory, 64-byte aligned and uninitialized (string elements start empty).
 * Needs an initialized library. */
TSR_API tsr_status tsr_tensor_create(int32_t dtype, const int64_t *shape, uint32_t rank,
                                     tsr_tensor **tensor);
/* A tensor over the caller's memory, without copying; the memory must outlive the tensor and be
 * aligned to the element size (at most 8). Fails with TSR_INVALID_ARGUMENT if it is too small. */
TSR_API tsr_status tsr_tensor_wrap(int32_t dtype, const int64_t *shape, uint32_t rank, void *data,
                                   uint64_t byte_length, tsr_tensor **tensor);
TSR_API void tsr_tensor_destroy(tsr_tensor *tensor);

TSR_API tsr_status tsr_tensor_dtype(const tsr_tensor *tensor, int32_t *dtype);
TSR_API tsr_status tsr_tensor_rank(const tsr_tensor *tensor, uint32_t *rank);
/* Copies the dims into `dims`, which holds `capacity` entries (at least the rank). */
TSR_API tsr_status tsr_tensor_shape(const tsr_tensor *tensor, int64_t *dims, uint32_t capacity);
/* NULL for an empty tensor. */
TSR_API tsr_status tsr_tensor_data(const tsr_tensor *tensor, void **data);
TSR_API tsr_status tsr_tensor_byte_size(const tsr_tensor *tensor, uint64_t *byte_size);
/* Sets every element to one element's bytes: packed types take one byte with the element in its
 * low bits; string tensors take the UTF-8 bytes. */
TSR_API tsr_status tsr_tensor_fill(tsr_tensor *tensor, const void *value, uint32_t value_size);
TSR_API tsr_status tsr_tensor_set_string(tsr_tensor *tensor, uint32_t index, const void *bytes,
                                         uint32_t len);
/* The bytes stay valid until the element is set again or the tensor is destroyed. */
TSR_API tsr_status tsr_tensor_get_string(tsr_tensor *tensor, uint32_t index, const void **bytes,
                                         uint32_t *len);
TSR_API tsr_status tsr_tensor_set_quantization(tsr_tensor *tensor, float scale, int32_t zero_point);
TSR_API tsr_status tsr_tensor_get_quantization(const tsr_tensor *tensor, float *scale,
                                               int32_t *zero_point);
/* The tensor file format is described in docs/tensor-file-format.md. A truncated, foreign or
 * corrupted file fails with TSR_CONTAINER_ERROR. */
TSR_API tsr_status tsr_tensor_save(tsr_tensor *tensor, const char *path);
TSR_API tsr_status tsr_tensor_load(const char *path, tsr_tensor **tensor);
/* A tensor from a serialized ONNX TensorProto (the .pb files of ONNX test data). */
TSR_API tsr_status tsr_tensor_from_onnx(const void *bytes, uint64_t byte_length, tsr_tensor **tensor);

/* ---- load options --------------------------------------------------------------------------- */
/* Keys and values are text: devices ("cpu", "auto", "vulkan:N", a loaded extension's "name:0"),
 * strict, memory_optimization, disable_denormals (true/false), intermediate_save_path, threads
 * (0 = automatic), cores ("0,1"), scheduler (simple, exclusive; pipeline is TSR_NOT_IMPLEMENTED),
 * profiling (true/false: requests record profile events), profile_buffer_size (events per
 * request's ring, default 65536), input_shapes (inputs' shapes fixed before shape inference and
 * memory planning, as tsr_model_infer_shape takes them: "x=8,3,224,224;#1=N,4"; checked against
 * the model when it loads), passphrase (opens an encrypted container; it cannot be read back, and is
 * zeroed when the options are destroyed), cache_dir (the compiled-model cache's folder,
 * docs/model-cache.md; unset: TESSERA_CACHE_DIR's; empty: no cache). Each is validated when set;
 * an unknown key is refused. */
TSR_API tsr_status tsr_options_create(tsr_options **options);
TSR_API void tsr_options_destroy(tsr_options *options);
TSR_API tsr_status tsr_options_set(tsr_options *options, const char *key, const char *value);
/* Also keys of tsr_options_set: performance_hint (latency, throughput or none) and num_requests
 * (1..4096, the requests the caller keeps in flight): see tsr_model_get_config. */

/* Load progress: loads made with these options call `callback` on the loading thread (a worker
 * for tsr_model_load_async) as each stage advances. Within a stage `fraction` (0..1) only grows; a
 * stage opens with 0 and closes with 1, and in between a call comes when the fraction grew by a
 * percent or 20 ms passed. A nonzero return cancels the load: it fails with TSR_INVALID_OPERATION.
 * NULL removes the callback. */
enum {
    TSR_LOAD_STAGE_READ = 0,      /* opening the file or folder, decrypting a container */
    TSR_LOAD_STAGE_DECODE = 1,    /* the ONNX protobuf */
    TSR_LOAD_STAGE_IMPORT = 2,    /* the IR: functions inlined, nodes in topological order */
    TSR_LOAD_STAGE_INFER = 3,     /* types and symbolic shapes */
    TSR_LOAD_STAGE_FUSE = 4,      /* chains the CPU kernels run as one */
    TSR_LOAD_STAGE_FOLD = 5,      /* constant folding, dead-node removal */
    TSR_LOAD_STAGE_COMPILE = 6,   /* each node placed on a device and compiled (weights packed) */
};
typedef int32_t (*tsr_progress_fn)(int32_t stage, double fraction, void *user);
TSR_API tsr_status tsr_options_set_progress(tsr_options *options, tsr_progress_fn callback, void *user);

/* ---- models ---------------------------------------------------------------------------------- */
/* `path` is a .onnx file or a model folder (model.onnx, external-data files, tessera.json).
 * Files are memory-mapped; external data must stay inside the model's folder. `options` may be
 * NULL. A malformed model fails with TSR_MODEL_ERROR, TSR_CONTAINER_ERROR or TSR_SHAPE_ERROR; an
 * operator or opset the runtime lacks with TSR_NOT_IMPLEMENTED, naming it. */
TSR_API tsr_status tsr_model_load(const char *path, const tsr_options *options, tsr_model **model);
/* The bytes are copied; external data cannot be resolved without a folder. */
TSR_API tsr_status tsr_model_load_bytes(const void *bytes, uint64_t byte_length, const tsr_options *options,
                                        tsr_model **model);
/* Loads on a worker thread from `path`, or else from `bytes` (copied before returning). */
TSR_API tsr_status tsr_model_load_async(const char *path, const void *bytes, uint64_t byte_length,
                                        const tsr_options *options, tsr_job **job);
TSR_API void tsr_model_destroy(tsr_model *model);
/* A hot update: the model at `path`, or else in `bytes` (copied), loaded with `model`'s options as
 * a new model that shares with `model` every packed weight made the same way from the same bytes
 * (TSR_MODEL_SHARED_BYTES counts them). Both stay valid, and either may be destroyed first. */
TSR_API tsr_status tsr_model_update(tsr_model *model, const char *path, const void *bytes,
                                    uint64_t byte_length, tsr_model **updated);
/* The same on a worker thread (take the model with tsr_job_take_model); `model` must not be
 * destroyed before the job has finished. */
TSR_API tsr_status tsr_model_update_async(tsr_model *model, const char *path, const void *bytes,
                                          uint64_t byte_length, tsr_job **job);
/* Removes the compiled-model cache's entries (docs/model-cache.md) from `folder`, NULL for
 * TESSERA_CACHE_DIR's, and no other file; `removed` (may be NULL) gets how many went. */
TSR_API tsr_status tsr_cache_clear(const char *folder, uint32_t *removed);

/* ---- encrypted models (docs/encrypted-models.md) ---------------------------------------------- */
/* Writes an encrypted container to `out_path`: the model at `path` (a .onnx file, or a model folder
 * with every file under it: external data, tessera.json), or else `bytes`, encrypted with AES-256-GCM
 * under a key derived from `passphrase` by Argon2id with a random salt (and a random nonce).
 * kdf_memory_kib and kdf_iterations: 0 for the defaults (65536 KiB, 3 passes); otherwise
 * 64..1048576 KiB and 1..10. Load it with the option passphrase: a wrong passphrase or a damaged
 * file fails with TSR_CONTAINER_ERROR, "cannot decrypt the model: wrong passphrase or damaged file". */
TSR_API tsr_status tsr_model_encrypt(const char *path, const void *bytes, uint64_t byte_length,
                                     const char *passphrase, uint32_t kdf_memory_kib,
                                     uint32_t kdf_iterations, const char *out_path);
/* The same on a worker thread; every argument is copied before it returns. */
TSR_API tsr_status tsr_model_encrypt_async(const char *path, const void *bytes, uint64_t byte_length,
                                           const char *passphrase, uint32_t kdf_memory_kib,
                                           uint32_t kdf_iterations, const char *out_path, tsr_job **job);

enum { TSR_MODEL_NAME = 0, TSR_MODEL_PRODUCER_NAME = 1, TSR_MODEL_PRODUCER_VERSION = 2, TSR_MODEL_DOMAIN = 3,
       TSR_MODEL_DOC_STRING = 4 };
enum {
    TSR_MODEL_IR_VERSION = 0,
    TSR_MODEL_MODEL_VERSION = 1,
    TSR_MODEL_OPSET_COUNT = 2,
    TSR_MODEL_METADATA_COUNT = 3,
    TSR_MODEL_INPUT_COUNT = 4,
    TSR_MODEL_OUTPUT_COUNT = 5,
    TSR_MODEL_OPERATION_COUNT = 6,
    TSR_MODEL_IS_DYNAMIC = 7,
    TSR_MODEL_PARAMETER_COUNT = 8,
    TSR_MODEL_COPY_COUNT = 9,
    TSR_MODEL_PARAMETER_BYTES = 10, /* bytes the initializers hold, as stored (packed types packed) */
    TSR_MODEL_PACKED_BYTES = 11,    /* weights this load packed for the GEMM */
    TSR_MODEL_CACHED_BYTES = 12,    /* packed weights mapped from the compiled-model cache instead */
    TSR_MODEL_SHARED_BYTES = 13,    /* packed weights shared with the model a hot update replaced */
};
/* Strings stay valid until the model is destroyed. */
TSR_API tsr_status tsr_model_get_string(const tsr_model *model, int32_t key, const char **value);
TSR_API tsr_status tsr_model_get_i64(const tsr_model *model, int32_t key, int64_t *value);
TSR_API tsr_status tsr_model_opset(const tsr_model *model, uint32_t index, const char **domain, int64_t *version);
TSR_API tsr_status tsr_model_metadata(const tsr_model *model, uint32_t index, const char **key, const char **value);
/* Inputs to feed (initializer-backed inputs are left out) and outputs, in model order. */
TSR_API tsr_status tsr_model_input_name(const tsr_model *model, uint32_t index, const char **name);
TSR_API tsr_status tsr_model_output_name(const tsr_model *model, uint32_t index, const char **name);
TSR_API tsr_status tsr_model_operation(const tsr_model *model, uint32_t index, const char **name, const char **op_type,
                                       const char **domain, const char **device);
/* A value of the main graph that runs copy from one device's memory to another's (where two
 * neighbouring operations sit on devices with different memories): once per run, or once at load
 * for a constant (`at_load` 1). None when every device computes in host memory, as the CPU does. */
TSR_API tsr_status tsr_model_copy(const tsr_model *model, uint32_t index, const char **value, const char **from,
                                  const char **to, int32_t *at_load);
/* Two-call string results: `length` always gets the length; the text (NUL-terminated) is copied
 * when `capacity` allows. Pass NULL and 0 to ask for the length. */
TSR_API tsr_status tsr_model_get_option(const tsr_model *model, const char *key, char *buffer, uint32_t capacity,
                                        uint32_t *length);
/* Information about any value of the main graph; borrowed until the model is destroyed. */
TSR_API tsr_status tsr_model_tensor_info(const tsr_model *model, const char *name, const tsr_tensor_info **info);
/* The shape of `output` given input shapes as text: "name=1,3,224,224;#1=N,4" (an input by name,
 * or by position with #k; dims are numbers or symbolic expressions). Writes "1,1000" or "N,4*N". */
TSR_API tsr_status tsr_model_infer_shape(const tsr_model *model, const char *output, const char *input_shapes,
                                         char *buffer, uint32_t capacity, uint32_t *length);

/* ---- tensor information ---------------------------------------------------------------------- */
enum { TSR_KIND_TENSOR = 0, TSR_KIND_SEQUENCE = 1, TSR_KIND_OPTIONAL = 2, TSR_KIND_MAP = 3,
       TSR_KIND_SPARSE_TENSOR = 4, TSR_KIND_UNKNOWN = 5 };
enum { TSR_QUANT_NONE = 0, TSR_QUANT_PER_TENSOR = 1, TSR_QUANT_PER_CHANNEL = 2 };
enum { TSR_INFO_NAME = 0, TSR_INFO_SHAPE = 1 };
enum {
    TSR_INFO_KIND = 0,
    TSR_INFO_DTYPE = 1,       /* 0 when unknown */
    TSR_INFO_RANK = 2,        /* -1 when unknown */
    TSR_INFO_BYTE_SIZE = 3,   /* -1 when any dim is symbolic */
    TSR_INFO_ALIGNMENT = 4,
    TSR_INFO_PADDING = 5,
    TSR_INFO_IS_CONSTANT = 6,
    TSR_INFO_OPT_OUT = 7,     /* an input the caller may omit: it has a default */
    TSR_INFO_QUANT_KIND = 8,
    TSR_INFO_QUANT_AXIS = 9,
    TSR_INFO_QUANT_COUNT = 10,
    TSR_INFO_VALUE_DTYPE = 11, /* a map (or a sequence or optional of maps): the values' type; TSR_INFO_DTYPE is the key type; 0 otherwise */
};
TSR_API tsr_status tsr_tensor_info_get_string(const tsr_tensor_info *info, int32_t key, const char **value);
TSR_API tsr_status tsr_tensor_info_get_i64(const tsr_tensor_info *info, int32_t key, int64_t *value);
/* Dim `index`: its value (-1 when symbolic) and its text ("224", "batch", "2*N"). */
TSR_API tsr_status tsr_tensor_info_dim(const tsr_tensor_info *info, uint32_t index, int64_t *value, const char **text);
TSR_API tsr_status tsr_tensor_info_quant(const tsr_tensor_info *info, uint32_t index, double *scale,
                                         int64_t *zero_point);

/* ---- jobs -------------------------------------------------------------------------------------- */
/* Called on a worker thread as a job finishes. */
typedef void (*tsr_job_fn)(uint32_t job_id, int32_t status, void *user);

TSR_API tsr_status tsr_job_id(const tsr_job *job, uint32_t *id);
/* Blocks until the job is done or `timeout_us` passes (negative: no limit); `done` says which.
 * With a timeout of 0 it polls, and gives up the CPU once when the job is not done. */
TSR_API tsr_status tsr_job_wait(tsr_job *job, int64_t timeout_us, uint32_t *done);
/* The finished job's own status; TSR_INVALID_STATE while it runs. */
TSR_API tsr_status tsr_job_result(tsr_job *job, int32_t *result);
TSR_API tsr_status tsr_job_error(tsr_job *job, const char **message);
/* Moves the model out of a finished load job; the caller destroys it. */
TSR_API tsr_status tsr_job_take_model(tsr_job *job, tsr_model **model);
/* A job still running is abandoned: its worker frees it, and anything it made, when done. */
TSR_API void tsr_job_destroy(tsr_job *job);
/* Sets the calling thread's completion callback: it is called, on a worker thread, as each job
 * started on this thread finishes (jobs from a thread with no callback of its own go to the one
 * installed last), so each JS thread (a Worker too) gets its own jobs' completions. NULL removes
 * it; returns once no thread is inside the previous one. TSR_OUT_OF_RESOURCE past 256 threads. */
TSR_API tsr_status tsr_jobs_set_callback(tsr_job_fn callback, void *user);
/* Asks a job to stop early: a load fails at its next progress report with TSR_INVALID_OPERATION
 * (the job's result). Other jobs run to their end (stop a request's run with tsr_request_cancel). */
TSR_API tsr_status tsr_job_cancel(tsr_job *job);

/* ---- requests -------------------------------------------------------------------------------- */
enum { TSR_REQUEST_READY = 0, TSR_REQUEST_RUNNING = 1, TSR_REQUEST_FAULT = 2 };
TSR_API tsr_status tsr_request_create(tsr_model *model, tsr_request **request);
TSR_API void tsr_request_destroy(tsr_request *request);
/* Binds `tensor` to input `name` (NULL unbinds). It is read in place when the request runs: keep it
 * alive and unchanged until the run ends. Inputs are checked (type, rank, fixed dims) before any
 * node runs: TSR_TYPE_ERROR, TSR_SHAPE_ERROR, or TSR_INVALID_ARGUMENT for a missing input. */
TSR_API tsr_status tsr_request_set_input(tsr_request *request, const char *name, tsr_tensor *tensor);
/* Runs on the calling thread. */
TSR_API tsr_status tsr_request_run(tsr_request *request);
/* Runs on a worker thread; the job finishes with the run. */
TSR_API tsr_status tsr_request_run_async(tsr_request *request, tsr_job **job);
/* Stops a run between nodes; it then fails with TSR_REQUEST_ERROR. */
TSR_API tsr_status tsr_request_cancel(tsr_request *request);
/* Nodes not started `deadline_us` after a run begins are skipped, and the run fails with
 * TSR_TIMEOUT; 0 means no deadline. */
TSR_API tsr_status tsr_request_set_deadline(tsr_request *request, int64_t deadline_us);
TSR_API tsr_status tsr_request_output_count(const tsr_request *request, uint32_t *count);
/* A new tensor holding output `index` of the last run; the caller destroys it. An output left out
 * by tsr_request_select_outputs gives TSR_INVALID_ARGUMENT. */
TSR_API tsr_status tsr_request_get_output(tsr_request *request, uint32_t index, tsr_tensor **tensor);
/* Binds a sequence or optional input to `count` tensors, read in place when the request runs (keep
 * them alive until the run ends). For an optional input, NULL `elements` means no value; an
 * optional tensor takes one element. Element types are checked here (TSR_TYPE_ERROR). */
TSR_API tsr_status tsr_request_set_input_elements(tsr_request *request, const char *name, tsr_tensor **elements, uint32_t count);
/* What output `index` of the last run is: its kind (TSR_KIND_TENSOR, _SEQUENCE, _OPTIONAL or _MAP),
 * the kind inside (a sequence's elements: TSR_KIND_MAP for a sequence of maps; an optional's value),
 * and its element count: 1 for a tensor, the length of a sequence (or of the sequence in an
 * optional), the entry count of a map (or of the map in an optional), -1 for an optional with no
 * value. */
TSR_API tsr_status tsr_request_output_kind(tsr_request *request, uint32_t index, int32_t *kind, int32_t *inner_kind, int32_t *count);
/* A new tensor holding element `element` of sequence or optional output `index` (maps inside are
 * read with tsr_request_get_output_map). */
TSR_API tsr_status tsr_request_get_output_element(tsr_request *request, uint32_t index, uint32_t element, tsr_tensor **tensor);
/* Maps (ONNX's map(K, V)) cross as two 1-D tensors of one length: the keys (int64 or string, no key
 * twice; TSR_INFO_DTYPE) and the values (TSR_INFO_VALUE_DTYPE). Binds a map input to them, read in
 * place when the request runs (keep them alive until the run ends). Types and shapes are checked
 * here (TSR_TYPE_ERROR, TSR_SHAPE_ERROR); a key given twice fails the run (TSR_INVALID_ARGUMENT). */
TSR_API tsr_status tsr_request_set_input_map(tsr_request *request, const char *name, tsr_tensor *keys, tsr_tensor *values);
/* New tensors holding the keys and values of map output `index` (`element` 0), of map `element` of
 * a sequence of maps, or of an optional's map (`element` 0); the caller destroys both. */
TSR_API tsr_status tsr_request_get_output_map(tsr_request *request, uint32_t index, uint32_t element, tsr_tensor **keys,
                                              tsr_tensor **values);
/* TSR_REQUEST_READY, TSR_REQUEST_RUNNING or TSR_REQUEST_FAULT (the last run failed; the request
 * stays usable). */
TSR_API tsr_status tsr_request_status(const tsr_request *request, int32_t *state);
/* Binds `tensor` to output `name` (NULL unbinds): later runs copy that output into it, after
 * checking its type (TSR_TYPE_ERROR) and shape (TSR_SHAPE_ERROR). */
TSR_API tsr_status tsr_request_set_output(tsr_request *request, const char *name, tsr_tensor *tensor);
/* Later runs compute only the nodes that the newline-separated output `names` need; NULL or ""
 * selects every output. */
TSR_API tsr_status tsr_request_select_outputs(tsr_request *request, const char *names);
/* A new tensor holding value `name` of the last run: an input, an intermediate or an output.
 * TSR_INVALID_STATE for an intermediate whose memory the plan reused (the model was loaded with
 * memory optimization on) or that the selected outputs did not need. */
TSR_API tsr_status tsr_request_get_tensor(tsr_request *request, const char *name, tsr_tensor **tensor);

/* Node observers: later runs call `callback` on the running thread as each node of the model's
 * graph starts (duration_us 0) and ends (its duration), `node` its index in tsr_model_operation's
 * order; after the last node of a run that got that far, TSR_NODE_RUN_END with `node` the count of
 * nodes told. Subgraph nodes are inside their node's span; skipped nodes are not told. A nonzero
 * return from a start or end stops the run, which fails with TSR_REQUEST_ERROR. NULL removes it;
 * TSR_INVALID_STATE while the request runs. Without an observer a run pays one test per node. */
enum { TSR_NODE_START = 0, TSR_NODE_END = 1, TSR_NODE_RUN_END = 2 };
typedef int32_t (*tsr_node_fn)(int32_t event, uint32_t node, double duration_us, void *user);
TSR_API tsr_status tsr_request_set_observer(tsr_request *request, tsr_node_fn callback, void *user);

/* ---- profiling ------------------------------------------------------------------------------- */
/* A profiling request records a begin and an end event per span into a ring buffer: the model's
 * load (model and subgraph init, copied in when profiling starts), request init, each input bound
 * and output copied, each node (layer execute), each thread-pool dispatch (launch, and one device
 * execute per thread that ran part of it), copies, the queue before an async run starts, waits,
 * and each model and subgraph execution. The newest `capacity` events are kept. Models loaded
 * with the option profiling=true (and profile_buffer_size) give every new request a ring. */
enum {
    TSR_EVENT_MODEL_INIT = 0,
    TSR_EVENT_SUBGRAPH_INIT = 1,
    TSR_EVENT_REQUEST_INIT = 2,
    TSR_EVENT_TRANSFER_FROM_INPUT = 3,
    TSR_EVENT_TRANSFER_TO_OUTPUT = 4,
    TSR_EVENT_LAYER_EXECUTE = 5,
    TSR_EVENT_LAUNCH = 6,
    TSR_EVENT_DEVICE_EXECUTE = 7,
    TSR_EVENT_COPY = 8,
    TSR_EVENT_QUEUE = 9,
    TSR_EVENT_WAIT = 10,
    TSR_EVENT_MODEL_EXECUTE = 11,
    TSR_EVENT_SUBGRAPH_EXECUTE = 12,
};
enum { TSR_PHASE_BEGIN = 0, TSR_PHASE_END = 1 };
typedef struct tsr_profile_event {
    uint64_t timestamp_ns; /* monotonic, from the library's first timestamp in this process */
    uint32_t kind;         /* TSR_EVENT_* */
    uint32_t phase;        /* TSR_PHASE_* */
    int32_t op_index;      /* the node's index in its graph (see depth); -1 when none */
    uint32_t thread_id;    /* the OS thread the span ran on */
    int32_t tensor_id;     /* the value moved by a transfer or copy; -1 when none */
    int16_t src_device;    /* 0: the CPU; -1 when none */
    int16_t dst_device;
    uint32_t depth;        /* 0: the model's graph; 1: a subgraph of it; ... */
    uint32_t reserved;
} tsr_profile_event;
/* Starts recording into a new, empty ring of `capacity` events (1..4194304); 0 stops and frees it.
 * TSR_INVALID_STATE while the request runs. */
TSR_API tsr_status tsr_request_set_profiling(tsr_request *request, uint32_t capacity);
/* Copies up to `capacity` held events, oldest first, into `events` (NULL with capacity 0 asks for
 * the count). `count` gets the number held, `dropped` the number overwritten. TSR_INVALID_STATE
 * while the request runs or when it does not profile. */
TSR_API tsr_status tsr_request_get_profile_events(tsr_request *request, tsr_profile_event *events, uint32_t capacity,
                                                  uint32_t *count, uint64_t *dropped);
TSR_API tsr_status tsr_request_clear_profile_events(tsr_request *request);

/* ---- backend extensions (tessera_backend.h, docs/extensions.md) ------------------------------- */
/* Opens the shared library at `path`, calls its tessera_backend_register and adds its device
 * ("<name>:0"), which the `devices` load option may then name: each node it supports runs there,
 * the CPU running the rest. Fails with TSR_EXTENSION_ERROR, saying which, for a missing file, a
 * file that is no shared library, a library without the entry point, a registration that fails,
 * a vtable of another TSR_BACKEND_ABI_VERSION, or a name already loaded. Needs an initialized
 * library. */
TSR_API tsr_status tsr_extension_load(const char *path, tsr_extension **extension);
/* Later loads can no longer name its device; the library is closed once the models loaded with
 * it are destroyed too. The last tsr_finalize unloads every extension still loaded. */
TSR_API void tsr_extension_destroy(tsr_extension *extension);
/* Keys of tsr_extension_get_string. */
enum {
    TSR_EXTENSION_NAME = 0,        /* the device kind: "myext" */
    TSR_EXTENSION_DEVICE = 1,      /* its device, as the devices option and operations name it: "myext:0" */
    TSR_EXTENSION_PATH = 2,        /* the library's absolute path */
    TSR_EXTENSION_DESCRIPTION = 3, /* the extension's own line; may be "" */
};
/* Strings stay valid until the extension is destroyed. */
TSR_API tsr_status tsr_extension_get_string(const tsr_extension *extension, int32_t key, const char **value);

/* ---- performance configuration and device memory -------------------------------------------- */
/* What the load options performance_hint and num_requests chose for a model: latency runs one
 * stream with a thread per core; throughput a stream per core (at most num_requests) with an equal
 * share of the threads; an explicit threads option wins. TSR_CONFIG_THREADS is what the model's
 * CPU kernels use now, TSR_CONFIG_STREAMS the runs that go on at once (0: not limited), and
 * TSR_CONFIG_QUEUE_SIZE the requests a queue should hold to keep them busy. */
enum { TSR_CONFIG_PERFORMANCE_HINT = 0, TSR_CONFIG_NUM_REQUESTS = 1, TSR_CONFIG_THREADS = 2, TSR_CONFIG_STREAMS = 3,
       TSR_CONFIG_QUEUE_SIZE = 4 };
enum { TSR_HINT_NONE = 0, TSR_HINT_LATENCY = 1, TSR_HINT_THROUGHPUT = 2 };
TSR_API tsr_status tsr_model_get_config(const tsr_model *model, int32_t key, int64_t *value);
/* The model's CPU kernels use `threads` (>= 1) of the threads its pool started with; more is
 * clamped to those. `applied` gets the count now in use; runs in flight keep theirs. */
TSR_API tsr_status tsr_model_set_threads(tsr_model *model, uint32_t threads, uint32_t *applied);

/* A device's memory now. CPU: the OS's total and available memory (Linux; TSR_NOT_IMPLEMENTED
 * elsewhere), process_bytes the process's resident set. Vulkan: its device-local heaps; with
 * VK_EXT_memory_budget, process_bytes is this process's use and free_bytes what its budget still
 * allows (TSR_MEMORY_SOURCE_BUDGET); without it, only this library's use is known. */
enum { TSR_MEMORY_SOURCE_OS = 0, TSR_MEMORY_SOURCE_BUDGET = 1, TSR_MEMORY_SOURCE_HEAPS = 2 };
typedef struct tsr_device_memory {
    uint32_t size;          /* set by the caller: sizeof(tsr_device_memory) */
    uint32_t source;        /* TSR_MEMORY_SOURCE_* */
    uint64_t total_bytes;
    uint64_t used_bytes;
    uint64_t free_bytes;
    uint64_t process_bytes;
} tsr_device_memory;
TSR_API tsr_status tsr_device_get_memory(const tsr_device *device, tsr_device_memory *memory);

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_H */
