// Parsing of user input the JSON schemas cannot fully check: addresses (with EIP-55 checksums), HF bounds as
// decimal strings, assets by symbol or address, paging cursors. Every failure is a 400 with a message that says
// what was expected.
import { getAddress, isAddress } from "viem";
import type { Deployment } from "../../common/deployment";
import type { Address } from "../state/events";
import { BadRequestError, NotFoundError, clip } from "./errors";
import type { DeploymentAsset } from "./context";

const HEX40 = /^0x[0-9a-fA-F]{40}$/;

/** A 20-byte hex address; mixed case must be a valid EIP-55 checksum (a typo guard, as wallets do). */
export function parseAddress(raw: string, what = "address"): Address {
  if (!HEX40.test(raw)) throw new BadRequestError(`${what} must be a 0x-prefixed 20-byte hex address, got "${clip(raw, 60)}"`);
  if (!isAddress(raw, { strict: true })) {
    throw new BadRequestError(`${what} "${raw}" has an invalid EIP-55 checksum (expected ${getAddress(raw)} or all lower case)`);
  }
  return raw.toLowerCase() as Address;
}

const DECIMAL = /^\d{1,30}(\.\d{1,18})?$/;

/** A non-negative decimal string ("1.05") → WAD bigint, exactly (no float on the way). */
export function parseWad(raw: string, what: string): bigint {
  if (!DECIMAL.test(raw)) {
    throw new BadRequestError(`${what} must be a non-negative decimal number with at most 18 decimals, like "1.05"; got "${clip(raw, 60)}"`);
  }
  const [int, frac = ""] = raw.split(".");
  return BigInt(int!) * 10n ** 18n + BigInt(frac.padEnd(18, "0"));
}

/** An asset by symbol (case-insensitive) or address. */
export function findAsset(d: Deployment, raw: string): DeploymentAsset | undefined {
  const low = raw.toLowerCase();
  return d.assets.find((a) => a.symbol.toLowerCase() === low || a.address === low);
}

/** For filters and request bodies: an unknown asset is a bad request. */
export function requireAsset(d: Deployment, raw: string, what = "asset"): DeploymentAsset {
  const a = findAsset(d, raw);
  if (!a)
    throw new BadRequestError(
      `${what} "${clip(raw, 60)}" is not a listed asset; use one of ${d.assets.map((x) => x.symbol).join(", ")} or its address`,
    );
  return a;
}

/** For path parameters: an unknown asset is a missing resource. */
export function assetOr404(d: Deployment, raw: string): DeploymentAsset {
  const a = findAsset(d, raw);
  if (!a) throw new NotFoundError(`no listed asset "${clip(raw, 60)}"; listed: ${d.assets.map((x) => x.symbol).join(", ")}`);
  return a;
}

export interface PageInput {
  limit: number;
  offset?: number;
  cursor?: string;
}

/** `cursor` and `offset` are two ways to page; both at once is ambiguous. */
export function checkPaging(q: PageInput): void {
  if (q.cursor !== undefined && q.offset !== undefined) throw new BadRequestError("use either cursor or offset, not both");
}

/** Opaque cursor ⇄ an (offset) position, for the store-backed lists that page by offset. */
export function encodeOffsetCursor(offset: number): string {
  return Buffer.from(`o:${offset}`).toString("base64url");
}

export function decodeOffsetCursor(cursor: string): number {
  const m = /^o:(\d{1,9})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!m) throw new BadRequestError("cursor is not one this API issued; start again without it");
  return Number(m[1]);
}
