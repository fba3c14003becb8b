/**
 * The node side of dispatcher sessions on real connections: runs a `NodeSession` with a timer,
 * dials managers over the secure channel, decodes what they send, and installs delivered
 * keyrings into the gossip keyring. A keyring is accepted only when sealed by the box key of the
 * manager at the other end of the session, as its certificate (checked by the channel) names it.
 */
import type { Logger } from "../../common/log.ts";
import { describeError, DecodeError } from "../../common/errors.ts";
import { entropyRandom } from "../../common/random.ts";
import { constantTimeEqual } from "../../secure/hash.ts";
import type { Keyring } from "../../secure/keyring.ts";
import type { SecureConnection } from "../../secure/channel/index.ts";
import type { LocalIdentity } from "../contract.ts";
import { installKeyring, KeyringReceiver } from "../keyrotation/index.ts";
import { type DispatcherConfig, SESSION_TICK_MS } from "./config.ts";
import { decodeManagerMessage, encodeNodeMessage } from "./messages.ts";
import type { DispatcherMetrics } from "./metrics.ts";
import { type NodeSessionAction, NodeSession, type NodeSessionStatus } from "./node-session.ts";

/** What a `NodeSessionShell` needs. */
export interface NodeSessionShellOptions {
  identity: LocalIdentity;
  config: DispatcherConfig;
  /** Opens a `dispatcher` connection to a manager's cluster address. */
  dial(address: string): Promise<SecureConnection>;
  /** The gossip keyring delivered keyrings are installed into. */
  keyring: Keyring;
  /** Called after each keyring installed. */
  onKeyringInstalled(version: number): void;
  /** Called when a manager accepts the session or sends new managers: their addresses and its gossip address. */
  onAccepted(managers: string[], gossipAddress: string): void;
  metrics: DispatcherMetrics;
  logger: Logger;
}

/** One node's dispatcher session on sockets. */
export class NodeSessionShell {
  private readonly session: NodeSession;
  private readonly receiver: KeyringReceiver;
  private connection: { address: string; channel: SecureConnection } | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private stopped = false;

  constructor(private readonly options: NodeSessionShellOptions) {
    const { identity } = options;
    this.receiver = new KeyringReceiver({
      clusterId: identity.clusterId,
      nodeId: identity.nodeId,
      boxKeys: { publicKey: identity.boxPublicKey, secretKey: identity.boxSecretKey },
      isManagerBoxKey: (key) => this.isSessionManagerKey(key),
    });
    this.session = new NodeSession({
      nodeId: identity.nodeId,
      config: options.config,
      random: entropyRandom(),
      keyring: this.receiver,
      managers: identity.managerAddresses,
      ...(identity.role === "manager" ? { ownAddress: identity.address } : {}),
    });
  }

  /** Starts dialling and ticking. */
  start(): void {
    this.timer = setInterval(() => this.run(this.session.tick(Date.now())), SESSION_TICK_MS);
    this.run(this.session.tick(Date.now()));
  }

  /** Closes the session's connection; nothing more is dialled. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    const channel = this.connection?.channel;
    this.connection = undefined;
    channel?.close();
    this.options.metrics.sessionOpen.set(0);
  }

  /** Where the session is. */
  status(): NodeSessionStatus {
    return this.session.status();
  }

  /** The keyring version installed (0 before the first). */
  keyringVersion(): number {
    return this.receiver.version();
  }

  private run(actions: NodeSessionAction[]): void {
    for (const action of actions) {
      switch (action.kind) {
        case "dial":
          this.dial(action.address);
          break;
        case "send":
          if (this.connection?.address === action.address) this.connection.channel.send(encodeNodeMessage(action.message));
          break;
        case "hangUp":
          this.options.metrics.failovers.inc();
          this.options.logger.info("leaving dispatcher session", { manager: action.address });
          if (this.connection?.address === action.address) {
            const { channel } = this.connection;
            this.connection = undefined;
            channel.close();
          }
          break;
        case "install":
          this.install(action.keyring);
          break;
        case "keyringRejected":
          this.options.metrics.keyringsRejected.inc({ reason: action.reason });
          this.options.logger.warn("refused a delivered gossip keyring", { reason: action.reason, error: action.message });
          break;
        case "removed":
          this.options.logger.error("this node was removed from the cluster; its dispatcher session has stopped");
          break;
      }
    }
    const status = this.session.status();
    this.options.metrics.sessionOpen.set(status.state === "open" ? 1 : 0);
  }

  private dial(address: string): void {
    this.options.dial(address).then(
      (channel) => {
        const status = this.session.status();
        if (this.stopped || status.state !== "dialing" || status.address !== address) {
          channel.close();
          return;
        }
        this.connection = { address, channel };
        channel.onMessage((bytes) => this.receive(address, channel, bytes));
        channel.onClose(() => {
          if (this.connection?.channel !== channel) return;
          this.connection = undefined;
          this.options.metrics.failovers.inc();
          this.run(this.session.connectionLost(address, Date.now()));
        });
        this.run(this.session.connected(address, Date.now()));
      },
      (error) => {
        this.options.logger.debug("dispatcher dial failed", { manager: address, error: describeError(error) });
        if (!this.stopped) this.run(this.session.connectionLost(address, Date.now()));
      },
    );
  }

  private receive(address: string, channel: SecureConnection, bytes: Uint8Array): void {
    let message;
    try {
      message = decodeManagerMessage(bytes);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      this.options.metrics.rejected.inc({ reason: "undecodable" });
      this.options.logger.warn("undecodable dispatcher message; leaving the session", { manager: address, error: error.message });
      channel.close();
      return;
    }
    this.run(this.session.receive(address, message, Date.now()));
    const status = this.session.status();
    if (status.state !== "open") return;
    if (message.type === "accepted") this.options.logger.info("dispatcher session open", { manager: address });
    if (message.type === "accepted" || message.type === "managers") this.options.onAccepted([...this.session.managerAddresses()], status.managerGossipAddress);
  }

  private install(keyring: Parameters<typeof installKeyring>[1]): void {
    try {
      installKeyring(this.options.keyring, keyring);
    } catch (error) {
      this.options.metrics.keyringsRejected.inc({ reason: "conflict" });
      this.options.logger.error("could not install a delivered gossip keyring", { error: describeError(error) });
      return;
    }
    this.options.metrics.keyringsInstalled.inc();
    this.options.logger.info("gossip keyring installed", { version: keyring.version, primary: keyring.primary });
    this.options.onKeyringInstalled(keyring.version);
  }

  private isSessionManagerKey(key: Uint8Array): boolean {
    const peer = this.connection?.channel.peer;
    return peer?.kind === "member" && peer.certificate.role === "manager" && constantTimeEqual(peer.certificate.boxKey, key);
  }
}
