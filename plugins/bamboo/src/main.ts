#!/usr/bin/env node
import { runInsightsCli } from "./insights-cli.js";

process.exitCode = await runInsightsCli({
  argv: process.argv.slice(2),
  env: process.env,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
