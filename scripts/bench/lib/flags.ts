/**
 * Numeric benchmark flags, refused with the flag's name when malformed: a typo must not turn a
 * run into a silent no-op (`Number("x")` is NaN, and every loop bounded by NaN runs zero times).
 */

/** `--flag N`: an integer of at least `min` (default 1), or `fallback` when the flag was not given. */
export function integerFlag(flag: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === "" || !Number.isSafeInteger(value) || value < min) throw new Error(`--${flag} must be an integer >= ${min}, got "${text}"`);
  return value;
}

/** `--flag A,B,C`: a comma-separated list of integers of at least `min` each. */
export function integerListFlag(flag: string, text: string | undefined, fallback: readonly number[], min = 1): number[] {
  if (text === undefined) return [...fallback];
  return text.split(",").map((item) => integerFlag(flag, item, 0, min));
}
