/** Prints benchmark rows as an aligned text table. */
import type { BenchRow } from "./results.ts";

/** A figure with about three significant digits; `—` for a missing one. */
export function formatNumber(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return "—";
  if (Number.isInteger(value) || Math.abs(value) >= 100) return Math.round(value).toString();
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** Renders rows as a table with a header; numbers right-aligned. */
export function renderTable(rows: readonly BenchRow[]): string {
  const header = ["case", "metric", "unit", "shoal", "peer", "ratio"];
  const body = rows.map((r) => [
    r.case,
    r.metric,
    r.unit,
    formatNumber(r.shoal),
    r.peer === null ? "—" : `${formatNumber(r.peer)}${r.peerName ? ` (${r.peerName})` : ""}`,
    r.ratio === null ? "—" : `${r.ratio.toFixed(2)}x`,
  ]);
  const numeric = [false, false, false, true, true, true];
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => (cells[i] as string).length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (numeric[i] ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number))).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}
