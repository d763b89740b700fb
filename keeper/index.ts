// Public surface of the keeper: the producer the health engine calls, createKeeper, config and errors.
export { createKeeper, resetKeeperState, type Keeper, type KeeperDeps } from "./keeper";
export { keeperConfigSchema, parseKeeperConfig, keeperConfigFromEnv, envNameOf, type KeeperConfig, type KeeperConfigInput } from "./config";
export { LiquidationProducer, REFUSED_METRIC, type Opportunity, type EnqueueContext, type EnqueueResult, type ProducerOptions } from "./producer";
export { KeeperWorker, type KeeperWorkerOptions } from "./worker";
export { LiquidationProcessor } from "./processor";
export { liquidationJobId, LIQUIDATION_JOB, type LiquidationJobData, type LiquidationJobResult } from "./job";
export { ensureApprovals } from "./approvals";
export { NonceManager, clearSignerState, signerKeyBase } from "./tx/nonce-manager";
export { TransactionSender } from "./tx/sender";
export { createKeeperLogger } from "./logger";
export { loadPrivateKey, parsePrivateKey, SecretKey } from "./private-key";
export * from "./errors";
