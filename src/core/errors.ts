/**
 * One error base for the whole app. `userMessage` is safe to show a person (Slack, CLI, HTTP);
 * `message` may carry detail for logs. Edges map `code` to an ephemeral reply, a status or an
 * exit code; nothing in between needs to know how.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly userMessage: string,
    options: { cause?: unknown; detail?: string } = {},
  ) {
    super(options.detail ?? userMessage, { cause: options.cause });
    this.name = new.target.name;
  }
}

/**
 * An answer to a person rather than a fault of ours: bad input, something not found, a clash with
 * the current state, a missing permission. Its stack is not kept: no one reads it (only faults are
 * logged), and capturing it walks every frame and await above the throw, a few µs on each refused
 * request.
 */
export abstract class Refusal extends AppError {
  constructor(code: string, userMessage: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(code, userMessage);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
}

/** The input was wrong; the message says what would be right. */
export class ValidationError extends Refusal {
  constructor(userMessage: string) {
    super('validation', userMessage);
  }
}

export class NotFoundError extends Refusal {
  constructor(userMessage: string) {
    super('not_found', userMessage);
  }
}

/** The request is valid but clashes with current state (a deploy already running, ...). */
export class ConflictError extends Refusal {
  constructor(userMessage: string) {
    super('conflict', userMessage);
  }
}

export class PermissionDeniedError extends Refusal {
  constructor(userMessage: string) {
    super('permission_denied', userMessage);
  }
}

/** A call to something outside (Slack, a deploy target) failed. */
export class ExternalServiceError extends AppError {
  constructor(
    userMessage: string,
    readonly retryable: boolean,
    options: { cause?: unknown; retryAfterMs?: number; timedOut?: boolean } = {},
  ) {
    super('external_service', userMessage, { cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
    this.timedOut = options.timedOut ?? false;
  }
  readonly retryAfterMs: number | undefined;
  /** No answer came within the deadline (ours, or the server's own query timeout). */
  readonly timedOut: boolean;
}

/**
 * A backend could not take several queries together, though each on its own may work: one of them
 * cannot be combined with the others, or together they outlasted the deadline. Ask them one by
 * one. `lasting`: the same queries would be refused together again (not so for a timeout).
 */
export class BatchRefusedError extends ExternalServiceError {
  constructor(
    userMessage: string,
    readonly lasting: boolean,
    options: { cause?: unknown } = {},
  ) {
    super(userMessage, !lasting, options);
  }
}

/** Why the database would not take a write: another program holds its lock, the disk is full, or the disk failed. */
export type StorageProblem = 'busy' | 'full' | 'io';

const STORAGE_MESSAGES: Record<StorageProblem, string> = {
  busy: "Shipmate's database is busy (another program is writing to it), so nothing was changed. Try again in a moment.",
  full: "Shipmate's database has no room left (the disk is full), so nothing was changed. Ask whoever runs Shipmate to free some disk space, then try again.",
  io: "Shipmate could not write to its database (a disk error), so nothing was changed. Whoever runs Shipmate will find the error in its log.",
};

/**
 * The database refused a write that another try may get through, once the lock is free or space
 * is back. Raised by the store for the whole transaction, which SQLite rolled back.
 */
export class StorageUnavailableError extends AppError {
  constructor(
    readonly problem: StorageProblem,
    /** The store's own code for it, e.g. SQLITE_BUSY: what the log and /readyz name. */
    readonly storeCode: string,
    options: { cause?: unknown } = {},
  ) {
    super('storage_unavailable', STORAGE_MESSAGES[problem], { cause: options.cause, detail: `the database refused a write: ${storeCode}` });
  }
}

/** A setting or config file is missing or invalid; the message names it. */
export class ConfigError extends AppError {
  constructor(userMessage: string) {
    super('config', userMessage);
  }
}

/** An HTTP status another try may fix: the server's trouble (5xx) or a rate limit (429). */
export const isTransientStatus = (status: number): boolean => status >= 500 || status === 429;
