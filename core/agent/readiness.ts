/**
 * Readiness checks: each subsystem registers named checks, and `/readyz` answers 200 only when
 * all of them pass. A check that throws or takes too long counts as failing, so one stuck
 * subsystem cannot hang the health endpoint.
 */

/** The outcome of one check: pass or fail, with a short reason when failing. */
export interface CheckResult {
  ok: boolean;
  detail?: string;
}

/** A named readiness check. */
export type ReadinessCheck = () => CheckResult | boolean | Promise<CheckResult | boolean>;

/** The result of evaluating every check. */
export interface ReadinessReport {
  ready: boolean;
  checks: Array<{ name: string; ok: boolean; detail?: string }>;
}

/** The registry of readiness checks of one agent. */
export class ReadinessRegistry {
  private readonly checks = new Map<string, ReadinessCheck>();

  constructor(private readonly checkTimeoutMs = 1000) {}

  /** Registers `check` under `name` (replacing any previous check of that name). */
  add(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /** Removes the check `name`. */
  remove(name: string): void {
    this.checks.delete(name);
  }

  /** Runs every check concurrently, each bounded by the timeout. */
  async evaluate(): Promise<ReadinessReport> {
    const checks = await Promise.all(
      [...this.checks].map(async ([name, check]) => ({ name, ...(await this.run(check)) })),
    );
    return { ready: checks.every((check) => check.ok), checks };
  }

  private async run(check: ReadinessCheck): Promise<CheckResult> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<CheckResult>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, detail: `check timed out after ${this.checkTimeoutMs} ms` }), this.checkTimeoutMs);
    });
    try {
      const result = await Promise.race([Promise.resolve().then(check), timeout]);
      return typeof result === "boolean" ? { ok: result } : result;
    } catch (error) {
      return { ok: false, detail: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
  }
}
