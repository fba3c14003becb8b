/** The error a bad command line raises; the dispatcher prints it as one line and exits 2. */
import { ShoalError } from "../common/errors.ts";

/** Bad command line: unknown command or flag, missing or malformed value. */
export class UsageError extends ShoalError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super("usage", message, context);
  }
}
