// The auditor's public surface: the background sampler, the per-account verdict and the pool reader it shares with
// `marginwatch verify`.
export { Auditor, AUDIT_METRICS, type AuditMismatch, type AuditorOptions, type AuditReader, type AuditStatus, type FigureSource } from "./auditor";
export { compareAccount, describeDiffs, type AuditFigures, type AuditField, type FieldDiff, type Verdict } from "./compare";
export {
  classifyFailure,
  readPoolViews,
  PRICE_ERRORS,
  type BlockSelector,
  type PoolAccountData,
  type PoolAnswer,
  type PoolViews,
  type RpcRequester,
} from "./pool-views";
