/**
 * Every tunable of gossip key rotation, in one place. All durations are milliseconds; the cores
 * never read a clock, the shell passes `now`.
 */
import { ShoalError } from "../../common/errors.ts";

/** Gossip key rotation settings; see each field. */
export interface KeyRotationConfig {
  /**
   * Time between scheduled rotations. Each rotation generates a key and makes the key of the
   * previous rotation primary, so this is also how long every node has to install a key before
   * anyone seals with it. Default 12 hours.
   */
  rotationInterval: number;
  /**
   * The least time a key is distributed before a manual rotation (`shoal key rotate`) may make it
   * primary: a manual rotation requested sooner waits until then, so nodes never receive packets
   * sealed with a key that reached them only moments ago. Default 1 minute; at most `rotationInterval`.
   */
  installGrace: number;
  /**
   * How long the leader waits for a rotation it proposed to be applied before proposing it again
   * (the proposal can be lost when leadership changes). Default 10 seconds.
   */
  proposalRetry: number;
  /** How often a manager resends a keyring a node has not acknowledged. Default 2 seconds. */
  distributionRetry: number;
}

/** The defaults: rotate every 12 h, as Docker Swarm does. */
export const DEFAULT_KEY_ROTATION_CONFIG: Readonly<KeyRotationConfig> = Object.freeze({
  rotationInterval: 12 * 60 * 60 * 1000,
  installGrace: 60 * 1000,
  proposalRetry: 10 * 1000,
  distributionRetry: 2 * 1000,
});

/** Fills in defaults and validates; throws `ShoalError("config_invalid")` naming the field. */
export function keyRotationConfig(overrides: Partial<KeyRotationConfig> = {}): KeyRotationConfig {
  const config = { ...DEFAULT_KEY_ROTATION_CONFIG, ...overrides };
  for (const field of ["rotationInterval", "installGrace", "proposalRetry", "distributionRetry"] as const) {
    const value = config[field];
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new ShoalError("config_invalid", `key rotation ${field} must be a positive whole number of ms, got ${value}`, { field, value });
    }
  }
  if (config.installGrace > config.rotationInterval) {
    throw new ShoalError("config_invalid", "key rotation installGrace cannot exceed rotationInterval", {
      field: "installGrace",
      installGrace: config.installGrace,
      rotationInterval: config.rotationInterval,
    });
  }
  return config;
}
