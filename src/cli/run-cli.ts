import type { Readable, Writable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { runConsole } from '../playground/console';
import { PAGE_HTML } from '../playground/page';
import { startPlayground } from '../playground/playground';
import { createLogger } from '../telemetry/logger';
import { loadShipmateConfig } from '../config/load-shipmate-config';
import { loadSettings, loadStorageSettings } from '../config/settings';
import { AppError, ConfigError } from '../core/errors';
import { migrate, openDatabase } from '../store/database';
import { createShipmate } from '../main';
import { runCanaryJudge } from './canary-judge-command';
import { runCanaryReplay, type CanaryReplayOptions } from './canary-replay-command';
import { runSloEval, type SloEvalOptions } from './slo-eval-command';

export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  out: (line: string) => void;
  err: (line: string) => void;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM). */
  stopSignal?: Promise<void>;
  /** The terminal, for `shipmate console`. */
  stdin?: Readable;
  stdout?: Writable;
}

/** Exit codes: 0 fine, 1 the checked thing is invalid, 2 a setting is missing or invalid. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  const program = new Command('shipmate')
    .description('Slack-native release coordinator')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  program
    .command('start')
    .description('connect to Slack and run (Socket Mode with SLACK_APP_TOKEN, HTTP with SLACK_SIGNING_SECRET)')
    .action(async () => {
      const settings = loadSettings(io.env);
      const config = loadShipmateConfig(settings.SHIPMATE_CONFIG, io.env);
      const shipmate = createShipmate({ settings, config, baseEnv: io.env });
      await shipmate.start();
      await (io.stopSignal ?? new Promise(() => undefined));
      await shipmate.stop();
    });

  program
    .command('playground')
    .description('Shipmate on a local page that looks and behaves like Slack: no Slack app needed')
    .option('--port <port>', "the page's port", '3000')
    .option('--data <dir>', 'where the SQLite file and the generated shipmate.yml go', './data')
    .action(async (opts: { port: string; data: string }) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`--port ${opts.port} is not a port; write e.g. --port 3000`);
      const playground = await startPlayground({ port, dataDir: opts.data, page: PAGE_HTML, log: createLogger({ level: io.env.LOG_LEVEL ?? 'warn' }) });
      io.out(`Shipmate playground: open ${playground.url.replace('127.0.0.1', 'localhost')} (Ctrl-C stops it; data in ${opts.data})`);
      await (io.stopSignal ?? new Promise(() => undefined));
      await playground.stop();
    });

  program
    .command('console')
    .description('Shipmate in a terminal, without Slack: type commands, pick buttons by number')
    .option('--data <dir>', 'where the SQLite file and the generated shipmate.yml go', './data')
    .action(async (opts: { data: string }) => {
      const playground = await startPlayground({ port: 0, dataDir: opts.data, page: '', log: createLogger({ level: io.env.LOG_LEVEL ?? 'silent' }) });
      try {
        await runConsole({ input: io.stdin ?? process.stdin, output: io.stdout ?? process.stdout, url: playground.url });
      } finally {
        await playground.stop();
      }
    });

  program
    .command('migrate')
    .description('apply pending database migrations')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const { SHIPMATE_DB } = loadStorageSettings(io.env);
      const db = openDatabase(SHIPMATE_DB);
      try {
        const applied = migrate(db).map((m) => ({ version: m.version, name: m.name }));
        if (opts.json) io.out(JSON.stringify({ database: SHIPMATE_DB, applied }));
        else io.out(applied.length ? applied.map((m) => `applied ${m.version}_${m.name}`).join('\n') : `${SHIPMATE_DB} is up to date`);
      } finally {
        db.close();
      }
    });

  program
    .command('config')
    .description('work with shipmate.yml')
    .command('check')
    .description('validate shipmate.yml (SHIPMATE_CONFIG) without starting')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const { SHIPMATE_CONFIG } = loadStorageSettings(io.env);
      try {
        const config = loadShipmateConfig(SHIPMATE_CONFIG, io.env);
        const services = Object.entries(config.services).map(([name, s]) => ({ name, environments: Object.keys(s.environments) }));
        if (opts.json) io.out(JSON.stringify({ file: SHIPMATE_CONFIG, valid: true, services }));
        else io.out(`${SHIPMATE_CONFIG} is valid: ${services.map((s) => `${s.name} (${s.environments.join(', ')})`).join('; ')}`);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        const problems = 'problems' in error ? (error.problems as string[]) : [error.userMessage];
        if (opts.json) io.out(JSON.stringify({ file: SHIPMATE_CONFIG, valid: false, problems }));
        else io.err(error.userMessage);
        exitCode = 1;
      }
    });

  const canary = program.command('canary').description('canary analysis');
  canary
    .command('judge')
    .description('compare canary metrics with the baseline (Mann-Whitney U) and print a verdict')
    .requiredOption('--input <file>', 'JSON file: confidence, thresholds, metrics, groupWeights')
    .option('--json', 'print JSON')
    .action((opts: { input: string; json?: boolean }) => {
      const result = runCanaryJudge(opts.input, { json: opts.json ?? false });
      if (result.exitCode === 0) io.out(result.output);
      else io.err(result.output); // one line, already "shipmate: ..."
      exitCode = result.exitCode;
    });

  canary
    .command('replay')
    .description("run a target's canary analyses over past metrics, measuring when a live canary would have")
    .requiredOption('--service <service>', 'service in shipmate.yml')
    .requiredOption('--env <env>', 'environment of the service')
    .requiredOption('--from <time>', 'start of the replay, RFC 3339 (2024-03-01T12:00:00Z)')
    .requiredOption('--to <time>', 'end of the replay, RFC 3339')
    .requiredOption('--version <version>', 'the canary version, {{version}} in queries')
    .option('--baseline <version>', 'the baseline version, {{baseline_version}} in queries')
    .option('--analysis <name>', 'replay only this analysis (any in analyses:, canary or not)')
    .option('--json', 'print JSON')
    .action(async (opts: CanaryReplayOptions) => {
      const { SHIPMATE_CONFIG } = loadStorageSettings(io.env);
      const result = await runCanaryReplay(loadShipmateConfig(SHIPMATE_CONFIG, io.env), opts);
      if (result.exitCode === 2) io.err(result.output); // one line, already "shipmate: ..."
      else io.out(result.output);
      exitCode = result.exitCode;
    });

  const slo = program.command('slo').description('service level objectives');
  slo
    .command('eval')
    .description('evaluate SLOs (Sloth spec) with multi-window, multi-burn-rate alerting against Prometheus')
    .option('--sloth <file>', 'Sloth spec file (version: "prometheus/v1"), one or more YAML documents')
    .option('--prometheus <url>', 'Prometheus (or compatible) URL; default: slo.provider of shipmate.yml, or http://localhost:9090 with --sloth')
    .option('--at <time>', 'evaluation time, RFC 3339 (default: now)')
    .option('--window <duration>', 'SLO period of the spec\'s SLOs, like Sloth\'s --default-slo-period', '30d')
    .option('--timeout <duration>', 'per query', '30s')
    .option('--json', 'print JSON')
    .action(async (opts: SloEvalOptions) => {
      const config = () => loadShipmateConfig(loadStorageSettings(io.env).SHIPMATE_CONFIG, io.env);
      const result = await runSloEval(opts, { now: () => new Date(), config });
      if (result.stdout) io.out(result.stdout);
      if (result.stderr) io.err(result.stderr);
      exitCode = result.exitCode;
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof ConfigError) {
      io.err(`shipmate: ${error.userMessage}`);
      return 2;
    }
    if (error instanceof AppError) {
      io.err(`shipmate: ${error.userMessage}`);
      return 1;
    }
    io.err(`shipmate: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
