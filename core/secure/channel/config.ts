/** Tunables of secure connections: every one named, documented and defaulted here. */

/** How a secure connection bounds time and memory. */
export interface ChannelConfig {
  /**
   * Time a peer has, from the TCP connection, to finish the handshake; a peer that stalls is
   * dropped and counted as `timeout`. A dial also gives up when the TCP connection itself takes
   * this long. Default 10 s.
   */
  handshakeTimeoutMs: number;
  /**
   * Largest payload one frame carries, either way (a sealed frame adds `FRAME_OVERHEAD` bytes).
   * `send` refuses bigger payloads; a peer announcing a bigger frame is rejected as `oversized`
   * before any of it is buffered. Default 16 MiB, the Raft transport's frame size (a 1 MiB entry
   * batch or snapshot chunk fits with room).
   */
  maxFrameBytes: number;
  /**
   * Largest handshake message accepted. Handshake messages hold one certificate; this small
   * bound keeps what an unauthenticated peer can make us buffer small. Default 16 KiB.
   */
  maxHandshakeMessageBytes: number;
  /**
   * Handshakes a listener runs at once. A handshake costs the responder public-key work before
   * the peer has proven anything, so connections beyond this are closed at once (counted as
   * `overloaded`) rather than queued. Default 64.
   */
  maxPendingHandshakes: number;
}

/** The defaults of every `ChannelConfig` field. */
export const DEFAULT_CHANNEL_CONFIG: Readonly<ChannelConfig> = {
  handshakeTimeoutMs: 10_000,
  maxFrameBytes: 16 * 1024 * 1024,
  maxHandshakeMessageBytes: 16 * 1024,
  maxPendingHandshakes: 64,
};

/** The defaults with `overrides` applied; throws `RangeError` naming a field that is not a positive integer. */
export function channelConfig(overrides: Partial<ChannelConfig> = {}): ChannelConfig {
  const config = { ...DEFAULT_CHANNEL_CONFIG, ...overrides };
  for (const [name, value] of Object.entries(config)) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`secure channel ${name} must be a positive integer, got ${value}`);
  }
  return config;
}
