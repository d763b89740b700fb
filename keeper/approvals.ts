// Start-up token approvals: max allowance to the pool for every listed asset, sent only where it is insufficient.
import { encodeFunctionData, erc20Abi, keccak256, type LocalAccount } from "viem";
import type { Logger } from "pino";
import { MAX_UINT256 } from "../common/math";
import type { KeeperPublicClient } from "./chain/clients";
import { ApprovalError } from "./errors";
import { quoteFees } from "./gas";
import type { Address } from "./job";
import type { NonceManager } from "./tx/nonce-manager";

/** An allowance below this counts as insufficient (max approvals of non-infinite tokens still decrease). */
export const ALLOWANCE_FLOOR = MAX_UINT256 / 2n;

export interface ApprovalOptions {
  publicClient: KeeperPublicClient;
  account: LocalAccount;
  chainId: number;
  nonceManager: NonceManager;
  pool: Address;
  assets: readonly Address[];
  maxFeePerGasCap: bigint;
  logger: Logger;
  /** receipt wait per approval; default 120000 ms */
  timeoutMs?: number;
}

/** Returns the assets it approved (empty when every allowance already sufficed). */
export async function ensureApprovals(o: ApprovalOptions): Promise<Address[]> {
  const owner = o.account.address;
  const allowances = await Promise.all(
    o.assets.map((asset) => o.publicClient.readContract({ address: asset, abi: erc20Abi, functionName: "allowance", args: [owner, o.pool] })),
  );
  const approved: Address[] = [];
  for (const [i, asset] of o.assets.entries()) {
    if (allowances[i]! >= ALLOWANCE_FLOOR) continue;
    const data = encodeFunctionData({ abi: erc20Abi, functionName: "approve", args: [o.pool, MAX_UINT256] });
    const gas = await o.publicClient.estimateGas({ account: owner, to: asset, data });
    const fees = await quoteFees(o.publicClient, o.maxFeePerGasCap);
    const hash = await o.nonceManager.withNonce(async (nonce) => {
      const serialized = await o.account.signTransaction({
        type: "eip1559",
        chainId: o.chainId,
        to: asset,
        data,
        gas: (gas * 12n) / 10n,
        nonce,
        ...fees,
      });
      await o.publicClient.sendRawTransaction({ serializedTransaction: serialized });
      return { value: keccak256(serialized), consumed: true };
    });
    const receipt = await o.publicClient.waitForTransactionReceipt({ hash, timeout: o.timeoutMs ?? 120_000 });
    if (receipt.status !== "success") throw new ApprovalError(`approve(${o.pool}) of ${asset} reverted in ${hash}`);
    o.logger.info({ asset, hash }, "approved the pool to pull this asset");
    approved.push(asset);
  }
  return approved;
}
