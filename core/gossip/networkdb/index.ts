/** NetworkDB: network-scoped tables replicated by gossip. See `networkdb.ts`. */
export { defaultNetworkDbConfig, resolveNetworkDbConfig, type NetworkDbConfig } from "./config.ts";
export { applyMemberEvent, sendOutbox } from "./membership.ts";
export { registerNetworkDbMetrics } from "./metrics.ts";
export { NetworkDb, NetworkDbError, type NetworkDbOptions } from "./networkdb.ts";
export type { EntryView, NetworkDbStats, OutboundMessage, WatchEvent, WatchFilter } from "./types.ts";
export type { WatchListener } from "./watch.ts";
