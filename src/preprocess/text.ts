/**
 * Text to a transformer's inputs: `tessera/preprocess/text`.
 *
 *   import { loadTokenizer } from "tessera/preprocess/text";
 *   const tokenizer = await loadTokenizer("./tokenizer.json");
 *   const inputs = tokenizer.encode(["a sentence", "another one"], { model, maxLength: 128 });
 *   const { last_hidden_state } = await model.run(inputs);
 *
 * Tokenizing is done by @huggingface/tokenizers (pure JS, reads Hugging Face's tokenizer.json),
 * an optional peer dependency imported on first use. What is done here is what turns its
 * per-sentence ids into tensors: truncation, padding and the choice of the model's inputs.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, URL } from "node:url";
import type { Tokenizer } from "@huggingface/tokenizers";
import { InvalidArgumentError, IOError, ShapeError } from "../errors.ts";
import { type Tensor, tensor } from "../tensor.ts";
import { optionalPackage } from "./optional-package.ts";

const entry = "tessera/preprocess/text";

/** A tokenizer.json: its path, or the parsed JSON. */
export type TokenizerSource = string | URL | Record<string, unknown>;

export interface LoadTokenizerOptions {
  /**
   * tokenizer_config.json (a path or the parsed JSON): options such as the pad token that live
   * beside tokenizer.json. By default, for a tokenizer read from a path, the tokenizer_config.json
   * in the same folder if there is one.
   */
  config?: string | URL | Record<string, unknown>;
}

/** The three inputs BERT-style encoders take, each int64 [batch, length]. */
export const textInputNames = ["input_ids", "attention_mask", "token_type_ids"] as const;
export type TextInputName = (typeof textInputNames)[number];
export type TextInputs = Record<TextInputName, Tensor>;

export interface EncodeOptions {
  /**
   * "longest" (the default) pads every sentence to the batch's longest; "max_length" to
   * `maxLength`; false pads nothing, so sentences of different lengths are a ShapeError.
   */
  padding?: "longest" | "max_length" | false;
  /** The most tokens a sentence keeps (special tokens included), and the "max_length" target. */
  maxLength?: number;
  /** Cut sentences longer than `maxLength` (the default when it is given); false makes them a ShapeError. */
  truncation?: boolean;
  /**
   * Second sentences, one per first sentence (a cross-encoder's query and passage, an NLI pair):
   * encoded after it as the tokenizer's template says, typed 1 in token_type_ids. Truncation
   * cuts from the end, so from the second sentence first.
   */
  pair?: string | readonly string[];
  /** Add the tokenizer's special tokens ([CLS] ... [SEP], <s> ... </s>). Default true. */
  addSpecialTokens?: boolean;
  /**
   * Return only the inputs this model takes, so the result can be passed to `model.run` as is.
   * An input of the model that is none of input_ids, attention_mask, token_type_ids is an error.
   */
  model?: { readonly inputNames: readonly string[] };
}

/** One sentence's tokens before padding. */
interface Row {
  ids: number[];
  typeIds: number[];
}

export class TextTokenizer {
  /** The @huggingface/tokenizers Tokenizer, for what this class does not cover (decode, vocab). */
  readonly tokenizer: Tokenizer;
  /** The id padding writes: tokenizer.json's padding.pad_id, else the config's pad_token, else [PAD] or <pad>, else 0. */
  readonly padId: number;
  readonly #specialIds: Set<number>;

  /** @internal Use loadTokenizer(). */
  constructor(tokenizer: Tokenizer, json: Record<string, unknown>, config: Record<string, unknown>) {
    this.tokenizer = tokenizer;
    this.padId = padIdOf(tokenizer, json, config);
    this.#specialIds = new Set([...tokenizer.get_added_tokens_decoder()].filter(([, t]) => t.special).map(([id]) => id));
  }

