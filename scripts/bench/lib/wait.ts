/** Polling with a deadline: benches wait for servers to come up without fixed sleeps. */

/** Options for `waitFor`. */
export interface WaitOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Pause between checks (default 10 ms). */
  intervalMs?: number;
  /** Named in the timeout error, e.g. "shoal /readyz". */
  what?: string;
}

/**
 * Polls `check` until it returns true; resolves with the milliseconds waited. A check that
 * throws, or returns a string saying why not, counts as "not yet" (a connection refused while a
 * server starts), and the last such detail is named when the deadline passes.
 */
export async function waitFor(check: () => boolean | string | Promise<boolean | string>, options: WaitOptions = {}): Promise<number> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 10;
  const started = performance.now();
  let lastDetail = "";
  for (;;) {
    try {
      const result = await check();
      if (result === true) return performance.now() - started;
      if (typeof result === "string") lastDetail = `last check: ${result}`;
    } catch (error) {
      lastDetail = `last error: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (performance.now() - started >= timeoutMs) {
      const reason = lastDetail ? ` (${lastDetail})` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? "condition"}${reason}`);
    }
    await Bun.sleep(intervalMs);
  }
}

/** Waits until a GET of `url` answers `status` (default 200); resolves with the milliseconds waited. */
export function waitForHttp(url: string, options: WaitOptions & { status?: number } = {}): Promise<number> {
  const status = options.status ?? 200;
  return waitFor(
    async () => {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      return response.status === status;
    },
    { what: `${url} to answer ${status}`, ...options },
  );
}
