/**
 * Exit codes a CI script can rely on (docs/cli.md, `appserve --help`). Every failure the CLI reports is a
 * `CliError` carrying one of them; anything else is a bug and exits with `internal`.
 */
export const ExitCode = {
  ok: 0,
  /** The release (build or rollout) ended failed, aborted or rolled back. */
  releaseFailed: 1,
  /** Bad flags or arguments, a bad project file, or a request the server refused as invalid (400, 404). */
  usage: 2,
  /** No credentials, or the server refused them (401, 403). */
  auth: 3,
  /** The server could not be reached (connection refused, DNS, TLS, timeout) or answered 502/503/504. */
  unreachable: 4,
  /** `--timeout` passed while waiting; the release goes on. */
  timeout: 5,
  /** The app is busy with another operation (409 operation_in_flight) or the request conflicts with its state. */
  conflict: 6,
  /** The server failed (500) or the CLI met something it did not expect. */
  internal: 7,
  /** Interrupted (Ctrl-C) while waiting; the release goes on. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface ErrorReport {
  /** Machine-readable code: the server's (`invalid_request`, `operation_in_flight`, ...) or the CLI's own. */
  code: string;
  message: string;
  details?: Record<string, unknown>;
  /** What to do about it, when the CLI or the server knows. */
  hint?: string;
}

export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  readonly hint: string | undefined;

  constructor(exitCode: ExitCode, code: string, message: string, options: { details?: Record<string, unknown>; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.code = code;
    this.details = options.details;
    this.hint = options.hint;
  }

  report(): ErrorReport {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}), ...(this.hint ? { hint: this.hint } : {}) };
  }
}

export function usageError(message: string, hint?: string): CliError {
  return new CliError(ExitCode.usage, 'usage', message, hint ? { hint } : {});
}

/** An error answer of the server: `{ error: { code, message, details } }` with its HTTP status. */
export class ApiError extends CliError {
  readonly status: number;

  constructor(status: number, code: string, message: string, details: Record<string, unknown> | undefined) {
    super(exitCodeOfStatus(status, code), code, message, { ...(details ? { details } : {}), ...hintOf(status, code, details) });
    this.name = 'ApiError';
    this.status = status;
  }
}

export function exitCodeOfStatus(status: number, code?: string): ExitCode {
  if (status === 401 || status === 403) return ExitCode.auth;
  if (status === 409) return ExitCode.conflict;
  if (status === 504 && code === 'wait_timeout') return ExitCode.timeout;
  if (status === 502 || status === 503 || status === 504) return ExitCode.unreachable;
  if (status >= 400 && status < 500) return ExitCode.usage;
  return ExitCode.internal;
}

function hintOf(status: number, code: string, details: Record<string, unknown> | undefined): { hint?: string } {
  if (status === 401) return { hint: 'log in again with `appserve login` (or set APPSERVE_TOKEN)' };
  if (status === 403) return { hint: 'this needs an admin token' };
  if (code === 'operation_in_flight') {
    const operation = details?.operation as { kind?: string } | undefined;
    return { hint: `wait for the ${operation?.kind ?? 'current'} operation to finish (\`appserve status\`), or abort it` };
  }
  if (code === 'app_not_found') return { hint: 'see your apps with `appserve list`' };
  return {};
}
