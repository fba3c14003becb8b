/**
 * The simulation's replicated state machine: a key-value map with per-client deduplication,
 * so a proposal delivered twice (a duplicated forward, a client retry) applies once, as a
 * client session table does in a real store.
 */

/** A put, as carried in a log entry. */
export interface PutCommand {
  client: string;
  seq: number;
  key: string;
  value: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes a put as entry data. */
export function encodePut(command: PutCommand): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

/** Decodes entry data written by `encodePut`. */
export function decodePut(data: Uint8Array): PutCommand {
  return JSON.parse(decoder.decode(data)) as PutCommand;
}

/** The key-value map and the highest sequence applied per client. */
export class KvStateMachine {
  private values = new Map<string, string>();
  private lastSeq = new Map<string, number>();

  /** Applies a put unless that client's sequence was already applied; returns whether it took effect. */
  apply(command: PutCommand): boolean {
    if ((this.lastSeq.get(command.client) ?? 0) >= command.seq) return false;
    this.lastSeq.set(command.client, command.seq);
    this.values.set(command.key, command.value);
    return true;
  }

  /** The value of `key`, or null. */
  get(key: string): string | null {
    return this.values.get(key) ?? null;
  }

  /** The state as snapshot bytes. */
  snapshot(): Uint8Array {
    return encoder.encode(JSON.stringify({ values: [...this.values], lastSeq: [...this.lastSeq] }));
  }

  /** A state machine restored from `snapshot()` bytes (empty bytes: the initial state). */
  static restore(data: Uint8Array): KvStateMachine {
    const machine = new KvStateMachine();
    if (data.length === 0) return machine;
    const parsed = JSON.parse(decoder.decode(data)) as { values: [string, string][]; lastSeq: [string, number][] };
    machine.values = new Map(parsed.values);
    machine.lastSeq = new Map(parsed.lastSeq);
    return machine;
  }
}
