// `marginwatch verify`: an outside check of a running API. Lists its accounts, fetches each account card, reads the
// pool's own views at the block each card names, and compares HF, collateral and debt to the wei.
import { createPublicClient, http, type Hex, type PublicClient } from "viem";
import type { Deployment } from "../../common/deployment";
import { UserInputError } from "../../common/errors";
import type { AccountStatus } from "../health/types";
import type { Address } from "../state/events";
import { compareAccount, type AuditFigures, type FieldDiff } from "./compare";
import { protocolOf } from "../../protocols";
import type { RpcRequester } from "../../protocols/types";

/** Bad arguments, or the API / RPC cannot be used: the CLI exits 2 with this message. */
export class VerifyInputError extends UserInputError {}

export interface VerifyOptions {
  apiUrl: string;
  rpcUrl: string;
  deployment: Deployment;
  /** check this many accounts, spread evenly over the API's list (lowest HF first); default every account */
  sample?: number;
  /** parallel card requests and block reads; default 8 */
  concurrency?: number;
}

export interface VerifyMismatch {
  account: Address;
  blockNumber: string;
  diffs: FieldDiff[];
}

export interface VerifyReport {
  apiUrl: string;
  rpcUrl: string;
  /** the adapter's label (whose views are the reference) and the market's pool */
  protocol: string;
  pool: Address;
  /** accounts the API lists */
  listed: number;
  checked: number;
  equal: number;
  mismatched: number;
  errors: number;
  /** equal because the pool refused a stale price and marginwatch said "unknown" */
  unpriced: number;
  /** the cards' blocks: lowest, highest and how many distinct */
  blocks: { from: string; to: string; distinct: number } | null;
  mismatches: VerifyMismatch[];
  errorList: Array<{ account: Address; blockNumber: string | null; error: string }>;
}

interface Card {
  account: string;
  blockNumber: string;
  /** read at this hash: a reorg after the card was served cannot pass for a mismatch */
  blockHash?: string;
  healthFactorWad: string | null;
  status: AccountStatus;
  unknownAssets?: string[];
  base: { totalCollateralBase: string; totalDebtBase: string };
}

interface ListPage {
  accounts: Array<{ account: string }>;
  nextCursor: string | null;
  total: number;
}

const PAGE = 500;

