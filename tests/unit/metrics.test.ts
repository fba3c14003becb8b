import { describe, expect, test } from "bun:test";
import { MetricsRegistry } from "../../core/api/metrics.ts";

describe("metrics registry", () => {
  test("counters render HELP, TYPE and one line per label set", () => {
    const registry = new MetricsRegistry();
    const sent = registry.counter("shoal_packets_sent_total", "Packets sent.", ["kind"]);
    sent.inc({ kind: "ping" });
    sent.inc({ kind: "ping" }, 2);
    sent.inc({ kind: "ack" });
    expect(registry.render()).toBe(
      [
        "# HELP shoal_packets_sent_total Packets sent.",
        "# TYPE shoal_packets_sent_total counter",
        'shoal_packets_sent_total{kind="ping"} 3',
        'shoal_packets_sent_total{kind="ack"} 1',
        "",
      ].join("\n"),
    );
  });

  test("gauges set, increase and decrease", () => {
    const registry = new MetricsRegistry();
    const members = registry.gauge("shoal_members", "Known members.");
    members.set(5);
    members.inc();
    members.dec(undefined, 3);
    expect(registry.render()).toContain("\nshoal_members 3\n");
  });

  test("histograms are cumulative with +Inf, sum and count", () => {
    const registry = new MetricsRegistry();
    const latency = registry.histogram("shoal_rtt_seconds", "Round trip.", [0.1, 0.5, 1]);
    for (const value of [0.05, 0.2, 0.7, 3]) latency.observe(value);
    const text = registry.render();
    expect(text).toContain('shoal_rtt_seconds_bucket{le="0.1"} 1\n');
    expect(text).toContain('shoal_rtt_seconds_bucket{le="0.5"} 2\n');
    expect(text).toContain('shoal_rtt_seconds_bucket{le="1"} 3\n');
    expect(text).toContain('shoal_rtt_seconds_bucket{le="+Inf"} 4\n');
    expect(text).toContain("shoal_rtt_seconds_sum 3.95\n");
    expect(text).toContain("shoal_rtt_seconds_count 4\n");
  });

  test("label values are escaped and families are sorted by name", () => {
    const registry = new MetricsRegistry();
    registry.gauge("zeta", "Last.").set(1);
    registry.gauge("alpha", "First.", ["path"]).set(2, { path: 'a"b\\c\nd' });
    const text = registry.render();
    expect(text.indexOf("alpha")).toBeLessThan(text.indexOf("zeta"));
    expect(text).toContain('alpha{path="a\\"b\\\\c\\nd"} 2');
  });

  test("registering the same metric twice returns the same series; a conflicting kind is refused", () => {
    const registry = new MetricsRegistry();
    registry.counter("shoal_x_total", "X.").inc();
    registry.counter("shoal_x_total", "X.").inc();
    expect(registry.render()).toContain("shoal_x_total 2");
    expect(() => registry.gauge("shoal_x_total", "X.")).toThrow(/already registered/);
  });

  test("bad names, labels, buckets and increments are rejected", () => {
    const registry = new MetricsRegistry();
    expect(() => registry.counter("bad-name", "x")).toThrow(/not a valid Prometheus name/);
    expect(() => registry.counter("ok_total", "x", ["le"])).toThrow(/not allowed/);
    expect(() => registry.histogram("h", "x", [])).toThrow(/buckets/);
    const counter = registry.counter("c_total", "x", ["peer"]);
    expect(() => counter.inc({ peer: "a" }, -1)).toThrow(/>= 0/);
    expect(() => counter.inc({})).toThrow(/labels must be exactly/);
    expect(() => counter.inc({ peer: "a", extra: "b" })).toThrow(/labels must be exactly/);
  });

  test("collect hooks run before each render", () => {
    const registry = new MetricsRegistry();
    const queue = registry.gauge("shoal_queue_depth", "Queued.");
    let depth = 1;
    registry.onCollect(() => queue.set(depth));
    expect(registry.render()).toContain("shoal_queue_depth 1");
    depth = 7;
    expect(registry.render()).toContain("shoal_queue_depth 7");
  });

  test("an unlabelled metric shows 0 before its first update", () => {
    const registry = new MetricsRegistry();
    registry.counter("shoal_errors_total", "Errors.");
    registry.histogram("shoal_wait_seconds", "Wait.", [1]);
    const text = registry.render();
    expect(text).toContain("\nshoal_errors_total 0\n");
    expect(text).toContain('shoal_wait_seconds_bucket{le="+Inf"} 0\n');
  });

  test("an empty registry renders nothing, and registries never share values", () => {
    const first = new MetricsRegistry();
    const second = new MetricsRegistry();
    first.counter("shoal_a_total", "A.").inc();
    expect(second.render()).toBe("");
  });
});
