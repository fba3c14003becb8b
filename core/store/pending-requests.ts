/**
 * Client requests waiting on the log: each one a promise keyed by request id, settled when its
 * entry applies (or its read is confirmed), or rejected when its deadline passes.
 */
import { ShoalError } from "../common/errors.ts";

/** A request that did not complete in time; its outcome is unknown (it may still commit). */
export class RequestTimeoutError extends ShoalError {
  constructor(what: string, timeoutMs: number) {
    super("request_timeout", `${what} did not complete within ${timeoutMs} ms`, { timeoutMs });
  }
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
  timer: ReturnType<typeof setTimeout>;
}

/** Promises keyed by request id, each with a deadline. */
export class PendingRequests<T> {
  private readonly waiters = new Map<string, Waiter<T>>();

  constructor(
    /** Names the request kind in timeout errors, e.g. "proposal". */
    private readonly what: string,
    private readonly timeoutMs: number,
    /** Called whenever a request leaves, however it ends. */
    private readonly onSettled: (key: string) => void = () => {},
  ) {}

  /** Registers `key`; the promise rejects with `RequestTimeoutError` after the deadline. */
  add(key: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => this.reject(key, new RequestTimeoutError(this.what, this.timeoutMs)), this.timeoutMs);
      this.waiters.set(key, { resolve, reject, timer });
    });
  }

  /** Whether `key` is still waiting. */
  has(key: string): boolean {
    return this.waiters.has(key);
  }

  /** Completes `key` with `value` (no-op when it already left). */
  resolve(key: string, value: T): void {
    this.take(key)?.resolve(value);
  }

  /** Fails `key` with `error` (no-op when it already left). */
  reject(key: string, error: unknown): void {
    this.take(key)?.reject(error);
  }

  /** Fails every waiting request with `error`. */
  rejectAll(error: unknown): void {
    for (const key of [...this.waiters.keys()]) this.reject(key, error);
  }

  private take(key: string): Waiter<T> | undefined {
    const waiter = this.waiters.get(key);
    if (!waiter) return undefined;
    this.waiters.delete(key);
    clearTimeout(waiter.timer);
    this.onSettled(key);
    return waiter;
  }
}
