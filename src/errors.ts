/**
 * Error classes mirroring the C status codes (tessera.h). Every error Tessera throws is a
 * RuntimeException, which extends Error, and carries the status code it came from.
 */

export class RuntimeException extends Error {
  /** The tsr_status this error mirrors (negative), or 0 for errors raised in TypeScript only. */
  readonly status: number;
  constructor(message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options);
    this.name = new.target.name;
    this.status = options?.status ?? (new.target as typeof RuntimeException).code;
  }
  static readonly code: number = 0;
}

export class InvalidArgumentError extends RuntimeException {
  static override readonly code = -1;
}
export class InvalidStateError extends RuntimeException {
  static override readonly code = -2;
}
export class InvalidOperationError extends RuntimeException {
  static override readonly code = -3;
}
/** A wrong or unknown element type. Shadows the global TypeError only inside this module's API. */
export class TypeError extends RuntimeException {
  static override readonly code = -4;
}
export class ShapeError extends RuntimeException {
  static override readonly code = -5;
}
export class ExtensionError extends RuntimeException {
  static override readonly code = -6;
}
export class DeviceError extends RuntimeException {
  static override readonly code = -7;
}
export class ModelError extends RuntimeException {
  static override readonly code = -8;
}
export class RequestError extends RuntimeException {
  static override readonly code: number = -9;
}
export class InferError extends RuntimeException {
  static override readonly code = -10;
}
export class OutOfResourceError extends RuntimeException {
  static override readonly code = -11;
}
export class ContainerError extends RuntimeException {
  static override readonly code = -12;
}
/**
 * A failure a remote server reported (rt.remote). `status` stays the tsr_status, as on every
 * RuntimeException; the server's HTTP status travels in `httpStatus`.
 */
export class RemoteError extends RuntimeException {
  static override readonly code = -13;
  /** The HTTP status the server answered with (400, 401, 404, 503, ...), where one did. */
  readonly httpStatus: number | undefined;
  constructor(message: string, options?: { cause?: unknown; status?: number; httpStatus?: number }) {
    super(message, options);
    this.httpStatus = options?.httpStatus;
  }
}
export class IOError extends RuntimeException {
  static override readonly code = -14;
}
export class NetworkError extends RuntimeException {
  static override readonly code = -15;
}
export class OSError extends RuntimeException {
  static override readonly code = -16;
}
export class NotImplementedError extends RuntimeException {
  static override readonly code = -17;
}

/** A request's deadline passed: nodes not yet started were skipped. A kind of RequestError. */
export class TimeoutError extends RequestError {
  static override readonly code = -18;
}

const byStatus = new Map<number, typeof RuntimeException>(
  [
    InvalidArgumentError,
    InvalidStateError,
    InvalidOperationError,
    TypeError,
    ShapeError,
    ExtensionError,
    DeviceError,
    ModelError,
    RequestError,
    InferError,
    OutOfResourceError,
    ContainerError,
    RemoteError,
    IOError,
    NetworkError,
    OSError,
    NotImplementedError,
    TimeoutError,
  ].map((cls) => [cls.code, cls]),
);

/** The error class for a native status; an unknown negative status is a plain RuntimeException. */
export function errorClassFor(status: number): typeof RuntimeException {
  return byStatus.get(status) ?? RuntimeException;
}

export function errorFromStatus(status: number, message: string): RuntimeException {
  const ErrorClass = errorClassFor(status);
  return new ErrorClass(message || `native call failed with status ${status}`, { status });
}

/** Every error class by name, for tests and for users who switch on names. */
export const errorClasses = Object.fromEntries([...byStatus.values()].map((cls) => [cls.name, cls]));
