#!/usr/bin/env node
import { runTeamCity } from "./run.js";

process.exitCode = await runTeamCity({
  env: process.env,
  writeLine: (line) => process.stdout.write(`${line}\n`),
});
