// The auditor's public surface: the background sampler, the per-account verdict and the verdict it shares with
// `marginwatch verify`. The reference reader is the protocol adapter's (`views.read`).
export { Auditor, AUDIT_METRICS, type AuditMismatch, type AuditorOptions, type AuditReader, type AuditStatus, type FigureSource } from "./auditor";
export { compareAccount, describeDiffs, type AuditFigures, type AuditField, type FieldDiff, type Verdict } from "./compare";
export type { BlockSelector, PoolAccountData, PoolAnswer, PoolViews, RpcRequester } from "../../protocols/types";
