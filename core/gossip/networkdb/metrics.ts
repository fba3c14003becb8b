/** NetworkDB's metrics, registered on the agent's registry and sampled at each `/metrics` render. */
import type { Labels, MetricsRegistry, SampledCounter } from "../../api/metrics.ts";
import type { NetworkDb } from "./networkdb.ts";
import type { NetworkDbCounters } from "./state.ts";

type CounterField = keyof NetworkDbCounters;

/**
 * Exposes `db`'s counters and entry gauges on `registry`. The core only counts; each render
 * samples its running totals.
 */
export function registerNetworkDbMetrics(registry: MetricsRegistry, db: NetworkDb): void {
  const received = registry.sampledCounter("shoal_networkdb_messages_received_total", "NetworkDB messages received, on any path.");
  const dropped = registry.sampledCounter("shoal_networkdb_messages_dropped_total", "NetworkDB messages dropped, by reason: malformed (failed decoding or validation) or not_attached (for a network this node is not on).", ["reason"]);
  const stale = registry.sampledCounter("shoal_networkdb_stale_entries_total", "Entry versions ignored as older than what this node holds, or from a past attachment or a reaped node.");
  const applied = registry.sampledCounter("shoal_networkdb_entries_applied_total", "Entry versions from peers that changed this node's tables.");
  const gossip = registry.sampledCounter("shoal_networkdb_gossip_messages_sent_total", "Gossip messages of table events sent to network peers.");
  const bulk = registry.sampledCounter("shoal_networkdb_bulk_syncs_sent_total", "Bulk-sync messages sent (requests, replies and their parts).");
  const bytes = registry.sampledCounter("shoal_networkdb_bytes_sent_total", "Bytes of NetworkDB messages sent directly to peers.");
  const listenerErrors = registry.sampledCounter("shoal_networkdb_watch_listener_errors_total", "Exceptions thrown by watch listeners (DNS, mesh); each event is still delivered to the others.");
  const entries = registry.gauge("shoal_networkdb_entries", "Entries held, by state: visible, hidden (owner failed, kept until it returns or is reaped) or tombstone.", ["state"]);
  const networks = registry.gauge("shoal_networkdb_networks", "Networks this node is attached to.");
  const counters: [SampledCounter, CounterField, Labels][] = [
    [received, "messagesReceived", {}],
    [dropped, "malformedDropped", { reason: "malformed" }],
    [dropped, "notAttachedDropped", { reason: "not_attached" }],
    [stale, "staleEntriesIgnored", {}],
    [applied, "entriesApplied", {}],
    [gossip, "gossipMessagesSent", {}],
    [bulk, "bulkSyncsSent", {}],
    [bytes, "bytesSent", {}],
    [listenerErrors, "listenerErrors", {}],
  ];
  registry.onCollect(() => {
    const stats = db.stats();
    for (const [counter, field, labels] of counters) counter.sample(stats[field], labels);
    entries.set(stats.visibleEntries, { state: "visible" });
    entries.set(stats.hiddenEntries, { state: "hidden" });
    entries.set(stats.tombstones, { state: "tombstone" });
    networks.set(db.networks().length);
  });
}
