/** `shoal init`'s material: a certificate the root vouches for, a first command the state accepts, sealed secrets that open. */
import { expect, test } from "bun:test";
import { decodeClusterCommand, encodeClusterCommand } from "../../../core/cluster/codec.ts";
import { foundCluster } from "../../../core/cluster/founding.ts";
import { openJoinSecret } from "../../../core/cluster/join-secret.ts";
import { applyCommand, EMPTY_CLUSTER_STATE } from "../../../core/cluster/state.ts";
import { renewalTime, verifyCertificate } from "../../../core/secure/certificate.ts";
import { SeededRandom } from "../../../core/common/random.ts";

test("a founding is self-consistent", () => {
  const now = Date.now();
  const lifetime = 90 * 24 * 60 * 60 * 1000;
  const founding = foundCluster({ nodeId: "a".repeat(32), hostname: "first", address: "127.0.0.1:7370", listenAddress: "0.0.0.0:7370", certificateLifetimeMs: lifetime, now });
  const { identity, command } = founding;
  const certificate = verifyCertificate(identity.certificate, { rootPublicKey: identity.rootPublicKey, clusterId: identity.clusterId, now });
  expect(certificate.fields).toMatchObject({ nodeId: identity.nodeId, role: "manager", notAfter: now + lifetime, serial: command.node.certificateSerial });
  expect(certificate.fields.notBefore).toBe(now - 60_000);
  const renewAt = renewalTime(certificate.fields, new SeededRandom(1));
  expect(renewAt).toBeGreaterThan(now + lifetime * 0.45);
  expect(renewAt).toBeLessThan(now + lifetime * 0.8);
  // The first command survives the wire and founds the state.
  expect(decodeClusterCommand(encodeClusterCommand(command))).toEqual(command);
  const state = applyCommand(EMPTY_CLUSTER_STATE, command).state;
  expect(state?.nodes.get(identity.nodeId)?.role).toBe("manager");
  expect(openJoinSecret(command.joinTokens.worker, founding.rootSecretKey)).toEqual(founding.secrets.worker);
  expect(openJoinSecret(command.joinTokens.manager, founding.rootSecretKey)).toEqual(founding.secrets.manager);
  expect(founding.secrets.worker).not.toEqual(founding.secrets.manager);
});
