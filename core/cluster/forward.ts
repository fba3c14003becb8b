/**
 * API forwarding: a follower manager hands a cluster write (and `node ls`, which needs the
 * leader's view of who is reachable) to the leader over an `api-forward` secure connection; the
 * leader runs it against its own control API and sends back status and body. Only cluster and
 * node routes are served, and a forwarded request is marked so it is never forwarded again.
 */
import type { Hono } from "hono";
import { decodeEnvelope, encodeEnvelope } from "../common/envelope.ts";
import { describeError } from "../common/errors.ts";
import type { Logger } from "../common/log.ts";
import { record } from "../common/record.ts";
import type { SecureConnection } from "../secure/channel/index.ts";
import { requestReply } from "./channel.ts";

/** Header marking a request that a follower forwarded. */
export const FORWARDED_HEADER = "x-shoal-forwarded";

/** Route prefixes the leader serves for followers. */
const FORWARDABLE = ["/v1/cluster/", "/v1/nodes"];

/** A request as forwarded. */
export interface ForwardedRequest {
  method: string;
  path: string;
  /** The JSON body as text, if any. */
  body?: string;
}

/** The leader's answer. */
export interface ForwardedReply {
  status: number;
  body: string;
}

/** Sends `request` on an open `api-forward` connection and returns the leader's reply. */
export async function forwardRequest(connection: SecureConnection, request: ForwardedRequest, timeoutMs: number): Promise<ForwardedReply> {
  const bytes = await requestReply(connection, encodeEnvelope("cluster.fwd.req", 1, request), timeoutMs);
  const body = record(decodeEnvelope(bytes, "cluster.fwd.reply", [1]).body, "forwarded reply");
  if (!Number.isInteger(body.status) || typeof body.body !== "string") throw new Error("forwarded reply is malformed");
  return { status: body.status as number, body: body.body };
}

/** Serves one `api-forward` connection against `app` (only members reach this: see `channel.ts`). */
export function serveForwarded(connection: SecureConnection, app: Hono, logger: Logger): void {
  connection.onMessage((frame) => {
    void answer(frame, app).then(
      (reply) => connection.send(encodeEnvelope("cluster.fwd.reply", 1, reply)),
      (error) => {
        logger.warn("forwarded request failed", { remote: connection.remoteAddress, error: describeError(error) });
        connection.send(encodeEnvelope("cluster.fwd.reply", 1, { status: 400, body: JSON.stringify({ error: { code: "invalid_forward", message: describeError(error) } }) }));
      },
    );
  });
}

async function answer(frame: Uint8Array, app: Hono): Promise<ForwardedReply> {
  const request = record(decodeEnvelope(frame, "cluster.fwd.req", [1]).body, "forwarded request");
  const { method, path, body } = request;
  if (typeof method !== "string" || typeof path !== "string" || (body !== undefined && typeof body !== "string")) throw new Error("forwarded request is malformed");
  if (!path.startsWith("/") || !FORWARDABLE.some((prefix) => path.startsWith(prefix))) throw new Error(`path ${path.slice(0, 100)} cannot be forwarded`);
  const headers: Record<string, string> = { [FORWARDED_HEADER]: "1" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await app.request(path, { method, headers, body });
  return { status: response.status, body: await response.text() };
}
