/**
 * deploy/: the container image (Dockerfile, entrypoint.sh) and the KServe manifests, checked
 * against what `tessera serve` accepts and answers, with no container engine or cluster. The
 * manifests are parsed with Bun.YAML; the entrypoint is run directly with sh, once with a program
 * that prints the command line it would exec (read back with the CLI's own option parser), and
 * then with the single-file executable the image holds, against a repository of real models:
 * probes, an inference, and SIGTERM.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseCommand } from "../src/cli/command.ts";
import { serveCommand } from "../src/cli/serve.ts";
import { buildExecutable, builtExecutable } from "./support/executable.ts";
import { repo, scratchDir } from "./support/paths.ts";
import { firstLines, type ServeProcess } from "./support/serve-cli.ts";
import { makeRepository } from "./support/serve-repository.ts";
import { selfSignedCertificate } from "./support/tls.ts";

const entrypoint = join(repo, "deploy/entrypoint.sh");
const yaml = (path: string) => Bun.YAML.parse(readFileSync(join(repo, path), "utf8")) as any;
const runtime = yaml("deploy/kserve/serving-runtime.yaml");
const service = yaml("deploy/kserve/inference-service.yaml");
const container = runtime.spec.containers[0];
const containerEnv: Record<string, string> = Object.fromEntries((container.env ?? []).map((e: { name: string; value: string }) => [e.name, e.value]));
const containerArgs: string[] = container.args ?? [];
const httpPort = container.ports.find((p: { name: string }) => p.name === "http1").containerPort as number;
const probes = [container.readinessProbe, container.livenessProbe];

/** deploy/Dockerfile's instructions, continuation lines joined: [keyword, rest]. */
const dockerfile = readFileSync(join(repo, "deploy/Dockerfile"), "utf8").replace(/\\\n/g, " ").split("\n")
  .filter((line) => line.trim() !== "" && !line.trimStart().startsWith("#"))
  .map((line) => /^\s*(\w+)\s+(.*)$/.exec(line)!.slice(1) as [string, string]);
const instructions = (keyword: string) => dockerfile.filter(([k]) => k === keyword).map(([, rest]) => rest);
/** COPY source -> destination in the image. */
const copies = new Map(instructions("COPY").map((rest) => rest.split(/\s+/) as [string, string]));

/** A program standing in for tessera that prints each argument it is given on its own line. */
const printer = join(scratchDir("tessera-deploy-"), "print-arguments");
writeFileSync(printer, "#!/bin/sh\nprintf '%s\\n' \"$@\"\n");
chmodSync(printer, 0o755);

/** The command line the entrypoint execs for these settings and container arguments. */
function commandLine(env: Record<string, string>, args: string[] = containerArgs): string[] {
  const run = Bun.spawnSync(["sh", entrypoint, ...args], { env: { PATH: "/usr/bin:/bin", ...env, TESSERA_BIN: printer }, stdout: "pipe", stderr: "pipe" });
  expect({ code: run.exitCode, err: run.stderr.toString() }).toEqual({ code: 0, err: "" });
  return run.stdout.toString().replace(/\n$/, "").split("\n");
}

/** A command line as `tessera serve` reads it; throws the CLI's UsageError for an unknown option. */
function asServe(argv: string[]) {
  expect(argv[0]).toBe("serve");
  return parseCommand(serveCommand.spec, argv.slice(1));
}

