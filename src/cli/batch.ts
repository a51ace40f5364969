/**
 * The batch of a `tessera bench` run: how many items one inference handles, so that throughput
 * can be given in items per second as well as inferences per second.
 *
 * The batch is the leading dim of the inputs. The inputs whose leading dim the model leaves open
 * (`[N, 3, 224, 224]`) are the batched ones; when none is open, the inputs of rank 2 or more
 * count (a vector's only dim is its features, not a batch). They must all share their leading
 * dim; when they do not, nothing says what an item is and the batch is 1.
 *
 * `-b N` sets the open leading dims to N (for inputs whose other dims are fixed and that neither
 * --shape nor a file sizes), and the batch must then be N.
 */
import type { TensorInfo } from "../model.ts";
import { UsageError } from "./args.ts";
import { parseInputSpec, parseShapeSpec } from "./inputs.ts";

const openLeading = (info: TensorInfo) => info.shape !== null && info.shape.length > 0 && typeof info.shape[0] !== "number";

/**
 * --shape specs that give the open leading dims the size `batch`; inputs sized otherwise are left
 * to their --shape, their file, or the usual "give its dims" error.
 */
export function batchShapeSpecs(infos: readonly TensorInfo[], batch: number, shapes: readonly string[], inputs: readonly string[]): string[] {
  const named = new Set([...shapes.flatMap(parseShapeSpec).map(([name]) => name), ...inputs.map((spec) => parseInputSpec(spec)).filter(([, source]) => source.kind !== "random").map(([name]) => name)]);
  // An unnamed spec stands for the only input, whichever it is.
  if (named.has("")) return [];
  return infos
    .filter((info) => openLeading(info) && !named.has(info.name) && info.shape!.slice(1).every((d) => typeof d === "number"))
    .map((info) => `${info.name}=${[batch, ...info.shape!.slice(1)].join(",")}`);
}

/** The batch of inputs of these declared infos and these actual shapes, by the rule above. */
export function batchOf(infos: readonly TensorInfo[], shapes: Readonly<Record<string, readonly number[]>>): number {
  const given = infos.filter((info) => shapes[info.name] !== undefined);
  const open = given.filter(openLeading);
  const batched = open.length ? open : given.filter((info) => (info.shape?.length ?? 0) >= 2);
  const leading = new Set(batched.map((info) => shapes[info.name]![0]));
  return leading.size === 1 ? [...leading][0]! : 1;
}

/** `-b N` against the batch the inputs have: a UsageError naming their leading dims when they differ. */
export function checkBatch(option: string, wanted: number, infos: readonly TensorInfo[], shapes: Readonly<Record<string, readonly number[]>>): void {
  if (batchOf(infos, shapes) === wanted) return;
  const dims = Object.entries(shapes).map(([name, shape]) => `${name} ${shape.length ? shape[0] : "(scalar)"}`).join(", ");
  throw new UsageError(`${option} ${wanted} does not fit the inputs' leading dims (${dims})`);
}
