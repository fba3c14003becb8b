/**
 * A small Prometheus metrics registry. The agent creates one and hands it to each subsystem,
 * which registers its counters, gauges and histograms; `/metrics` renders it in the Prometheus
 * text exposition format (version 0.0.4). There is no global registry, so tests and several
 * in-process nodes never share numbers.
 */

/** Label values of one series, by label name. */
export type Labels = Record<string, string>;

/** A monotonically increasing count. */
export interface Counter {
  /** Adds `by` (default 1, must be >= 0) to the series named by `labels`. */
  inc(labels?: Labels, by?: number): void;
}

/**
 * A counter that follows a running total kept elsewhere (a stats object, the OS): each `sample`
 * advances the series by what the source counted since the previous sample of that series.
 */
export interface SampledCounter {
  /**
   * Records the source's current `total` for the series named by `labels`. A total below the
   * previous sample means the source restarted from zero, so all of it is new: the series keeps
   * increasing, as a Prometheus counter must, and only what the source counted between the
   * previous sample and its restart is lost.
   */
  sample(total: number, labels?: Labels): void;
}

/** A value that goes up and down. */
export interface Gauge {
  /** Sets the series named by `labels` to `value`. */
  set(value: number, labels?: Labels): void;
  /** Adds `by` (default 1). */
  inc(labels?: Labels, by?: number): void;
  /** Subtracts `by` (default 1). */
  dec(labels?: Labels, by?: number): void;
}

/** A distribution of observed values in cumulative buckets. */
export interface Histogram {
  /** Records one observation in the series named by `labels`. */
  observe(value: number, labels?: Labels): void;
}

type Kind = "counter" | "gauge" | "histogram";

interface HistogramSeries {
  counts: number[];
  sum: number;
  count: number;
}

interface Family {
  kind: Kind;
  help: string;
  labelNames: readonly string[];
  buckets: readonly number[];
  values: Map<string, number>;
  histograms: Map<string, HistogramSeries>;
  labelsByKey: Map<string, Labels>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Default histogram buckets for durations in seconds (1 ms to 10 s). */
export const DURATION_BUCKETS: readonly number[] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function formatLabels(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels);
  if (extra) pairs.push(extra);
  if (pairs.length === 0) return "";
  return `{${pairs.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(",")}}`;
}

/** Holds every metric family of one agent and renders them as Prometheus text. */
export class MetricsRegistry {
  private readonly families = new Map<string, Family>();
  private readonly collectHooks: Array<() => void> = [];