  /** The tokens of one sentence as the tokenizer splits it (no special tokens), for display. */
  tokenize(text: string): string[] {
    return this.tokenizer.tokenize(text);
  }

  /** A sentence or a batch of them as int64 tensors [batch, length] (a single sentence is a batch of one). */
  encode(text: string | readonly string[], options: EncodeOptions & { model: { readonly inputNames: readonly string[] } }): Record<string, Tensor>;
  encode(text: string | readonly string[], options?: EncodeOptions): TextInputs;
  encode(text: string | readonly string[], options: EncodeOptions = {}): Record<string, Tensor> {
    const texts = typeof text === "string" ? [text] : [...text];
    if (texts.length === 0) throw new InvalidArgumentError("encode: no sentences");
    const wanted = selectInputs(options.model);
    const { maxLength } = options;
    if (maxLength !== undefined && !(Number.isInteger(maxLength) && maxLength > 0)) {
      throw new InvalidArgumentError(`encode: maxLength must be a positive integer, not ${maxLength}`);
    }
    const truncate = options.truncation ?? maxLength !== undefined;
    if (truncate && maxLength === undefined) throw new InvalidArgumentError("encode: truncation needs maxLength");
    const pairs = options.pair === undefined ? undefined : typeof options.pair === "string" ? [options.pair] : [...options.pair];
    if (pairs !== undefined && pairs.length !== texts.length) {
      throw new InvalidArgumentError(`encode: ${pairs.length} second sentences for ${texts.length} sentences`);
    }
    const rows = texts.map((t, i) => {
      if (typeof t !== "string" || (pairs !== undefined && typeof pairs[i] !== "string")) {
        throw new InvalidArgumentError("encode: sentences must be strings");
      }
      const row = this.#row(t, pairs?.[i] ?? null, options.addSpecialTokens ?? true);
      return truncate ? this.#truncate(row, maxLength!) : row;
    });
    const length = paddedLength(rows, options.padding ?? "longest", maxLength);
    return Object.fromEntries(wanted.map((name) => [name, fill(rows, length, name, this.padId)]));
  }

  #row(text: string, pair: string | null, addSpecialTokens: boolean): Row {
    const encoded = this.tokenizer.encode(text, { text_pair: pair, add_special_tokens: addSpecialTokens, return_token_type_ids: true });
    return { ids: encoded.ids, typeIds: encoded.token_type_ids ?? new Array<number>(encoded.ids.length).fill(0) };
  }

  /** Cuts the text's tokens from the end, keeping the special tokens that open and close it. */
  #truncate(row: Row, maxLength: number): Row {
    if (row.ids.length <= maxLength) return row;
    let head = 0;
    while (head < row.ids.length && this.#specialIds.has(row.ids[head]!)) head++;
    let tail = 0;
    while (tail < row.ids.length - head && this.#specialIds.has(row.ids[row.ids.length - 1 - tail]!)) tail++;
    if (head + tail >= maxLength) return { ids: row.ids.slice(0, maxLength), typeIds: row.typeIds.slice(0, maxLength) };
    const keep = (values: number[]) => [...values.slice(0, maxLength - tail), ...values.slice(values.length - tail)];
    return { ids: keep(row.ids), typeIds: keep(row.typeIds) };
  }
}

/** Reads tokenizer.json (and tokenizer_config.json) and imports @huggingface/tokenizers. */
export async function loadTokenizer(source: TokenizerSource, options: LoadTokenizerOptions = {}): Promise<TextTokenizer> {
  const { Tokenizer } = await optionalPackage("@huggingface/tokenizers", "^0.2.0", entry, () => import("@huggingface/tokenizers"));
  const json = readJson(source, "tokenizer.json");
  const config = options.config !== undefined ? readJson(options.config, "tokenizer_config.json") : siblingConfig(source);
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(json, config);
  } catch (cause) {
    throw new InvalidArgumentError(`@huggingface/tokenizers cannot read ${describe(source)} as a tokenizer: ${(cause as Error).message}`, { cause });
  }
  return new TextTokenizer(tokenizer, json, config);
}

