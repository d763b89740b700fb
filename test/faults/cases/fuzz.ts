// API fuzzing over raw HTTP (no URL normalisation): every route of the running process's OpenAPI document with
// hostile path parameters, query strings, bodies, content types, methods and sizes, plus crafted cases.
import http from "node:http";
import { seededRandom } from "../../../common/random";
import { captured } from "../harness";

export interface FuzzResult {
  requests: number;
  ok: number;
  clientErrors: number;
  /** "METHOD path → status" of every 5xx or dropped connection */
  serverErrors: string[];
  serverErrorSamples: Array<{ req: string; status: number; body: string }>;
  byStatus: Record<number, number>;
}

interface RawReq {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

function raw(base: URL, r: RawReq): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    let req: http.ClientRequest;
    try {
      req = http.request(
        // agent: false — a pooled socket the server just closed (after a 431) would fail the next request client-side.
        {
          host: base.hostname,
          port: base.port,
          method: r.method,
          path: r.path,
          headers: { connection: "close", ...r.headers },
          timeout: 15_000,
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (d: Buffer) => chunks.push(d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", (e) => resolve({ status: 0, text: String(e) }));
        },
      );
    } catch (e) {
      // the client refuses to send it (e.g. a control character in the path): not a server error
      resolve({ status: -1, text: String(e) });
      return;
    }
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => resolve({ status: 0, text: String(e) }));
    if (r.body !== undefined) req.write(r.body);
    req.end();
  });
}

const enc = encodeURIComponent;

/** Values no endpoint should choke on. */
const HOSTILE: string[] = [
  "",
  " ",
  "0",
  "-1",
  "1.5",
  "1e309",
  "-0",
  "NaN",
  "Infinity",
  "null",
  "true",
  "[]",
  "{}",
  "0x",
  `0X${"a".repeat(40)}`,
  `0x${"g".repeat(40)}`,
  `0x${"a".repeat(39)}`,
  `0x${"a".repeat(41)}`,
  `0x${"AbCdEf0123".repeat(4)}`,
  `0x${"0".repeat(40)}`,
  "99999999999999999999999999999999999999",
  "0.0000000000000000001",
  "1.",
  ".5",
  "1,5",
  "1_000",
  "../../etc/passwd",
  "..%2f..%2fetc%2fpasswd",
  "<script>alert(1)</script>",
  "' OR 1=1 --",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4shell-style payload, a plain string on purpose
  "${jndi:ldap://x}",
  "__proto__",
  "constructor",
  "prototype",
  "ñ",
  "😀",
  "\u202e",
  "%",
  "%%",
  "%zz",
  "\\",
  "|",
  "a".repeat(201),
  "b".repeat(5000),
  "WETH",
  "weth",
  "USDC",
  "o:5",
  "bzo1",
  "bzo5OTk5OTk5OTk5",
  "bzotMQ",
  "liquidatable",
  "unknown",
  "csv",
  "json",
  "xml",
];

interface Route {
  method: string;
  template: string;
  params: string[];
  query: string[];
}

/** The routes of the OpenAPI document (path params and query parameter names). */
async function routesOf(base: URL): Promise<Route[]> {
  const r = await raw(base, { method: "GET", path: "/openapi.json" });
  const doc = JSON.parse(r.text) as { paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string }> }>> };
  const out: Route[] = [];
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const params = (op.parameters ?? []).filter((x) => x.in === "path").map((x) => x.name);
      const query = (op.parameters ?? []).filter((x) => x.in === "query").map((x) => x.name);
      out.push({ method: method.toUpperCase(), template: p, params, query });
    }
  }
  return out;
}

