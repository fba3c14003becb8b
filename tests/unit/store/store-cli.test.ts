import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../../core/cli/dispatch.ts";
import { commands } from "../../../core/cli/registry.ts";
import { DurableStorage } from "../../../core/store/raft-storage.ts";
import { tempDir } from "./temp-dirs.ts";

function damagedStore(): string {
  const dir = tempDir();
  const store = DurableStorage.open(dir);
  store.append(Array.from({ length: 5 }, (_, i) => ({ index: i + 1, term: 1, type: "normal" as const, data: new Uint8Array([i]) })));
  store.close();
  const db = new Database(join(dir, "raft.db"));
  db.query("UPDATE entries SET crc = crc + 1 WHERE idx = 4").run();
  db.close();
  return dir;
}

async function shoal(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, commands, { out: (t) => out.push(t), err: (t) => err.push(t), env: { HOME: tmpdir() } });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

test("store check reports the damage, repair --yes truncates it, check is then clean", async () => {
  const dir = damagedStore();
  const check = await shoal("store", "check", "--data-dir", dir);
  expect(check.code).toBe(1);
  expect(check.err).toContain("corrupt at log index 4");
  const refused = await shoal("store", "repair", "--data-dir", dir);
  expect(refused.code).toBe(1);
  expect(refused.err).toContain("not repaired");
  const repaired = await shoal("store", "repair", "--data-dir", dir, "--yes");
  expect(repaired.code).toBe(0);
  expect(repaired.out).toContain("removed 2 entries from index 4");
  expect((await shoal("store", "check", "--data-dir", dir)).code).toBe(0);
});

test("store with an unknown action is a usage error", async () => {
  const result = await shoal("store", "explode", "--data-dir", damagedStore());
  expect(result.code).toBe(2);
});
