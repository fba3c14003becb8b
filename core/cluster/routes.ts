/**
 * Control API routes of the cluster (unix socket only, like every control route):
 *
 *   POST   /v1/cluster/init                  {advertiseAddr?, listenAddr?, forceNewCluster?}
 *   POST   /v1/cluster/join                  {token, advertiseAddr?, listenAddr?}
 *   POST   /v1/cluster/leave                 {force?}
 *   GET    /v1/cluster/join-token/:role
 *   POST   /v1/cluster/join-token/:role/rotate
 *   POST   /v1/cluster/key/rotate
 *   GET    /v1/nodes                         GET /v1/nodes/:ref   (id, unique id prefix or hostname)
 *   POST   /v1/nodes/:ref/update             {availability?, labelAdd?, labelRm?}
 *   POST   /v1/nodes/:ref/promote | demote
 *   DELETE /v1/nodes/:ref?force=true
 *
 * On a follower manager, writes and node reads go to the leader (`forward.ts`), whose view of
 * which managers are reachable is the one that counts; init, join, leave and join-token are
 * about this node (or read the replicated state only) and run here.
 */
import type { Context, Hono, Next } from "hono";
import { expectObject, readJsonBody } from "../api/body.ts";
import { ApiError } from "../api/errors.ts";
import { DecodeError, describeError, ShoalError } from "../common/errors.ts";
import { decodeLabels, labelKey } from "./codec.ts";
import type { ClusterCommand, ClusterNodeView, NodeAvailability, NodeRole } from "./contract.ts";
import { FORWARDED_HEADER } from "./forward.ts";
import { findNodeByRef } from "./node-ref.ts";
import { quorumLossReason } from "./quorum.ts";
import type { AddressOptions } from "./addresses.ts";
import type { ClusterService } from "./service.ts";

/** Mounts the cluster routes on the control app. */
export function registerClusterRoutes(app: Hono, service: ClusterService): void {
  const leaderOnly = (c: Context, next: Next) => forwardUnlessLeader(c, next, service);

  app.post("/v1/cluster/init", async (c) => {
    const body = await readJsonBody(c, (value) => {
      const fields = addressFields(value, ["forceNewCluster"]);
      if (fields.raw.forceNewCluster !== undefined && typeof fields.raw.forceNewCluster !== "boolean") throw new DecodeError('field "forceNewCluster" must be a boolean');
      return { ...fields.addresses, forceNewCluster: fields.raw.forceNewCluster === true };
    });
    return c.json(await service.init(body));
  });

  app.post("/v1/cluster/join", async (c) => {
    const body = await readJsonBody(c, (value) => {
      const fields = addressFields(value, ["token"]);
      if (typeof fields.raw.token !== "string" || fields.raw.token.length === 0 || fields.raw.token.length > 4096) throw new DecodeError('field "token" must be a join token string');
      return { token: fields.raw.token, addresses: fields.addresses };
    });
    return c.json(await service.join(body.token, body.addresses));
  });

  app.post("/v1/cluster/leave", async (c) => {
    const { force } = await readJsonBody(c, (value) => {
      const body = expectObject(value, ["force"]);
      if (body.force !== undefined && typeof body.force !== "boolean") throw new DecodeError('field "force" must be a boolean');
      return { force: body.force === true };
    });
    return c.json(await service.leave(force));
  });

  app.get("/v1/cluster/join-token/:role", (c) => c.json({ role: roleParam(c), token: service.joinToken(roleParam(c)) }));
  app.post("/v1/cluster/join-token/:role/rotate", leaderOnly, async (c) => c.json({ role: roleParam(c), token: await service.rotateJoinToken(roleParam(c)) }));
  app.post("/v1/cluster/key/rotate", leaderOnly, async (c) => c.json(await service.rotateGossipKey()));

  app.get("/v1/nodes", leaderOnly, (c) => c.json(service.nodes().map(nodeJson)));
  app.get("/v1/nodes/:ref", leaderOnly, (c) => c.json(nodeJson(findNode(service, c.req.param("ref") ?? ""))));

  app.post("/v1/nodes/:ref/update", leaderOnly, async (c) => {
    const node = findNode(service, c.req.param("ref") ?? "");
    const update = await readJsonBody(c, validateUpdate);
    await propose(service, { type: "nodeUpdate", nodeId: node.id, ...update });
    return c.json(nodeJson(findNode(service, node.id)));
  });

  app.post("/v1/nodes/:ref/promote", leaderOnly, async (c) => {
    const node = findNode(service, c.req.param("ref") ?? "");
    await propose(service, { type: "nodeRole", nodeId: node.id, role: "manager" });
    return c.json(nodeJson(findNode(service, node.id)));
  });

  app.post("/v1/nodes/:ref/demote", leaderOnly, async (c) => {
    const node = findNode(service, c.req.param("ref") ?? "");
    refuseQuorumLoss(service, node, "demoting");
    await propose(service, { type: "nodeRole", nodeId: node.id, role: "worker" });
    return c.json(nodeJson(findNode(service, node.id)));
  });

  app.delete("/v1/nodes/:ref", leaderOnly, async (c) => {
    const node = findNode(service, c.req.param("ref") ?? "");
    const force = c.req.query("force") === "true";
    if (node.role === "manager" && !force) throw new ApiError(409, "manager_must_demote", `${node.hostname} is a manager: demote it first ("shoal node demote ${node.id.slice(0, 12)}"), or remove it with --force`);
    if (node.status === "ready" && !force) throw new ApiError(409, "node_is_up", `${node.hostname} is ready: stop it or make it leave first, or remove it with --force`);
    refuseQuorumLoss(service, node, "removing");
    await propose(service, { type: "nodeRemove", nodeId: node.id });
    return c.json({ removed: node.id });
  });
}

