#!/usr/bin/env node
// Runs the TypeScript CLI through ts-node (transpile only: type checking is `npm run typecheck`'s job).
const path = require("node:path");
require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "tsconfig.json") });
require(path.join(__dirname, "..", "cli", "main.ts"));
