// Typed errors of the store: connection, write and query failures carry what an operator needs to act.
import { MarginwatchError } from "../../common/errors";

/** The database cannot be reached or opened; retrying with the same settings will usually fail again. */
export class StoreConnectionError extends MarginwatchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { cause: options?.cause });
  }
}

/** A batch or record was refused; the transaction was rolled back, nothing of it is stored. */
export class StoreWriteError extends MarginwatchError {
  /** the SQLSTATE of the underlying database error, e.g. 23514 for a check violation */
  readonly code: string | undefined;
  constructor(what: string, cause: unknown) {
    const reason = errorMessage(cause);
    super(reason, { message: `${what} failed: ${reason}`, cause });
    this.code = typeof (cause as { code?: unknown })?.code === "string" ? (cause as { code: string }).code : undefined;
  }
}

/** A query argument is out of range (bad paging, malformed address): the caller's mistake, not the database's. */
export class StoreQueryError extends MarginwatchError {}

/** A value read back has an unexpected type: the driver's type parsers are misconfigured. */
export class StoreDecodeError extends MarginwatchError {}

/** Node 20 reports a refused dual-stack connect as an AggregateError with an empty message. */
export function errorMessage(e: unknown): string {
  if (e instanceof AggregateError && !e.message) {
    const inner = e.errors.map((x) => errorMessage(x)).filter(Boolean);
    if (inner.length > 0) return inner.join("; ");
  }
  if (e instanceof Error) return e.message || (e as { code?: string }).code || e.name;
  return String(e);
}

/** The database was migrated by a newer marginwatch, or a migration failed. */
export class StoreSchemaError extends MarginwatchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { cause: options?.cause });
  }
}
