/**
 * Every tunable of dispatcher sessions, in one place. All durations are milliseconds; the cores
 * never read a clock, the shell passes `now`.
 */
import { ShoalError } from "../../common/errors.ts";

/** Dispatcher session settings; see each field. */
export interface DispatcherConfig {
  /**
   * How often a node heartbeats its manager. The manager owns this value and tells each node in
   * every reply, so a cluster changes it without touching the nodes. Default 5 seconds.
   */
  heartbeatPeriod: number;
  /**
   * Heartbeat periods without a heartbeat after which a manager declares the node `down`, and
   * without a reply after which a node gives its manager up and fails over to another. Three, as
   * Docker Swarm does: one or two lost heartbeats never mark a healthy node down.
   */
  missedHeartbeats: number;
  /** How long a node waits for its manager to accept a session it opened. Default 10 seconds. */
  openTimeout: number;
  /** First wait before a node dials again after a whole round of managers failed. Default 200 ms. */
  reconnectBackoffMin: number;
  /** Longest such wait; the wait doubles up to it, with jitter. Default 10 seconds. */
  reconnectBackoffMax: number;
  /**
   * How long a node recorded `ready` may stay without a session the cluster can account for (its
   * manager unreachable, removed or restarted without it) before it is marked `down`. Long
   * enough for a node to fail over to another manager. Default 30 seconds.
   */
  orphanGrace: number;
}

/** How often the shells tick the session cores; well under any sensible heartbeat period. */
export const SESSION_TICK_MS = 100;

/** How often a manager's shell compares the sessions it serves with the replicated records. */
export const SESSION_RECONCILE_MS = 500;

/** The defaults. */
export const DEFAULT_DISPATCHER_CONFIG: Readonly<DispatcherConfig> = Object.freeze({
  heartbeatPeriod: 5_000,
  missedHeartbeats: 3,
  openTimeout: 10_000,
  reconnectBackoffMin: 200,
  reconnectBackoffMax: 10_000,
  orphanGrace: 30_000,
});

/** Fills in defaults and validates; throws `ShoalError("config_invalid")` naming the field. */
export function dispatcherConfig(overrides: Partial<DispatcherConfig> = {}): DispatcherConfig {
  const config = { ...DEFAULT_DISPATCHER_CONFIG, ...overrides };
  for (const [field, value] of Object.entries(config)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new ShoalError("config_invalid", `dispatcher ${field} must be a positive whole number, got ${value}`, { field, value });
    }
  }
  if (config.reconnectBackoffMin > config.reconnectBackoffMax) {
    throw new ShoalError("config_invalid", "dispatcher reconnectBackoffMin cannot exceed reconnectBackoffMax", { field: "reconnectBackoffMin" });
  }
  return config;
}

/** How long a session may go without a heartbeat (manager side) or a reply (node side). */
export function sessionTimeout(heartbeatPeriod: number, config: Pick<DispatcherConfig, "missedHeartbeats">): number {
  return heartbeatPeriod * config.missedHeartbeats;
}
