// The Db adapter on embedded PGlite: a data folder on disk, or memory for tests.
import fs from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import type { Db, SqlExecutor, SqlParam } from "./db";
import { errorMessage, StoreConnectionError } from "./errors";

export const MEMORY = "memory://";

// PGlite parses INT8 to a JS number (loses precision above 2^53); keep INT8 and NUMERIC as strings, like pg.
const PARSERS = { 20: (v: string) => v, 1700: (v: string) => v };

/** One turn of the event loop: timers and I/O callbacks due now run before the caller goes on. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Opens (and initialises on first use) a PGlite database; `schema` becomes the search_path. */
export async function openPgliteDb(dataDir: string | undefined, opts: { schema?: string } = {}): Promise<Db> {
  const inMemory = dataDir === undefined || dataDir === MEMORY;
  const where = inMemory ? MEMORY : path.resolve(dataDir);
  let pg: PGlite;
  try {
    if (!inMemory) fs.mkdirSync(where, { recursive: true });
    pg = await PGlite.create(inMemory ? { parsers: PARSERS } : { dataDir: where, parsers: PARSERS });
  } catch (e) {
    throw new StoreConnectionError(`cannot open PGlite data folder at ${where}: ${errorMessage(e)}`, { cause: e });
  }
  // One connection for the process, so a session-level search_path holds for every later query.
  if (opts.schema) await pg.query(`SET search_path TO "${opts.schema}"`);

  const run = async <R>(q: Pick<PGlite, "query">, sql: string, params?: readonly SqlParam[]): Promise<R[]> =>
    (await q.query<R>(sql, params as unknown[] | undefined)).rows;

  return {
    kind: "pglite",
    query: (sql, params) => run(pg, sql, params),
    // PGlite serialises every query behind its own mutex, so a transaction cannot interleave with others. Its WASM
    // runs on this thread and resolves in microtasks only, so a long transaction would hold off every timer and
    // socket (the indexer's next range, already requested, would wait unread): each statement first lets the event
    // loop turn. The transaction stays one transaction; other queries still wait for it behind the mutex.
    transaction: (fn) =>
      pg.transaction((tx) =>
        fn({
          query: async (sql, params) => {
            await turn();
            return run(tx, sql, params);
          },
        } satisfies SqlExecutor),
      ),
    close: async () => {
      if (!pg.closed) await pg.close();
    },
  };
}
