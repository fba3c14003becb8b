/**
 * Which addresses this node uses in the cluster: where its listener binds and what it
 * advertises, from `init`/`join` flags or the agent config, checked before anyone relies on them.
 */
import { createServer } from "node:net";
import { hostname, networkInterfaces } from "node:os";
import { isDialable, isWildcardHost, parseHostPort, requireHostPort } from "../common/address.ts";
import { ApiError } from "../api/errors.ts";
import { describeError } from "../common/errors.ts";

/** Addresses chosen by `init` or `join` (each defaults to the agent config's). */
export interface AddressOptions {
  advertiseAddr?: string;
  listenAddr?: string;
}

/**
 * The listen and advertise addresses: the flags', else the config's; a wildcard listen address
 * advertises the host's first non-internal IPv4. Throws a 400 when the result cannot be dialled.
 */
export function resolveAddresses(options: AddressOptions, config: { listenAddr: string; advertiseAddr: string }): { advertise: string; listen: string } {
  const listen = options.listenAddr ?? config.listenAddr;
  const bound = requireHostPort(listen);
  const advertise = options.advertiseAddr ?? (config.advertiseAddr || defaultAdvertise(bound.host, bound.port));
  const parsed = parseHostPort(advertise);
  if ("error" in parsed || !isDialable(parsed)) {
    throw new ApiError(400, "invalid_address", `advertise address ${JSON.stringify(advertise)} is not one other nodes can dial`);
  }
  return { advertise, listen };
}

function defaultAdvertise(host: string, port: number): string {
  if (!isWildcardHost(host)) return `${host}:${port}`;
  const candidates = Object.values(networkInterfaces()).flat().filter((entry) => entry && entry.family === "IPv4" && !entry.internal);
  const address = candidates[0]?.address;
  if (!address) throw new ApiError(400, "invalid_address", `no address to advertise on ${hostname()}: pass --advertise-addr`);
  return `${address}:${port}`;
}

/** Throws a 400 naming the address when nothing can listen on it here. */
export async function assertBindable(address: string): Promise<void> {
  const { host, port } = requireHostPort(address);
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once("error", reject);
      probe.listen(port, host, () => resolve());
    });
  } catch (error) {
    throw new ApiError(400, "listen_failed", `cannot listen on ${address}: ${describeError(error)}; pick another --listen-addr`);
  } finally {
    probe.close();
  }
}
