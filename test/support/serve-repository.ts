/** A temporary model repository for the serving tests, in both layouts the server reads. */
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { scratchDir } from "./paths.ts";
import { addOne, negate, passStrings, twoOutputs } from "./serve-models.ts";

/** The repository folder, and a model outside it that a symlink inside points to. */
export function makeRepository(): string {
  const root = scratchDir("tessera-serve-");
  const repository = join(root, "models");
  mkdirSync(repository);
  writeFileSync(join(repository, "add_fp32.onnx"), addOne("add_fp32", "float32"));
  writeFileSync(join(repository, "add_int64.onnx"), addOne("add_int64", "int64"));
  writeFileSync(join(repository, "add_uint8.onnx"), addOne("add_uint8", "uint8"));
  writeFileSync(join(repository, "not_bool.onnx"), negate("not_bool"));
  writeFileSync(join(repository, "strings.onnx"), passStrings("strings"));
  writeFileSync(join(repository, "two_outputs.onnx"), twoOutputs("two_outputs"));
  // Triton's layout: version 3 is the latest and the one served by default.
  for (const version of ["1", "3"]) {
    mkdirSync(join(repository, "add_fp16", version), { recursive: true });
    writeFileSync(join(repository, "add_fp16", version, "model.onnx"), addOne("add_fp16", "float16"));
  }
  // Outside the repository, reachable only through a symlink, which must be refused.
  writeFileSync(join(root, "outside.onnx"), addOne("outside", "float32"));
  symlinkSync(join(root, "outside.onnx"), join(repository, "escape.onnx"));
  return repository;
}
