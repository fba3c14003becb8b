/**
 * Reading JSON request bodies. A body is size-limited, must be declared as JSON, must parse, and
 * must pass the route's validator before the route sees it; each failure has its own status and
 * error code.
 */
import type { Context } from "hono";
import { DecodeError } from "../common/errors.ts";
import { ApiError } from "./errors.ts";

/** Largest JSON body accepted by default (1 MiB). */
export const MAX_JSON_BODY_BYTES = 1 << 20;

/** Checks an untrusted value and returns it typed, or throws `DecodeError` saying what is wrong. */
export type Validator<T> = (value: unknown) => T;

/** Reads, parses and validates the JSON body of `c`. */
export async function readJsonBody<T>(c: Context, validate: Validator<T>, maxBytes = MAX_JSON_BODY_BYTES): Promise<T> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/json\b/i.test(type)) {
    throw new ApiError(415, "unsupported_media_type", `expected Content-Type application/json, got ${JSON.stringify(type)}`);
  }
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > maxBytes) throw new ApiError(413, "body_too_large", `body of ${declared} bytes exceeds the limit of ${maxBytes}`);
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.byteLength > maxBytes) {
    throw new ApiError(413, "body_too_large", `body of ${bytes.byteLength} bytes exceeds the limit of ${maxBytes}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new ApiError(400, "invalid_json", `body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  return validate(value);
}

/** Validator helper: `value` must be a plain object whose keys are all in `allowed`. */
export function expectObject(value: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new DecodeError("expected a JSON object");
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new DecodeError(`unknown field ${JSON.stringify(key)}; accepted: ${allowed.join(", ")}`, { field: key });
    }
  }
  return value as Record<string, unknown>;
}
