// The Db adapter on PostgreSQL: a pg Pool on DATABASE_URL.
import pg from "pg";
import type { Db, SqlExecutor, SqlParam } from "./db";
import { errorMessage, StoreConnectionError } from "./errors";

// Explicit parsers per pool: immune to another module calling pg.types.setTypeParser globally.
const RAW = (v: string): string => v;
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === 20 || oid === 1700 ? RAW : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

/** The URL with its password removed, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = "";
    return u.toString();
  } catch {
    return url.replace(/(\/\/[^:/@]+):[^@]*@/, "$1@");
  }
}

export interface PostgresDbOptions {
  /** all tables in this schema: every pooled connection starts with it as search_path */
  schema?: string;
  /** pool size (default 10) */
  max?: number;
  /** ms to wait for a connection (default 10 000) */
  connectionTimeoutMillis?: number;
}

/** Connects a pool and proves it with SELECT 1, so an unreachable server fails here with a clear message. */
export async function openPostgresDb(url: string, opts: PostgresDbOptions = {}): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectionTimeoutMillis ?? 10_000,
    types,
    ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
  });
  // An idle client losing its server emits 'error' on the pool; unhandled it would crash the process.
  // The next query then fails (or reconnects) and reports through the normal path.
  pool.on("error", () => undefined);
  try {
    await pool.query("SELECT 1");
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw new StoreConnectionError(`cannot connect to PostgreSQL at ${redactUrl(url)}: ${errorMessage(e)}`, { cause: e });
  }

  const run = async <R>(q: pg.Pool | pg.PoolClient, sql: string, params?: readonly SqlParam[]): Promise<R[]> =>
    (await q.query(sql, params as unknown[] | undefined)).rows as R[];

  let closed = false;
  return {
    kind: "postgres",
    query: (sql, params) => run(pool, sql, params),
    transaction: async (fn) => {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const out = await fn({ query: (sql, params) => run(client, sql, params) } satisfies SqlExecutor);
        await client.query("COMMIT");
        client.release();
        return out;
      } catch (e) {
        // A failed ROLLBACK means the connection is broken: destroy it rather than return it to the pool.
        await client.query("ROLLBACK").then(
          () => client.release(),
          (err: Error) => client.release(err),
        );
        throw e;
      }
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
