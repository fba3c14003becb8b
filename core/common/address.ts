/**
 * `host:port` addresses as they appear in config, flags and environment variables. IPv6 hosts
 * are bracketed (`[::1]:7372`), the same as Go's `net.JoinHostPort`, so operators can paste
 * what they use with Consul or Docker.
 */
import ipaddr from "ipaddr.js";
import { ShoalError } from "./errors.ts";

/** A parsed listen or advertise address. */
export interface HostPort {
  /** IP address or DNS name, without brackets. */
  host: string;
  /** TCP/UDP port; 0 asks the system for any free port. */
  port: number;
}

const HOSTNAME = /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** Parses `host:port` or `[v6]:port`; returns an explanation of what is expected when invalid. */
export function parseHostPort(text: string): HostPort | { error: string } {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  if (!match) return { error: "expected HOST:PORT, e.g. 127.0.0.1:7372 or [::1]:7372" };
  const host = match[1]!;
  const port = Number(match[2]);
  if (!Number.isInteger(port) || port > 65535) return { error: "expected a port between 0 and 65535" };
  const bracketed = text.startsWith("[");
  if (bracketed && !(ipaddr.IPv6.isValid(host))) return { error: "expected an IPv6 address inside [ ]" };
  if (!bracketed) {
    const looksNumeric = /^[0-9.]+$/.test(host);
    const valid = looksNumeric ? ipaddr.IPv4.isValidFourPartDecimal(host) : HOSTNAME.test(host);
    if (!valid) return { error: "expected an IP address or DNS name as the host" };
  }
  return { host, port };
}

/** Formats `host` and `port` back into `host:port`, bracketing IPv6. */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Whether `host` is a wildcard (`0.0.0.0` or `::`): fine to bind, but no peer can dial it. */
export function isWildcardHost(host: string): boolean {
  return host === "0.0.0.0" || host === "::";
}

/** Whether other nodes can dial `address`: neither a wildcard host nor port 0. */
export function isDialable(address: HostPort): boolean {
  return !isWildcardHost(address.host) && address.port !== 0;
}

/** Parses `host:port` like `parseHostPort`, throwing `ShoalError("address_invalid")` when invalid. */
export function requireHostPort(text: string): HostPort {
  const parsed = parseHostPort(text);
  if ("error" in parsed) {
    const shown = text.slice(0, 80);
    throw new ShoalError("address_invalid", `invalid address ${JSON.stringify(shown)}: ${parsed.error}`, { address: shown });
  }
  return parsed;
}
