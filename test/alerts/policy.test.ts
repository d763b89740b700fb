// The alert policy on its own: duplicates by stored state, cooldown muting with its silent resolve, critical alerts
// never muted, decide() pure until accept(), and reconcile() resolving what recovered while the process was down.
import { expect } from "chai";
import {
  AlertPolicy,
  StaleAlertDecisionError,
  type AlertDecision,
  type DecideInput,
  type LevelCrossing as Crossing,
} from "../../indexer/alerts/policy";
import type { AlertStateRow } from "../../indexer/alerts/types";
import type { OracleAlert } from "../../indexer/oracle/tracker";
import type { Address } from "../../indexer/state/events";

const WAD = 10n ** 18n;
const MAX_UINT256 = (1n << 256n) - 1n;
const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;
const ALICE = "0x00000000000000000000000000000000000000aa" as Address;
const BOB = "0x00000000000000000000000000000000000000bb" as Address;
const CAROL = "0x00000000000000000000000000000000000000cc" as Address;
const DAVE = "0x00000000000000000000000000000000000000dd" as Address;
const ERIN = "0x00000000000000000000000000000000000000ee" as Address;
const FRANK = "0x00000000000000000000000000000000000000ff" as Address;
const WETH = "0x000000000000000000000000000000000000e001" as Address;
const WBTC = "0x000000000000000000000000000000000000e002" as Address;
const FEED = "0x000000000000000000000000000000000000fee1" as Address;
const CARD = {
  healthFactor: "1.15",
  totalCollateralUSD: "1000.00",
  totalBorrowsUSD: "700.00",
  availableBorrowsUSD: "50.00",
  borrowPowerUsed: "93.33%",
};

const down = (account: Address, level: string, hf = (WAD * 115n) / 100n): Crossing => ({ account, level, direction: "down", healthFactor: hf });
const up = (account: Address, level: string, hf = (WAD * 130n) / 100n): Crossing => ({ account, level, direction: "up", healthFactor: hf });

function input(block: bigint, nowMs: number, crossings: Crossing[] = [], oracleAlerts: OracleAlert[] = []): DecideInput {
  return { blockNumber: block, nowMs, crossings, oracleAlerts, card: (a) => (a === ALICE ? CARD : null) };
}

/** Decides and accepts (the commit succeeded); returns "<key-ish> <state>" of each alert raised. */
function step(p: AlertPolicy, i: DecideInput): string[] {
  const d = p.decide(i);
  d.accept();
  return d.outbox.map(
    (a) => `${a.body.kind === "oracle" ? a.body.type : a.body.kind === "margin-call" ? `${a.body.level} ${a.body.state}` : a.body.kind}`,
  );
}

