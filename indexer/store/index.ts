// Opens the store: PostgreSQL when a database URL is given, else embedded PGlite in a data folder.
import { SCHEMA_NAME } from "./db";
import { StoreQueryError } from "./errors";
import { openPgliteDb } from "./pglite-db";
import { openPostgresDb } from "./postgres-db";
import { createSqlStore } from "./sql-store";
import type { Store } from "./types";

export const DEFAULT_DATA_DIR = ".data/pglite";

export interface OpenStoreOptions {
  /** postgres://… (DATABASE_URL); when set, PostgreSQL is used and dataDir ignored */
  databaseUrl?: string;
  /** PGlite data folder, created if missing (default .data/pglite); "memory://" keeps everything in memory */
  dataDir?: string;
  /** put every table in this schema (created if missing), e.g. one per parallel test run */
  schema?: string;
}

/** Opens, migrates and returns the store; throws StoreConnectionError when the database cannot be reached. */
export async function openStore(opts: OpenStoreOptions = {}): Promise<Store> {
  const { databaseUrl, schema } = opts;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new StoreQueryError(`invalid schema name "${schema}": use lower-case letters, digits and _ (max 63)`);
  }
  const db = databaseUrl ? await openPostgresDb(databaseUrl, { schema }) : await openPgliteDb(opts.dataDir ?? DEFAULT_DATA_DIR, { schema });
  const store = createSqlStore(db, { schema });
  try {
    await store.migrate();
  } catch (e) {
    await db.close().catch(() => undefined);
    throw e;
  }
  return store;
}

export { MEMORY, openPgliteDb } from "./pglite-db";
export { openPostgresDb, redactUrl } from "./postgres-db";
export { createSqlStore, MAX_PAGE, WRITE_CHUNK } from "./sql-store";
export type { Db, SqlExecutor, SqlParam } from "./db";
export * from "./errors";
export type * from "./types";
