// Reads the CLI's tables back: the box-drawn tables cli-table3 prints, split into cells, with a check that every line
// of a table has its column borders at the same positions (the columns are aligned).
import { expect } from "chai";
import { execFile } from "node:child_process";
import path from "node:path";

const BIN = path.join(__dirname, "..", "..", "bin", "marginwatch.js");

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `marginwatch <args>` as a user would (no terminal: no colour). */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, NO_COLOR: "1", MARGINWATCH_API: "", ...env }, timeout: 90_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export interface ParsedTable {
  header: string[] | null;
  rows: string[][];
  lines: string[];
}

/** Every table of the output, in order, each with the line of text just before it (its title) as the key. */
export function tables(out: string): Map<string, ParsedTable> {
  const lines = out.split("\n");
  const found = new Map<string, ParsedTable>();
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.startsWith("┌")) continue;
    const title = i > 0 && lines[i - 1]!.trim() !== "" ? lines[i - 1]! : `#${found.size}`;
    const block: string[] = [];
    let j = i;
    for (; j < lines.length && !lines[j]!.startsWith("└"); j++) block.push(lines[j]!);
    block.push(lines[j] ?? "");
    const ruled = block.findIndex((l) => l.startsWith("├"));
    const cells = (l: string) =>
      l
        .split("│")
        .slice(1, -1)
        .map((c) => c.trim());
    const data = block.filter((l) => l.startsWith("│"));
    found.set(title, {
      header: ruled > 0 ? cells(block[1]!) : null,
      rows: (ruled > 0 ? block.slice(ruled + 1) : block).filter((l) => l.startsWith("│")).map(cells),
      lines: [block[0]!, ...data, block[block.length - 1]!],
    });
    i = j;
  }
  return found;
}

/** The column borders (│ ┬ ┼ ┴) of every line of a table sit at the same positions, and the lines are equally long. */
export function expectAligned(t: ParsedTable): void {
  const borders = (l: string) => [...l].flatMap((ch, k) => ("│┬┼┴┌┐└┘├┤".includes(ch) ? [k] : []));
  const first = borders(t.lines[0]!);
  for (const l of t.lines) {
    expect([...l].length, l).to.equal([...t.lines[0]!].length);
    expect(borders(l), l).to.deep.equal(first);
  }
}

/** The rows of a header-less two-column table as a record. */
export function fieldsOf(t: ParsedTable): Record<string, string> {
  return Object.fromEntries(t.rows.map((r) => [r[0]!, r[1]!]));
}

/** The row whose first cell is `key`, as a record keyed by the header. */
export function rowOf(t: ParsedTable, key: string): Record<string, string> {
  const row = t.rows.find((r) => r[0] === key);
  expect(row, `row ${key} in ${JSON.stringify(t.rows)}`).to.not.equal(undefined);
  return Object.fromEntries((t.header ?? []).map((h, k) => [h, row![k]!]));
}

export function table(out: string, title: string): ParsedTable {
  const t = [...tables(out).entries()].find(([k]) => k.startsWith(title))?.[1];
  expect(t, `a table titled "${title}" in:\n${out}`).to.not.equal(undefined);
  expectAligned(t!);
  return t!;
}