describe("the KServe manifests", () => {
  test("the ServingRuntime serves ONNX models over OIP v2 from the image's entrypoint", () => {
    expect([runtime.apiVersion, runtime.kind]).toEqual(["serving.kserve.io/v1alpha1", "ServingRuntime"]);
    expect(runtime.spec.supportedModelFormats).toContainEqual(expect.objectContaining({ name: "onnx", autoSelect: true }));
    expect(runtime.spec.protocolVersions).toContain("v2");
    // gRPC is listed only with a port KServe can route it to.
    const h2c = container.ports.some((p: { name: string }) => p.name === "h2c");
    expect(runtime.spec.protocolVersions.includes("grpc-v2")).toBe(h2c);
    expect(runtime.spec.containers).toHaveLength(1);
    expect(container.name).toBe("kserve-container"); // the name KServe merges the predictor into
    expect(container.command).toBeUndefined(); // the image's ENTRYPOINT runs
  });

  test("its env and args make a command line tessera serve accepts, on the container's port", () => {
    const { values, positionals } = asServe(commandLine(containerEnv));
    expect(positionals).toEqual(["/mnt/models"]); // KServe's storage-initializer mount
    expect(values.port).toBe(String(httpPort));
    expect(values.host).toBe("0.0.0.0");
    expect(values["max-request-bytes"]).toBe("67108864");
  });

  test("its probes call the health endpoints on the container's port", () => {
    expect(probes.map((p) => p.httpGet.path).sort()).toEqual(["/v2/health/live", "/v2/health/ready"]);
    for (const probe of probes) expect(probe.httpGet.port).toBe(httpPort);
  });

  test("the InferenceService names the runtime, a format it supports and its protocol", () => {
    expect([service.apiVersion, service.kind]).toEqual(["serving.kserve.io/v1beta1", "InferenceService"]);
    const model = service.spec.predictor.model;
    expect(model.runtime).toBe(runtime.metadata.name);
    expect(runtime.spec.supportedModelFormats.map((f: { name: string }) => f.name)).toContain(model.modelFormat.name);
    expect(runtime.spec.protocolVersions).toContain(model.protocolVersion);
    expect(model.storageUri).toMatch(/^[a-z0-9]+:\/\/\S+$/);
  });
});

describe("the entrypoint", () => {
  test("maps KServe's defaults, and every optional setting, onto tessera serve's options", () => {
    const defaults = asServe(commandLine({}));
    expect(defaults.positionals).toEqual(["/mnt/models"]);
    expect([defaults.values.port, defaults.values.host]).toEqual(["8080", "0.0.0.0"]);
    expect(asServe(commandLine({ PORT: "9000" })).values.port).toBe("9000"); // Knative's $PORT
    const all = asServe(commandLine({
      TESSERA_MODEL_REPOSITORY: "/models", TESSERA_HTTP_PORT: "8090", TESSERA_HOST: "::", TESSERA_GRPC_PORT: "8081",
      TESSERA_TOKEN_FILE: "/secrets/token", TESSERA_ADMIN_TOKEN_FILE: "/secrets/admin", TESSERA_TLS_CERT: "/tls/tls.crt", TESSERA_TLS_KEY: "/tls/tls.key",
    }, []));
    expect(all.positionals).toEqual(["/models"]);
    expect(all.values).toEqual({
      port: "8090", host: "::", "grpc-port": "8081", "token-file": "/secrets/token", "admin-token-file": "/secrets/admin",
      "tls-cert": "/tls/tls.crt", "tls-key": "/tls/tls.key",
    });
  });

  test("the container's arguments come last, so they override the entrypoint's options", () => {
    const argv = commandLine({}, ["--port", "7000", "--host=127.0.0.1"]);
    expect(argv.slice(-3)).toEqual(["--port", "7000", "--host=127.0.0.1"]);
    expect(asServe(argv).values).toMatchObject({ port: "7000", host: "127.0.0.1" });
  });

  test("an option tessera serve does not know is refused by its parser", () => {
    expect(() => asServe(commandLine({}, ["--model-dir=/mnt/models"]))).toThrow("unknown option '--model-dir'");
  });
});

