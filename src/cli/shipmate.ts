#!/usr/bin/env node
import { runCli } from './run-cli';

const stopSignal = new Promise<void>((resolve) => {
  process.once('SIGINT', () => resolve());
  process.once('SIGTERM', () => resolve());
});

void runCli(process.argv.slice(2), {
  env: process.env,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  stopSignal,
  stdin: process.stdin,
  stdout: process.stdout,
}).then((code) => {
  process.exitCode = code;
  // Bolt and the Socket Mode client keep handles open; once we are done, we are done.
  if (['start', 'playground', 'console'].includes(process.argv[2] ?? '') || code !== 0) setImmediate(() => process.exit(code));
});
