/**
 * The part of KServe's OIP v2 gRPC service (Triton's grpc_service.proto, package `inference`) that
 * `tessera serve` implements, in protobuf.js's JSON form for @grpc/proto-loader's fromJSON. Field
 * names and numbers are the protocol's, so stock clients interoperate; it lives in TypeScript
 * rather than a .proto file so that the compiled package and `bun build --compile` executables
 * carry it with no file to find at run time, and no .proto parser is needed.
 */

const scalar = (type: string, id: number) => ({ type, id });
const repeated = (type: string, id: number) => ({ rule: "repeated", type, id });
const map = (type: string, id: number) => ({ keyType: "string", type, id });
const empty = { fields: {} };

/** `parameters` maps of inference messages: one typed value each. */
const InferParameter = {
  oneofs: { parameter_choice: { oneof: ["bool_param", "int64_param", "string_param", "double_param", "uint64_param"] } },
  fields: {
    bool_param: scalar("bool", 1),
    int64_param: scalar("int64", 2),
    string_param: scalar("string", 3),
    double_param: scalar("double", 4),
    uint64_param: scalar("uint64", 5),
  },
};

/** A tensor's elements as typed fields, the alternative to raw_input_contents. */
const InferTensorContents = {
  fields: {
    bool_contents: repeated("bool", 1),
    int_contents: repeated("int32", 2),
    int64_contents: repeated("int64", 3),
    uint_contents: repeated("uint32", 4),
    uint64_contents: repeated("uint64", 5),
    fp32_contents: repeated("float", 6),
    fp64_contents: repeated("double", 7),
    bytes_contents: repeated("bytes", 8),
  },
};

const tensorFields = {
  name: scalar("string", 1),
  datatype: scalar("string", 2),
  shape: repeated("int64", 3),
  parameters: map("InferParameter", 4),
  contents: scalar("InferTensorContents", 5),
};

const ModelInferRequest = {
  fields: {
    model_name: scalar("string", 1),
    model_version: scalar("string", 2),
    id: scalar("string", 3),
    parameters: map("InferParameter", 4),
    inputs: repeated("InferInputTensor", 5),
    outputs: repeated("InferRequestedOutputTensor", 6),
    raw_input_contents: repeated("bytes", 7),
  },
  nested: {
    InferInputTensor: { fields: tensorFields },
    InferRequestedOutputTensor: { fields: { name: scalar("string", 1), parameters: map("InferParameter", 2) } },
  },
};

const ModelInferResponse = {
  fields: {
    model_name: scalar("string", 1),
    model_version: scalar("string", 2),
    id: scalar("string", 3),
    parameters: map("InferParameter", 4),
    outputs: repeated("InferOutputTensor", 5),
    raw_output_contents: repeated("bytes", 6),
  },
  nested: { InferOutputTensor: { fields: tensorFields } },
};

const ModelMetadataResponse = {
  fields: {
    name: scalar("string", 1),
    versions: repeated("string", 2),
    platform: scalar("string", 3),
    inputs: repeated("TensorMetadata", 4),
    outputs: repeated("TensorMetadata", 5),
  },
  nested: { TensorMetadata: { fields: { name: scalar("string", 1), datatype: scalar("string", 2), shape: repeated("int64", 3) } } },
};

/** Load and unload requests; their parameters (config overrides, model files) are not used. */
const ModelRepositoryParameter = {
  oneofs: { parameter_choice: { oneof: ["bool_param", "int64_param", "string_param", "bytes_param"] } },
  fields: { bool_param: scalar("bool", 1), int64_param: scalar("int64", 2), string_param: scalar("string", 3), bytes_param: scalar("bytes", 4) },
};
const repositoryModelRequest = {
  fields: { repository_name: scalar("string", 1), model_name: scalar("string", 2), parameters: map("ModelRepositoryParameter", 3) },
};

const RepositoryIndexResponse = {
  fields: { models: repeated("ModelIndex", 1) },
  nested: {
    ModelIndex: { fields: { name: scalar("string", 1), version: scalar("string", 2), state: scalar("string", 3), reason: scalar("string", 4) } },
  },
};

/** The RPCs served, each `<Name>Request` to `<Name>Response`. */
export const rpcNames = [
  "ServerLive", "ServerReady", "ModelReady", "ServerMetadata", "ModelMetadata", "ModelInfer",
  "RepositoryIndex", "RepositoryModelLoad", "RepositoryModelUnload",
] as const;

export type RpcName = (typeof rpcNames)[number];

export const serviceDescriptor = {
  nested: {
    inference: {
      nested: {
        GRPCInferenceService: {
          methods: Object.fromEntries(rpcNames.map((rpc) => [rpc, { requestType: `${rpc}Request`, responseType: `${rpc}Response` }])),
        },
        ServerLiveRequest: empty,
        ServerLiveResponse: { fields: { live: scalar("bool", 1) } },
        ServerReadyRequest: empty,
        ServerReadyResponse: { fields: { ready: scalar("bool", 1) } },
        ModelReadyRequest: { fields: { name: scalar("string", 1), version: scalar("string", 2) } },
        ModelReadyResponse: { fields: { ready: scalar("bool", 1) } },
        ServerMetadataRequest: empty,
        ServerMetadataResponse: { fields: { name: scalar("string", 1), version: scalar("string", 2), extensions: repeated("string", 3) } },
        ModelMetadataRequest: { fields: { name: scalar("string", 1), version: scalar("string", 2) } },
        ModelMetadataResponse,
        InferParameter,
        InferTensorContents,
        ModelInferRequest,
        ModelInferResponse,
        ModelRepositoryParameter,
        RepositoryIndexRequest: { fields: { repository_name: scalar("string", 1), ready: scalar("bool", 2) } },
        RepositoryIndexResponse,
        RepositoryModelLoadRequest: repositoryModelRequest,
        RepositoryModelLoadResponse: empty,
        RepositoryModelUnloadRequest: repositoryModelRequest,
        RepositoryModelUnloadResponse: empty,
      },
    },
  },
};
