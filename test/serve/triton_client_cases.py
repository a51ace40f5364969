"""Python's stock tritonclient[http] against `tessera serve`.

Usage: triton_client_cases.py <host:port>. The server's repository holds the models of
test/support/serve-repository.ts. Prints one line per case, "PASS name" or "FAIL name: reason",
and exits 0 (the caller judges the lines, so one failure does not hide the cases after it).
"""
import sys

import numpy as np
import tritonclient.http as http
from tritonclient.utils import InferenceServerException

from cases import case, expect

client = http.InferenceServerClient(url=sys.argv[1])


@case("is_server_live")
def _():
    expect(client.is_server_live(), "not live")


@case("is_server_ready")
def _():
    expect(client.is_server_ready(), "not ready")


@case("get_server_metadata")
def _():
    metadata = client.get_server_metadata()
    expect(metadata["name"] == "tessera", metadata)
    expect({"binary_tensor_data", "model_repository"} <= set(metadata["extensions"]), metadata)


@case("get_model_metadata")
def _():
    metadata = client.get_model_metadata("add_fp16")
    expect(metadata["versions"] == ["3"], metadata)
    expect(metadata["inputs"] == [{"name": "x", "datatype": "FP16", "shape": [-1, 4]}], metadata)


@case("is_model_ready")
def _():
    expect(client.is_model_ready("add_fp32"), "add_fp32 not ready")
    expect(client.is_model_ready("add_fp16", "3"), "add_fp16 version 3 not ready")


@case("is_model_ready (unknown model)")
def _():
    expect(not client.is_model_ready("no_such_model"), "an unknown model is ready")


# Each datatype's model and its expected output from the input.
models = {
    "FP32": ("add_fp32", np.array([[1.5, -2, 3.25, 1e30], [0, -0.5, 7, 8]], dtype=np.float32), lambda x: x + np.float32(1)),
    "FP16": ("add_fp16", np.array([[1.5, -2, 3.25, 100], [0, -0.5, 7, 8]], dtype=np.float16), lambda x: x + np.float16(1)),
    "INT64": ("add_int64", np.array([[1, -2, 3, 2**40], [0, -5, 7, 2**62]], dtype=np.int64), lambda x: x + 1),
    "UINT8": ("add_uint8", np.array([[1, 2, 3, 255], [0, 5, 7, 254]], dtype=np.uint8), lambda x: x + np.uint8(1)),
    "BOOL": ("not_bool", np.array([[True, False, True, True], [False, False, True, False]]), np.logical_not),
}


def infer(datatype, binary, request_compression=None, response_compression=None):
    model, x, expected = models[datatype]
    if not binary and datatype == "INT64":
        x = x.copy()
        x[1, 3] = 2**40  # JSON numbers are exact only up to 2**53
    tensor = http.InferInput("x", list(x.shape), datatype)
    tensor.set_data_from_numpy(x, binary_data=binary)
    output = http.InferRequestedOutput("y", binary_data=binary)
    result = client.infer(model, [tensor], outputs=[output], request_id="case-1",
                          request_compression_algorithm=request_compression,
                          response_compression_algorithm=response_compression)
    y = result.as_numpy("y")
    want = expected(x)
    expect(y is not None, "no output y")
    expect(y.dtype == want.dtype and y.shape == want.shape, f"got {y.dtype}{y.shape}, want {want.dtype}{want.shape}")
    expect(np.array_equal(y, want), f"got {y.tolist()}, want {want.tolist()}")
    expect(result.get_response()["id"] == "case-1", "the request id was not echoed")


for datatype in models:
    for binary in (False, True):
        case(f"infer {datatype} {'binary' if binary else 'JSON'}")(lambda d=datatype, b=binary: infer(d, b))

for algorithm in ("gzip", "deflate"):
    case(f"request compression {algorithm}")(lambda a=algorithm: infer("FP32", True, request_compression=a))
    case(f"response compression {algorithm}")(lambda a=algorithm: infer("FP32", True, response_compression=a))


@case("infer BYTES binary")
def _():
    x = np.array([b"hello", b"", "ünïcode".encode()], dtype=np.object_)
    tensor = http.InferInput("x", [3], "BYTES")
    tensor.set_data_from_numpy(x, binary_data=True)
    y = client.infer("strings", [tensor]).as_numpy("y")
    expect(list(y) == list(x), f"got {list(y)}")


@case("infer with a wrong datatype is refused")
def _():
    tensor = http.InferInput("x", [1, 4], "INT32")
    tensor.set_data_from_numpy(np.zeros((1, 4), dtype=np.int32))
    try:
        client.infer("add_fp32", [tensor])
    except InferenceServerException as error:
        expect("INT32" in error.message(), error.message())
        return
    raise AssertionError("no error")


@case("get_model_repository_index")
def _():
    index = client.get_model_repository_index()
    names = [entry["name"] for entry in index]
    expect(names == ["add_fp16", "add_fp32", "add_int64", "add_uint8", "not_bool", "strings", "two_outputs"], names)


@case("unload_model and load_model")
def _():
    client.unload_model("add_uint8")
    expect(not client.is_model_ready("add_uint8"), "still ready after unload")
    client.load_model("add_uint8")
    expect(client.is_model_ready("add_uint8"), "not ready after load")
    infer("UINT8", True)
