// Preloaded into every `hardhat node` marginwatch starts (--require): a full GC every second. Hardhat 2.29's EDR
// keeps each request's execution trace (~0.4 KB per EVM step) in native memory owned by a small JS object that V8
// has no reason to collect soon; a long `npm start` or a heavy benchmark would otherwise grow the node by GBs.
// Plain JS so the node needs no TypeScript loader.
"use strict";
const v8 = require("node:v8");
const vm = require("node:vm");

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc");
setInterval(() => gc(), Number(process.env.HARDHAT_NODE_GC_MS || 1000)).unref();
