import { expect, test } from "bun:test";
import { onShutdownSignals, type ShutdownSignal } from "../../core/agent/signals.ts";

test("the first shutdown signal is graceful, any later one immediate; uninstall removes both handlers", () => {
  const calls: string[] = [];
  const listeners = () => process.listeners("SIGTERM").length + process.listeners("SIGINT").length;
  const before = listeners();
  const uninstall = onShutdownSignals(
    (signal: ShutdownSignal) => calls.push(`graceful ${signal}`),
    (signal: ShutdownSignal) => calls.push(`immediate ${signal}`),
  );
  try {
    // Emitting runs the listeners without delivering a real signal to the test runner.
    process.emit("SIGINT");
    process.emit("SIGTERM");
    process.emit("SIGINT");
  } finally {
    uninstall();
  }
  expect(calls).toEqual(["graceful SIGINT", "immediate SIGTERM", "immediate SIGINT"]);
  expect(listeners()).toBe(before);
});