function selectInputs(model: EncodeOptions["model"]): readonly string[] {
  if (model === undefined) return textInputNames;
  const unknown = model.inputNames.filter((name) => !(textInputNames as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new InvalidArgumentError(
      `encode: the model takes ${unknown.map((n) => `"${n}"`).join(", ")}, which text encoding does not make ` +
        `(it makes ${textInputNames.join(", ")})`,
    );
  }
  return model.inputNames;
}

function paddedLength(rows: readonly Row[], padding: EncodeOptions["padding"], maxLength: number | undefined): number {
  const longest = Math.max(...rows.map((r) => r.ids.length));
  if (padding === "max_length") {
    if (maxLength === undefined) throw new InvalidArgumentError('encode: padding "max_length" needs maxLength');
    if (longest > maxLength) throw new ShapeError(`encode: a sentence has ${longest} tokens, more than maxLength ${maxLength}, and truncation is off`);
    return maxLength;
  }
  if (padding === false) {
    if (rows.some((r) => r.ids.length !== longest)) {
      throw new ShapeError("encode: sentences of different lengths make no tensor without padding");
    }
    return longest;
  }
  if (padding !== "longest") throw new InvalidArgumentError(`encode: padding must be "longest", "max_length" or false, not ${String(padding)}`);
  return longest;
}

function fill(rows: readonly Row[], length: number, name: string, padId: number): Tensor {
  const data = new BigInt64Array(rows.length * length);
  rows.forEach((row, r) => {
    const at = r * length;
    if (name === "input_ids") {
      data.fill(BigInt(padId), at, at + length);
      row.ids.forEach((id, i) => (data[at + i] = BigInt(id)));
    } else if (name === "attention_mask") {
      data.fill(1n, at, at + row.ids.length);
    } else {
      row.typeIds.forEach((id, i) => (data[at + i] = BigInt(id)));
    }
  });
  return tensor(data, { shape: [rows.length, length], copy: false });
}

function padIdOf(tokenizer: Tokenizer, json: Record<string, unknown>, config: Record<string, unknown>): number {
  const padding = json.padding as { pad_id?: unknown } | null | undefined;
  if (typeof padding?.pad_id === "number") return padding.pad_id;
  const configured = config.pad_token;
  const name = typeof configured === "string" ? configured : (configured as { content?: string } | undefined)?.content;
  for (const token of [name, "[PAD]", "<pad>"]) {
    const id = token === undefined ? undefined : tokenizer.token_to_id(token);
    if (id !== undefined) return id;
  }
  return 0;
}

function readJson(source: string | URL | Record<string, unknown>, what: string): Record<string, unknown> {
  if (typeof source !== "string" && !(source instanceof URL)) {
    if (source === null || typeof source !== "object") throw new InvalidArgumentError(`${what}: expected a path or the parsed JSON`);
    return source;
  }
  let text: string;
  try {
    text = readFileSync(source, "utf8");
  } catch (cause) {
    throw new IOError(`cannot read ${what} at ${describe(source)}: ${(cause as Error).message}`, { cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new InvalidArgumentError(`${what} at ${describe(source)} is not JSON: ${(cause as Error).message}`, { cause });
  }
}

function siblingConfig(source: TokenizerSource): Record<string, unknown> {
  if (typeof source !== "string" && !(source instanceof URL)) return {};
  const path = join(dirname(source instanceof URL ? fileURLToPath(source) : source), "tokenizer_config.json");
  // Optional: @huggingface/tokenizers reads only a few settings from it.
  return existsSync(path) ? readJson(path, "tokenizer_config.json") : {};
}

function describe(source: TokenizerSource): string {
  return typeof source === "string" || source instanceof URL ? String(source) : "the tokenizer JSON";
}
