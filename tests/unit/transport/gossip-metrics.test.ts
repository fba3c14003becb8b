import { describe, expect, test } from "bun:test";
import { MetricsRegistry } from "../../../core/api/metrics.ts";
import { GossipMetrics } from "../../../core/transport/gossip-metrics.ts";

const series = (text: string, name: string) => Number(new RegExp(`^${name.replace(/[{}]/g, "\\$&")} (\\d+)$`, "m").exec(text)?.[1]);

describe("GossipMetrics", () => {
  test("packet and byte counts reach /metrics on every render, by transport, and match the running totals", () => {
    const registry = new MetricsRegistry();
    const metrics = new GossipMetrics(registry);
    let text = registry.render();
    expect(series(text, 'shoal_gossip_packets_sent_total{transport="udp"}')).toBe(0);
    expect(series(text, 'shoal_gossip_bytes_received_total{transport="tcp"}')).toBe(0);

    metrics.sent("udp", 70);
    metrics.sent("udp", 90);
    metrics.sent("tcp", 500);
    metrics.received("udp", 60);
    text = registry.render();
    expect(series(text, 'shoal_gossip_packets_sent_total{transport="udp"}')).toBe(2);
    expect(series(text, 'shoal_gossip_bytes_sent_total{transport="udp"}')).toBe(160);
    expect(series(text, 'shoal_gossip_bytes_sent_total{transport="tcp"}')).toBe(500);
    expect(series(text, 'shoal_gossip_packets_received_total{transport="udp"}')).toBe(1);

    metrics.received("tcp", 1_000);
    metrics.sent("udp", 40);
    text = registry.render();
    expect(series(text, 'shoal_gossip_bytes_received_total{transport="tcp"}')).toBe(1_000);
    expect(series(text, 'shoal_gossip_bytes_sent_total{transport="udp"}')).toBe(200);
    expect(series(registry.render(), 'shoal_gossip_bytes_sent_total{transport="udp"}')).toBe(200); // a render adds nothing by itself
    expect(metrics.totals()).toMatchObject({ packetsSent: 4, bytesSent: 700, packetsReceived: 2, bytesReceived: 1_060 });
  });
});
