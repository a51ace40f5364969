/**
 * `tessera serve --grpc-port` against Python's stock Triton client, tritonclient[grpc] (the venv
 * of test/serve-tritonclient.test.ts). The CLI serves a repository over REST and gRPC on free
 * ports and test/serve/triton_grpc_cases.py runs its cases against the gRPC one; every case must
 * pass, and each is named here so that a case the script stopped running is missed.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { runCases, type ServeProcess, startServe, tritonPython } from "./support/serve-cli.ts";

const python = tritonPython();
let server: ServeProcess;
let address = "";

const cases = [
  "is_server_live", "is_server_ready", "get_server_metadata", "get_model_metadata", "get_model_metadata (unknown model)",
  "is_model_ready", "is_model_ready (unknown model, unknown version)",
  "infer FP32 raw", "infer FP16 raw", "infer INT64 raw", "infer UINT8 raw", "infer BOOL raw",
  "infer with a gzip request", "infer with a deflate request",
  "infer FP32 contents", "infer INT64 contents", "infer UINT8 contents", "infer BOOL contents",
  "infer BYTES raw", "infer BYTES contents", "infer two inputs, one output chosen",
  "infer with a wrong datatype is refused", "infer on an unknown model is refused",
  "get_model_repository_index", "RepositoryIndex with ready", "unload_model and load_model", "load_model (unknown model) is refused",
  "get_model_config is unimplemented",
];

beforeAll(async () => {
  server = await startServe(["--grpc-port", "0"], 2);
  address = /gRPC on (\S+)/.exec(server.printed[1]!)?.[1] ?? "";
  expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
});

afterAll(async () => {
  server.child.kill("SIGTERM");
  expect(await server.child.exited).toBe(0); // a signal stops both endpoints cleanly
});

test("tritonclient[grpc]: every case passes", async () => {
  const { code, err, lines } = await runCases(python, "test/serve/triton_grpc_cases.py", address);
  console.log(lines.join("\n"));
  expect({ code, err }).toEqual({ code: 0, err: "" });
  expect(lines).toEqual(cases.map((name) => `PASS ${name}`));
});
