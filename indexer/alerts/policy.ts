// Alert policy: the pure decision of which health crossings and oracle faults become alerts (de-duplication by
// stored state, cooldown muting, restart reconciliation). No I/O: the indexer writes the decision into the block's
// own store transaction (the outbox) and the dispatcher delivers it from there.
import { MarginwatchError } from "../../common/errors";
import type { Crossing } from "../health/types";
import { formatHealthFactor } from "../health/account-view";
import type { OracleAlert } from "../oracle/tracker";
import type { Address } from "../state/events";
import type { Alert, AlertBody, AlertSeverity, AlertStateRow, PositionCard } from "./types";

/** A crossing with its exact HF filled in (the engine leaves it null when its bounds proved the crossing). */
export interface LevelCrossing extends Crossing {
  healthFactor: bigint;
}

/** Default cooldown: a non-critical level triggered again this soon after it resolved is not re-sent. */
export const DEFAULT_COOLDOWN_MS = 5 * 60_000;

export interface AlertPolicyOptions {
  /** a non-critical level triggered again within this long after its last state change is muted; default 5 minutes */
  cooldownMs?: number;
  /** resolves an asset address to its symbol for messages */
  symbolOf?: (asset: string) => string | null;
}

export interface DecideInput {
  /** the block the batch commits: part of every alert id */
  blockNumber: bigint;
  /** wall-clock ms of the decision (alert `at`, cooldown); pass the same value when retrying a failed commit */
  nowMs: number;
  /** HealthEngine crossings plus the liquidatable set changes as crossings of level "liquidatable" */
  crossings: readonly LevelCrossing[];
  oracleAlerts: readonly OracleAlert[];
  /** position card of an account at the block, for margin-call bodies */
  card(account: string): PositionCard | null;
}

/** What holds now, after the first evaluate and poll since start: the engine and tracker begin without history. */
export interface CurrentState {
  /** margin levels (not "liquidatable") currently held by the account: HealthEngine.marginLevels */
  levelsOf(account: string): readonly string[];
  liquidatable(account: string): boolean;
  /**
   * exact HF (WAD) for resolve messages; MAX_UINT256 without debt; null when unknown (a stale or invalid price):
   * the margin levels of an unknown account are kept as stored, as the engine freezes them
   */
  healthFactor(account: string): bigint | null;
  feedStatus(asset: string): "fresh" | "stale" | "invalid" | undefined;
  sequencer: "none" | "up" | "down" | "grace";
}

/** The block's crossings and oracle alerts are optional: reconcile decides them first, exactly as decide() does. */
export interface ReconcileInput extends CurrentState, Omit<DecideInput, "crossings" | "oracleAlerts"> {
  crossings?: readonly LevelCrossing[];
  oracleAlerts?: readonly OracleAlert[];
}

export interface AlertDecision {
  /** alerts to insert into the outbox in the block's transaction, in the order raised */
  readonly outbox: Alert[];
  /** state rows to upsert in the same transaction (one per key changed) */
  readonly state: AlertStateRow[];
  /** makes the decision the policy's state; call only once the batch holding it is committed */
  accept(): void;
}

/** accept() of a decision made before another decision was accepted: it was judged against outdated state. */
export class StaleAlertDecisionError extends MarginwatchError {
  constructor() {
    super("alert decision is stale: another decision was accepted after it was made; decide again");
  }
}

type State = AlertStateRow["state"];
/** An oracle alert as the policy reads it: the aggregator address is not part of any message or body. */
type OracleEvent = OracleAlert extends infer T ? (T extends unknown ? Omit<T, "feed"> : never) : never;

/**
 * Holds the committed state of every alert key. decide() and reconcile() never change it: they work on an overlay
 * that accept() applies, so a failed commit retried with the same inputs gets the same decision.
 */
export class AlertPolicy {
  private readonly rows = new Map<string, AlertStateRow>();
  private readonly cooldownMs: number;
  private generation = 0;

