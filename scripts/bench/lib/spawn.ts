/** Starting a server under test as a child process and stopping it reliably. */
import type { Subprocess } from "bun";

/** A running child process started by `startProcess`. */
export interface RunningProcess {
  readonly pid: number;
  readonly process: Subprocess<"ignore", "ignore", "pipe">;
  /** The last lines the process wrote to stderr, for error messages. */
  stderrTail(): string;
  /** SIGTERM, then SIGKILL after `graceMs` (default 5 s); resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/**
 * Starts `argv` with stdout discarded and stderr captured (the last 64 KiB kept), so a bench
 * can say why a server failed to come up.
 */
export function startProcess(argv: string[], options: { env?: Record<string, string | undefined>; cwd?: string } = {}): RunningProcess {
  const child = Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "pipe", env: options.env ?? process.env, cwd: options.cwd });
  let stderr = "";
  const decoder = new TextDecoder();
  void (async () => {
    for await (const chunk of child.stderr) stderr = (stderr + decoder.decode(chunk, { stream: true })).slice(-65536);
  })();
  return {
    pid: child.pid,
    process: child,
    stderrTail: () => stderr.split("\n").slice(-20).join("\n"),
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const code = await child.exited;
      clearTimeout(killer);
      return code;
    },
  };
}