describe("the Dockerfile", () => {
  beforeAll(() => buildExecutable());

  test("copies the built executable and the entrypoint, and sends nothing else as context", () => {
    expect(copies.get(relative(repo, builtExecutable))).toBeDefined();
    expect(copies.get("deploy/entrypoint.sh")).toBeDefined();
    const ignore = readFileSync(join(repo, "deploy/Dockerfile.dockerignore"), "utf8").split("\n").filter((l) => l && !l.startsWith("#"));
    expect(ignore[0]).toBe("*");
    expect(ignore.slice(1).sort()).toEqual([...copies.keys()].map((source) => `!${source}`).sort());
    for (const source of copies.keys()) expect(existsSync(join(repo, source))).toBe(true);
  });

  test("runs the entrypoint, which execs the executable where it was copied", () => {
    expect(instructions("ENTRYPOINT")).toEqual([JSON.stringify([copies.get("deploy/entrypoint.sh")])]);
    const defaultBin = /\$\{TESSERA_BIN:-([^}]+)\}/.exec(readFileSync(entrypoint, "utf8"))?.[1];
    expect(defaultBin).toBe(copies.get(relative(repo, builtExecutable)));
  });

  test("a slim base, a numeric non-root user, and the runtime's ports exposed", () => {
    expect(instructions("FROM").at(-1)).toMatch(/^(debian:\S+-slim|gcr\.io\/distroless\/\S+)$/);
    const [uid] = instructions("USER").at(-1)!.split(":");
    expect(Number(uid)).toBeGreaterThan(0);
    expect(instructions("EXPOSE").join(" ").split(/\s+/)).toContain(String(httpPort));
  });

  test("the executable needs only glibc, which the slim base has", () => {
    const ldd = Bun.spawnSync(["ldd", builtExecutable], { stdout: "pipe" }).stdout.toString();
    const libraries = [...ldd.matchAll(/^\s*(\S+)/gm)].map((m) => m[1]!.replace(/^.*\//, "").replace(/\.so.*$/, ""));
    expect(libraries.filter((name) => !["linux-vdso", "libc", "libm", "libpthread", "libdl", "ld-linux-x86-64", "ld-linux-aarch64"].includes(name))).toEqual([]);
  });
});

describe("the entrypoint running the executable against a model repository", () => {
  const scratch = scratchDir("tessera-deploy-run-");
  const started: ServeProcess["child"][] = [];
  beforeAll(() => buildExecutable());
  afterAll(() => {
    // What a failed test left running: its process group, so a tessera that sh did not exec dies too.
    for (const child of started) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  });

  /** sh deploy/entrypoint.sh with the runtime's env and args, on free ports of 127.0.0.1. */
  function start(env: Record<string, string>, lines: number): { child: ServeProcess["child"]; printed: Promise<string[]> } {
    const child = Bun.spawn(["sh", entrypoint, ...containerArgs], {
      env: {
        PATH: "/usr/bin:/bin", HOME: join(scratch, "home"), XDG_CACHE_HOME: join(scratch, "cache"),
        ...containerEnv, TESSERA_BIN: builtExecutable, TESSERA_MODEL_REPOSITORY: makeRepository(), TESSERA_HTTP_PORT: "0", TESSERA_HOST: "127.0.0.1", ...env,
      },
      stdin: "ignore", stdout: "pipe", stderr: "pipe",
      detached: true, // its own process group, for afterAll
    });
    started.push(child);
    return { child, printed: firstLines(child, lines) };
  }

  async function stop(child: ServeProcess["child"]) {
    child.kill("SIGTERM");
    expect(await child.exited).toBe(0); // it unloaded its models and returned; a signal's death is 143
  }

  const x = { inputs: [{ name: "x", shape: [1, 4], datatype: "FP32", data: [1, 2, 3, 4] }] };

  test("the probes answer 200, a model infers, and SIGTERM stops it cleanly", async () => {
    const { child, printed } = start({ TESSERA_GRPC_PORT: "0" }, 2);
    const [http, grpc] = await printed;
    expect(grpc).toMatch(/^tessera: gRPC on 127\.0\.0\.1:\d+$/);
    const base = /(http:\/\/127\.0\.0\.1:\d+)\/v2/.exec(http!)![1];
    // exec: the process started is tessera itself, so the signal below reaches it, not a shell.
    expect(realpathSync(`/proc/${child.pid}/exe`)).toBe(realpathSync(builtExecutable));
    for (const probe of probes) expect((await fetch(base + probe.httpGet.path)).status).toBe(200);
    expect((await fetch(`${base}/v2/models/add_fp32/ready`)).status).toBe(200);
    const answer = await fetch(`${base}/v2/models/add_fp32/infer`, { method: "POST", body: JSON.stringify(x) });
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as any).outputs[0].data).toEqual([2, 3, 4, 5]);
    await stop(child);
  });

  test("with a token file and TLS from the environment, the probes stay open and inference needs the token", async () => {
    const certificate = selfSignedCertificate();
    const tokenFile = join(scratch, "token");
    writeFileSync(tokenFile, "inference-2b7f41\n");
    const { child, printed } = start({ TESSERA_TOKEN_FILE: tokenFile, TESSERA_TLS_CERT: certificate.certPath, TESSERA_TLS_KEY: certificate.keyPath }, 1);
    const base = /(https:\/\/127\.0\.0\.1:\d+)\/v2/.exec((await printed)[0]!)![1];
    const tls = { tls: { ca: certificate.cert } };
    for (const probe of probes) expect((await fetch(base + probe.httpGet.path, tls)).status).toBe(200);
    const infer = (headers: Record<string, string>) => fetch(`${base}/v2/models/add_fp32/infer`, { method: "POST", body: JSON.stringify(x), headers, ...tls });
    expect((await infer({})).status).toBe(401);
    expect((await infer({ authorization: "Bearer inference-2b7f41" })).status).toBe(200);
    await stop(child);
  });
});
