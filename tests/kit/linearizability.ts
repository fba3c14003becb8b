/**
 * A linearizability checker in the style of porcupine (Wing & Gong's search with Lowe's
 * memoization): given a concurrent history of operations with call and return times, it
 * searches for a sequential order that respects real time and that a sequential model
 * accepts. Histories are first split by a model-chosen key (P-compositionality: a history is
 * linearizable iff each per-key sub-history is), which keeps the search small.
 *
 * Operations whose outcome is unknown (the client timed out) have `returnAt: Infinity` and
 * `output: undefined`: they may take effect at any point after their call, or never (a model
 * treats them as "may have happened"; a put without an outcome is checked both ways by the
 * search because it may be linearized last, after everything observed).
 */

/** One completed (or abandoned) client operation. */
export interface Operation<I, O> {
  /** Who issued it (for messages only). */
  client: string;
  input: I;
  /** What it returned; undefined when the outcome is unknown. */
  output: O | undefined;
  /** When it was invoked. */
  callAt: number;
  /** When it returned; `Infinity` when the outcome is unknown. */
  returnAt: number;
}

/** A sequential specification. */
export interface Model<S, I, O> {
  /** The initial state. */
  init(): S;
  /** Applies `input` in `state`: whether `output` is a legal result (undefined output: any), and the next state. */
  step(state: S, input: I, output: O | undefined): { ok: boolean; state: S };
  /** A string identifying a state, for memoization. */
  hash(state: S): string;
  /** The independent sub-histories (e.g. one per key). Default: the whole history. */
  partition?(history: Operation<I, O>[]): Operation<I, O>[][];
  /** Renders an operation for failure messages. */
  describe?(op: Operation<I, O>): string;
}

/** The checker's verdict. */
export interface CheckResult {
  ok: boolean;
  /** On failure: the sub-history (rendered) that admits no linearization. */
  counterexample?: string[];
}

interface Node {
  /** Operation index within the partition; -1 for the list head. */
  op: number;
  isCall: boolean;
  /** For a call: its return node. */
  match: Node | undefined;
  prev: Node | undefined;
  next: Node | undefined;
}

/** Checks a history against a model; see the module comment. */
export function checkLinearizable<S, I, O>(model: Model<S, I, O>, history: Operation<I, O>[]): CheckResult {
  const parts = model.partition ? model.partition(history) : [history];
  for (const part of parts) {
    if (!checkPart(model, part)) {
      const describe = model.describe ?? ((op: Operation<I, O>) => JSON.stringify(op));
      return { ok: false, counterexample: [...part].sort((a, b) => a.callAt - b.callAt).map(describe) };
    }
  }
  return { ok: true };
}

function buildList<I, O>(ops: Operation<I, O>[]): Node {
  const events: { time: number; isCall: boolean; op: number }[] = [];
  ops.forEach((op, i) => {
    if (!(op.returnAt >= op.callAt)) throw new RangeError(`operation ${i} returns (${op.returnAt}) before it is called (${op.callAt})`);
    events.push({ time: op.callAt, isCall: true, op: i }, { time: op.returnAt, isCall: false, op: i });
  });
  // At equal times, calls come first: operations touching the same instant count as concurrent.
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1));
  const head: Node = { op: -1, isCall: false, match: undefined, prev: undefined, next: undefined };
  const returns = new Map<number, Node>();
  let tail = head;
  for (const event of events) {
    const node: Node = { op: event.op, isCall: event.isCall, match: undefined, prev: tail, next: undefined };
    tail.next = node;
    tail = node;
    if (!event.isCall) returns.set(event.op, node);
  }
  for (let node = head.next; node !== undefined; node = node.next) if (node.isCall) node.match = returns.get(node.op);
  return head;
}

function lift(call: Node): void {
  const ret = call.match as Node;
  (call.prev as Node).next = call.next;
  if (call.next) call.next.prev = call.prev;
  (ret.prev as Node).next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

function unlift(call: Node): void {
  const ret = call.match as Node;
  (ret.prev as Node).next = ret;
  if (ret.next) ret.next.prev = ret;
  (call.prev as Node).next = call;
  if (call.next) call.next.prev = call;
}

function checkPart<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[]): boolean {
  const head = buildList(ops);
  const linearized = new Uint32Array(Math.ceil(ops.length / 32) + 1);
  const seen = new Set<string>();
  const stack: { call: Node; state: S }[] = [];
  let state = model.init();
  let entry = head.next;
  while (head.next !== undefined) {
    if (entry === undefined) return false;
    if (entry.isCall) {
      const op = ops[entry.op] as Operation<I, O>;
      const result = model.step(state, op.input, op.output);
      if (result.ok) {
        linearized[entry.op >>> 5] = (linearized[entry.op >>> 5] as number) | (1 << (entry.op & 31));
        const key = `${linearized.join(",")}|${model.hash(result.state)}`;
        if (!seen.has(key)) {
          seen.add(key);
          stack.push({ call: entry, state });
          state = result.state;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized[entry.op >>> 5] = (linearized[entry.op >>> 5] as number) & ~(1 << (entry.op & 31));
      }
      entry = entry.next;
    } else {
      // A return reached with its call not linearized: undo the latest choice and try the next.
      const top = stack.pop();
      if (top === undefined) return false;
      state = top.state;
      linearized[top.call.op >>> 5] = (linearized[top.call.op >>> 5] as number) & ~(1 << (top.call.op & 31));
      unlift(top.call);
      entry = top.call.next;
    }
  }
  return true;
}

/** A key-value operation: `put` returns nothing, `get` returns the value or null. */
export type KvInput = { kind: "put"; key: string; value: string } | { kind: "get"; key: string };

/** A `get`'s result (null for a missing key); undefined for a put or an unknown outcome. */
export type KvOutput = string | null;

/** The key-value register model, partitioned by key. */
export const kvModel: Model<string | null, KvInput, KvOutput> = {
  init: () => null,
  step(state, input, output) {
    if (input.kind === "put") return { ok: true, state: input.value };
    return { ok: output === undefined || output === state, state };
  },
  hash: (state) => (state === null ? "\u0000" : state),
  partition(history) {
    const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
    for (const op of history) {
      const list = byKey.get(op.input.key) ?? [];
      list.push(op);
      byKey.set(op.input.key, list);
    }
    return [...byKey.values()];
  },
  describe(op) {
    const end = op.returnAt === Infinity ? "?" : String(op.returnAt);
    const what = op.input.kind === "put" ? `put(${op.input.key}, ${op.input.value})` : `get(${op.input.key}) -> ${String(op.output)}`;
    return `[${op.callAt}, ${end}] ${op.client}: ${what}`;
  },
};
