"""Python's stock tritonclient[grpc] against `tessera serve --grpc-port`.

Usage: triton_grpc_cases.py <host:port>. The server's repository holds the models of
test/support/serve-repository.ts. Prints one line per case, "PASS name" or "FAIL name: reason",
and exits 0 (the caller judges the lines, so one failure does not hide the cases after it).
"""
import sys

import numpy as np
import grpc
import tritonclient.grpc as grpcclient
from tritonclient.grpc import service_pb2, service_pb2_grpc

from cases import case, expect, expect_grpc_status

client = grpcclient.InferenceServerClient(url=sys.argv[1])


@case("is_server_live")
def _():
    expect(client.is_server_live(), "not live")


@case("is_server_ready")
def _():
    expect(client.is_server_ready(), "not ready")


@case("get_server_metadata")
def _():
    metadata = client.get_server_metadata(as_json=True)
    expect(metadata["name"] == "tessera", metadata)
    expect({"binary_tensor_data", "model_repository"} <= set(metadata["extensions"]), metadata)
    expect("tessera" not in metadata["extensions"], "Tessera's REST-only extension listed over gRPC")


@case("get_model_metadata")
def _():
    metadata = client.get_model_metadata("add_fp16", as_json=True)
    expect(metadata["versions"] == ["3"], metadata)
    expect(metadata["platform"] == "onnx", metadata)
    expect(metadata["inputs"] == [{"name": "x", "datatype": "FP16", "shape": ["-1", "4"]}], metadata)


@case("get_model_metadata (unknown model)")
def _():
    expect_grpc_status(lambda: client.get_model_metadata("no_such_model"), "NOT_FOUND", "no_such_model")


@case("is_model_ready")
def _():
    expect(client.is_model_ready("add_fp32"), "add_fp32 not ready")
    expect(client.is_model_ready("add_fp16", "3"), "add_fp16 version 3 not ready")


@case("is_model_ready (unknown model, unknown version)")
def _():
    expect(not client.is_model_ready("no_such_model"), "an unknown model is ready")
    expect(not client.is_model_ready("add_fp16", "2"), "an unknown version is ready")


# Each datatype's model and its expected output from the input.
models = {
    "FP32": ("add_fp32", np.array([[1.5, -2, 3.25, 1e30], [0, -0.5, 7, 8]], dtype=np.float32), lambda x: x + np.float32(1)),
    "FP16": ("add_fp16", np.array([[1.5, -2, 3.25, 100], [0, -0.5, 7, 8]], dtype=np.float16), lambda x: x + np.float16(1)),
    "INT64": ("add_int64", np.array([[1, -2, 3, 2**40], [0, -5, 7, 2**62]], dtype=np.int64), lambda x: x + 1),
    "UINT8": ("add_uint8", np.array([[1, 2, 3, 255], [0, 5, 7, 254]], dtype=np.uint8), lambda x: x + np.uint8(1)),
    "BOOL": ("not_bool", np.array([[True, False, True, True], [False, False, True, False]]), np.logical_not),
}


def check_output(result, x, expected):
    y = result.as_numpy("y")
    want = expected(x)
    expect(y is not None, "no output y")
    expect(y.dtype == want.dtype and y.shape == want.shape, f"got {y.dtype}{y.shape}, want {want.dtype}{want.shape}")
    expect(np.array_equal(y, want), f"got {y.tolist()}, want {want.tolist()}")


def infer(datatype):
    model, x, expected = models[datatype]
    tensor = grpcclient.InferInput("x", list(x.shape), datatype)
    tensor.set_data_from_numpy(x)  # raw_input_contents
    result = client.infer(model, [tensor], outputs=[grpcclient.InferRequestedOutput("y")], request_id="case-1")
    check_output(result, x, expected)
    expect(result.get_response().id == "case-1", "the request id was not echoed")
    expect(result.get_response().model_version != "", "no model version")


for datatype in models:
    case(f"infer {datatype} raw")(lambda d=datatype: infer(d))


# Compressed requests: grpc-js inflates them under the server's message-size limit. (It sends
# its responses uncompressed: grpc-js servers do not compress.)
def infer_compressed(algorithm):
    model, x, expected = models["FP32"]
    tensor = grpcclient.InferInput("x", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x)
    check_output(client.infer(model, [tensor], compression_algorithm=algorithm), x, expected)


for algorithm in ("gzip", "deflate"):
    case(f"infer with a {algorithm} request")(lambda a=algorithm: infer_compressed(a))


# The typed `contents` fields, which tritonclient does not send itself: the request is built here
# from the protocol's messages and sent through the client's stub. (FP16 has no typed field.)
typed_fields = {"FP32": "fp32_contents", "INT64": "int64_contents", "UINT8": "uint_contents", "BOOL": "bool_contents"}


