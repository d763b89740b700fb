// The protocol seam holds: outside protocols/ and contracts/, no production file names a protocol's contracts or
// imports a protocol's folder (they reach an adapter through protocols/index.ts and protocols/types.ts only).
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const PRODUCTION = ["cli", "common", "indexer", "keeper", "scripts", "bin"];
const CONTRACT_NAMES = /\b(MarginPool|PriceOracle|marginPool|priceOracle)\b/;
/** `from "…/protocols/<name>…"` or `require("…/protocols/<name>…")`, anything but the registry and the interface */
const PROTOCOL_FOLDER_IMPORT = /(from |require\()"(\.\.\/)+protocols\/(?!index"|types")[^"]+"/;

function files(dir: string): string[] {
  const abs = path.join(ROOT, dir);
  if (!fs.existsSync(abs)) return [];
  return fs.readdirSync(abs, { withFileTypes: true, recursive: true }).flatMap((e) => {
    const p = path.join(e.parentPath, e.name);
    return e.isFile() && /\.(ts|js|html)$/.test(e.name) && !p.includes(`${path.sep}generated${path.sep}`) ? [p] : [];
  });
}

describe("protocol seam", () => {
  it("no production file outside protocols/ and contracts/ names MarginPool / PriceOracle or imports a protocol's folder", () => {
    const offenders: string[] = [];
    for (const f of PRODUCTION.flatMap(files)) {
      const text = fs.readFileSync(f, "utf8");
      text.split("\n").forEach((line, i) => {
        if (CONTRACT_NAMES.test(line) || PROTOCOL_FOLDER_IMPORT.test(line)) offenders.push(`${path.relative(ROOT, f)}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(files("indexer").length, "files scanned").to.be.greaterThan(50);
    expect(offenders, offenders.join("\n")).to.deep.equal([]);
  });
});
