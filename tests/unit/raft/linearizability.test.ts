import { describe, expect, test } from "bun:test";
import { checkLinearizable, kvModel, type KvInput, type KvOutput, type Operation } from "../../kit/linearizability.ts";

type Op = Operation<KvInput, KvOutput>;
const put = (client: string, key: string, value: string, callAt: number, returnAt: number): Op => ({ client, input: { kind: "put", key, value }, output: undefined, callAt, returnAt });
const get = (client: string, key: string, output: KvOutput, callAt: number, returnAt: number): Op => ({ client, input: { kind: "get", key }, output, callAt, returnAt });

describe("linearizability checker", () => {
  test("accepts a sequential history that matches the model", () => {
    expect(checkLinearizable(kvModel, [put("c1", "k", "1", 0, 1), get("c2", "k", "1", 2, 3), put("c1", "k", "2", 4, 5), get("c2", "k", "2", 6, 7)]).ok).toBe(true);
  });

  test("accepts concurrent operations in whichever order explains them", () => {
    // The get overlaps both puts, so it may see either value.
    const history = [put("c1", "k", "1", 0, 10), put("c2", "k", "2", 1, 9), get("c3", "k", "1", 2, 11)];
    expect(checkLinearizable(kvModel, history).ok).toBe(true);
  });

  test("rejects a stale read after a completed write (deliberately non-linearizable)", () => {
    const history = [put("c1", "k", "1", 0, 1), put("c1", "k", "2", 2, 3), get("c2", "k", "1", 4, 5)];
    const result = checkLinearizable(kvModel, history);
    expect(result.ok).toBe(false);
    expect(result.counterexample?.join("\n")).toContain("get(k) -> 1");
  });

  test("rejects reads that go back in time across clients", () => {
    // Two sequential reads after a concurrent write: the second sees the older value.
    const history = [put("c1", "k", "new", 0, 100), get("c2", "k", "new", 10, 20), get("c3", "k", null, 30, 40)];
    expect(checkLinearizable(kvModel, history).ok).toBe(false);
  });

  test("rejects a value nobody wrote", () => {
    expect(checkLinearizable(kvModel, [get("c1", "k", "ghost", 0, 1)]).ok).toBe(false);
  });

  test("a write with an unknown outcome may or may not have happened", () => {
    const pending = put("c1", "k", "maybe", 0, Infinity);
    expect(checkLinearizable(kvModel, [pending, get("c2", "k", "maybe", 5, 6)]).ok).toBe(true);
    expect(checkLinearizable(kvModel, [pending, get("c2", "k", null, 5, 6)]).ok).toBe(true);
    // But once observed, it cannot un-happen.
    expect(checkLinearizable(kvModel, [pending, get("c2", "k", "maybe", 5, 6), get("c2", "k", null, 7, 8)]).ok).toBe(false);
  });

  test("keys are checked independently", () => {
    const history = [put("c1", "a", "1", 0, 1), put("c1", "b", "2", 0, 1), get("c2", "a", "1", 2, 3), get("c2", "b", "1", 2, 3)];
    const result = checkLinearizable(kvModel, history);
    expect(result.ok).toBe(false);
    expect(result.counterexample?.every((line) => line.includes("(b"))).toBe(true);
  });

  test("handles a few hundred concurrent operations quickly", () => {
    const history: Op[] = [];
    for (let i = 0; i < 300; i++) {
      history.push(put(`c${i % 5}`, "k", String(i), i * 10, i * 10 + 25));
      history.push(get(`r${i % 5}`, "k", String(i), i * 10 + 26, i * 10 + 30));
    }
    const started = performance.now();
    expect(checkLinearizable(kvModel, history).ok).toBe(true);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  test("rejects an operation that returns before it is called", () => {
    expect(() => checkLinearizable(kvModel, [get("c", "k", null, 5, 1)])).toThrow(RangeError);
  });
});
