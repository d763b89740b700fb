// Aligned tables for the CLI (cli-table3): numbers right-aligned, no colour unless stdout is a terminal.
import Table from "cli-table3";
import Decimal from "decimal.js";

export interface Column {
  header: string;
  /** default left; numbers right */
  align?: "left" | "right";
}

export interface RenderOptions {
  /** ANSI colours (header, HF bands); default: stdout is a terminal and NO_COLOR is unset */
  color?: boolean;
}

export const useColor = (o: RenderOptions = {}): boolean => o.color ?? (Boolean(process.stdout.isTTY) && !process.env.NO_COLOR);

/** A table with a header row. */
export function table(columns: readonly Column[], rows: readonly (readonly string[])[], o: RenderOptions = {}): string {
  const t = new Table({
    head: columns.map((c) => c.header),
    colAligns: columns.map((c) => c.align ?? "left"),
    style: { head: useColor(o) ? ["cyan"] : [], border: [], compact: true },
  });
  for (const r of rows) t.push([...r]);
  return t.toString();
}

/** A two-column table of labelled values. */
export function fields(rows: readonly (readonly [string, string])[], o: RenderOptions = {}): string {
  const t = new Table({ style: { head: [], border: [], compact: true } });
  for (const [k, v] of rows) t.push([useColor(o) ? `\x1b[1m${k}\x1b[22m` : k, v]);
  return t.toString();
}

/** A titled section: a line, then the table. */
export const section = (title: string, body: string): string => `${title}\n${body}`;

/** Shown for a null value. */
export const NONE = "—";
export const orNone = (v: string | number | null | undefined): string => (v === null || v === undefined ? NONE : String(v));

/** "0.4512" (a fraction) → "45.12%" (decimal arithmetic, rounded down as the API rounds) */
export const percent = (fraction: string): string => `${new Decimal(fraction).mul(100).toFixed(2, Decimal.ROUND_DOWN)}%`;

/** "1711111111" (unix seconds) → "2024-03-22 12:38:31Z" */
export function unixTime(seconds: string | null): string {
  if (seconds === null) return NONE;
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19).replace("T", " ")}Z`;
}

/** 0x1234…abcd */
export const short = (hex: string): string => (hex.length > 14 ? `${hex.slice(0, 6)}…${hex.slice(-4)}` : hex);

/** The stamp line every chain-data command prints first. */
export const stampLine = (s: { blockNumber: string; lastUpdated: string }): string => `block ${s.blockNumber} · ${s.lastUpdated}`;
