// Reading the operator files for test/ops/promtool.test.ts: the PromQL expressions of the alerting rules and the
// Grafana dashboard, the metric names an expression uses, and the series names of a /metrics scrape.

export interface GrafanaTarget {
  expr: string;
  datasource?: unknown;
}

export interface GrafanaPanel {
  id: number;
  type: string;
  title: string;
  datasource?: unknown;
  targets?: GrafanaTarget[];
}

export interface GrafanaDashboard {
  __inputs: unknown[];
  schemaVersion: number;
  panels: GrafanaPanel[];
  templating: { list: Array<{ name: string; definition?: string }> };
}

/** Every panel query (rows have none). */
export function panelQueries(d: GrafanaDashboard): Array<{ panel: string; expr: string }> {
  return d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
}

/**
 * The `expr:` of every rule in a rules file: a one-line value (plain or double-quoted) or a `|` block (the lines
 * indented deeper than `expr:`). Enough YAML for the rules file, without a YAML dependency.
 */
export function ruleExpressions(yaml: string): string[] {
  const lines = yaml.split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)expr:\s*(.*)$/.exec(lines[i]!);
    if (!m) continue;
    const indent = m[1]!.length;
    const value = m[2]!.trim();
    if (value === "|" || value === "|-" || value === ">") {
      const block: string[] = [];
      while (i + 1 < lines.length && (lines[i + 1]!.trim() === "" || lines[i + 1]!.search(/\S/) > indent)) block.push(lines[++i]!.trim());
      out.push(block.join(" ").trim());
    } else out.push(value.startsWith('"') ? (JSON.parse(value) as string) : value);
  }
  return out;
}

const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool", "inf", "nan"]);

/**
 * The metric names a PromQL expression selects, in order of first use: identifiers outside strings, label
 * matchers `{…}`, ranges `[…]` and grouping clauses `by (…)`, that are neither functions nor keywords.
 */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, " ")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names: string[] = [];
  for (const m of bare.matchAll(/(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(\s*\()?/g)) {
    const name = m[1]!;
    if (m[2] || KEYWORDS.has(name.toLowerCase()) || /^\d/.test(name)) continue;
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/** The series names of a Prometheus text exposition (histogram `_bucket`/`_sum`/`_count` included). */
export function scrapedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )/.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}
