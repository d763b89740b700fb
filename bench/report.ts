// Figures: one JSON line per figure on stdout ({"name","value","unit","params"}), progress notes and the closing
// summary table on stderr, so `npm run bench > figures.jsonl` keeps only the figures.
export interface Figure {
  name: string;
  value: number;
  unit: string;
  params: Record<string, string | number | boolean>;
}

const figures: Figure[] = [];

/** Rounds to 3 significant decimals for readability; integers stay integers. */
export function round(v: number): number {
  if (!Number.isFinite(v) || Number.isInteger(v)) return v;
  const abs = Math.abs(v);
  const digits = abs >= 100 ? 1 : abs >= 1 ? 2 : 4;
  return Number(v.toFixed(digits));
}

export function emit(name: string, value: number, unit: string, params: Figure["params"] = {}): Figure {
  const f: Figure = { name, value: round(value), unit, params };
  figures.push(f);
  process.stdout.write(`${JSON.stringify(f)}\n`);
  return f;
}

/** A figure produced by a child process (already a JSON line): recorded and passed through unchanged. */
export function relay(line: string): boolean {
  try {
    const f = JSON.parse(line) as Figure;
    if (typeof f.name !== "string" || typeof f.value !== "number") return false;
    figures.push(f);
    process.stdout.write(`${JSON.stringify(f)}\n`);
    return true;
  } catch {
    return false;
  }
}

export function note(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export function allFigures(): readonly Figure[] {
  return figures;
}

/** Params shown in the table: the descriptive `what` stays in the JSON line only. */
const shownParams = (p: Figure["params"]): string =>
  Object.entries(p)
    .filter(([k]) => k !== "what")
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");

/** The summary table: name, value, unit, params; Markdown-compatible so BENCHMARKS.md can quote it verbatim. */
export function summaryTable(list: readonly Figure[] = figures): string {
  const rows = list.map((f) => [f.name, String(f.value), f.unit, shownParams(f.params)]);
  const head = ["figure", "value", "unit", "params"];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 1 ? c.padStart(width[i]!) : c.padEnd(width[i]!))).join(" | ")} |`;
  return [line(head), `|${width.map((w, i) => (i === 1 ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`, ...rows.map(line)].join("\n");
}

/** p-th percentile (nearest rank) of a sample. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const median = (xs: readonly number[]): number => percentile(xs, 50);
