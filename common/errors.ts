// The one error base of marginwatch (after viem's BaseError) and the walk along an error's `cause` chain.

export interface MarginwatchErrorOptions {
  /** what a user needs beyond the short message (an offending value, the fix); appended to `message` */
  details?: string;
  /** the error this one wraps */
  cause?: unknown;
  /**
   * the full message, when it is not `shortMessage` + `details` (a sentence written for the terminal, with its own
   * wording): messages are asserted on, so a class keeps the exact text it had.
   */
  message?: string;
}

/**
 * Every project error extends this. `shortMessage` is one line for logs and outcome rows, `details` what else a user
 * needs, `cause` the error wrapped; `name` is the subclass's own name.
 */
export class MarginwatchError extends Error {
  readonly shortMessage: string;
  declare readonly details?: string;

  constructor(shortMessage: string, options: MarginwatchErrorOptions = {}) {
    const message = options.message ?? (options.details ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage);
    // `cause` only when given: an own `cause: undefined` would look like a wrapped error to a walker.
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.shortMessage = shortMessage;
    if (options.details !== undefined) Object.defineProperty(this, "details", { value: options.details, enumerable: true });
  }
}

/**
 * A configuration value, a deployment file or a command-line argument is wrong: the user must fix their input, and
 * the CLI exits with code 2 (1 is for everything else).
 */
export class UserInputError extends MarginwatchError {}

const MAX_DEPTH = 16;

/**
 * The error and every error it wraps, outermost first: `cause` links, and the members of an AggregateError (Node
 * reports a refused dual-stack connect as one). Stops at cycles and after a fixed depth.
 */
export function* causeChain(error: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  const pending: Array<{ e: unknown; depth: number }> = [{ e: error, depth: 0 }];
  while (pending.length > 0) {
    const { e, depth } = pending.shift()!;
    if (e === undefined || e === null || seen.has(e) || depth > MAX_DEPTH) continue;
    seen.add(e);
    yield e;
    if (typeof e !== "object") continue;
    if (e instanceof AggregateError) for (const inner of e.errors) pending.push({ e: inner, depth: depth + 1 });
    const cause = (e as { cause?: unknown }).cause;
    if (cause !== undefined) pending.push({ e: cause, depth: depth + 1 });
  }
}

/** The first error along the `cause` chain (the error itself included) that `predicate` accepts, or null. */
export function findCause<T = unknown>(error: unknown, predicate: (e: unknown) => boolean): T | null {
  for (const e of causeChain(error)) if (predicate(e)) return e as T;
  return null;
}