  /** Registers (or returns the already registered) counter `name`. */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    const family = this.register(name, "counter", help, labelNames, []);
    return {
      inc: (labels = {}, by = 1) => {
        if (!(by >= 0)) throw new RangeError(`counter ${name}: increment must be >= 0, got ${by}`);
        this.add(family, name, labels, by);
      },
    };
  }

  /**
   * Registers (or returns the already registered) counter `name`, fed from a running total.
   * Each call returns a handle with its own previous samples, so sources that register the same
   * name (several gossip shells on one registry) add up instead of overwriting each other.
   */
  sampledCounter(name: string, help: string, labelNames: readonly string[] = []): SampledCounter {
    const family = this.register(name, "counter", help, labelNames, []);
    const previousTotals = new Map<string, number>();
    return {
      sample: (total, labels = {}) => {
        if (!(total >= 0)) throw new RangeError(`counter ${name}: total must be >= 0, got ${total}`);
        const key = this.seriesKey(family, name, labels);
        const previous = previousTotals.get(key) ?? 0;
        family.values.set(key, (family.values.get(key) ?? 0) + (total >= previous ? total - previous : total));
        previousTotals.set(key, total);
      },
    };
  }

  /** Registers (or returns the already registered) gauge `name`. */
  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    const family = this.register(name, "gauge", help, labelNames, []);
    return {
      set: (value, labels = {}) => {
        family.values.set(this.seriesKey(family, name, labels), value);
      },
      inc: (labels = {}, by = 1) => this.add(family, name, labels, by),
      dec: (labels = {}, by = 1) => this.add(family, name, labels, -by),
    };
  }

  /** Registers (or returns the already registered) histogram `name` with upper bounds `buckets`. */
  histogram(name: string, help: string, buckets: readonly number[], labelNames: readonly string[] = []): Histogram {
    const sorted = [...buckets].filter((bound) => bound !== Infinity).sort((a, b) => a - b);
    if (sorted.length === 0 || sorted.some((bound, index) => !Number.isFinite(bound) || bound === sorted[index - 1])) {
      throw new RangeError(`histogram ${name}: buckets must be distinct finite numbers, got [${buckets.join(", ")}]`);
    }
    const family = this.register(name, "histogram", help, labelNames, sorted);
    return {
      observe: (value, labels = {}) => {
        const key = this.seriesKey(family, name, labels);
        let series = family.histograms.get(key);
        if (!series) {
          series = { counts: family.buckets.map(() => 0), sum: 0, count: 0 };
          family.histograms.set(key, series);
        }
        family.buckets.forEach((bound, index) => {
          if (value <= bound) series.counts[index] = (series.counts[index] ?? 0) + 1;
        });
        series.sum += value;
        series.count += 1;
      },
    };
  }

  /** Runs `hook` before every `render()`; for values sampled on demand (process memory, queue sizes). */
  onCollect(hook: () => void): void {
    this.collectHooks.push(hook);
  }

  /** The whole registry in Prometheus text format, families sorted by name. */
  render(): string {
    for (const hook of this.collectHooks) hook();
    const lines: string[] = [];
    for (const name of [...this.families.keys()].sort()) {
      const family = this.families.get(name)!;
      lines.push(`# HELP ${name} ${escapeHelp(family.help)}`, `# TYPE ${name} ${family.kind}`);
      if (family.kind === "histogram") {
        for (const [key, series] of family.histograms) {
          const labels = family.labelsByKey.get(key)!;
          family.buckets.forEach((bound, index) => {
            lines.push(`${name}_bucket${formatLabels(labels, ["le", formatNumber(bound)])} ${series.counts[index]}`);
          });
          lines.push(`${name}_bucket${formatLabels(labels, ["le", "+Inf"])} ${series.count}`);
          lines.push(`${name}_sum${formatLabels(labels)} ${formatNumber(series.sum)}`);
          lines.push(`${name}_count${formatLabels(labels)} ${series.count}`);
        }
      } else {
        for (const [key, value] of family.values) {
          lines.push(`${name}${formatLabels(family.labelsByKey.get(key)!)} ${formatNumber(value)}`);
        }
      }
    }
    return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
  }

  private register(name: string, kind: Kind, help: string, labelNames: readonly string[], buckets: readonly number[]): Family {
    if (!METRIC_NAME.test(name)) throw new RangeError(`metric name ${JSON.stringify(name)} is not a valid Prometheus name`);
    for (const label of labelNames) {
      if (!LABEL_NAME.test(label) || label.startsWith("__") || label === "le") {
        throw new RangeError(`metric ${name}: label name ${JSON.stringify(label)} is not allowed`);
      }
    }
    const existing = this.families.get(name);
    if (existing) {
      const same = existing.kind === kind
        && existing.labelNames.join(",") === labelNames.join(",")
        && existing.buckets.join(",") === buckets.join(",");
      if (!same) throw new RangeError(`metric ${name} is already registered as a different ${existing.kind}`);
      return existing;
    }
    const family: Family = {
      kind, help, labelNames: [...labelNames], buckets,
      values: new Map(), histograms: new Map(), labelsByKey: new Map(),
    };
    this.families.set(name, family);
    // An unlabelled series exists from registration, so scrapes see 0 rather than no series.
    if (labelNames.length === 0) {
      const key = this.seriesKey(family, name, {});
      if (kind === "histogram") family.histograms.set(key, { counts: buckets.map(() => 0), sum: 0, count: 0 });
      else family.values.set(key, 0);
    }
    return family;
  }

  private add(family: Family, name: string, labels: Labels, by: number): void {
    const key = this.seriesKey(family, name, labels);
    family.values.set(key, (family.values.get(key) ?? 0) + by);
  }

  /** Checks `labels` against the family's label names and returns the series' map key. */
  private seriesKey(family: Family, name: string, labels: Labels): string {
    const given = Object.keys(labels);
    const expected = family.labelNames;
    if (given.length !== expected.length || expected.some((label) => typeof labels[label] !== "string")) {
      throw new RangeError(`metric ${name}: labels must be exactly {${expected.join(", ")}}, got {${given.join(", ")}}`);
    }
    const key = JSON.stringify(expected.map((label) => labels[label]));
    if (!family.labelsByKey.has(key)) {
      // Built once per series: this runs on every increment, often on a hot path.
      const ordered: Labels = {};
      for (const label of expected) ordered[label] = labels[label]!;
      family.labelsByKey.set(key, ordered);
    }
    return key;
  }
}
