// Assembles the dashboard into one HTML page (its own CSS and JS inlined) and the Content-Security-Policy that allows
// exactly those inline blocks, the chart library this server serves (same origin) and same-origin API calls.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export interface DashboardPage {
  html: string;
  csp: string;
}

const read = (name: string): string => fs.readFileSync(path.join(__dirname, name), "utf8");
const sha256 = (s: string): string => `'sha256-${createHash("sha256").update(s, "utf8").digest("base64")}'`;

export function buildDashboardPage(): DashboardPage {
  const style = read("style.css");
  const script = read("app.js");
  const template = read("index.html");
  // Split/join, not replace(): a "$&" in the script must stay literal.
  const html = template.split("/*STYLE*/").join(style).split("/*SCRIPT*/").join(script);
  const csp = [
    "default-src 'none'",
    `script-src 'self' ${sha256(script)}`,
    `style-src 'self' ${sha256(style)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
  return { html, csp };
}