export function crafted(): RawReq[] {
  const json = { "content-type": "application/json" };
  const stress = (body: string | Buffer, headers: Record<string, string> = json): RawReq => ({ method: "POST", path: "/v1/stress", headers, body });
  let deep = "1";
  for (let i = 0; i < 5_000; i++) deep = `{"a":${deep}}`;
  const many: Record<string, number> = {};
  for (let i = 0; i < 70; i++) many[`A${i}`] = 0.1;
  return [
    // paging and filters
    ...[
      "limit=0",
      "limit=501",
      "limit=-1",
      "limit=1.5",
      "limit=abc",
      "limit=1e3",
      "limit=1&limit=2",
      "offset=-1",
      "offset=1000001",
      "offset=1e21",
      "cursor=!!!",
      `cursor=${"A".repeat(201)}`,
      "cursor=bzo5OTk5OTk5OTk5",
      "cursor=eA",
      "cursor=bzo1&offset=5",
      "maxHealthFactor=1.5&minHealthFactor=2",
      "maxHealthFactor=-1",
      "maxHealthFactor=1e400",
      "minHealthFactor=1.0000000000000000000001",
      "status=evil",
      "asset=NOPE",
      `asset=${"x".repeat(43)}`,
      "asset=0x0000000000000000000000000000000000000000",
      "unknown=1",
      "status[]=healthy",
      "limit[]=5",
      "__proto__[x]=1",
      "constructor[prototype][x]=1",
    ].map((q) => ({ method: "GET", path: `/v1/accounts?${q}` })),
    ...["cursor=bzo5OTk5OTk5OTk5", "cursor=bzotMQ", "offset=999999", "account=0xZZ", "outcome=evil", "outcome=liquidated&limit=500"].flatMap((q) => [
      { method: "GET", path: `/v1/liquidations?${q}` },
      { method: "GET", path: `/v1/keeper/outcomes?${q}` },
    ]),
    { method: "GET", path: "/v1/risk?format=xml" },
    { method: "GET", path: "/v1/risk?format=csv" },
    { method: "GET", path: "/metrics?x=1" },
    { method: "GET", path: "/v1/oracles/%00/rounds" },
    { method: "GET", path: `/v1/oracles/${"W".repeat(43)}/rounds` },
    { method: "GET", path: "/v1/oracles/NOPE/rounds?limit=0" },
    { method: "GET", path: "/v1/oracles/WETH/rounds?cursor=bzo5OTk5OTk5OTk5" },
    // paths
    { method: "GET", path: "/v1/accounts/%E0%A4%A" },
    { method: "GET", path: "/v1/accounts/%00" },
    { method: "GET", path: "/v1/accounts/%" },
    { method: "GET", path: `/v1/accounts/0x${"a".repeat(10_000)}` },
    { method: "GET", path: `/v1/accounts/0x${"1".repeat(40)}` },
    { method: "GET", path: "/v1/accounts/0xAbCdEf0123AbCdEf0123AbCdEf0123AbCdEf0123" },
    { method: "GET", path: "//v1//accounts" },
    { method: "GET", path: "/v1/accounts/..%2f..%2f..%2fetc%2fpasswd" },
    { method: "GET", path: "/%2e%2e/%2e%2e/etc/passwd" },
    { method: "GET", path: `/v1/${"x/".repeat(3_000)}` },
    // methods
    ...["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"].flatMap((m) => [
      { method: m, path: "/v1/accounts" },
      { method: m, path: "/v1/stress" },
    ]),
    { method: "HEAD", path: "/v1/risk" },
    { method: "GET", path: "/v1/stress" },
    // headers
    { method: "GET", path: "/v1/accounts", headers: { "x-big": "x".repeat(20_000) } },
    { method: "GET", path: "/v1/risk", headers: { accept: "application/xml" } },
    // POST /v1/stress bodies and content types
    stress(JSON.stringify({ shocks: { WETH: -0.3 } })),
    stress("{}"),
    stress("[]"),
    stress("null"),
    stress("123"),
    stress('"str"'),
    stress("{"),
    stress('{"shocks":'),
    stress(""),
    stress(JSON.stringify({ shocks: {} })),
    stress(JSON.stringify({ shocks: { WETH: "x" } })),
    stress(JSON.stringify({ shocks: { WETH: -1 } })),
    stress('{"shocks":{"WETH":1e308}}'),
    stress('{"shocks":{"WETH":1e400}}'),
    stress(JSON.stringify({ shocks: { NOPE: 0.1 } })),
    stress('{"shocks":{"__proto__":0.1}}'),
    stress('{"__proto__":{"polluted":1},"shocks":{"WETH":0.1}}'),
    stress('{"constructor":{"prototype":{"polluted":1}},"shocks":{"WETH":0.1}}'),
    stress(JSON.stringify({ shocks: { constructor: 0.1 } })),
    stress(JSON.stringify({ shocks: { WETH: -0.3 }, extra: 1 })),
    stress(JSON.stringify({ shocks: many })),
    stress(JSON.stringify({ shocks: { ["x".repeat(43)]: 0.1 } })),
    stress(JSON.stringify({ shocks: { WETH: null } })),
    stress(JSON.stringify({ shocks: [0.1] })),
    stress(deep),
    stress(Buffer.alloc(1_000_000, "a")),
    stress(JSON.stringify({ shocks: { WETH: -0.3 }, pad: "x".repeat(70_000) })),
    stress(Buffer.from([0xff, 0xfe, 0x00, 0x7b])),
    stress(JSON.stringify({ shocks: { WETH: -0.3 } }), { "content-type": "text/plain" }),
    stress("<shocks/>", { "content-type": "application/xml" }),
    stress("a=1", { "content-type": "application/x-www-form-urlencoded" }),
    stress("--b\r\n\r\n--b--", { "content-type": "multipart/form-data; boundary=b" }),
    stress("{}", {}),
    stress(JSON.stringify({ shocks: { WETH: -0.3 } }), { "content-type": "application/json; charset=utf-16" }),
    stress(JSON.stringify({ shocks: { WETH: -0.3 } }), { "content-type": "application/json", "content-length": "5" }),
    stress(JSON.stringify({ shocks: { WETH: -0.3 } }), { "content-type": "application/json", "content-encoding": "gzip" }),
    stress(JSON.stringify({ shocks: { WETH: -0.3 } }), { "content-type": "application/json", "transfer-encoding": "chunked" }),
    stress(JSON.stringify({ shocks: { WETH: -0.3 } }), { "content-type": "application/jsonx" }),
  ];
}

