import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  describeMachine,
  formatNumber,
  freePort,
  higherIsBetter,
  lowerIsBetter,
  makeResults,
  median,
  percentile,
  ProcessSampler,
  readProcess,
  renderTable,
  row,
  startProcess,
  summarize,
  waitFor,
  waitForHttp,
  writeResults,
} from "../../../scripts/bench/lib/index.ts";
import { isPortFree } from "../../../scripts/bench/lib/ports.ts";

const scratch = mkdtempSync(join(tmpdir(), "shoal-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("ratios", () => {
  test("above 1 means Shoal is better in both directions", () => {
    expect(higherIsBetter(200, 100)).toBe(2);
    expect(lowerIsBetter(5, 10)).toBe(2);
    expect(lowerIsBetter(20, 10)).toBe(0.5);
  });

  test("missing or zero figures give null, never 0 or Infinity", () => {
    expect(higherIsBetter(1, null)).toBeNull();
    expect(higherIsBetter(1, 0)).toBeNull();
    expect(lowerIsBetter(0, 5)).toBeNull();
    expect(lowerIsBetter(null, 5)).toBeNull();
    expect(higherIsBetter(Number.NaN, 5)).toBeNull();
  });
});

describe("statistics", () => {
  test("percentiles interpolate between ranks", () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(percentile([1, 2, 3, 4, 5], 90)).toBeCloseTo(4.6);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2, 3], 0)).toBe(1);
    expect(percentile([1, 2, 3], 100)).toBe(3);
  });

  test("summarize reports the usual figures", () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    const summary = summarize(values);
    expect(summary).toMatchObject({ count: 100, min: 1, mean: 50.5, p50: 50.5, max: 100 });
    expect(summary.p90).toBeCloseTo(90.1);
    expect(summary.p99).toBeCloseTo(99.01);
  });

  test("rejects empty samples and bad percentiles", () => {
    expect(() => median([])).toThrow(/no values/);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe("results", () => {
  test("row() computes the ratio from the better direction", () => {
    expect(row({ case: "c", metric: "m", unit: "ms", better: "lower", shoal: 10, peer: 30, peerName: "etcd" }).ratio).toBe(3);
    expect(row({ case: "c", metric: "m", unit: "ops/s", better: "higher", shoal: 10, peer: 40, peerName: "etcd" }).ratio).toBe(0.25);
    expect(row({ case: "c", metric: "m", unit: "ms", better: "lower", shoal: 1 / 3, peer: 2 / 3 })).toMatchObject({ shoal: 0.333, peer: 0.667, ratio: 2 });
    expect(row({ case: "c", metric: "m", unit: "MB", better: "lower", shoal: 10 })).toEqual({
      case: "c",
      metric: "m",
      unit: "MB",
      shoal: 10,
      peer: null,
      peerName: null,
      ratio: null,
    });
  });

  test("the results file has exactly the documented schema", () => {
    const results = makeResults("demo", [row({ case: "c", metric: "m", unit: "ms", better: "lower", shoal: 1.5, peer: 3, peerName: "p" })], new Date("2026-01-02T03:04:05Z"));
    const path = writeResults(results, join(scratch, "bench-results"));
    expect(path).toBe(join(scratch, "bench-results", "demo.json"));
    const written = JSON.parse(readFileSync(path, "utf8"));
    expect(Object.keys(written)).toEqual(["bench", "date", "machine", "rows"]);
    expect(written.bench).toBe("demo");
    expect(written.date).toBe("2026-01-02T03:04:05.000Z");
    expect(Object.keys(written.rows[0])).toEqual(["case", "metric", "unit", "shoal", "peer", "peerName", "ratio"]);
    expect(written.rows[0].ratio).toBe(2);
  });

  test("the machine description names cpu, cores, memory and kernel", () => {
    const machine = describeMachine();
    expect(machine.cpuModel.length).toBeGreaterThan(0);
    expect(machine.cores).toBeGreaterThan(0);
    expect(machine.memoryMB).toBeGreaterThan(0);
    expect(machine.kernel.length).toBeGreaterThan(0);
  });
});

describe("table", () => {
  test("aligns columns, right-aligns numbers and shows missing figures as a dash", () => {
    const table = renderTable([
      row({ case: "small", metric: "latency", unit: "ms", better: "lower", shoal: 1.234, peer: 2.5, peerName: "etcd" }),
      row({ case: "a longer case", metric: "size", unit: "MB", better: "lower", shoal: 123.4 }),
    ]);
    const lines = table.split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^case\s+metric\s+unit\s+shoal\s+peer\s+ratio$/);
    expect(lines[2]).toContain("1.23");
    expect(lines[2]).toContain("2.50 (etcd)");
    expect(lines[2]).toContain("2.03x");
    expect(lines[3]).toContain("123");
    expect(lines[3]?.trimEnd().endsWith("—")).toBe(true);
    // Right-aligned: every figure in the shoal column ends where its header ends.
    const shoalEnd = (lines[0] as string).indexOf("shoal") + "shoal".length;
    for (const line of [lines[2], lines[3]] as string[]) {
      expect(line[shoalEnd - 1]).toMatch(/\d/);
      expect(line[shoalEnd]).toBe(" ");
    }
  });

  test("formats figures to about three significant digits", () => {
    expect(formatNumber(null)).toBe("—");
    expect(formatNumber(0.12345)).toBe("0.12");
    expect(formatNumber(12.345)).toBe("12.3");
    expect(formatNumber(1234.5)).toBe("1235");
    expect(formatNumber(7)).toBe("7");
  });
});

describe("process sampling", () => {
  test("reads RSS and CPU of this process from /proc", () => {
    const sample = readProcess(process.pid);
    expect(sample.rssBytes).toBeGreaterThan(1024 * 1024);
    expect(sample.peakRssBytes).toBeGreaterThanOrEqual(sample.rssBytes);
    expect(sample.cpuSeconds).toBeGreaterThan(0);
  });

  test("throws for a process that does not exist", () => {
    expect(() => readProcess(2 ** 22 + 1)).toThrow();
  });

  test("samples a child process, and its CPU time grows while it spins", async () => {
    const child = startProcess(["sh", "-c", "i=0; while [ $i -lt 3000000 ]; do i=$((i+1)); done; sleep 30"]);
    try {
      const sampler = new ProcessSampler(child.pid, 20).start();
      await waitFor(() => readProcess(child.pid).cpuSeconds >= 0.2, { timeoutMs: 20_000, what: "child CPU time" });
      const report = sampler.stop();
      expect(report.samples).toBeGreaterThan(1);
      expect(report.cpuSeconds).toBeGreaterThan(0);
      expect(report.maxRssBytes).toBeGreaterThan(0);
      expect(report.lastRssBytes).toBeGreaterThan(0);
    } finally {
      expect(await child.stop(1000)).not.toBe(0);
    }
  }, 30_000);
});

describe("servers", () => {
  test("freePort returns a loopback port that can be bound, for TCP and UDP", async () => {
    const port = await freePort({ udp: true });
    expect(port).toBeGreaterThan(0);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    server.close();
  });

  test("isPortFree sees a port taken for TCP, and for UDP only when asked to", async () => {
    const port = await freePort({ udp: true });
    expect(await isPortFree({ port, udp: true })).toBe(true);
    const udp = createSocket("udp4");
    await new Promise<void>((resolve) => udp.bind(port, "127.0.0.1", () => resolve()));
    try {
      expect(await isPortFree({ port })).toBe(true);
      expect(await isPortFree({ port, udp: true })).toBe(false);
    } finally {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    }
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
    try {
      expect(await isPortFree({ host: "127.0.0.1", port })).toBe(false);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test("waitFor resolves once the check passes and names what timed out", async () => {
    let calls = 0;
    const waited = await waitFor(() => ++calls === 3, { intervalMs: 1 });
    expect(calls).toBe(3);
    expect(waited).toBeGreaterThanOrEqual(0);
    await expect(
      waitFor(
        () => {
          throw new Error("connection refused");
        },
        { timeoutMs: 30, intervalMs: 5, what: "the moon" },
      ),
    ).rejects.toThrow(/timed out after 30 ms waiting for the moon \(last error: connection refused\)/);
    await expect(waitFor(() => "2 of 3 alive", { timeoutMs: 30, intervalMs: 5, what: "quorum" })).rejects.toThrow(
      /timed out after 30 ms waiting for quorum \(last check: 2 of 3 alive\)/,
    );
  });

  test("waitForHttp waits for the wanted status", async () => {
    let ready = false;
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("", { status: ready ? 200 : 503 }) });
    try {
      const url = `http://127.0.0.1:${server.port}/readyz`;
      await expect(waitForHttp(url, { timeoutMs: 50, intervalMs: 5 })).rejects.toThrow(/to answer 200/);
      ready = true;
      expect(await waitForHttp(url, { timeoutMs: 5000 })).toBeGreaterThanOrEqual(0);
    } finally {
      server.stop(true);
    }
  });
});
