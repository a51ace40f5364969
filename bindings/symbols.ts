/**
 * The one symbol table: every function libtessera exports, with its C prototype.
 * Both adapters (bun.ts, deno.ts) translate these neutral types to their FFI's spelling;
 * test/abi.test.ts proves this table matches include/tessera.h.
 *
 * Types: i32 u32 i64 u64 f32 f64 void; "pointer" is native memory or a handle (opaque to JS);
 * "buffer" is JS memory passed in (a TypedArray, or null); "function" is a callback pointer.
 */
export const symbols = {
  // uint32_t tsr_abi_version(void);
  tsr_abi_version: { args: [], returns: "u32" },
  // const char *tsr_version(void);
  tsr_version: { args: [], returns: "pointer" },
  // tsr_status tsr_build_get_string(int32_t key, const char **value);
  tsr_build_get_string: { args: ["i32", "buffer"], returns: "i32" },
  // const char *tsr_last_error(void);
  tsr_last_error: { args: [], returns: "pointer" },
  // tsr_status tsr_initialize(void);
  tsr_initialize: { args: [], returns: "i32" },
  // tsr_status tsr_finalize(void);
  tsr_finalize: { args: [], returns: "i32" },
  // uint32_t tsr_is_initialized(void);
  tsr_is_initialized: { args: [], returns: "u32" },
  // tsr_status tsr_stats_get(int32_t key, uint64_t *value);
  tsr_stats_get: { args: ["i32", "buffer"], returns: "i32" },

  // tsr_status tsr_log_set_level(int32_t level);
  tsr_log_set_level: { args: ["i32"], returns: "i32" },
  // int32_t tsr_log_get_level(void);
  tsr_log_get_level: { args: [], returns: "i32" },
  // tsr_status tsr_log_set_console(uint32_t enabled);
  tsr_log_set_console: { args: ["u32"], returns: "i32" },
  // tsr_status tsr_log_set_file(const char *path);
  tsr_log_set_file: { args: ["buffer"], returns: "i32" },
  // tsr_status tsr_log_set_callback(tsr_log_fn callback, void *user);
  tsr_log_set_callback: { args: ["function", "pointer"], returns: "i32" },
  // tsr_status tsr_log_write(int32_t level, const char *message);
  tsr_log_write: { args: ["i32", "buffer"], returns: "i32" },

  // tsr_status tsr_host_get_string(int32_t key, const char **value);
  tsr_host_get_string: { args: ["i32", "buffer"], returns: "i32" },
  // tsr_status tsr_device_count(uint32_t *count);
  tsr_device_count: { args: ["buffer"], returns: "i32" },
  // tsr_status tsr_device_get(uint32_t index, tsr_device **device);
  tsr_device_get: { args: ["u32", "buffer"], returns: "i32" },
  // tsr_status tsr_device_get_u64(const tsr_device *device, int32_t key, uint64_t *value);
  tsr_device_get_u64: { args: ["pointer", "i32", "buffer"], returns: "i32" },
  // tsr_status tsr_device_get_string(const tsr_device *device, int32_t key, const char **value);
  tsr_device_get_string: { args: ["pointer", "i32", "buffer"], returns: "i32" },
  // tsr_status tsr_device_get_heap(const tsr_device *device, uint32_t index, uint64_t *size_bytes,
  //                                uint32_t *flags);
  tsr_device_get_heap: { args: ["pointer", "u32", "buffer", "buffer"], returns: "i32" },

  // tsr_status tsr_dtype_bits(int32_t dtype, uint32_t *bits);
  tsr_dtype_bits: { args: ["i32", "buffer"], returns: "i32" },
  // tsr_status tsr_dtype_byte_size(int32_t dtype, const int64_t *shape, uint32_t rank,
  //                                uint64_t *byte_size);
  tsr_dtype_byte_size: { args: ["i32", "buffer", "u32", "buffer"], returns: "i32" },
  // tsr_status tsr_tensor_create(int32_t dtype, const int64_t *shape, uint32_t rank,
  //                              tsr_tensor **tensor);
  tsr_tensor_create: { args: ["i32", "buffer", "u32", "buffer"], returns: "i32" },
  // tsr_status tsr_tensor_wrap(int32_t dtype, const int64_t *shape, uint32_t rank, void *data,
  //                            uint64_t byte_length, tsr_tensor **tensor);
  tsr_tensor_wrap: { args: ["i32", "buffer", "u32", "buffer", "u64", "buffer"], returns: "i32" },
  // void tsr_tensor_destroy(tsr_tensor *tensor);
  tsr_tensor_destroy: { args: ["pointer"], returns: "void" },
  // tsr_status tsr_tensor_dtype(const tsr_tensor *tensor, int32_t *dtype);
  tsr_tensor_dtype: { args: ["pointer", "buffer"], returns: "i32" },
  // tsr_status tsr_tensor_rank(const tsr_tensor *tensor, uint32_t *rank);
  tsr_tensor_rank: { args: ["pointer", "buffer"], returns: "i32" },
  // tsr_status tsr_tensor_shape(const tsr_tensor *tensor, int64_t *dims, uint32_t capacity);
  tsr_tensor_shape: { args: ["pointer", "buffer", "u32"], returns: "i32" },
  // tsr_status tsr_tensor_data(const tsr_tensor *tensor, void **data);
  tsr_tensor_data: { args: ["pointer", "buffer"], returns: "i32" },
  // tsr_status tsr_tensor_byte_size(const tsr_tensor *tensor, uint64_t *byte_size);
  tsr_tensor_byte_size: { args: ["pointer", "buffer"], returns: "i32" },
  // tsr_status tsr_tensor_fill(tsr_tensor *tensor, const void *value, uint32_t value_size);
  tsr_tensor_fill: { args: ["pointer", "buffer", "u32"], returns: "i32" },
  // tsr_status tsr_tensor_set_string(tsr_tensor *tensor, uint32_t index, const void *bytes,
  //                                  uint32_t len);
  tsr_tensor_set_string: { args: ["pointer", "u32", "buffer", "u32"], returns: "i32" },
  // tsr_status tsr_tensor_get_string(tsr_tensor *tensor, uint32_t index, const void **bytes,
  //                                  uint32_t *len);
  tsr_tensor_get_string: { args: ["pointer", "u32", "buffer", "buffer"], returns: "i32" },
  // tsr_status tsr_tensor_set_quantization(tsr_tensor *tensor, float scale, int32_t zero_point);
  tsr_tensor_set_quantization: { args: ["pointer", "f32", "i32"], returns: "i32" },
  // tsr_status tsr_tensor_get_quantization(const tsr_tensor *tensor, float *scale,
  //                                        int32_t *zero_point);
  tsr_tensor_get_quantization: { args: ["pointer", "buffer", "buffer"], returns: "i32" },
  // tsr_status tsr_tensor_save(tsr_tensor *tensor, const char *path);
  tsr_tensor_save: { args: ["pointer", "buffer"], returns: "i32" },
  // tsr_status tsr_tensor_load(const char *path, tsr_tensor **tensor);
  tsr_tensor_load: { args: ["buffer", "buffer"], returns: "i32" },
  // tsr_status tsr_tensor_from_onnx(const void *bytes, uint64_t byte_length, tsr_tensor **tensor);
  tsr_tensor_from_onnx: { args: ["buffer", "u64", "buffer"], returns: "i32" },

  // tsr_status tsr_options_create(tsr_options **options);
  tsr_options_create: { args: ["buffer"], returns: "i32" },
  // void tsr_options_destroy(tsr_options *options);
  tsr_options_destroy: { args: ["pointer"], returns: "void" },
  // tsr_status tsr_options_set(tsr_options *options, const char *key, const char *value);
  tsr_options_set: { args: ["pointer", "buffer", "buffer"], returns: "i32" },
  // tsr_status tsr_model_load(const char *path, const tsr_options *options, tsr_model **model);
  tsr_model_load: { args: ["buffer", "pointer", "buffer"], returns: "i32" },
  // tsr_status tsr_model_load_bytes(const void *bytes, uint64_t byte_length, const tsr_options *options,
  //                                 tsr_model **model);
  tsr_model_load_bytes: { args: ["buffer", "u64", "pointer", "buffer"], returns: "i32" },
  // tsr_status tsr_model_load_async(const char *path, const void *bytes, uint64_t byte_length,
  //                                 const tsr_options *options, tsr_job **job);
  tsr_model_load_async: { args: ["buffer", "buffer", "u64", "pointer", "buffer"], returns: "i32" },
  // void tsr_model_destroy(tsr_model *model);
  tsr_model_destroy: { args: ["pointer"], returns: "void" },
  // tsr_status tsr_model_update(tsr_model *model, const char *path, const void *bytes,
  //                             uint64_t byte_length, tsr_model **updated);
  tsr_model_update: { args: ["pointer", "buffer", "buffer", "u64", "buffer"], returns: "i32" },
  // tsr_status tsr_model_update_async(tsr_model *model, const char *path, const void *bytes,
  //                                   uint64_t byte_length, tsr_job **job);
  tsr_model_update_async: { args: ["pointer", "buffer", "buffer", "u64", "buffer"], returns: "i32" },
  // tsr_status tsr_cache_clear(const char *folder, uint32_t *removed);
  tsr_cache_clear: { args: ["buffer", "buffer"], returns: "i32" },
  // tsr_status tsr_model_encrypt(const char *path, const void *bytes, uint64_t byte_length,
  //                              const char *passphrase, uint32_t kdf_memory_kib,
  //                              uint32_t kdf_iterations, const char *out_path);
  tsr_model_encrypt: { args: ["buffer", "buffer", "u64", "buffer", "u32", "u32", "buffer"], returns: "i32" },
  // tsr_status tsr_model_encrypt_async(const char *path, const void *bytes, uint64_t byte_length,
  //                                    const char *passphrase, uint32_t kdf_memory_kib,
  //                                    uint32_t kdf_iterations, const char *out_path, tsr_job **job);
  tsr_model_encrypt_async: { args: ["buffer", "buffer", "u64", "buffer", "u32", "u32", "buffer", "buffer"], returns: "i32" },
  // tsr_status tsr_model_get_string(const tsr_model *model, int32_t key, const char **value);
  tsr_model_get_string: { args: ["pointer", "i32", "buffer"], returns: "i32" },
  // tsr_status tsr_model_get_i64(const tsr_model *model, int32_t key, int64_t *value);
  tsr_model_get_i64: { args: ["pointer", "i32", "buffer"], returns: "i32" },
  // tsr_status tsr_model_opset(const tsr_model *model, uint32_t index, const char **domain, int64_t *version);
  tsr_model_opset: { args: ["pointer", "u32", "buffer", "buffer"], returns: "i32" },
  // tsr_status tsr_model_metadata(const tsr_model *model, uint32_t index, const char **key, const char **value);
  tsr_model_metadata: { args: ["pointer", "u32", "buffer", "buffer"], returns: "i32" },
  // tsr_status tsr_model_input_name(const tsr_model *model, uint32_t index, const char **name);
  tsr_model_input_name: { args: ["pointer", "u32", "buffer"], returns: "i32" },
  // tsr_status tsr_model_output_name(const tsr_model *model, uint32_t index, const char **name);
  tsr_model_output_name: { args: ["pointer", "u32", "buffer"], returns: "i32" },
  // tsr_status tsr_model_operation(const tsr_model *model, uint32_t index, const char **name,
  //                                const char **op_type, const char **domain, const char **device);
  tsr_model_operation: { args: ["pointer", "u32", "buffer", "buffer", "buffer", "buffer"], returns: "i32" },
  // tsr_status tsr_model_copy(const tsr_model *model, uint32_t index, const char **value, const char **from,
  //                           const char **to, int32_t *at_load);
  tsr_model_copy: { args: ["pointer", "u32", "buffer", "buffer", "buffer", "buffer"], returns: "i32" },
  // tsr_status tsr_model_get_option(const tsr_model *model, const char *key, char *buffer, uint32_t capacity,
  //                                 uint32_t *length);
  tsr_model_get_option: { args: ["pointer", "buffer", "buffer", "u32", "buffer"], returns: "i32" },
  // tsr_status tsr_model_tensor_info(const tsr_model *model, const char *name, const tsr_tensor_info **info);
  tsr_model_tensor_info: { args: ["pointer", "buffer", "buffer"], returns: "i32" },
  // tsr_status tsr_model_infer_shape(const tsr_model *model, const char *output, const char *input_shapes,
  //                                  char *buffer, uint32_t capacity, uint32_t *length);
  tsr_model_infer_shape: { args: ["pointer", "buffer", "buffer", "buffer", "u32", "buffer"], returns: "i32" },
  // tsr_status tsr_tensor_info_get_string(const tsr_tensor_info *info, int32_t key, const char **value);
  tsr_tensor_info_get_string: { args: ["pointer", "i32", "buffer"], returns: "i32" },
  // tsr_status tsr_tensor_info_get_i64(const tsr_tensor_info *info, int32_t key, int64_t *value);
  tsr_tensor_info_get_i64: { args: ["pointer", "i32", "buffer"], returns: "i32" },
  // tsr_status tsr_tensor_info_dim(const tsr_tensor_info *info, uint32_t index, int64_t *value, const char **text);
  tsr_tensor_info_dim: { args: ["pointer", "u32", "buffer", "buffer"], returns: "i32" },
  // tsr_status tsr_tensor_info_quant(const tsr_tensor_info *info, uint32_t index, double *scale,
  //                                  int64_t *zero_point);
  tsr_tensor_info_quant: { args: ["pointer", "u32", "buffer", "buffer"], returns: "i32" },

  // tsr_status tsr_job_id(const tsr_job *job, uint32_t *id);
  tsr_job_id: { args: ["pointer", "buffer"], returns: "i32" },
  // tsr_status tsr_job_wait(tsr_job *job, int64_t timeout_us, uint32_t *done);
  tsr_job_wait: { args: ["pointer", "i64", "buffer"], returns: "i32" },
  // tsr_status tsr_job_result(tsr_job *job, int32_t *result);
  tsr_job_result: { args: ["pointer", "buffer"], returns: "i32" },
  // tsr_status tsr_job_error(tsr_job *job, const char **message);
  tsr_job_error: { args: ["pointer", "buffer"], returns: "i32" },
  // tsr_status tsr_job_take_model(tsr_job *job, tsr_model **model);
  tsr_job_take_model: { args: ["pointer", "buffer"], returns: "i32" },
  // void tsr_job_destroy(tsr_job *job);
  tsr_job_destroy: { args: ["pointer"], returns: "void" },
  // tsr_status tsr_request_create(tsr_model *model, tsr_request **request);
  tsr_request_create: { args: ["pointer", "buffer"], returns: "i32" },
  // void tsr_request_destroy(tsr_request *request);
  tsr_request_destroy: { args: ["pointer"], returns: "void" },
  // tsr_status tsr_request_set_input(tsr_request *request, const char *name, tsr_tensor *tensor);
  tsr_request_set_input: { args: ["pointer", "buffer", "pointer"], returns: "i32" },
  // tsr_status tsr_request_run(tsr_request *request);
  tsr_request_run: { args: ["pointer"], returns: "i32" },
  // tsr_status tsr_request_run_async(tsr_request *request, tsr_job **job);
  tsr_request_run_async: { args: ["pointer", "buffer"], returns: "i32" },
  // tsr_status tsr_request_cancel(tsr_request *request);
  tsr_request_cancel: { args: ["pointer"], returns: "i32" },
  // tsr_status tsr_request_set_deadline(tsr_request *request, int64_t deadline_us);
  tsr_request_set_deadline: { args: ["pointer", "i64"], returns: "i32" },
  // tsr_status tsr_request_output_count(const tsr_request *request, uint32_t *count);
  tsr_request_output_count: { args: ["pointer", "buffer"], returns: "i32" },
  // tsr_status tsr_request_get_output(tsr_request *request, uint32_t index, tsr_tensor **tensor);
  tsr_request_get_output: { args: ["pointer", "u32", "buffer"], returns: "i32" },
  // tsr_status tsr_request_set_input_elements(tsr_request *request, const char *name, tsr_tensor **elements, uint32_t count);
  tsr_request_set_input_elements: { args: ["pointer", "buffer", "buffer", "u32"], returns: "i32" },
  // tsr_status tsr_request_output_kind(tsr_request *request, uint32_t index, int32_t *kind, int32_t *inner_kind, int32_t *count);
  tsr_request_output_kind: { args: ["pointer", "u32", "buffer", "buffer", "buffer"], returns: "i32" },
  // tsr_status tsr_request_get_output_element(tsr_request *request, uint32_t index, uint32_t element, tsr_tensor **tensor);
  tsr_request_get_output_element: { args: ["pointer", "u32", "u32", "buffer"], returns: "i32" },
  // tsr_status tsr_request_set_input_map(tsr_request *request, const char *name, tsr_tensor *keys, tsr_tensor *values);
  tsr_request_set_input_map: { args: ["pointer", "buffer", "pointer", "pointer"], returns: "i32" },
  // tsr_status tsr_request_get_output_map(tsr_request *request, uint32_t index, uint32_t element, tsr_tensor **keys, tsr_tensor **values);
  tsr_request_get_output_map: { args: ["pointer", "u32", "u32", "buffer", "buffer"], returns: "i32" },
  // tsr_status tsr_request_status(const tsr_request *request, int32_t *state);
  tsr_request_status: { args: ["pointer", "buffer"], returns: "i32" },
  // tsr_status tsr_request_set_output(tsr_request *request, const char *name, tsr_tensor *tensor);
  tsr_request_set_output: { args: ["pointer", "buffer", "pointer"], returns: "i32" },
  // tsr_status tsr_request_select_outputs(tsr_request *request, const char *names);
  tsr_request_select_outputs: { args: ["pointer", "buffer"], returns: "i32" },
  // tsr_status tsr_request_get_tensor(tsr_request *request, const char *name, tsr_tensor **tensor);
  tsr_request_get_tensor: { args: ["pointer", "buffer", "buffer"], returns: "i32" },
  // tsr_status tsr_request_set_profiling(tsr_request *request, uint32_t capacity);
  tsr_request_set_profiling: { args: ["pointer", "u32"], returns: "i32" },
  // tsr_status tsr_request_get_profile_events(tsr_request *request, tsr_profile_event *events, uint32_t capacity, uint32_t *count, uint64_t *dropped);
  tsr_request_get_profile_events: { args: ["pointer", "buffer", "u32", "buffer", "buffer"], returns: "i32" },
  // tsr_status tsr_request_clear_profile_events(tsr_request *request);
  tsr_request_clear_profile_events: { args: ["pointer"], returns: "i32" },

  // tsr_status tsr_jobs_set_callback(tsr_job_fn callback, void *user);
  tsr_jobs_set_callback: { args: ["function", "pointer"], returns: "i32" },

  // tsr_status tsr_extension_load(const char *path, tsr_extension **extension);
  tsr_extension_load: { args: ["buffer", "buffer"], returns: "i32" },
  // void tsr_extension_destroy(tsr_extension *extension);
  tsr_extension_destroy: { args: ["pointer"], returns: "void" },
  // tsr_status tsr_extension_get_string(const tsr_extension *extension, int32_t key, const char **value);
  tsr_extension_get_string: { args: ["pointer", "i32", "buffer"], returns: "i32" },
  // tsr_status tsr_options_set_progress(tsr_options *options, tsr_progress_fn callback, void *user);
  tsr_options_set_progress: { args: ["pointer", "function", "pointer"], returns: "i32" },
  // tsr_status tsr_job_cancel(tsr_job *job);
  tsr_job_cancel: { args: ["pointer"], returns: "i32" },
  // tsr_status tsr_request_set_observer(tsr_request *request, tsr_node_fn callback, void *user);
  tsr_request_set_observer: { args: ["pointer", "function", "pointer"], returns: "i32" },
  // tsr_status tsr_model_get_config(const tsr_model *model, int32_t key, int64_t *value);
  tsr_model_get_config: { args: ["pointer", "i32", "buffer"], returns: "i32" },
  // tsr_status tsr_model_set_threads(tsr_model *model, uint32_t threads, uint32_t *applied);
  tsr_model_set_threads: { args: ["pointer", "u32", "buffer"], returns: "i32" },
  // tsr_status tsr_device_get_memory(const tsr_device *device, tsr_device_memory *memory);
  tsr_device_get_memory: { args: ["pointer", "buffer"], returns: "i32" },
} as const;

export type SymbolName = keyof typeof symbols;
export type NativeType = "i32" | "u32" | "i64" | "u64" | "f32" | "f64" | "void" | "pointer" | "buffer" | "function";

/** The ABI version these bindings were written for; must equal tsr_abi_version(). */
export const ABI_VERSION = 1;

/** The job completion callback's signature: void (*)(uint32_t job_id, int32_t status, void *user). */
export const jobCallbackSignature = { args: ["u32", "i32", "pointer"], returns: "void" } as const;

/** The log callback's signature: void (*)(int32_t level, const char *message, void *user). */
export const logCallbackSignature = { args: ["i32", "pointer", "pointer"], returns: "void" } as const;

/** The load progress callback's signature: int32_t (*)(int32_t stage, double fraction, void *user). */
export const progressCallbackSignature = { args: ["i32", "f64", "pointer"], returns: "i32" } as const;

/** The node observer's signature: int32_t (*)(int32_t event, uint32_t node, double duration_us, void *user). */
export const nodeCallbackSignature = { args: ["i32", "u32", "f64", "pointer"], returns: "i32" } as const;
