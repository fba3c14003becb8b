/** Temporary data directories for the store tests, removed after each test. */
import { afterEach } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory under the system temp dir, deleted when the current test ends. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "shoal-"));
  made.push(dir);
  return dir;
}
