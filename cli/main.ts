// The marginwatch CLI, wiring only: start (everything), index, keeper, deploy, simulate, verify, and the API readers
// health <address>, risk, stress, oracles, liquidations (cli/commands/*.ts, tables or --json).
import path from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import type { PublicClient } from "viem";
import { ConfigError, loadConfig, loadLogConfig, type AppConfig } from "../common/config";
import type { Wallet } from "../common/wallet";
import { UserInputError } from "../common/errors";
import type { App } from "./app";
import type { VerifyReport } from "../indexer/audit/verify";
import { defaultApiUrl } from "./api-client";
import { healthCommand } from "./commands/health";
import { liquidationsCommand } from "./commands/liquidations";
import { oraclesCommand } from "./commands/oracles";
import { riskCommand } from "./commands/risk";
import { stressCommand } from "./commands/stress";

// The long-running commands load the chain, indexer and keeper stacks when they run (dynamic imports below), so the
// API readers (health, risk, …) start in a fraction of the time.

const program = new Command();
program
  .name("marginwatch")
  .description("On-chain margin monitor: exact health factors, risk, margin calls and a liquidation keeper")
  .showHelpAfterError();

/** Flags shared by the long-running commands; each maps onto an environment variable of common/config.ts. */
function runtimeFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option("--rpc-url <url>", "JSON-RPC endpoint (env RPC_URL); omit for the embedded chain"))
    .addOption(new Option("--deployment <file>", "deployment JSON (env DEPLOYMENT_FILE)"))
    .addOption(new Option("--protocol <name>", "embedded chain: the market to deploy (env PROTOCOL; default marginpool)"))
    .addOption(new Option("--database-url <url>", "PostgreSQL URL (env DATABASE_URL); omit for PGlite"))
    .addOption(new Option("--data-dir <dir>", "data folder (env DATA_DIR)"))
    .addOption(new Option("--redis-url <url>", "Redis URL (env REDIS_URL)"))
    .addOption(new Option("--host <host>", "API bind address (env API_HOST)"))
    .addOption(new Option("--port <port>", "API port (env API_PORT)"))
    .addOption(new Option("--chain-port <port>", "embedded chain port (env CHAIN_PORT)"))
    .addOption(new Option("--borrowers <n>", "embedded chain: borrowers to seed (env SIM_BORROWERS)"))
    .addOption(new Option("--log-level <level>", "pino level (env LOG_LEVEL)"))
    .addOption(new Option("--log-format <format>", "auto (pretty at a terminal), json or pretty (env LOG_FORMAT)"))
    .addOption(new Option("--reset", "forget the stored index and re-index from the deployment block"));
}

function configFrom(flags: Record<string, string | undefined>): AppConfig {
  return loadConfig(process.env, {
    RPC_URL: flags.rpcUrl,
    DEPLOYMENT_FILE: flags.deployment,
    PROTOCOL: flags.protocol,
    DATABASE_URL: flags.databaseUrl,
    DATA_DIR: flags.dataDir,
    REDIS_URL: flags.redisUrl,
    API_HOST: flags.host,
    API_PORT: flags.port,
    CHAIN_PORT: flags.chainPort,
    SIM_BORROWERS: flags.borrowers,
    LOG_LEVEL: flags.logLevel,
    LOG_FORMAT: flags.logFormat,
  });
}

function stopAppOnSignals(app: App): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    app.logger.info({ signal }, "stopping (waiting for active keeper jobs)");
    app.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

async function runApp(flags: Record<string, string | undefined>, opts: { keeper?: boolean; simulate?: boolean }): Promise<void> {
  const config = configFrom(flags);
  const { startApp } = await import("./app");
  const app = await startApp(config, { ...opts, reset: Boolean(flags.reset) });
  stopAppOnSignals(app);
  const embedded = !config.RPC_URL;
  process.stderr.write(
    `\nmarginwatch is running${embedded ? " on an embedded Hardhat chain with a simulated market" : ` on ${config.RPC_URL}`}\n` +
      `  dashboard  ${app.url}/\n  API        ${app.url}/v1/risk  (OpenAPI: ${app.url}/openapi.json)\n  metrics    ${app.url}/metrics\n` +
      `  keeper     ${app.keeper ? `on, signer ${app.keeper.address}` : "off"}\n  stop with Ctrl-C\n\n`,
  );
}

