/** The first check of every decoder: a decoded CBOR body must be a map before its fields are read. */
import { DecodeError } from "./errors.ts";

/**
 * Returns `value` as a map of fields, or throws `DecodeError` naming `field` when it is anything
 * else; arrays and byte strings are refused too, though JavaScript calls them objects.
 */
export function record(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new DecodeError(`${field} must be a map`, { field });
  }
  return value as Record<string, unknown>;
}
