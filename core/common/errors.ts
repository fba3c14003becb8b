/**
 * Typed errors. Every error Shoal raises on purpose is a `ShoalError` with a stable `code`
 * (for scripts and API clients) and a `context` naming what was wrong, so a message can say
 * which field, which peer or which file without string-parsing.
 */

/** The base of every deliberate Shoal error: a stable code, a message, and structured context. */
export class ShoalError extends Error {
  constructor(
    /** Stable, machine-readable code, e.g. `config_invalid`, `decode_failed`. */
    readonly code: string,
    message: string,
    /** What the error is about (field, value, peer, path…); never secrets. */
    readonly context: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input from outside (a packet, a file, a body) could not be decoded or failed validation. */
export class DecodeError extends ShoalError {
  constructor(message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super("decode_failed", message, context, options);
  }
}

/** Turns anything thrown into a one-line message fit for a log line or a CLI error. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
