/**
 * The CLI's client for the local agent's control API, over the unix socket in the data
 * directory. Connection failures become `agent_unreachable` (exit 5); API errors keep the
 * agent's code and message.
 */
import { ShoalError, describeError } from "../common/errors.ts";
import type { ErrorBody } from "../api/errors.ts";

/** Sends one request to the control API on `socketPath` and returns the parsed JSON reply. */
export async function controlRequest<T>(socketPath: string, method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`http://localhost${path}`, {
      method,
      unix: socketPath,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    });
  } catch (error) {
    throw new ShoalError(
      "agent_unreachable",
      `cannot reach the agent at ${socketPath} (${describeError(error)}); is "shoal agent" running with this data dir?`,
      { socketPath },
    );
  }
  const text = await response.text();
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    throw new ShoalError("api_bad_reply", `agent replied ${response.status} with a non-JSON body`, { status: response.status });
  }
  if (!response.ok) {
    const error = (payload as Partial<ErrorBody>).error;
    throw new ShoalError(`api_${error?.code ?? "error"}`, error?.message ?? `agent replied ${response.status}`, { status: response.status });
  }
  return payload as T;
}
