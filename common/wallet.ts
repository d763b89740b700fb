// Sending from a local wallet with viem and waiting for the receipt: contract deployment and plain calls, for dev
// markets, scripts and tests.
import type { Abi, Account, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";
import type { Hex20 } from "./deployment";

export type Wallet = WalletClient<Transport, Chain | undefined, Account>;

export interface SendOptions {
  publicClient: PublicClient;
  walletClient: Wallet;
}

export async function deployContract(o: SendOptions, abi: Abi, bytecode: Hex, args: unknown[]): Promise<Hex20> {
  const hash = await o.walletClient.deployContract({ abi, bytecode, args, account: o.walletClient.account, chain: o.walletClient.chain });
  const receipt = await o.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success" || !receipt.contractAddress) throw new Error(`deployment reverted (tx ${hash})`);
  return receipt.contractAddress.toLowerCase() as Hex20;
}

export async function send(o: SendOptions, address: Hex20, abi: Abi, functionName: string, args: unknown[]): Promise<void> {
  const hash = await o.walletClient.writeContract({
    address,
    abi,
    functionName,
    args,
    account: o.walletClient.account,
    chain: o.walletClient.chain,
  });
  const receipt = await o.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${functionName} reverted (tx ${hash})`);
}