describe("alerts: policy", () => {
  it("raises a margin call with the id, severity, message and body of today's alerts", () => {
    const p = new AlertPolicy([]);
    const d = p.decide(input(100n, T0, [down(ALICE, "warning")]));
    expect(d.outbox).to.deep.equal([
      {
        id: `mc-${ALICE}-warning-triggered-100`,
        severity: "warning",
        blockNumber: "100",
        at: new Date(T0).toISOString(),
        message: `account ${ALICE} HF 1.15 fell below the warning level`,
        body: { kind: "margin-call", account: ALICE, level: "warning", state: "triggered", healthFactor: "1150000000000000000", card: CARD },
      },
    ]);
    expect(d.state).to.deep.equal([{ key: `mc|${ALICE}|warning`, state: "triggered", variant: "", atMs: T0, muted: false }]);

    const liq = p.decide(input(100n, T0, [down(BOB, "liquidatable", WAD / 2n)])).outbox[0]!;
    expect([liq.id, liq.severity, liq.message]).to.deep.equal([
      `mc-${BOB}-liquidatable-triggered-100`,
      "critical",
      `account ${BOB} HF 0.50 fell below the liquidatable level`,
    ]);
  });

  it("oracle alerts: symbol in the message, one fault key per feed whose fault type is the variant, sequencer alerts", () => {
    const p = new AlertPolicy([], { symbolOf: (a) => (a === WETH ? "WETH" : null) });
    const stale: OracleAlert = { type: "heartbeat-missed", asset: WETH, feed: FEED, updatedAt: 1n, heartbeat: 3600n, age: 4000n, blockNumber: 7n };
    const d = p.decide(input(7n, T0, [], [stale, { type: "sequencer-down", blockNumber: 7n }]));
    expect(d.outbox).to.deep.equal([
      {
        id: `oracle-${WETH}-heartbeat-missed-7`,
        severity: "critical",
        blockNumber: "7",
        at: new Date(T0).toISOString(),
        message: "WETH feed missed its heartbeat: no update for 4000s (heartbeat 3600s)",
        body: {
          kind: "oracle",
          type: "heartbeat-missed",
          asset: WETH,
          symbol: "WETH",
          detail: "WETH feed missed its heartbeat: no update for 4000s (heartbeat 3600s)",
        },
      },
      {
        id: "oracle-sequencer-sequencer-down-7",
        severity: "critical",
        blockNumber: "7",
        at: new Date(T0).toISOString(),
        message: "L2 sequencer is down",
        body: { kind: "oracle", type: "sequencer-down", asset: null, symbol: null, detail: "L2 sequencer is down" },
      },
    ]);
    d.accept();
    const invalid: OracleAlert = { type: "feed-invalid", asset: WETH, feed: FEED, reason: "answer 0 ≤ 0", blockNumber: 8n };
    const recovered: OracleAlert = { type: "feed-recovered", asset: WETH, feed: FEED, blockNumber: 9n };
    expect(step(p, input(8n, T0 + 1, [], [stale]))).to.deep.equal([]); // same fault again
    expect(step(p, input(8n, T0 + 2, [], [invalid]))).to.deep.equal(["feed-invalid"]); // another fault of the feed is news
    expect(step(p, input(9n, T0 + 3, [], [recovered, { type: "sequencer-up", blockNumber: 9n }]))).to.deep.equal(["feed-recovered", "sequencer-up"]);
    expect(step(p, input(10n, T0 + 4, [], [recovered]))).to.deep.equal([]);
    // Faults are critical: a feed failing again within the cooldown is sent.
    expect(step(p, input(11n, T0 + 5, [], [{ ...stale, blockNumber: 11n }]))).to.deep.equal(["heartbeat-missed"]);
  });

  it("suppresses a crossing whose state is already stored: a replay, or a new policy loaded from the stored rows", () => {
    const p = new AlertPolicy([]);
    const first = p.decide(input(1n, T0, [down(ALICE, "warning")]));
    first.accept();
    expect(first.outbox).to.have.length(1);
    expect(step(p, input(2n, T0 + 1000, [down(ALICE, "warning")]))).to.deep.equal([]);
    // A restart: the engine re-emits "down" for a level still crossed; the stored row says triggered already.
    const restarted = new AlertPolicy(first.state);
    expect(step(restarted, input(3n, T0 + 2000, [down(ALICE, "warning")]))).to.deep.equal([]);
    // A resolve with nothing ever raised is not news either.
    expect(step(restarted, input(3n, T0 + 2000, [up(BOB, "warning")]))).to.deep.equal([]);
    expect(restarted.get(`mc|${BOB}|warning`)).to.equal(undefined);
  });

  it("mutes a non-critical re-trigger within the cooldown, resolves it silently, and sends again once the cooldown passed", () => {
    const p = new AlertPolicy([], { cooldownMs: 5 * MINUTE });
    const sent: string[] = [];
    sent.push(...step(p, input(1n, T0, [down(ALICE, "warning")])));
    sent.push(...step(p, input(2n, T0 + MINUTE, [up(ALICE, "warning")])));
    sent.push(...step(p, input(3n, T0 + 2 * MINUTE, [down(ALICE, "warning")]))); // 1 min after the resolve: muted
    expect(p.get(`mc|${ALICE}|warning`)).to.deep.equal({
      key: `mc|${ALICE}|warning`,
      state: "triggered",
      variant: "",
      atMs: T0 + 2 * MINUTE,
      muted: true,
    });
    sent.push(...step(p, input(4n, T0 + 3 * MINUTE, [up(ALICE, "warning")]))); // the muted trigger's resolve: silent
    expect(sent).to.deep.equal(["warning triggered", "warning resolved"]);
    expect(p.get(`mc|${ALICE}|warning`)).to.deep.equal({
      key: `mc|${ALICE}|warning`,
      state: "resolved",
      variant: "",
      atMs: T0 + 3 * MINUTE,
      muted: false,
    });

    // The cooldown counts from the last state change (the silent resolve at +3 min).
    expect(step(p, input(5n, T0 + 7 * MINUTE, [down(ALICE, "warning")]))).to.deep.equal([]);
    expect(step(p, input(6n, T0 + 8 * MINUTE, [up(ALICE, "warning")]))).to.deep.equal([]);
    expect(step(p, input(7n, T0 + 14 * MINUTE, [down(ALICE, "warning")]))).to.deep.equal(["warning triggered"]);
  });

  it("never mutes critical and liquidatable triggers", () => {
    const p = new AlertPolicy([], { cooldownMs: 5 * MINUTE });
    const sent: string[] = [];
    for (const [i, [dir, t]] of (
      [
        ["down", 0],
        ["up", 1],
        ["down", 2],
        ["up", 3],
      ] as const
    ).entries()) {
      const cs = ["critical", "liquidatable"].map((level) => (dir === "down" ? down(BOB, level, WAD / 2n) : up(BOB, level)));
      sent.push(...step(p, input(BigInt(i + 1), T0 + t * 1000, cs)));
    }
    expect(sent).to.deep.equal([
      "critical triggered",
      "liquidatable triggered",
      "critical resolved",
      "liquidatable resolved",
      "critical triggered",
      "liquidatable triggered",
      "critical resolved",
      "liquidatable resolved",
    ]);
  });

  it("decide() changes nothing until accept(): a failed commit retried with the same inputs gets the same decision", () => {
    const initial: AlertStateRow[] = [{ key: `mc|${ALICE}|warning`, state: "resolved", variant: "", atMs: T0 - 10 * MINUTE, muted: false }];
    const p = new AlertPolicy(initial);
    const i = input(50n, T0, [down(ALICE, "warning"), up(ALICE, "warning"), down(BOB, "critical", WAD)]);
    const a = p.decide(i);
    expect(p.snapshot()).to.deep.equal(initial);
    const b = p.decide(i); // the commit of `a` failed: the indexer retries the block
    expect(b.outbox).to.deep.equal(a.outbox);
    expect(b.state).to.deep.equal(a.state);
    // Within one decision each crossing sees the ones before it: ALICE triggered then resolved, both sent.
    expect(a.outbox.map((x) => x.id)).to.deep.equal([
      `mc-${ALICE}-warning-triggered-50`,
      `mc-${ALICE}-warning-resolved-50`,
      `mc-${BOB}-critical-triggered-50`,
    ]);
    expect(a.state.map((r) => [r.key, r.state])).to.deep.equal([
      [`mc|${ALICE}|warning`, "resolved"],
      [`mc|${BOB}|critical`, "triggered"],
    ]);

    b.accept();
    expect(p.get(`mc|${BOB}|critical`)?.state).to.equal("triggered");
    b.accept(); // idempotent
    // `a` was judged against the state before `b`: accepting it too would apply outdated decisions.
    expect(() => a.accept()).to.throw(StaleAlertDecisionError);
    expect(p.decide(i).outbox).to.deep.equal([]);
  });

  it("reconcile() after a restart resolves the keys that recovered while down and nothing that still holds", () => {
    const row = (key: string, over: Partial<AlertStateRow> = {}): AlertStateRow => ({
      key,
      state: "triggered",
      variant: "",
      atMs: T0 - 60 * MINUTE,
      muted: false,
      ...over,
    });
    const stored: AlertStateRow[] = [
      row(`mc|${ALICE}|warning`), // recovered
      row(`mc|${BOB}|warning`), // still below
      row(`mc|${CAROL}|liquidatable`), // no longer liquidatable
      row(`mc|${DAVE}|liquidatable`), // still liquidatable
      row(`mc|${ERIN}|warning`), // HF unknown now (stale price): frozen, kept
      row(`mc|${FRANK}|warning`, { muted: true }), // recovered, but its trigger was muted: resolve silently
      row(`mc|${FRANK}|critical`, { state: "resolved" }), // resolved already: nothing
      row(`oracle|${WETH}|fault`, { variant: "heartbeat-missed" }), // fresh again
      row(`oracle|${WBTC}|fault`, { variant: "feed-invalid" }), // still invalid
      row("oracle|sequencer|sequencer"), // up again
    ];
    const p = new AlertPolicy(stored);
    const hf: Record<string, bigint | null> = {
      [ALICE]: 2n * WAD,
      [BOB]: (WAD * 11n) / 10n,
      [CAROL]: (WAD * 11n) / 10n,
      [DAVE]: WAD / 2n,
      [ERIN]: null,
      [FRANK]: MAX_UINT256,
    };
    const levels: Record<string, string[]> = { [BOB]: ["warning"], [CAROL]: ["warning"], [DAVE]: ["warning", "critical"] };
    const d = p.reconcile({
      blockNumber: 200n,
      nowMs: T0,
      card: () => null,
      // The fresh engine re-emits "down" for what still holds; the fresh tracker re-announces the invalid feed.
      crossings: [down(BOB, "warning"), down(CAROL, "warning"), down(DAVE, "warning"), down(DAVE, "critical"), down(DAVE, "liquidatable", WAD / 2n)],
      oracleAlerts: [{ type: "feed-invalid", asset: WBTC, feed: FEED, reason: "answer 0 ≤ 0", blockNumber: 200n }],
      levelsOf: (a) => levels[a] ?? [],
      liquidatable: (a) => a === DAVE,
      healthFactor: (a) => (a in hf ? (hf[a] ?? null) : MAX_UINT256),
      feedStatus: (a) => (a === WETH ? "fresh" : a === WBTC ? "invalid" : undefined),
      sequencer: "up",
    });
    expect(d.outbox.map((a) => a.id)).to.deep.equal([
      // The block's own crossings first: levels never stored as triggered are news.
      `mc-${CAROL}-warning-triggered-200`,
      `mc-${DAVE}-warning-triggered-200`,
      `mc-${DAVE}-critical-triggered-200`,
      // Then the stored triggers that no longer hold.
      `mc-${ALICE}-warning-resolved-200`,
      `mc-${CAROL}-liquidatable-resolved-200`,
      `oracle-${WETH}-feed-recovered-200`,
      "oracle-sequencer-sequencer-up-200",
    ]);
    expect(d.outbox[3]!.message).to.equal(`account ${ALICE} HF 2.00 is back above the warning level`);
    expect(d.outbox.every((a) => a.at === new Date(T0).toISOString())).to.equal(true);
    const byKey = new Map(d.state.map((r) => [r.key, r]));
    expect(byKey.get(`mc|${FRANK}|warning`)).to.deep.equal({ key: `mc|${FRANK}|warning`, state: "resolved", variant: "", atMs: T0, muted: false });
    for (const k of [`mc|${BOB}|warning`, `mc|${DAVE}|liquidatable`, `mc|${ERIN}|warning`, `oracle|${WBTC}|fault`, `mc|${FRANK}|critical`])
      expect(byKey.has(k), k).to.equal(false);
    expect(p.snapshot()).to.deep.equal([...stored].sort((a, b) => (a.key < b.key ? -1 : 1))); // pure until accept()

    d.accept();
    // The next block: everything above is settled; re-running reconcile finds nothing more to say.
    const again: AlertDecision = p.reconcile({
      blockNumber: 201n,
      nowMs: T0 + 1,
      card: () => null,
      levelsOf: (a) => levels[a] ?? [],
      liquidatable: (a) => a === DAVE,
      healthFactor: (a) => (a in hf ? (hf[a] ?? null) : MAX_UINT256),
      feedStatus: (a) => (a === WETH ? "fresh" : a === WBTC ? "invalid" : undefined),
      sequencer: "up",
    });
    expect(again.outbox).to.deep.equal([]);
    expect(again.state).to.deep.equal([]);
  });
});
