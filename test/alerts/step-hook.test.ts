// The alert step hook turns a block's health update into margin-call alerts. Crossings the engine's bounds proved
// carry no HF (null), and liquidatable set changes none at all: the hook fills each figure with the account's exact
// HF at the block, in one context, so every alert shows the number the pool would return there.
import { expect } from "chai";
import { RAY } from "../../common/math";
import { AlertPolicy } from "../../indexer/alerts/policy";
import { alertStepHook } from "../../indexer/alerts/step-hook";
import type { AlertDispatcher } from "../../indexer/alerts/dispatcher";
import type { Alert } from "../../indexer/alerts/types";
import { formatHealthFactor } from "../../indexer/health/account-view";
import { HealthEngine } from "../../indexer/health/engine";
import { buildSyntheticPopulation, feedPrices } from "../../indexer/health/synthetic";
import type { Address, HealthUpdate } from "../../indexer/health/types";
import type { OracleTracker } from "../../indexer/oracle/tracker";
import { marginpool } from "../../protocols/marginpool";

const ACCOUNT = "0x00000000000000000000000000000000000000b2" as Address;
const HASH = `0x${"ab".repeat(32)}` as const;

describe("alerts: step hook", () => {
  it("fills the HF of crossings proven by the bounds and of set changes with the exact HF at the block", () => {
    const pop = buildSyntheticPopulation({ accounts: 0, assets: 4, seed: 3 });
    const [weth, , usdc] = pop.assets as [Address, Address, Address];
    const w = pop.state.assets.get(weth)!;
    const u = pop.state.assets.get(usdc)!;
    pop.state.accounts.set(
      ACCOUNT,
      new Map([
        [weth, { scaledCollateral: (10n ** 18n * RAY) / w.liquidityIndex, scaledDebt: 0n }],
        [usdc, { scaledCollateral: 0n, scaledDebt: (2000n * 10n ** 6n * RAY) / u.borrowIndex }],
      ]),
    );
    const engine = new HealthEngine(pop.state, marginpool.math);
    feedPrices(pop, engine);
    const now = pop.now;
    let block = 0n;
    const hf = () => engine.account(ACCOUNT, now)!.healthFactor!;
    const moveTo = (target: number): HealthUpdate => {
      const p = engine.price(weth)!.price;
      engine.setPrice(weth, { price: BigInt(Math.round((Number(p) * target) / (Number(hf()) / 1e18))), status: "fresh" });
      return engine.evaluate(now, ++block);
    };
    moveTo(1.25);
    engine.evaluate(now, ++block);

    const policy = new AlertPolicy([]);
    const hook = alertStepHook({
      policy,
      // Neither is reached here: the dispatcher only after a commit, the oracle tracker only on a first step.
      dispatcher: { kick: () => {} } as unknown as AlertDispatcher,
      oracle: {} as unknown as OracleTracker,
      health: () => engine,
    });
    const alertsOf = (update: HealthUpdate): Alert[] => {
      const c = hook({
        block: { number: update.blockNumber, hash: HASH, parentHash: HASH, timestamp: now },
        kind: "block",
        first: false,
        health: update,
        oracleAlerts: [],
      });
      const out = c ? (c.batch?.alertOutbox ?? []) : [];
      c?.afterCommit?.();
      return out;
    };

    const warning = moveTo(1.15);
    expect(warning.crossings.map((c) => [c.level, c.direction, c.healthFactor])).to.deep.equal([["warning", "down", null]]);
    const [alert] = alertsOf(warning);
    expect(alert!.body).to.include({ kind: "margin-call", level: "warning", state: "triggered", healthFactor: hf().toString() });
    expect(alert!.message).to.contain(`HF ${formatHealthFactor(hf())} fell below`);

    // Under 1: the set change is an alert of level "liquidatable", with the exact HF too.
    const under = moveTo(0.9);
    expect(under.liquidatableAdded).to.deep.equal([ACCOUNT]);
    const liq = alertsOf(under).find((a) => a.body.kind === "margin-call" && a.body.level === "liquidatable");
    expect(liq!.body).to.include({ state: "triggered", healthFactor: hf().toString() });
  });
});
