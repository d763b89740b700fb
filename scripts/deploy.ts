// `npm run deploy`: deploys the protocol with the default market to the Hardhat network chosen by --network
// and writes deployments/<network>.json.
import hre from "hardhat";
import { deployProtocol } from "../common/deploy";
import { writeDeployment } from "../common/deployment";

async function main(): Promise<void> {
  const publicClient = await hre.viem.getPublicClient();
  const [walletClient] = await hre.viem.getWalletClients();
  if (!walletClient) throw new Error("no deployer account configured for this network");
  const deployment = await deployProtocol({ publicClient: publicClient as never, walletClient });
  const file = process.env.DEPLOYMENT_FILE ?? `deployments/${hre.network.name}.json`;
  writeDeployment(file, deployment);
  console.log(`deployed MarginPool ${deployment.pool} on chain ${deployment.chainId} from block ${deployment.startBlock}; wrote ${file}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