def infer_typed(datatype):
    model, x, expected = models[datatype]
    request = service_pb2.ModelInferRequest(model_name=model, id="typed")
    tensor = request.inputs.add(name="x", datatype=datatype, shape=list(x.shape))
    getattr(tensor.contents, typed_fields[datatype]).extend(x.flatten().tolist())
    response = client._client_stub.ModelInfer(request)
    expect(response.id == "typed", "the request id was not echoed")
    result = grpcclient.InferResult(response)
    check_output(result, x, expected)


for datatype in typed_fields:
    case(f"infer {datatype} contents")(lambda d=datatype: infer_typed(d))


@case("infer BYTES raw")
def _():
    x = np.array([b"hello", b"", "ünïcode".encode()], dtype=np.object_)
    tensor = grpcclient.InferInput("x", [3], "BYTES")
    tensor.set_data_from_numpy(x)
    y = client.infer("strings", [tensor]).as_numpy("y")
    expect(list(y) == list(x), f"got {list(y)}")


@case("infer BYTES contents")
def _():
    x = [b"hello", b"", "ünïcode".encode()]
    request = service_pb2.ModelInferRequest(model_name="strings")
    request.inputs.add(name="x", datatype="BYTES", shape=[3]).contents.bytes_contents.extend(x)
    y = grpcclient.InferResult(client._client_stub.ModelInfer(request)).as_numpy("y")
    expect(list(y) == x, f"got {list(y)}")


@case("infer two inputs, one output chosen")
def _():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.full((2, 3), 2, dtype=np.float32)
    inputs = [grpcclient.InferInput("a", [2, 3], "FP32"), grpcclient.InferInput("b", [2, 3], "FP32")]
    inputs[0].set_data_from_numpy(a)
    inputs[1].set_data_from_numpy(b)
    result = client.infer("two_outputs", inputs, outputs=[grpcclient.InferRequestedOutput("product")])
    expect(result.as_numpy("sum") is None, "sum was not asked for")
    expect(np.array_equal(result.as_numpy("product"), a * b), result.as_numpy("product"))


@case("infer with a wrong datatype is refused")
def _():
    tensor = grpcclient.InferInput("x", [1, 4], "INT32")
    tensor.set_data_from_numpy(np.zeros((1, 4), dtype=np.int32))
    expect_grpc_status(lambda: client.infer("add_fp32", [tensor]), "INVALID_ARGUMENT", "INT32")


@case("infer on an unknown model is refused")
def _():
    tensor = grpcclient.InferInput("x", [1, 4], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 4), dtype=np.float32))
    expect_grpc_status(lambda: client.infer("no_such_model", [tensor]), "NOT_FOUND", "no_such_model")


@case("get_model_repository_index")
def _():
    index = client.get_model_repository_index(as_json=True)
    names = [entry["name"] for entry in index["models"]]
    expect(names == ["add_fp16", "add_fp32", "add_int64", "add_uint8", "not_bool", "strings", "two_outputs"], names)
    expect(all(entry["state"] == "READY" for entry in index["models"]), index)


@case("RepositoryIndex with ready")
def _():
    # tritonclient's get_model_repository_index never sets the request's `ready`, so the stub
    # generated from the same grpc_service.proto sends it.
    with grpc.insecure_channel(sys.argv[1]) as channel:
        stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
        index = lambda ready: [(m.name, m.state) for m in stub.RepositoryIndex(service_pb2.RepositoryIndexRequest(ready=ready)).models]
        client.unload_model("not_bool")
        try:
            expect(("not_bool", "UNAVAILABLE") in index(False), index(False))
            ready = index(True)
            expect("not_bool" not in [name for name, _ in ready] and ("add_fp32", "READY") in ready, ready)
            expect(ready == [entry for entry in index(False) if entry[1] == "READY"], ready)
        finally:
            client.load_model("not_bool")
        expect(("not_bool", "READY") in index(True), index(True))


@case("unload_model and load_model")
def _():
    client.unload_model("add_uint8")
    expect(not client.is_model_ready("add_uint8"), "still ready after unload")
    tensor = grpcclient.InferInput("x", [1, 4], "UINT8")
    tensor.set_data_from_numpy(np.zeros((1, 4), dtype=np.uint8))
    expect_grpc_status(lambda: client.infer("add_uint8", [tensor]), "UNAVAILABLE", "not loaded")
    client.load_model("add_uint8")
    expect(client.is_model_ready("add_uint8"), "not ready after load")
    infer("UINT8")


@case("load_model (unknown model) is refused")
def _():
    expect_grpc_status(lambda: client.load_model("no_such_model"), "NOT_FOUND", "no_such_model")


@case("get_model_config is unimplemented")
def _():
    expect_grpc_status(lambda: client.get_model_config("add_fp32"), "UNIMPLEMENTED", "")
