/**
 * Shutdown signals: the first SIGTERM or SIGINT asks for a graceful shutdown, a second one
 * (an impatient Ctrl-C, or systemd's final kill escalation arriving early) asks to exit at once.
 */

/** The signals that stop the agent. */
export const SHUTDOWN_SIGNALS = ["SIGTERM", "SIGINT"] as const;

/** One of `SHUTDOWN_SIGNALS`. */
export type ShutdownSignal = (typeof SHUTDOWN_SIGNALS)[number];

/** Calls `graceful` on the first shutdown signal and `immediate` on any later one; returns an uninstaller. */
export function onShutdownSignals(
  graceful: (signal: ShutdownSignal) => void,
  immediate: (signal: ShutdownSignal) => void,
): () => void {
  let received = 0;
  const handlers = SHUTDOWN_SIGNALS.map((signal) => {
    const handler = () => {
      received += 1;
      if (received === 1) graceful(signal);
      else immediate(signal);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}
