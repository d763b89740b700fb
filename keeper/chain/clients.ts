// The viem client types the keeper runs on: any public client, and a wallet client with a local (signing) account.
import type { Account, Chain, PublicClient, Transport, WalletClient } from "viem";

export type KeeperPublicClient = PublicClient<Transport, Chain | undefined>;
export type KeeperWalletClient = WalletClient<Transport, Chain | undefined, Account>;
