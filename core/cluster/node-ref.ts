/** How a command names a node: its id, its hostname, or a unique prefix of its id. */
import { ApiError } from "../api/errors.ts";
import type { ClusterNode } from "./contract.ts";

/**
 * The node `ref` names, tried in order: the whole id, then the hostname, then an id prefix. A
 * hostname wins over an id prefix, so `node rm web2` cannot hit another node whose random id
 * happens to start with the same letters. 404 when nothing matches; 409 when a step matches more
 * than one node.
 */
export function findNodeByRef<Node extends ClusterNode>(nodes: readonly Node[], ref: string): Node {
  const byId = nodes.find((node) => node.id === ref);
  if (byId) return byId;
  const byHostname = nodes.filter((node) => node.hostname === ref);
  if (byHostname.length > 1) throw new ApiError(409, "node_ambiguous", `${byHostname.length} nodes are named ${JSON.stringify(ref)}; use the id`);
  if (byHostname[0]) return byHostname[0];
  const byPrefix = ref === "" ? [] : nodes.filter((node) => node.id.startsWith(ref));
  if (byPrefix.length > 1) throw new ApiError(409, "node_ambiguous", `${JSON.stringify(ref)} starts ${byPrefix.length} node ids; use more of the id`);
  if (byPrefix[0]) return byPrefix[0];
  throw new ApiError(404, "node_not_found", `no node ${JSON.stringify(ref)} in the cluster`);
}
