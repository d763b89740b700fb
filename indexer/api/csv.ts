// Minimal RFC 4180 CSV writer (quotes only where needed); exports must open cleanly in a spreadsheet.
export type Cell = string | number | null | undefined;

function cell(v: Cell): string {
  if (v === null || v === undefined) return "";
  const s = String(v);
  // A leading =, +, - or @ would be run as a formula by spreadsheets; labels here never need one, numbers are safe.
  const guarded = typeof v === "string" && /^[=+@]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(guarded) ? `"${guarded.replace(/"/g, '""')}"` : guarded;
}

export function toCsv(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  return `${[header, ...rows].map((r) => r.map(cell).join(",")).join("\r\n")}\r\n`;
}
