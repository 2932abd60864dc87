#!/usr/bin/env node
// `caracal-deploy`: the Caracal Deploy CLI (see apps/cli/README.md).
import { runCli } from './cli.js';

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