export async function verify(o: VerifyOptions): Promise<VerifyReport> {
  const pool = o.deployment.pool.toLowerCase() as Address;
  const protocol = protocolOf(o.deployment);
  const concurrency = Math.max(1, o.concurrency ?? 8);
  const client = createPublicClient({
    transport: http(o.rpcUrl, { batch: { batchSize: 200 }, retryCount: 1, timeout: 20_000 }),
    cacheTime: 0,
  }) as PublicClient;

  let chainId: number;
  try {
    chainId = await client.getChainId();
  } catch (e) {
    throw new VerifyInputError(
      `cannot reach the RPC at ${o.rpcUrl} (${(e as { shortMessage?: string }).shortMessage ?? (e as Error).message}); pass --rpc-url`,
    );
  }
  if (chainId !== o.deployment.chainId) {
    throw new VerifyInputError(
      `the RPC at ${o.rpcUrl} is chain ${chainId}, the deployment is for chain ${o.deployment.chainId}: wrong --rpc-url or --deployment`,
    );
  }

  const api = apiClient(o.apiUrl);
  const listed = await listAccounts(api);
  const picked = spread(listed, o.sample);

  const cards: Array<{ account: Address; card: Card | null; error?: string }> = await mapLimit(picked, concurrency, async (account) => {
    try {
      return { account, card: await api<Card>(`/v1/accounts/${account}`) };
    } catch (e) {
      if (e instanceof VerifyInputError) throw e;
      return { account, card: null, error: `card: ${(e as Error).message}` };
    }
  });

  const report: VerifyReport = {
    apiUrl: o.apiUrl,
    rpcUrl: o.rpcUrl,
    protocol: protocol.label,
    pool,
    listed: listed.length,
    checked: 0,
    equal: 0,
    mismatched: 0,
    errors: 0,
    unpriced: 0,
    blocks: null,
    mismatches: [],
    errorList: [],
  };
  const byBlock = new Map<string, { blockNumber: bigint; blockHash: Hex | null; items: Array<{ account: Address; figures: AuditFigures }> }>();
  for (const c of cards) {
    report.checked++;
    if (!c.card) {
      report.errors++;
      report.errorList.push({ account: c.account, blockNumber: null, error: c.error ?? "no card" });
      continue;
    }
    const key = `${c.card.blockNumber}|${c.card.blockHash ?? ""}`;
    const group = byBlock.get(key) ?? {
      blockNumber: BigInt(c.card.blockNumber),
      blockHash: (c.card.blockHash as Hex | undefined) ?? null,
      items: [],
    };
    group.items.push({ account: c.account, figures: figuresOf(c.card) });
    byBlock.set(key, group);
  }

  // Each card is exact at its own block: the pool is read there, one batched round trip per block.
  await mapLimit([...byBlock.values()], concurrency, async ({ blockNumber, blockHash, items }) => {
    const at = blockHash ? { blockHash } : { blockNumber };
    const views = await protocol.views.read(
      client as unknown as RpcRequester,
      o.deployment,
      items.map((i) => i.account),
      at,
    );
    items.forEach((item, i) => {
      const v = compareAccount(item.figures, views[i]!, protocol.views.refusesStalePrices ?? true);
      if (v.result === "match") {
        report.equal++;
        if (v.unpriced) report.unpriced++;
      } else if (v.result === "mismatch") {
        report.mismatched++;
        report.mismatches.push({ account: item.account, blockNumber: blockNumber.toString(), diffs: v.diffs });
      } else {
        report.errors++;
        report.errorList.push({ account: item.account, blockNumber: blockNumber.toString(), error: v.error });
      }
    });
  });

  const blocks = [...new Set([...byBlock.values()].map((g) => g.blockNumber))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (blocks.length) report.blocks = { from: blocks[0]!.toString(), to: blocks[blocks.length - 1]!.toString(), distinct: blocks.length };
  report.mismatches.sort((a, b) => (a.account < b.account ? -1 : 1));
  return report;
}

/** The aligned summary, then every mismatch with both values, then the errors (at most 20 shown). */
export function formatReport(r: VerifyReport): string {
  const counts: Array<[string, number, string]> = [
    ["accounts listed", r.listed, ""],
    ["checked", r.checked, ""],
    ["equal", r.equal, r.unpriced ? `(${r.unpriced} of them unknown: the pool refused a stale price, as marginwatch said)` : ""],
    ["mismatched", r.mismatched, ""],
    ["errors", r.errors, r.errors ? "(no verdict: the pool's answer could not be read)" : ""],
  ];
  const kw = Math.max("blocks spanned".length, ...counts.map(([k]) => k.length));
  const nw = Math.max(...counts.map(([, n]) => String(n).length));
  const lines = [`marginwatch verify: API ${r.apiUrl}, ${r.protocol} ${r.pool} on ${r.rpcUrl}`];
  for (const [k, n, note] of counts) lines.push(`  ${k.padEnd(kw)}  ${String(n).padStart(nw)}${note ? `  ${note}` : ""}`);
  lines.push(`  ${"blocks spanned".padEnd(kw)}  ${r.blocks ? `${r.blocks.from}–${r.blocks.to} (${r.blocks.distinct} distinct)` : "—"}`);
  lines.push(`  ${r.checked} checked, ${r.equal} equal, ${r.mismatched} mismatched, ${r.errors} errors`);
  if (r.mismatches.length) {
    lines.push("", `mismatches (marginwatch vs ${r.protocol} at the card's block):`);
    for (const m of r.mismatches) {
      lines.push(`  ${m.account} at block ${m.blockNumber}`);
      const fw = Math.max(...m.diffs.map((d) => d.field.length));
      for (const d of m.diffs) lines.push(`    ${d.field.padEnd(fw)}  marginwatch ${d.marginwatch}  pool ${d.pool}`);
    }
  }
  if (r.errorList.length) {
    lines.push("", `errors${r.errorList.length > 20 ? ` (first 20 of ${r.errorList.length})` : ""}:`);
    for (const e of r.errorList.slice(0, 20)) lines.push(`  ${e.account}${e.blockNumber ? ` at block ${e.blockNumber}` : ""}: ${e.error}`);
  }
  return `${lines.join("\n")}\n`;
}

function figuresOf(c: Card): AuditFigures {
  return {
    healthFactor: c.healthFactorWad === null ? null : BigInt(c.healthFactorWad),
    totalCollateralBase: BigInt(c.base.totalCollateralBase),
    totalDebtBase: BigInt(c.base.totalDebtBase),
    status: c.status,
    unknownAssets: (c.unknownAssets ?? []) as Address[],
  };
}

type Api = <T>(path: string) => Promise<T>;

function apiClient(base: string): Api {
  return async <T>(path: string): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(new URL(path, base), { signal: AbortSignal.timeout(20_000) });
    } catch (e) {
      throw new VerifyInputError(
        `cannot reach the marginwatch API at ${base} (${(e as Error).message}); start it with \`marginwatch start\` or pass --api-url`,
      );
    }
    const body = (await res.json().catch(() => null)) as (T & { message?: string }) | null;
    if (res.status === 503 && path.startsWith("/v1/accounts?")) {
      throw new VerifyInputError(`the marginwatch API at ${base} has no data yet: ${body?.message ?? "503"}`);
    }
    if (!res.ok || body === null) throw new Error(`${res.status}: ${body?.message ?? "unreadable answer"}`);
    return body;
  };
}

async function listAccounts(api: Api): Promise<Address[]> {
  const seen = new Set<Address>();
  let cursor: string | null = null;
  for (let pages = 0; pages < 100_000; pages++) {
    let page: ListPage;
    try {
      page = await api<ListPage>(`/v1/accounts?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    } catch (e) {
      if (e instanceof VerifyInputError) throw e;
      throw new VerifyInputError(`listing accounts failed: ${(e as Error).message}`);
    }
    for (const a of page.accounts) seen.add(a.account.toLowerCase() as Address);
    if (!page.nextCursor || page.accounts.length === 0) break;
    cursor = page.nextCursor;
  }
  return [...seen];
}

/** `n` accounts spread evenly over the list (it is ordered by HF: the sample spans the whole range). */
function spread<T>(list: T[], n: number | undefined): T[] {
  if (n === undefined || n >= list.length) return list;
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(list[Math.floor((i * list.length) / n)]!);
  return out;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
