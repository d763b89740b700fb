// The tiny SQL adapter both back-ends implement, so the store's SQL is written once.

/** Parameter values the store passes: strings for NUMERIC/BIGINT (never JS numbers), arrays for unnest. */
export type SqlParam = string | number | boolean | null | readonly (string | number | boolean | null)[];

export interface SqlExecutor {
  /** runs one statement with $1.. parameters; NUMERIC and BIGINT come back as decimal strings */
  query<R = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]): Promise<R[]>;
}

export interface Db extends SqlExecutor {
  readonly kind: "pglite" | "postgres";
  /** BEGIN; fn; COMMIT — or ROLLBACK and rethrow when fn throws. Use only `tx` inside fn. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Postgres identifiers the store accepts as a schema name: no quoting games, no injection. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