  constructor(
    initial: readonly AlertStateRow[],
    private readonly opts: AlertPolicyOptions = {},
  ) {
    for (const r of initial) this.rows.set(r.key, { ...r });
    this.cooldownMs = opts.cooldownMs ?? DEFAULT_COOLDOWN_MS;
  }

  /** The committed state of one key (tests, diagnostics). */
  get(key: string): AlertStateRow | undefined {
    const r = this.rows.get(key);
    return r && { ...r };
  }

  /** Every committed state row, by key. */
  snapshot(): AlertStateRow[] {
    return [...this.rows.values()].map((r) => ({ ...r })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  decide(input: DecideInput): AlertDecision {
    const run = new Run(this.rows, this.cooldownMs, input.nowMs);
    this.crossings(run, input.crossings, input.blockNumber, input.card);
    this.oracle(run, input.oracleAlerts);
    return this.decision(run);
  }

  /**
   * For the first block after a start: decides the block's own crossings and oracle alerts, then resolves every
   * stored "triggered" key whose condition no longer holds (recovered while the process was down, so no "up"
   * crossing or "feed-recovered" will ever come). Keys that still hold produce nothing.
   */
  reconcile(input: ReconcileInput): AlertDecision {
    const run = new Run(this.rows, this.cooldownMs, input.nowMs);
    this.crossings(run, input.crossings ?? [], input.blockNumber, input.card);
    this.oracle(run, input.oracleAlerts ?? []);
    const recovered: LevelCrossing[] = [];
    const oracle: OracleEvent[] = [];
    for (const row of run.rowsNow()) {
      if (row.state !== "triggered") continue;
      const k = parseKey(row.key);
      if (k.kind === "mc") {
        const account = k.account as Address;
        const hf = input.healthFactor(account);
        if (k.level === "liquidatable") {
          // Unknown accounts leave the liquidatable set (the keeper must not act on them): resolved, as live.
          if (!input.liquidatable(account)) recovered.push({ account, level: k.level, direction: "up", healthFactor: hf ?? 0n });
        } else if (hf !== null && !input.levelsOf(account).includes(k.level)) {
          recovered.push({ account, level: k.level, direction: "up", healthFactor: hf });
        }
      } else if (k.kind === "feed") {
        if (input.feedStatus(k.asset) === "fresh") {
          oracle.push({ type: "feed-recovered", asset: k.asset as Address, blockNumber: input.blockNumber });
        }
      } else if (input.sequencer === "up") {
        oracle.push({ type: "sequencer-up", blockNumber: input.blockNumber });
      }
    }
    this.crossings(run, recovered, input.blockNumber, input.card);
    this.oracle(run, oracle);
    return this.decision(run);
  }

  private decision(run: Run): AlertDecision {
    const at = this.generation;
    let accepted = false;
    return {
      outbox: run.outbox,
      state: run.changed(),
      accept: () => {
        if (accepted) return;
        if (at !== this.generation) throw new StaleAlertDecisionError();
        for (const r of run.changed()) this.rows.set(r.key, { ...r });
        this.generation++;
        accepted = true;
      },
    };
  }

  private crossings(run: Run, crossings: readonly LevelCrossing[], blockNumber: bigint, card: (account: string) => PositionCard | null): void {
    const at = new Date(run.nowMs).toISOString();
    for (const c of crossings) {
      const state: State = c.direction === "down" ? "triggered" : "resolved";
      const severity: AlertSeverity = c.direction === "up" ? "info" : c.level === "liquidatable" || c.level === "critical" ? "critical" : "warning";
      const hf = formatHealthFactor(c.healthFactor);
      run.raise(`mc|${c.account}|${c.level}`, state, "", () => ({
        id: `mc-${c.account}-${c.level}-${state}-${blockNumber}`,
        severity,
        blockNumber: String(blockNumber),
        at,
        message:
          state === "triggered"
            ? `account ${c.account} HF ${hf} fell below the ${c.level} level`
            : `account ${c.account} HF ${hf} is back above the ${c.level} level`,
        body: { kind: "margin-call", account: c.account, level: c.level, state, healthFactor: c.healthFactor.toString(), card: card(c.account) },
      }));
    }
  }

  private oracle(run: Run, alerts: readonly OracleEvent[]): void {
    const at = new Date(run.nowMs).toISOString();
    for (const o of alerts) {
      const asset = "asset" in o ? o.asset : null;
      const symbol = asset ? (this.opts.symbolOf?.(asset) ?? null) : null;
      const name = symbol ?? asset ?? "sequencer";
      const detail =
        o.type === "heartbeat-missed"
          ? `${name} feed missed its heartbeat: no update for ${o.age}s (heartbeat ${o.heartbeat}s)`
          : o.type === "feed-invalid"
            ? `${name} feed is invalid: ${o.reason}`
            : o.type === "feed-recovered"
              ? `${name} feed is fresh again`
              : `L2 sequencer is ${o.type.replace("sequencer-", "")}`;
      const state: State = o.type === "feed-recovered" || o.type === "sequencer-up" ? "resolved" : "triggered";
      const sequencer = o.type.startsWith("sequencer");
      // A feed's faults share one key; the fault type is the variant, so heartbeat-missed → feed-invalid is news.
      const variant = o.type === "feed-recovered" || sequencer ? "" : o.type;
      const body: AlertBody = { kind: "oracle", type: o.type, asset, symbol, detail };
      run.raise(`oracle|${asset ?? "sequencer"}|${sequencer ? "sequencer" : "fault"}`, state, variant, () => ({
        id: `oracle-${asset ?? "sequencer"}-${o.type}-${o.blockNumber}`,
        severity: state === "resolved" ? "info" : "critical",
        blockNumber: String(o.blockNumber),
        at,
        message: detail,
        body,
      }));
    }
  }
}

/** One decision in progress: reads the committed rows through its own overlay of changes. */
class Run {
  readonly outbox: Alert[] = [];
  private readonly overlay = new Map<string, AlertStateRow>();

  constructor(
    private readonly committed: ReadonlyMap<string, AlertStateRow>,
    private readonly cooldownMs: number,
    readonly nowMs: number,
  ) {}

  rowsNow(): AlertStateRow[] {
    const all = new Map(this.committed);
    for (const [k, r] of this.overlay) all.set(k, r);
    return [...all.values()];
  }

  changed(): AlertStateRow[] {
    return [...this.overlay.values()].map((r) => ({ ...r }));
  }

  /**
   * Raises the alert unless the key's state already says `state` with the same variant (a duplicate: a replay, or
   * the engine re-emitting after a restart), nothing was ever raised for a resolve, the trigger being resolved was
   * muted, or a non-critical re-trigger falls within the cooldown after the last state change.
   */
  raise(key: string, state: State, variant: string, make: () => Alert): void {
    const prev = this.overlay.get(key) ?? this.committed.get(key);
    const set = (muted: boolean) => this.overlay.set(key, { key, state, variant, atMs: this.nowMs, muted });
    if (prev && prev.state === state && prev.variant === variant) return;
    if (!prev && state === "resolved") return;
    if (state === "resolved" && prev?.muted) return void set(false);
    const alert = make();
    if (state === "triggered" && prev?.state === "resolved" && this.nowMs - prev.atMs < this.cooldownMs && alert.severity !== "critical") {
      return void set(true);
    }
    set(false);
    this.outbox.push(alert);
  }
}

type ParsedKey = { kind: "mc"; account: string; level: string } | { kind: "feed"; asset: string } | { kind: "sequencer" };

function parseKey(key: string): ParsedKey {
  const [scope, subject = "", ...rest] = key.split("|");
  if (scope === "mc") return { kind: "mc", account: subject, level: rest.join("|") };
  return subject === "sequencer" ? { kind: "sequencer" } : { kind: "feed", asset: subject };
}
