// Aave V3.0.x (POOL_REVISION 1, @aave/core-v3 1.19.x) behind the adapter interface: logs from the addresses
// provider down (./decode.ts), the Pool's own account math (./math.ts), getUserAccountData and AaveOracle as the
// views (./views.ts), liquidationCall (./liquidation.ts) and the dev market (./deploy.ts, ./simulation.ts).
import path from "node:path";
import type { Deployment } from "../../common/deployment";
import { UserInputError } from "../../common/errors";
import type { ProtocolState } from "../../indexer/state/state";
import type { DevDeployOptions, ProtocolAdapter } from "../types";
import { AaveDecoder, RESERVE_DATA_UPDATED } from "./decode";
import { deployAaveMarket } from "./deploy";
import { liquidation } from "./liquidation";
import { accountData, collateralAmount, collateralTerms, collateralValue, debtAmount, debtValue, health, hfModelError, indexesAt } from "./math";
import { AaveMarketSimulation } from "./simulation";
import { readAccountViews, readOraclePrices } from "./views";

/** DevDeployOptions for Aave: the dev market has no L2 sequencer feed (Aave V3.0's PriceOracleSentinel is not deployed). */
export class UnsupportedDevOptionError extends UserInputError {}

async function deploy(o: DevDeployOptions): Promise<Deployment> {
  if (o.sequencerGracePeriod !== undefined)
    throw new UnsupportedDevOptionError(
      "the aave-v3 dev market has no L2 sequencer-uptime feed (Aave's PriceOracleSentinel is not deployed): sequencerGracePeriod cannot be set",
    );
  return deployAaveMarket({ publicClient: o.publicClient, walletClient: o.walletClient });
}

const TIMESTAMPED = new Set([RESERVE_DATA_UPDATED]);

/** The adapter bound to one deployment: its decoder knows the file's heartbeats and tokens. */
function bound(d: Deployment, onWarning?: (message: string) => void): ProtocolAdapter & { readonly decoder: AaveDecoder } {
  const decoder = new AaveDecoder(d, onWarning);
  return {
    ...aaveV3,
    decoder,
    bind: (other: Deployment) => bound(other, onWarning),
    watch: (dep: Deployment, state: ProtocolState) => decoder.watch(dep, state),
    discover: (changes) => decoder.discover(changes),
    decode: (log, family) => decoder.decode(log, family),
  };
}

/** The unbound adapter's decoding: bound to the deployment its last watch() named (decoding needs the file). */
let lastBound: { d: Deployment; decoder: AaveDecoder } | null = null;
function unboundDecoder(d?: Deployment): AaveDecoder {
  if (d && lastBound?.d !== d) lastBound = { d, decoder: new AaveDecoder(d) };
  if (!lastBound) throw new Error("aave-v3: decode before watch(): use adapterFor(deployment), which binds the adapter to its deployment file");
  return lastBound.decoder;
}

export const aaveV3: ProtocolAdapter = {
  name: "aave-v3",
  label: "Aave V3 Pool",
  bind: (d) => bound(d),
  watch: (d, state) => unboundDecoder(d).watch(d, state),
  discover: (changes) => unboundDecoder().discover(changes),
  decode: (log, family) => unboundDecoder().decode(log, family),
  timestampedEvents: TIMESTAMPED,
  // V3.0.x: collateral counts by the account's bit (set by the protocol's own events, never implied), at the
  // reserve's LT or its eMode category's.
  math: {
    indexesAt,
    accountData,
    health,
    healthModule: path.join(__dirname, "math"),
    collateralValue,
    debtValue,
    collateralAmount,
    debtAmount,
    collateralTerms,
    collateralDefault: false,
    hfModelError,
  },
  views: {
    refusesStalePrices: false,
    read: (client, d, accounts, at) => readAccountViews(client, d.pool, accounts, at),
    prices: (client, d, assets, at) => readOraclePrices(client, d.oracle, assets, at),
  },
  liquidation,
  dev: { deploy, simulation: (o) => new AaveMarketSimulation(o) },
};

/** The adapter bound to `d`, with a warning sink of the caller's (tests, a logger) instead of process warnings. */
export function boundAaveV3(d: Deployment, onWarning: (message: string) => void): ProtocolAdapter & { readonly decoder: AaveDecoder } {
  return bound(d, onWarning);
}
