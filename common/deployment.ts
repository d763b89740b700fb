// The deployment file: what a dev market's deploy writes and the indexer and keeper read. `protocol` names the
// adapter (protocols/index.ts checks it is one marginwatch has).
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { UserInputError } from "./errors";

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed 20-byte hex address")
  .transform((v) => v.toLowerCase() as `0x${string}`);

export const deploymentSchema = z.object({
  /** the adapter that reads this market (protocols/<name>/) */
  protocol: z.string({ required_error: 'names no protocol: add "protocol": "marginpool" (or the adapter that watches this market)' }).min(1),
  chainId: z.number().int().positive(),
  startBlock: z.number().int().nonnegative(),
  deployer: address,
  pool: address,
  oracle: address,
  sequencerUptimeFeed: address.nullable(),
  // Optional, for markets built from an addresses provider (Aave V3 and its forks); the own pool's files omit them.
  /** the market's PoolAddressesProvider: the root the rest of the market is found from */
  addressesProvider: address.optional(),
  /** the PoolConfigurator proxy (emits ReserveInitialized and the risk-parameter events) */
  poolConfigurator: address.optional(),
  /** the protocol's data provider (AaveProtocolDataProvider) */
  dataProvider: address.optional(),
  /**
   * Heartbeats (seconds) of price sources an oracle names in its logs without one (Aave's AssetSourceUpdated), by
   * source address: a source not listed uses its asset's `assets[].heartbeat`, then `defaultHeartbeat`.
   */
  feedHeartbeats: z
    .record(z.string().regex(/^0x[0-9a-fA-F]{40}$/, "keys must be 0x-prefixed 20-byte hex addresses"), z.number().int().positive())
    .transform((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toLowerCase(), v])) as Record<`0x${string}`, number>)
    .optional(),
  /** the heartbeat (seconds) of a price source neither `feedHeartbeats` nor `assets[]` covers */
  defaultHeartbeat: z.number().int().positive().optional(),
  deployedAt: z.string(),
  assets: z.array(
    z.object({
      symbol: z.string(),
      address,
      decimals: z.number().int(),
      feed: address,
      feedDecimals: z.number().int(),
      feedKind: z.enum(["silent", "emitting"]),
      heartbeat: z.number().int().positive(),
      rateModel: address,
      // Optional, per reserve of an Aave-style market: the reserve's token proxies.
      /** interest-bearing collateral token (aToken) */
      aToken: address.optional(),
      stableDebtToken: address.optional(),
      variableDebtToken: address.optional(),
    }),
  ),
});

export type Deployment = z.output<typeof deploymentSchema>;
export type Hex20 = `0x${string}`;

export function writeDeployment(file: string, d: Deployment): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(d, null, 2)}\n`);
}

/** A missing or invalid deployment file: a configuration problem (the CLI exits with code 2). */
export class DeploymentConfigError extends UserInputError {}

export function readDeployment(file: string): Deployment {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new DeploymentConfigError(`cannot read deployment file ${file}: ${(e as Error).message}`);
  }
  const parsed = deploymentSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DeploymentConfigError(`deployment file ${file} is invalid at ${issue.path.join(".") || "<root>"}: ${issue.message}`);
  }
  return parsed.data;
}
