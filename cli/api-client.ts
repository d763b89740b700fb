// The CLI's client of a running marginwatch API: typed GET / POST, one clear message when it cannot be reached or
// answers an error.
import { Option } from "commander";
import { UserInputError } from "../common/errors";

/** The API the CLI reads by default: MARGINWATCH_API, else the local one (API_HOST / API_PORT, as `start` binds). */
export function defaultApiUrl(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MARGINWATCH_API) return env.MARGINWATCH_API;
  const host = !env.API_HOST || env.API_HOST === "0.0.0.0" ? "127.0.0.1" : env.API_HOST;
  return `http://${host}:${env.API_PORT || 8080}`;
}

export const apiOption = (): Option =>
  new Option("--api <url>", "a running marginwatch API (env MARGINWATCH_API; default the local one)").default(defaultApiUrl());

export const jsonOption = (): Option => new Option("--json", "print the API's JSON response, unchanged, for machines");

/** The API answered with an error status: its own message (e.g. "account … has never held a position"). */
export class ApiError extends UserInputError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(`API answered ${status}: ${message}`);
  }
}

export class ApiUnreachableError extends UserInputError {}

export async function apiGet<T>(base: string, path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
  const url = new URL(path, base);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
  return request<T>(base, url);
}

export async function apiPost<T>(base: string, path: string, body: unknown): Promise<T> {
  return request<T>(base, new URL(path, base), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

async function request<T>(base: string, url: URL, init?: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  } catch (e) {
    const cause = (e as Error & { cause?: Error }).cause?.message ?? (e as Error).message;
    throw new ApiUnreachableError(`cannot reach the marginwatch API at ${base} (${cause}); start it with \`npm start\` or pass --api <url>`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(res.status, `not JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok) throw new ApiError(res.status, (body as { message?: string }).message ?? text.slice(0, 200));
  return body as T;
}
