// Every protocol marginwatch can monitor, by the name a deployment file gives in `protocol`.
import type { Deployment } from "../common/deployment";
import { UserInputError } from "../common/errors";
import { aaveV3 } from "./aave-v3";
import { marginpool } from "./marginpool";
import type { ProtocolAdapter } from "./types";

export type { ProtocolAdapter } from "./types";

export const PROTOCOLS: readonly ProtocolAdapter[] = [marginpool, aaveV3];

/** The protocol `npm start` deploys on the embedded chain when none is chosen. */
export const DEFAULT_PROTOCOL = marginpool.name;

export class UnknownProtocolError extends UserInputError {}

export function protocolNamed(name: string): ProtocolAdapter {
  const p = PROTOCOLS.find((x) => x.name === name);
  if (!p) throw new UnknownProtocolError(`unknown protocol "${name}" (known: ${PROTOCOLS.map((x) => x.name).join(", ")})`);
  return p;
}

/** The adapter for the market a deployment file describes. */
export function protocolOf(d: Pick<Deployment, "protocol">): ProtocolAdapter {
  return protocolNamed(d.protocol);
}

/** `adapter` (default: the deployment's own) bound to the deployment, when it needs the file to decode. */
export function adapterFor(d: Deployment, adapter: ProtocolAdapter = protocolOf(d)): ProtocolAdapter {
  return adapter.bind ? adapter.bind(d) : adapter;
}
