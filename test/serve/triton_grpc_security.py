"""Python's stock tritonclient[grpc] against `tessera serve --grpc-port` with TLS and bearer tokens.

Usage: triton_grpc_security.py <host:port> <ca.pem>, with the server's tokens in
TESSERA_SERVE_TOKEN (inference) and TESSERA_SERVE_ADMIN_TOKEN. The gRPC endpoint takes the same
certificate and tokens as HTTPS, the token as `authorization` metadata. Prints one line per case.
"""
import os
import sys

import numpy as np
import tritonclient.grpc as grpcclient

from cases import case, expect, expect_grpc_status

address, ca = sys.argv[1], sys.argv[2]
client = grpcclient.InferenceServerClient(url=address, ssl=True, root_certificates=ca)
inference = {"authorization": f"Bearer {os.environ['TESSERA_SERVE_TOKEN']}"}
admin = {"authorization": f"Bearer {os.environ['TESSERA_SERVE_ADMIN_TOKEN']}"}


def infer(headers=None):
    x = np.array([[1, 2, 3, 4.5]], dtype=np.float32)
    tensor = grpcclient.InferInput("x", [1, 4], "FP32")
    tensor.set_data_from_numpy(x)
    y = client.infer("add_fp32", [tensor], headers=headers).as_numpy("y")
    expect(np.array_equal(y, x + np.float32(1)), f"got {y}")


@case("grpc+tls is_server_live without a token")
def _():
    expect(client.is_server_live(), "not live")


@case("grpc+tls infer with the inference token")
def _():
    infer(inference)


@case("grpc infer without a token is refused (UNAUTHENTICATED)")
def _():
    expect_grpc_status(lambda: infer(), "UNAUTHENTICATED")


@case("grpc infer with a wrong token is refused (UNAUTHENTICATED)")
def _():
    expect_grpc_status(lambda: infer({"authorization": "Bearer wrong"}), "UNAUTHENTICATED")


@case("grpc repository index with the inference token is refused (PERMISSION_DENIED)")
def _():
    expect_grpc_status(lambda: client.get_model_repository_index(headers=inference), "PERMISSION_DENIED")


@case("grpc repository index with the admin token")
def _():
    names = [m["name"] for m in client.get_model_repository_index(headers=admin, as_json=True)["models"]]
    expect("add_fp32" in names, f"index {names}")
