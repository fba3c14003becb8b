/**
 * Join tokens: `SHOAL-1-<base32>`. One token is all `shoal join` needs: it carries the
 * SHA-256 pin of the cluster root public key (so the joiner can tell the real cluster from a
 * man in the middle), the role secret (worker or manager) a manager checks before issuing a
 * certificate, and the managers' addresses to dial.
 *
 * The base32 body ends with a 4-byte checksum, so a truncated or mistyped token is refused
 * before any network traffic, with a message saying so.
 */
import { decodeCbor, encodeCbor } from "../common/envelope.ts";
import { ShoalError } from "../common/errors.ts";
import { decodeBase32, encodeBase32 } from "./base32.ts";
import { sha256 } from "./hash.ts";

/** The role a token admits a node as. */
export type JoinRole = "worker" | "manager";

/** What a join token carries. */
export interface JoinToken {
  /** SHA-256 of the cluster root public key. */
  rootPin: Uint8Array;
  role: JoinRole;
  /** The role secret: 32 random bytes, replaced when the token is rotated. */
  secret: Uint8Array;
  /** Managers' cluster addresses, `host:port`. */
  managers: string[];
}

/** A token could not be parsed; the message says why in terms a user can act on. */
export class TokenError extends ShoalError {
  constructor(message: string) {
    super("token_invalid", message);
  }
}

const PREFIX = "SHOAL-";
const VERSION = 1;
const CHECKSUM_BYTES = 4;
const ROLE_CODES: Record<JoinRole, string> = { worker: "w", manager: "m" };
/** Bounds that keep a token pasteable and a hostile one cheap to reject. */
const MAX_MANAGERS = 16;
const MAX_ADDRESS_LENGTH = 255;

/** Formats a token as `SHOAL-1-…`. */
export function formatJoinToken(token: JoinToken): string {
  if (token.rootPin.length !== 32 || token.secret.length !== 32) throw new TokenError("root pin and secret must be 32 bytes each");
  const body = encodeCbor([token.rootPin, ROLE_CODES[token.role], token.secret, token.managers]);
  const checksum = sha256(body).subarray(0, CHECKSUM_BYTES);
  const bytes = new Uint8Array(body.length + CHECKSUM_BYTES);
  bytes.set(body);
  bytes.set(checksum, body.length);
  return `${PREFIX}${VERSION}-${encodeBase32(bytes)}`;
}

/** Parses and checks a token; throws `TokenError` naming what is wrong. */
export function parseJoinToken(text: string): JoinToken {
  const trimmed = text.trim();
  if (!trimmed.toUpperCase().startsWith(PREFIX)) throw new TokenError(`not a Shoal join token: it must start with ${PREFIX}${VERSION}-`);
  const [, version, encoded, ...rest] = trimmed.split("-");
  if (rest.length > 0 || encoded === undefined || encoded === "") throw new TokenError("malformed join token: expected SHOAL-<version>-<body>");
  if (version !== String(VERSION)) throw new TokenError(`join token version ${version} is not supported (this Shoal reads version ${VERSION})`);

  let bytes: Uint8Array;
  try {
    bytes = decodeBase32(encoded);
  } catch {
    throw new TokenError("join token contains characters outside its alphabet; was it copied completely?");
  }
  if (bytes.length <= CHECKSUM_BYTES) throw new TokenError("join token is truncated");
  const body = bytes.subarray(0, bytes.length - CHECKSUM_BYTES);
  const checksum = bytes.subarray(bytes.length - CHECKSUM_BYTES);
  const expected = sha256(body).subarray(0, CHECKSUM_BYTES);
  if (!checksum.every((byte, i) => byte === expected[i])) throw new TokenError("join token checksum does not match: it is truncated or mistyped");

  let fields: unknown;
  try {
    fields = decodeCbor(body);
  } catch {
    throw new TokenError("join token body is malformed");
  }
  return validateFields(fields);
}

function validateFields(fields: unknown): JoinToken {
  if (!Array.isArray(fields) || fields.length !== 4) throw new TokenError("join token body has the wrong shape");
  const [rootPin, roleCode, secret, managers] = fields as unknown[];
  if (!(rootPin instanceof Uint8Array) || rootPin.length !== 32) throw new TokenError("join token root pin must be 32 bytes");
  if (!(secret instanceof Uint8Array) || secret.length !== 32) throw new TokenError("join token secret must be 32 bytes");
  const role = (Object.keys(ROLE_CODES) as JoinRole[]).find((name) => ROLE_CODES[name] === roleCode);
  if (role === undefined) throw new TokenError("join token names an unknown role");
  if (!Array.isArray(managers) || managers.length === 0 || managers.length > MAX_MANAGERS) {
    throw new TokenError(`join token must list 1 to ${MAX_MANAGERS} manager addresses`);
  }
  for (const address of managers) {
    if (typeof address !== "string" || address.length === 0 || address.length > MAX_ADDRESS_LENGTH) throw new TokenError("join token has an invalid manager address");
  }
  return { rootPin: new Uint8Array(rootPin), role, secret: new Uint8Array(secret), managers: managers as string[] };
}
