import { baseEnv, Cli, freshKey, world, stopChain, PORTS } from "./harness";
(async () => {
  const w = await world("dev");
  const key = freshKey();
  await w.fundKeeper(key);
  const runs: Array<[string, string[], Record<string, string>]> = [
    ["keeper-dead-redis", ["keeper"], { ...baseEnv({ apiPort: 0, rpcUrl: w.chain.url, deploymentFile: w.file, databaseUrl: "postgres://postgres@127.0.0.1:5432/test", prefix: "{x}", key, redisUrl: `redis://127.0.0.1:${PORTS.dead}` }) }],
    ["keeper-bad-profit", ["keeper"], { ...baseEnv({ apiPort: 0, rpcUrl: w.chain.url, deploymentFile: w.file, databaseUrl: "postgres://postgres@127.0.0.1:5432/test", prefix: "{x}", key }), KEEPER_MIN_PROFIT_USD: "abc" }],
    ["keeper-bad-key", ["keeper"], { ...baseEnv({ apiPort: 0, rpcUrl: w.chain.url, deploymentFile: w.file, databaseUrl: "postgres://postgres@127.0.0.1:5432/test", prefix: "{x}", key: key + "00" }) }],
    ["keeper-dead-rpc", ["keeper"], { ...baseEnv({ apiPort: 0, rpcUrl: `http://127.0.0.1:${PORTS.dead}`, deploymentFile: w.file, databaseUrl: "postgres://postgres@127.0.0.1:5432/test", prefix: "{x}", key }) }],
    ["index-missing-deployment", ["index"], { ...baseEnv({ apiPort: 8686, rpcUrl: w.chain.url, deploymentFile: "/nonexistent.json", databaseUrl: "postgres://postgres@127.0.0.1:5432/test", prefix: "{x}" }) }],
    ["index-dead-rpc", ["index"], { ...baseEnv({ apiPort: 8686, rpcUrl: `http://127.0.0.1:${PORTS.dead}`, deploymentFile: w.file, databaseUrl: "postgres://postgres@127.0.0.1:5432/test", prefix: "{x}" }) }],
    ["index-dead-pg", ["index"], { ...baseEnv({ apiPort: 8687, rpcUrl: w.chain.url, deploymentFile: w.file, databaseUrl: `postgres://postgres@127.0.0.1:${PORTS.dead}/test`, prefix: "{x}" }) }],
  ];
  const clis = runs.map(([l, a, e]) => new Cli(l, a, e));
  await Promise.all(clis.map((c) => c.waitExit(150_000)));
  for (const c of clis) console.log("=====", c.label, JSON.stringify(c.exitInfo), "\n", c.err.slice(0, 1500), "\nOUT:", c.out.slice(-1500));
  await stopChain();
  process.exit(0);
})();
