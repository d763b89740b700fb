// Loads and validates the keeper's signing key from KEEPER_PRIVATE_KEY or KEEPER_PRIVATE_KEY_FILE, keeping it unprintable.
import fs from "node:fs";
import { inspect } from "node:util";
import type { Hex } from "viem";
import { PrivateKeyError } from "./errors";

const REDACTED = "[redacted]";

/**
 * A private key that cannot leak by accident: String(), JSON.stringify, util.inspect and template literals all
 * print "[redacted]". Only `reveal()` returns the key, and only the account factory in main.ts calls it.
 */
export class SecretKey {
  readonly #value: Hex;
  constructor(value: Hex) {
    this.#value = value;
  }
  reveal(): Hex {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return REDACTED;
  }
}

/** Accepts 64 hex digits with or without 0x; rejects zero and values ≥ the secp256k1 order. */
export function parsePrivateKey(raw: string, source: string): SecretKey {
  const trimmed = raw.trim();
  const hex = trimmed.startsWith("0x") || trimmed.startsWith("0X") ? trimmed.slice(2) : trimmed;
  // The message names the source and the rule, never the value.
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new PrivateKeyError(`${source}: expected 32 bytes of hex (64 hex digits, optional 0x)`);
  const n = BigInt(`0x${hex}`);
  const SECP256K1_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  if (n === 0n || n >= SECP256K1_ORDER) throw new PrivateKeyError(`${source}: not a valid secp256k1 private key`);
  return new SecretKey(`0x${hex.toLowerCase()}`);
}

/** KEEPER_PRIVATE_KEY wins; otherwise KEEPER_PRIVATE_KEY_FILE names a file holding the key (first line). */
export function loadPrivateKey(env: NodeJS.ProcessEnv): SecretKey {
  const inline = env.KEEPER_PRIVATE_KEY;
  if (inline !== undefined && inline !== "") return parsePrivateKey(inline, "KEEPER_PRIVATE_KEY");
  const file = env.KEEPER_PRIVATE_KEY_FILE;
  if (file === undefined || file === "") throw new PrivateKeyError("set KEEPER_PRIVATE_KEY or KEEPER_PRIVATE_KEY_FILE");
  let content: string;
  try {
    content = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new PrivateKeyError(`KEEPER_PRIVATE_KEY_FILE ${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
  return parsePrivateKey(content.split(/\r?\n/)[0] ?? "", `KEEPER_PRIVATE_KEY_FILE ${file}`);
}
