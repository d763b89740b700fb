// Small request helpers for the API tests (fastify inject: the real server stack without a socket).
import { expect } from "chai";
import type { FastifyInstance } from "fastify";

// biome-ignore lint/suspicious/noExplicitAny: API tests read JSON bodies without declaring their shape
export interface Res<T = any> {
  status: number;
  body: T;
  text: string;
  headers: Record<string, unknown>;
}

// biome-ignore lint/suspicious/noExplicitAny: API tests read JSON bodies without declaring their shape
export async function get<T = any>(app: FastifyInstance, url: string): Promise<Res<T>> {
  const r = await app.inject({ method: "GET", url });
  return { status: r.statusCode, body: parse(r.body) as T, text: r.body, headers: r.headers };
}

// biome-ignore lint/suspicious/noExplicitAny: API tests read JSON bodies without declaring their shape
export async function post<T = any>(
  app: FastifyInstance,
  url: string,
  payload: unknown,
  headers: Record<string, string> = { "content-type": "application/json" },
): Promise<Res<T>> {
  const r = await app.inject({
    method: "POST",
    url,
    headers,
    payload: typeof payload === "string" || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload),
  });
  return { status: r.statusCode, body: parse(r.body) as T, text: r.body, headers: r.headers };
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A 4xx with the API's error shape, whose message matches `pattern`. */
export function expectClientError(r: Res, status: number, pattern?: RegExp): void {
  expect(r.status, r.text).to.equal(status);
  expect(r.body, r.text).to.be.an("object");
  expect(r.body.error, r.text).to.be.a("string");
  expect(r.body.message, r.text).to.be.a("string").and.not.equal("");
  if (pattern) expect(r.body.message, r.text).to.match(pattern);
}

/** "1.2375…" WAD string → the Aave display ("1.23"): two decimals, rounded down. */
export function displayOf(wad: bigint): string {
  const cents = (wad * 100n) / 10n ** 18n;
  return `${cents / 100n}.${(cents % 100n).toString().padStart(2, "0")}`;
}
