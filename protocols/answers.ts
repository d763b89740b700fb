// One settled eth_call of a protocol's view → its PoolAnswer: the decoded figure, or why there is none. Each
// adapter says how a failed call reads (`classify`: a price refusal, another revert, or the node's fault).
import type { Hex } from "viem";
import type { PoolAnswer } from "./types";

export function answerOf<T>(
  r: PromiseSettledResult<unknown>,
  decode: (raw: Hex) => T,
  classify: (error: unknown) => PoolAnswer<never>,
): PoolAnswer<T> {
  if (r.status === "rejected") return classify(r.reason);
  try {
    return { kind: "value", value: decode(r.value as Hex) };
  } catch (e) {
    // "0x" (no contract at that address at that block) or a malformed answer: not a figure.
    return { kind: "revert", error: `undecodable answer: ${(e as { shortMessage?: string }).shortMessage ?? (e as Error).message.split("\n")[0]}` };
  }
}