function randomRequests(routes: Route[], n: number, seed: number): RawReq[] {
  const rand = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const out: RawReq[] = [];
  for (let i = 0; i < n; i++) {
    const route = pick(routes);
    let p = route.template;
    for (const name of route.params) {
      const v = pick(HOSTILE);
      p = p.replace(`{${name}}`, rand() < 0.8 ? enc(v) : v.replace(/[^\x21-\x7e]/g, "") || "x");
    }
    const names = [...route.query, "junk", "__proto__", "limit", "offset", "cursor"];
    const q: string[] = [];
    const k = Math.floor(rand() * 4);
    for (let j = 0; j < k; j++) q.push(`${enc(pick(names))}=${enc(pick(HOSTILE))}`);
    const path = q.length ? `${p}?${q.join("&")}` : p;
    if (route.method === "POST") {
      const shocks: Record<string, unknown> = {};
      for (let j = 0; j < 1 + Math.floor(rand() * 3); j++) shocks[pick(HOSTILE)] = pick([rand() - 0.5, pick(HOSTILE), -2, 11, null, 1e308]);
      const body = rand() < 0.5 ? JSON.stringify({ shocks }) : pick(HOSTILE);
      out.push({
        method: "POST",
        path,
        headers: { "content-type": pick(["application/json", "application/json", "text/plain", "application/octet-stream"]) },
        body,
      });
    } else {
      out.push({ method: rand() < 0.9 ? route.method : pick(["POST", "PUT", "DELETE"]), path });
    }
  }
  return out;
}

export async function fuzzApi(api: string, seed: number, randomCount: number): Promise<FuzzResult> {
  const base = new URL(api);
  const routes = await routesOf(base);
  const all = [...crafted(), ...randomRequests(routes, randomCount, seed)];
  const res: FuzzResult = { requests: 0, ok: 0, clientErrors: 0, serverErrors: [], serverErrorSamples: [], byStatus: {} };
  const parallel = 8;
  for (let i = 0; i < all.length; i += parallel) {
    await Promise.all(
      all.slice(i, i + parallel).map(async (r, j) => {
        const out = await raw(base, r);
        if (out.status === -1) return; // never sent
        res.requests++;
        res.byStatus[out.status] = (res.byStatus[out.status] ?? 0) + 1;
        captured.push({ source: `fuzz ${r.method} ${r.path.slice(0, 80)}`, text: () => out.text });
        if (out.status >= 200 && out.status < 400) res.ok++;
        else if (out.status >= 400 && out.status < 500) res.clientErrors++;
        else {
          const what = `#${i + j} ${r.method} ${r.path.slice(0, 100)}${r.headers?.["content-type"] ? ` [${r.headers["content-type"]}]` : ""} → ${out.status}`;
          res.serverErrors.push(what);
          if (res.serverErrorSamples.length < 10) res.serverErrorSamples.push({ req: what, status: out.status, body: out.text.slice(0, 300) });
        }
      }),
    );
  }
  return res;
}
