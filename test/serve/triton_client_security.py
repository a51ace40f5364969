"""Python's stock tritonclient[http] against `tessera serve` with HTTPS and bearer tokens.

Usage: triton_client_security.py <host:port> <ca.pem>, with the server's tokens in
TESSERA_SERVE_TOKEN (inference) and TESSERA_SERVE_ADMIN_TOKEN. Prints one line per case, as
triton_client_cases.py does, and exits 0.
"""
import os
import sys

import numpy as np
import tritonclient.http as http

from cases import case, expect, expect_error

address, ca = sys.argv[1], sys.argv[2]
# The certificate is its own CA; the host name (127.0.0.1) is checked against its subjectAltName.
client = http.InferenceServerClient(url=address, ssl=True, ssl_options={"ca_certs": ca})
inference = {"Authorization": f"Bearer {os.environ['TESSERA_SERVE_TOKEN']}"}
admin = {"Authorization": f"Bearer {os.environ['TESSERA_SERVE_ADMIN_TOKEN']}"}


def infer(headers=None):
    x = np.array([[1, 2, 3, 4.5]], dtype=np.float32)
    tensor = http.InferInput("x", [1, 4], "FP32")
    tensor.set_data_from_numpy(x, binary_data=True)
    y = client.infer("add_fp32", [tensor], headers=headers).as_numpy("y")
    expect(np.array_equal(y, x + np.float32(1)), f"got {y}")


@case("https is_server_live and get_server_metadata without a token")
def _():
    expect(client.is_server_live(), "not live")
    expect(client.get_server_metadata()["name"] == "tessera", "wrong metadata")


@case("https infer with the inference token")
def _():
    infer(inference)


@case("https get_model_metadata with the admin token")
def _():
    expect(client.get_model_metadata("add_fp32", headers=admin)["name"] == "add_fp32", "wrong metadata")


@case("infer without a token is refused (401)")
def _():
    expect_error(lambda: infer(), "401")


@case("infer with a wrong token is refused (401)")
def _():
    expect_error(lambda: infer({"Authorization": "Bearer wrong"}), "401")


@case("get_model_repository_index with the inference token is refused (403)")
def _():
    expect_error(lambda: client.get_model_repository_index(headers=inference), "403")


@case("unload_model and load_model with the admin token")
def _():
    client.unload_model("add_fp32", headers=admin)
    expect(not client.is_model_ready("add_fp32", headers=inference), "still ready after unload")
    client.load_model("add_fp32", headers=admin)
    infer(inference)


@case("a client that does not trust the certificate fails")
def _():
    untrusting = http.InferenceServerClient(url=address, ssl=True)
    try:
        untrusting.is_server_live()
    except Exception as error:
        expect("CERTIFICATE" in str(error).upper(), str(error))
        return
    raise AssertionError("connected without trusting the certificate")
