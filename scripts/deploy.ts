// `npm run deploy`: deploys a dev market (PROTOCOL, default the project's own pool) with its default assets to the Hardhat network chosen by --network
// and writes deployments/<network>.json.
import hre from "hardhat";
import { writeDeployment } from "../common/deployment";
import { DEFAULT_PROTOCOL, protocolNamed } from "../protocols";

async function main(): Promise<void> {
  const publicClient = await hre.viem.getPublicClient();
  const [walletClient] = await hre.viem.getWalletClients();
  if (!walletClient) throw new Error("no deployer account configured for this network");
  const protocol = protocolNamed(process.env.PROTOCOL ?? DEFAULT_PROTOCOL);
  const deployment = await protocol.dev.deploy({ publicClient: publicClient as never, walletClient });
  const file = process.env.DEPLOYMENT_FILE ?? `deployments/${hre.network.name}.json`;
  writeDeployment(file, deployment);
  console.log(`deployed ${protocol.label} ${deployment.pool} on chain ${deployment.chainId} from block ${deployment.startBlock}; wrote ${file}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
