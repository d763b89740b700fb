// Alerts in the block's own transaction: for every applied step, the policy decides which crossings and oracle
// faults become alerts; the rows join the step's batch (outbox + alert state) and the dispatcher delivers them once
// the batch is committed. The first step after a start reconciles stored alerts with what holds now.
import { MAX_UINT256 } from "../../common/math";
import type { HealthEngine } from "../health";
import type { Crossing } from "../health/types";
import type { StepHook } from "../indexer";
import type { OracleTracker } from "../oracle/tracker";
import type { Address } from "../state/events";
import type { AlertDispatcher } from "./dispatcher";
import type { AlertDecision, AlertPolicy, LevelCrossing } from "./policy";
import type { PositionCard } from "./types";

export interface AlertStepOptions {
  policy: AlertPolicy;
  dispatcher: AlertDispatcher;
  /** the engine (created when the indexer starts) */
  health: () => HealthEngine;
  oracle: OracleTracker;
}

export function alertStepHook(o: AlertStepOptions): StepHook {
  return (step) => {
    const health = o.health();
    const at = step.block.timestamp;
    const card = (account: string): PositionCard | null => {
      const h = health.account(account as Address, at);
      return h
        ? {
            healthFactor: h.display.healthFactor,
            totalCollateralUSD: h.display.totalCollateralUSD,
            totalBorrowsUSD: h.display.totalBorrowsUSD,
            availableBorrowsUSD: h.display.availableBorrowsUSD,
            borrowPowerUsed: h.display.borrowPowerUsed,
          }
        : null;
    };
    const u = step.health;
    const raw: Crossing[] = u
      ? [
          ...u.crossings,
          ...u.liquidatableAdded.map((account) => ({ account, level: "liquidatable", direction: "down" as const, healthFactor: null })),
          ...u.liquidatableRemoved.map((account) => ({ account, level: "liquidatable", direction: "up" as const, healthFactor: null })),
        ]
      : [];
    // The figures the engine did not compute (crossings its bounds proved, set changes), in one exact context;
    // null (a price not fresh) reads as 0, as the card's HF did here before.
    const hfs = health.healthFactors(
      raw.filter((c) => c.healthFactor === null).map((c) => c.account),
      at,
    );
    let next = 0;
    const crossings: LevelCrossing[] = raw.map((c) => (hasHealthFactor(c) ? c : { ...c, healthFactor: hfs[next++] ?? 0n }));
    const input = { blockNumber: step.block.number, nowMs: Date.now(), crossings, oracleAlerts: step.oracleAlerts, card };
    let decision: AlertDecision;
    if (step.first) {
      const liquidatable = new Set<string>(health.liquidatable().map((l) => l.account));
      decision = o.policy.reconcile({
        ...input,
        levelsOf: (a) => health.marginLevels(a as Address),
        liquidatable: (a) => liquidatable.has(a),
        healthFactor: (a) => {
          const h = health.account(a as Address, at);
          return h === undefined ? MAX_UINT256 : h.healthFactor;
        },
        feedStatus: (a) => o.oracle.reading(a as Address)?.status,
        sequencer: o.oracle.sequencerStatus,
      });
    } else decision = o.policy.decide(input);
    const d = decision;
    return {
      batch: { alertOutbox: d.outbox, alertState: d.state },
      afterCommit: () => {
        d.accept();
        o.dispatcher.kick();
      },
    };
  };
}

const hasHealthFactor = (c: Crossing): c is LevelCrossing => c.healthFactor !== null;
