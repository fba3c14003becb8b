/**
 * Errors of the HTTP APIs. Every failure is answered as JSON `{ error: { code, message } }` with
 * a status code that says whose fault it was (4xx: the request, 5xx: the agent), so scripts can
 * branch on `code` and humans can read `message`.
 */
import type { Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { DecodeError, ShoalError, describeError } from "../common/errors.ts";
import type { Logger } from "../common/log.ts";

/** An error with the HTTP status it should be answered with. */
export class ApiError extends ShoalError {
  constructor(
    readonly status: ContentfulStatusCode,
    code: string,
    message: string,
    context: Record<string, unknown> = {},
  ) {
    super(code, message, context);
  }
}

/** The JSON body of every API error. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** Answers with the standard error body. */
export function errorResponse(c: Context, status: ContentfulStatusCode, code: string, message: string): Response {
  const body: ErrorBody = { error: { code, message } };
  return c.json(body, status);
}

/** Makes `app` answer unknown routes and thrown errors with the standard error body. */
export function installErrorHandlers(app: Hono, logger: Logger): void {
  app.notFound((c) => errorResponse(c, 404, "not_found", `no route for ${c.req.method} ${c.req.path}`));
  app.onError((error, c) => {
    if (error instanceof ApiError) return errorResponse(c, error.status, error.code, error.message);
    if (error instanceof DecodeError) return errorResponse(c, 400, "invalid_body", error.message);
    logger.error("request failed", { method: c.req.method, path: c.req.path, error: describeError(error) });
    return errorResponse(c, 500, "internal", "internal error; see the agent log");
  });
}
