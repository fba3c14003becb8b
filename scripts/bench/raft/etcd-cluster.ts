/**
 * A three-member etcd cluster on loopback (Debian's etcd-server), the raft benchmark's peer:
 * started with its default election settings, members killed with SIGKILL and restarted on
 * their data directories, writes through the v3 JSON gateway (`POST /v3/kv/put`).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../lib/ports.ts";
import { startProcess, type RunningProcess } from "../lib/spawn.ts";
import { waitFor } from "../lib/wait.ts";

/** One etcd member. */
export interface EtcdMember {
  name: string;
  host: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  url: string;
  process?: RunningProcess;
}

/** Three etcd members; see the module comment. */
export class EtcdCluster {
  readonly members: EtcdMember[] = [];
  private readonly baseDir = mkdtempSync(join(tmpdir(), "shoal-etcd-"));

  constructor(private readonly binary: string, private readonly firstHost = 21) {}

  /** Starts three members and waits for a leader. */
  async start(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      const host = `127.0.0.${this.firstHost + i}`;
      const member: EtcdMember = { name: `e${i + 1}`, host, clientPort: await freePort({ host }), peerPort: await freePort({ host }), dataDir: join(this.baseDir, `e${i + 1}`), url: "" };
      member.url = `http://${host}:${member.clientPort}`;
      this.members.push(member);
    }
    for (const member of this.members) this.launch(member);
    await this.leader();
  }

  /** The leader member, once one is elected and a running member reports it. */
  async leader(timeoutMs = 20_000): Promise<EtcdMember> {
    let found: EtcdMember | undefined;
    await waitFor(async () => {
      found = undefined;
      for (const member of this.members.filter((m) => m.process)) {
        const status = await memberStatus(member).catch(() => undefined);
        if (status && status.leader !== "0" && status.leader === status.memberId) found = member;
      }
      return found !== undefined;
    }, { timeoutMs, intervalMs: 20, what: "an etcd leader" });
    return found as EtcdMember;
  }

  /** SIGKILLs a member. */
  async kill(member: EtcdMember): Promise<void> {
    member.process?.process.kill("SIGKILL");
    await member.process?.process.exited;
    member.process = undefined;
  }

  /** Restarts a killed member on its data directory and waits until it serves. */
  async restart(member: EtcdMember): Promise<void> {
    this.launch(member);
    await waitFor(async () => (await fetch(`${member.url}/health`, { signal: AbortSignal.timeout(1000) })).ok, { timeoutMs: 20_000, what: `${member.name} /health` });
  }

  /** Kills every member and removes the data directories. */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((member) => this.kill(member)));
    rmSync(this.baseDir, { recursive: true, force: true });
  }

  private launch(member: EtcdMember): void {
    const peerUrl = (m: EtcdMember) => `http://${m.host}:${m.peerPort}`;
    member.process = startProcess([
      this.binary,
      "--name", member.name,
      "--data-dir", member.dataDir,
      "--listen-client-urls", member.url,
      "--advertise-client-urls", member.url,
      "--listen-peer-urls", peerUrl(member),
      "--initial-advertise-peer-urls", peerUrl(member),
      "--initial-cluster", this.members.map((m) => `${m.name}=${peerUrl(m)}`).join(","),
      "--initial-cluster-state", "new",
      "--initial-cluster-token", "shoal-bench",
      "--logger", "zap",
      "--log-level", "error",
    ]);
  }
}

/** `POST /v3/kv/put` body for etcd's JSON gateway (keys and values are base64). */
export function etcdPutBody(key: string, value: Uint8Array): string {
  return JSON.stringify({ key: Buffer.from(key).toString("base64"), value: Buffer.from(value).toString("base64") });
}

async function memberStatus(member: EtcdMember): Promise<{ leader: string; memberId: string }> {
  const response = await fetch(`${member.url}/v3/maintenance/status`, { method: "POST", body: "{}", signal: AbortSignal.timeout(1000) });
  const body = (await response.json()) as { leader?: string; header?: { member_id?: string } };
  return { leader: body.leader ?? "0", memberId: body.header?.member_id ?? "" };
}