runtimeFlags(
  program.command("start").description("run everything in one process: chain (embedded unless RPC_URL), indexer, API + dashboard, keeper, alerts"),
).action((flags) => runApp(flags, {}));

runtimeFlags(program.command("index").description("run the indexer, API, dashboard and alerts (no keeper workers)")).action((flags) =>
  runApp(flags, { keeper: false, simulate: false }),
);

program
  .command("keeper")
  .description("run keeper workers only (scale out: start several, on several machines, against one Redis)")
  .action(async () => {
    const log = loadLogConfig(process.env);
    const [{ runKeeper, stopOnSignals }, { createKeeperLogger }] = await Promise.all([import("../keeper/main"), import("../keeper/logger")]);
    const running = await runKeeper(process.env, createKeeperLogger({ level: log.LOG_LEVEL, format: log.LOG_FORMAT }));
    stopOnSignals(running);
  });

program
  .command("deploy")
  .description("deploy a dev market (--protocol, default the project's own pool) and write the deployment file")
  .requiredOption("--rpc-url <url>", "JSON-RPC endpoint", process.env.RPC_URL)
  .option("--out <file>", "deployment file to write", process.env.DEPLOYMENT_FILE ?? "deployments/deployment.json")
  .option("--sequencer-grace <seconds>", "also deploy an L2 sequencer-uptime feed with this grace period")
  .option("--protocol <name>", "the market to deploy (env PROTOCOL; default marginpool)")
  .action(async (o: { rpcUrl: string; out: string; sequencerGrace?: string; protocol?: string }) => {
    const [{ createPublicClient, createWalletClient, http }, { privateKeyToAccount }] = await Promise.all([import("viem"), import("viem/accounts")]);
    const [{ DEFAULT_PROTOCOL, protocolNamed }, { writeDeployment }, { HARDHAT_KEYS }, { loadPrivateKey }] = await Promise.all([
      import("../protocols"),
      import("../common/deployment"),
      import("../common/hardhat-node"),
      import("../keeper/private-key"),
    ]);
    const transport = http(o.rpcUrl);
    const publicClient = createPublicClient({ transport }) as PublicClient;
    const chainId = await publicClient.getChainId();
    // DEPLOYER_PRIVATE_KEY(_FILE) in production; a local Hardhat chain falls back to its well-known account #0.
    const env = { KEEPER_PRIVATE_KEY: process.env.DEPLOYER_PRIVATE_KEY, KEEPER_PRIVATE_KEY_FILE: process.env.DEPLOYER_PRIVATE_KEY_FILE };
    const key = env.KEEPER_PRIVATE_KEY || env.KEEPER_PRIVATE_KEY_FILE ? loadPrivateKey(env).reveal() : chainId === 31337 ? HARDHAT_KEYS[0] : null;
    if (!key) throw new ConfigError("set DEPLOYER_PRIVATE_KEY or DEPLOYER_PRIVATE_KEY_FILE to deploy on a chain other than a local Hardhat one");
    const walletClient = createWalletClient({ transport, account: privateKeyToAccount(key), chain: { id: chainId } as never }) as Wallet;
    const protocol = protocolNamed(o.protocol ?? process.env.PROTOCOL ?? DEFAULT_PROTOCOL);
    const d = await protocol.dev.deploy({
      publicClient,
      walletClient,
      sequencerGracePeriod: o.sequencerGrace ? Number(o.sequencerGrace) : undefined,
    });
    writeDeployment(o.out, d);
    console.log(`deployed ${protocol.label} ${d.pool} (oracle ${d.oracle}) on chain ${d.chainId} from block ${d.startBlock}; wrote ${o.out}`);
  });

