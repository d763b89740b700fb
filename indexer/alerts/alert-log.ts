// How delivered alerts appear in the log: oracle alerts one line each; margin calls one line per account (its levels
// together) while a block concerns a few accounts, otherwise one summary line per block (counts per level) with the
// per-alert lines at debug. The alerts themselves (queue, webhooks: one per account and level) are untouched.
import type { Logger } from "pino";
import type { Alert } from "./types";

/** A block whose margin calls concern at most this many accounts logs a line per account; more are summarised. */
export const DEFAULT_INDIVIDUAL_UP_TO = 2;

export interface MarginCallSummary {
  block: string;
  /** alerts summarised */
  alerts: number;
  /** per level (liquidatable, critical, warning, …): how many accounts crossed below it */
  triggered: Record<string, number>;
  /** per level: how many accounts came back above it */
  resolved: Record<string, number>;
  message: string;
}

const isMarginCall = (a: Alert): boolean => a.body.kind === "margin-call" || a.body.kind === "liquidatable";
const levelOf = (a: Alert): string => (a.body.kind === "margin-call" ? a.body.level : "liquidatable");
const stateOf = (a: Alert): string => (a.body.kind === "margin-call" || a.body.kind === "liquidatable" ? a.body.state : "triggered");

/** Most severe first: liquidatable, then critical-severity levels, then the rest by name. */
function levelOrder(alerts: readonly Alert[]): (a: string, b: string) => number {
  const rank = new Map<string, number>();
  for (const a of alerts) {
    const l = levelOf(a);
    const r = l === "liquidatable" ? 0 : a.severity === "critical" ? 1 : a.body.kind === "margin-call" && a.body.state === "resolved" ? 3 : 2;
    rank.set(l, Math.min(rank.get(l) ?? 9, r));
  }
  return (a, b) => (rank.get(a) ?? 9) - (rank.get(b) ?? 9) || (a < b ? -1 : a > b ? 1 : 0);
}

/** "block 653: margin calls — liquidatable 74 triggered, critical 80 triggered, warning 144 triggered, 160 resolved" */
export function summariseMarginCalls(block: string, alerts: readonly Alert[]): MarginCallSummary {
  const triggered: Record<string, number> = {};
  const resolved: Record<string, number> = {};
  const mc = alerts.filter(isMarginCall);
  for (const a of mc) {
    const into = stateOf(a) === "resolved" ? resolved : triggered;
    into[levelOf(a)] = (into[levelOf(a)] ?? 0) + 1;
  }
  const order = levelOrder(mc);
  const parts = Object.keys(triggered)
    .sort(order)
    .map((l) => `${l} ${triggered[l]} triggered`);
  const resolvedTotal = Object.values(resolved).reduce((s, n) => s + n, 0);
  if (resolvedTotal > 0) parts.push(`${resolvedTotal} resolved`);
  return { block, alerts: mc.length, triggered, resolved, message: `block ${block}: margin calls — ${parts.join(", ")}` };
}

/**
 * Collects the alerts of the dispatcher's batches and logs them on flush(), so a block whose alerts span several
 * batches still gets one summary line.
 */
export class AlertLog {
  private readonly pending: Alert[] = [];

  constructor(
    private readonly logger: Logger,
    private readonly individualUpTo = DEFAULT_INDIVIDUAL_UP_TO,
  ) {}

  add(alerts: readonly Alert[]): void {
    for (const a of alerts) {
      if (isMarginCall(a)) this.pending.push(a);
      else this.logger[levelFor(a)]({ alert: a.id, severity: a.severity, body: a.body }, a.message);
    }
  }

  /** Logs the margin calls collected so far: each of them, or one summary line per block. */
  flush(): void {
    if (this.pending.length === 0) return;
    const byBlock = new Map<string, Alert[]>();
    for (const a of this.pending.splice(0)) {
      const list = byBlock.get(a.blockNumber);
      if (list) list.push(a);
      else byBlock.set(a.blockNumber, [a]);
    }
    for (const [block, alerts] of byBlock) {
      const byAccount = new Map<string, Alert[]>();
      for (const a of alerts) {
        const key = a.body.kind === "margin-call" || a.body.kind === "liquidatable" ? a.body.account : a.id;
        byAccount.set(key, [...(byAccount.get(key) ?? []), a]);
      }
      if (byAccount.size <= this.individualUpTo) {
        for (const list of byAccount.values()) this.logAccount(list);
        continue;
      }
      for (const a of alerts) this.logger.debug({ alert: a.id, severity: a.severity, body: a.body }, a.message);
      const { message, ...fields } = summariseMarginCalls(block, alerts);
      const anyTriggered = Object.keys(fields.triggered).length > 0;
      this.logger[anyTriggered ? "warn" : "info"]({ marginCalls: { ...fields, accounts: byAccount.size } }, message);
    }
  }

  /** One account's margin calls of one block: its alert's own line, or one line naming every level it crossed. */
  private logAccount(alerts: readonly Alert[]): void {
    const first = alerts[0]!;
    if (alerts.length === 1) {
      this.logger[levelFor(first)]({ alert: first.id, severity: first.severity, body: first.body }, first.message);
      return;
    }
    const down = alerts.filter((a) => stateOf(a) !== "resolved").map(levelOf);
    const up = alerts.filter((a) => stateOf(a) === "resolved").map(levelOf);
    const account = first.body.kind === "margin-call" || first.body.kind === "liquidatable" ? first.body.account : "";
    const hf = first.body.kind === "margin-call" ? (first.body.card?.healthFactor ?? null) : null;
    const parts = [
      ...(down.length ? [`fell below the ${listed(down)} level${down.length > 1 ? "s" : ""}`] : []),
      ...(up.length ? [`is back above the ${listed(up)} level${up.length > 1 ? "s" : ""}`] : []),
    ];
    const worst = alerts.some((a) => a.severity !== "info") ? "warn" : "info";
    this.logger[worst](
      { alerts: alerts.map((a) => a.id), severity: alerts.map((a) => a.severity), bodies: alerts.map((a) => a.body) },
      `account ${account}${hf === null ? "" : ` HF ${hf}`} ${parts.join(" and ")}`,
    );
  }
}

/** ["warning", "critical", "liquidatable"] → "warning, critical and liquidatable" */
const listed = (xs: readonly string[]): string => (xs.length < 2 ? (xs[0] ?? "") : `${xs.slice(0, -1).join(", ")} and ${xs[xs.length - 1]}`);

const levelFor = (a: Alert): "info" | "warn" => (a.severity === "info" ? "info" : "warn");
