import { describe, expect, test } from "bun:test";
import { MetricsRegistry } from "../../../core/api/metrics.ts";

const value = (registry: MetricsRegistry, series: string) => {
  const line = registry.render().split("\n").find((candidate) => candidate.startsWith(`${series} `));
  return Number(line?.slice(series.length + 1));
};

describe("sampled counter", () => {
  test("renders the source's running total: 0, 5, 5, 9", () => {
    const registry = new MetricsRegistry();
    const handled = registry.sampledCounter("shoal_requests_total", "Requests handled.");
    const rendered = [0, 5, 5, 9].map((total) => {
      handled.sample(total);
      return value(registry, "shoal_requests_total");
    });
    expect(rendered).toEqual([0, 5, 5, 9]);
    expect(registry.render()).toContain("# TYPE shoal_requests_total counter\n");
  });

  test("a total that goes backwards is a restarted source: all of it is new, the counter never decreases", () => {
    const registry = new MetricsRegistry();
    const handled = registry.sampledCounter("shoal_requests_total", "Requests handled.");
    handled.sample(9);
    handled.sample(4);
    expect(value(registry, "shoal_requests_total")).toBe(13);
    handled.sample(6);
    expect(value(registry, "shoal_requests_total")).toBe(15);
  });

  test("each label set follows its own total", () => {
    const registry = new MetricsRegistry();
    const sent = registry.sampledCounter("shoal_sent_total", "Sent.", ["transport"]);
    sent.sample(3, { transport: "udp" });
    sent.sample(7, { transport: "tcp" });
    sent.sample(4, { transport: "udp" });
    expect(value(registry, 'shoal_sent_total{transport="udp"}')).toBe(4);
    expect(value(registry, 'shoal_sent_total{transport="tcp"}')).toBe(7);
  });

  test("sources registering the same name add up", () => {
    const registry = new MetricsRegistry();
    const first = registry.sampledCounter("shoal_sent_total", "Sent.");
    const second = registry.sampledCounter("shoal_sent_total", "Sent.");
    first.sample(2);
    second.sample(5);
    first.sample(3);
    expect(value(registry, "shoal_sent_total")).toBe(8);
  });

  test("a negative or NaN total is refused", () => {
    const registry = new MetricsRegistry();
    const handled = registry.sampledCounter("shoal_requests_total", "Requests handled.");
    expect(() => handled.sample(-1)).toThrow(RangeError);
    expect(() => handled.sample(Number.NaN)).toThrow(RangeError);
  });
});
