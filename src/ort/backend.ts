/**
 * Tessera as an onnxruntime-common backend: src/ort/index.ts registers it under each execution
 * provider name Tessera answers to ("tessera", "cpu", "vulkan").
 */
import { type Backend, env, type InferenceSession } from "onnxruntime-common";
import { logging } from "../logging.ts";
import { logLevelFor } from "./options.ts";
import { TesseraSessionHandler } from "./session-handler.ts";

let envApplied = false;

export const tesseraBackend: Backend = {
  /**
   * Runs before the first session of each name. onnxruntime-node reads env.logLevel once, when
   * its first session is made; so does this, as Tessera's (process-wide) log level.
   */
  async init(): Promise<void> {
    if (envApplied) return;
    envApplied = true;
    logging.setLevel(logLevelFor(env.logLevel));
  },

  async createInferenceSessionHandler(source: string | Uint8Array, options: InferenceSession.SessionOptions = {}) {
    return await TesseraSessionHandler.create(source, options);
  },
};
