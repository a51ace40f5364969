/**
 * A self-signed certificate for 127.0.0.1, made with openssl for each run (valid one day), so no
 * key is kept in the repository. The certificate is its own CA: a client trusts it by passing it
 * as the CA.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { scratchDir } from "./paths.ts";

export interface Certificate {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
}

export function selfSignedCertificate(): Certificate {
  const folder = scratchDir("tessera-tls-");
  const certPath = join(folder, "cert.pem");
  const keyPath = join(folder, "key.pem");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
    // A leaf, not a CA: rustls (Deno's fetch) refuses a CA certificate as the server's own.
    "-addext", "basicConstraints=critical,CA:FALSE", "-keyout", keyPath, "-out", certPath,
  ], { stdio: "ignore" });
  return { cert: readFileSync(certPath, "utf8"), key: readFileSync(keyPath, "utf8"), certPath, keyPath };
}