program
  .command("simulate")
  .description("run the market simulation against a Hardhat chain (RPC_URL) and deployment (DEPLOYMENT_FILE)")
  .requiredOption("--rpc-url <url>", "Hardhat JSON-RPC endpoint", process.env.RPC_URL)
  .requiredOption("--deployment <file>", "deployment file", process.env.DEPLOYMENT_FILE)
  .option("--borrowers <n>", "borrowers to seed", "300")
  .option("--seed <n>", "random seed", "42")
  .option("--tick-ms <n>", "tick interval", "1500")
  .action(async (o: { rpcUrl: string; deployment: string; borrowers: string; seed: string; tickMs: string }) => {
    const log = loadLogConfig(process.env);
    const [{ createPublicClient, http }, { protocolOf }, { readDeployment }, { HARDHAT_KEYS }, { createLogger }] = await Promise.all([
      import("viem"),
      import("../protocols"),
      import("../common/deployment"),
      import("../common/hardhat-node"),
      import("./app"),
    ]);
    const deployment = readDeployment(o.deployment);
    const publicClient = createPublicClient({ transport: http(o.rpcUrl), cacheTime: 0 }) as PublicClient;
    const sim = protocolOf(deployment).dev.simulation({
      url: o.rpcUrl,
      publicClient,
      deployment,
      adminKey: HARDHAT_KEYS[0],
      fundAddresses: [],
      borrowers: Number(o.borrowers),
      seed: Number(o.seed),
      tickMs: Number(o.tickMs),
      logger: createLogger(log.LOG_LEVEL, log.LOG_FORMAT),
    });
    await sim.seed();
    sim.start();
    process.on("SIGINT", () => {
      sim.stop();
      process.exit(0);
    });
  });

program.addCommand(healthCommand());
program.addCommand(riskCommand());
program.addCommand(stressCommand());
program.addCommand(oraclesCommand());
program.addCommand(liquidationsCommand());

const positiveInt = (v: string): number => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError("expected a whole number ≥ 1");
  return Number(v);
};

program
  .command("verify")
  .description(
    "check a running API's figures against the protocol's own views at each account card's block (exit 1 unless every card is proven equal)",
  )
  .addOption(new Option("--api-url <url>", "a running marginwatch API (env MARGINWATCH_API; default the local one)").default(defaultApiUrl()))
  .addOption(
    new Option("--rpc-url <url>", "JSON-RPC endpoint of the chain the API indexes").default(
      process.env.RPC_URL ?? `http://127.0.0.1:${process.env.CHAIN_PORT ?? 8545}`,
    ),
  )
  .addOption(
    new Option("--deployment <file>", "deployment JSON (the pool's address)").default(
      process.env.DEPLOYMENT_FILE ?? path.join(process.env.DATA_DIR ?? ".data", "embedded", "deployment.json"),
    ),
  )
  .addOption(new Option("--sample <n>", "check n accounts spread over the API's list (default: every account)").argParser(positiveInt))
  .option("--json", "print the report as JSON")
  // Bad arguments are exit 2, like every configuration problem; 1 is reserved for "a mismatch was found".
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .action(async (o: { apiUrl: string; rpcUrl: string; deployment: string; sample?: number; json?: boolean }) => {
    const [{ formatReport, verify, VerifyInputError }, { readDeployment }] = await Promise.all([
      import("../indexer/audit/verify"),
      import("../common/deployment"),
    ]);
    let report: VerifyReport;
    try {
      report = await verify({ apiUrl: o.apiUrl, rpcUrl: o.rpcUrl, deployment: readDeployment(o.deployment), sample: o.sample });
    } catch (e) {
      if (e instanceof VerifyInputError) {
        process.stderr.write(`marginwatch verify: ${e.message}\n`);
        process.exit(2);
      }
      throw e;
    }
    process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    // Exit 0 only when every card was proven equal: a mismatch, or a card that could not be checked (its block is not
    // on this RPC's chain, the RPC failed), is a failed verification.
    process.exitCode = report.mismatched > 0 || report.errors > 0 ? 1 : 0;
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  // Configuration and environment problems are one clear message, not a stack trace.
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`marginwatch: ${msg}\n`);
  process.exit(e instanceof UserInputError ? 2 : 1);
});
