/** The `shoal_dispatcher_*` series, shared by the node and manager shells of one agent. */
import type { Counter, Gauge, MetricsRegistry } from "../../api/metrics.ts";

/** Counters and gauges of dispatcher sessions. */
export class DispatcherMetrics {
  /** 1 while this node's session is open, else 0. */
  readonly sessionOpen: Gauge;
  /** Sessions this node gave up on (manager silent, gone or closing), and moved on. */
  readonly failovers: Counter;
  /** Sessions a manager serves now. */
  readonly served: Gauge;
  /** Messages refused before reaching a core (undecodable, or from a peer that may not open sessions). */
  readonly rejected: Counter;
  /** Keyrings installed into the gossip keyring. */
  readonly keyringsInstalled: Counter;
  /** Delivered keyrings refused, by reason. */
  readonly keyringsRejected: Counter;
  /** Status reports proposed, by status and whether Raft took them. */
  readonly reports: Counter;

  constructor(registry: MetricsRegistry) {
    this.sessionOpen = registry.gauge("shoal_dispatcher_session_open", "1 while this node's dispatcher session with a manager is open.");
    this.failovers = registry.counter("shoal_dispatcher_failovers_total", "Dispatcher sessions this node left for another manager (manager silent, gone or closing).");
    this.served = registry.gauge("shoal_dispatcher_sessions_served", "Dispatcher sessions this manager serves.");
    this.rejected = registry.counter("shoal_dispatcher_messages_rejected_total", "Dispatcher messages refused before the session core, by reason.", ["reason"]);
    this.keyringsInstalled = registry.counter("shoal_dispatcher_keyrings_installed_total", "Gossip keyrings received over the dispatcher session and installed.");
    this.keyringsRejected = registry.counter("shoal_dispatcher_keyrings_rejected_total", "Gossip keyrings received and refused, by reason.", ["reason"]);
    this.reports = registry.counter("shoal_dispatcher_reports_total", "Node status reports proposed, by status and result.", ["status", "result"]);
    this.sessionOpen.set(0);
    this.served.set(0);
  }
}