/** A node as JSON: public keys as hex. */
function nodeJson(node: ClusterNodeView): Record<string, unknown> {
  return { ...node, signingPublicKey: Buffer.from(node.signingPublicKey).toString("hex"), boxPublicKey: Buffer.from(node.boxPublicKey).toString("hex") };
}

/** On a follower manager, answers with the leader's reply; otherwise runs the route here. */
async function forwardUnlessLeader(c: Context, next: Next, service: ClusterService): Promise<Response | void> {
  const { manager } = service.requireManager();
  if (manager.isLeader() || c.req.header(FORWARDED_HEADER)) return next();
  const body = c.req.method === "GET" || c.req.method === "DELETE" ? undefined : await c.req.text();
  const url = new URL(c.req.url);
  let reply;
  try {
    reply = await service.forwardToLeader({ method: c.req.method, path: `${url.pathname}${url.search}`, body });
  } catch (error) {
    throw new ApiError(503, "leader_unreachable", `cannot reach the Raft leader: ${describeError(error)}`);
  }
  if (!reply) throw new ApiError(503, "no_leader", "the cluster has no Raft leader right now (a quorum of managers is not reachable); retry, or recover with init --force-new-cluster");
  return new Response(reply.body, { status: reply.status, headers: { "content-type": "application/json" } });
}

async function propose(service: ClusterService, command: ClusterCommand): Promise<void> {
  try {
    await service.requireManager().manager.propose(command);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    const code = error instanceof ShoalError ? error.code : "internal";
    const status = code === "node_not_found" ? 404 : ["no_leader", "request_timeout", "leader_changed", "replica_stopped"].includes(code) ? 503 : 409;
    throw new ApiError(status, code, describeError(error));
  }
}

function refuseQuorumLoss(service: ClusterService, node: ClusterNodeView, action: string): void {
  if (node.role !== "manager") return;
  const { manager } = service.requireManager();
  const reason = quorumLossReason(manager.conf().voters, manager.reachableManagers(), node.id);
  if (reason) throw new ApiError(409, "quorum_at_risk", `${action} ${node.hostname} would lose the managers' quorum: ${reason}`);
}

function findNode(service: ClusterService, ref: string): ClusterNodeView {
  return findNodeByRef(service.nodes(), ref);
}

function roleParam(c: Context): NodeRole {
  const role = c.req.param("role");
  if (role !== "worker" && role !== "manager") throw new ApiError(400, "invalid_role", `role must be worker or manager, got ${JSON.stringify(role)}`);
  return role;
}

function addressFields(value: unknown, extra: string[]): { raw: Record<string, unknown>; addresses: AddressOptions } {
  const raw = expectObject(value, ["advertiseAddr", "listenAddr", ...extra]);
  const addresses: AddressOptions = {};
  for (const field of ["advertiseAddr", "listenAddr"] as const) {
    const address = raw[field];
    if (address === undefined) continue;
    if (typeof address !== "string" || !/^.{1,261}:\d{1,5}$/.test(address)) throw new DecodeError(`field "${field}" must be HOST:PORT`, { field });
    addresses[field] = address;
  }
  return { raw, addresses };
}

function validateUpdate(value: unknown): { availability?: NodeAvailability; labelsAdd?: Record<string, string>; labelsRemove?: string[] } {
  const body = expectObject(value, ["availability", "labelAdd", "labelRm"]);
  const update: { availability?: NodeAvailability; labelsAdd?: Record<string, string>; labelsRemove?: string[] } = {};
  if (body.availability !== undefined) {
    if (body.availability !== "active" && body.availability !== "pause" && body.availability !== "drain") throw new DecodeError('field "availability" must be active, pause or drain');
    update.availability = body.availability;
  }
  if (body.labelAdd !== undefined) update.labelsAdd = decodeLabels(body.labelAdd);
  if (body.labelRm !== undefined) {
    if (!Array.isArray(body.labelRm)) throw new DecodeError('field "labelRm" must be a list of label keys');
    update.labelsRemove = body.labelRm.map((key) => labelKey(key));
  }
  if (Object.keys(update).length === 0) throw new DecodeError("nothing to update: give availability, labelAdd or labelRm");
  return update;
}
