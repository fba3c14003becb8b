/** A description of the machine a benchmark ran on, stored with its results. */
import { readFileSync } from "node:fs";
import os from "node:os";

/** The `machine` field of a results file. */
export interface MachineDescription {
  cpuModel: string;
  cores: number;
  memoryMB: number;
  kernel: string;
  os: string;
  arch: string;
  runtime: string;
}

function cpuModel(): string {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8")
      .split("\n")
      .find((l) => l.startsWith("model name"));
    if (line) return line.slice(line.indexOf(":") + 1).trim();
  } catch {
    // Not Linux, or /proc hidden: fall back to what the runtime reports.
  }
  return os.cpus()[0]?.model ?? "unknown";
}

/** Describes this machine. */
export function describeMachine(): MachineDescription {
  return {
    cpuModel: cpuModel(),
    cores: os.cpus().length,
    memoryMB: Math.round(os.totalmem() / 2 ** 20),
    kernel: os.release(),
    os: os.platform(),
    arch: os.arch(),
    runtime: typeof Bun !== "undefined" ? `bun ${Bun.version}` : `node ${process.version}`,
  };
}
