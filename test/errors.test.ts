/** Error classes mirror the C status codes, all under RuntimeException. */
import { describe, expect, test } from "bun:test";
import * as rt from "../src/index.ts";
import { errorFromStatus } from "../src/errors.ts";

const expected = [
  "InvalidArgumentError", "InvalidStateError", "InvalidOperationError", "TypeError", "ShapeError",
  "ExtensionError", "DeviceError", "ModelError", "RequestError", "InferError", "OutOfResourceError",
  "ContainerError", "RemoteError", "IOError", "NetworkError", "OSError", "NotImplementedError",
  "TimeoutError",
];

describe("errors", () => {
  test("every class exists, extends RuntimeException and Error, and has its status", () => {
    expect(Object.keys(rt.errorClasses).sort()).toEqual([...expected].sort());
    expected.forEach((name, i) => {
      const cls = rt.errorClasses[name]!;
      const error = new cls("boom");
      expect(error).toBeInstanceOf(rt.RuntimeException);
      expect(error).toBeInstanceOf(Error);
      expect([error.name, error.status, error.message]).toEqual([name, -(i + 1), "boom"]);
    });
    expect(new rt.TypeError("x")).not.toBeInstanceOf(globalThis.TypeError);
  });

  test("native statuses become their classes with the library's message", () => {
    expect(errorFromStatus(-5, "bad dims")).toBeInstanceOf(rt.ShapeError);
    expect(errorFromStatus(-99, "future")).toBeInstanceOf(rt.RuntimeException);
    try {
      rt.tensor({ shape: [-3] });
      throw new Error("unreachable");
    } catch (error) {
      expect(error).toBeInstanceOf(rt.ShapeError);
      expect((error as rt.ShapeError).status).toBe(-5);
      expect((error as Error).message).toBe("dim 0 of the shape is negative (-3)");
    }
  });

  test("the message is per thread and survives unrelated successful calls", () => {
    expect(() => rt.tensor({ shape: [-1] })).toThrow(/negative/);
    using ok = rt.tensor([1]);
    expect(() => rt.loadTensor("/nonexistent.tsr")).toThrow(/cannot open '\/nonexistent.tsr'/);
    expect(ok.size).toBe(1);
  });
});
