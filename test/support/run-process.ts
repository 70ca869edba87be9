import { type ChildProcess, type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The built CLI; `npm test` builds it before jest runs. */
export const CLI = join(__dirname, '..', '..', 'dist', 'src', 'cli', 'shipmate.js');

export function requireBuiltCli(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it first)`);
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion with exactly the given environment (plus PATH). */
export function runCliProcess(args: string[], env: Record<string, string>, cwd?: string): Promise<Finished> {
  requireBuiltCli();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts the CLI and resolves once a line of its stdout matches. */
export function startCliProcess(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ child: ChildProcessWithoutNullStreams; match: RegExpMatchArray; output: () => string }> {
  requireBuiltCli();
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      const match = output.match(ready);
      if (match) {
        child.stdout.off('data', onData);
        child.stdout.on('data', (more: Buffer) => (output += more.toString()));
        resolve({ child, match, output: () => output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => reject(new Error(`exited with ${code} before it was ready:\n${output}`)));
  });
}

/**
 * `shipmate start` in HTTP mode on a random port, against a Slack emulator, with its database and
 * shipmate.yml in `dir`. Resolves once it serves, with its URL.
 */
export async function startShipmateProcess(options: { dir: string; botToken: string; slackApiUrl: string; signingSecret: string }) {
  const started = await startCliProcess(
    ['start'],
    {
      SLACK_BOT_TOKEN: options.botToken,
      SLACK_SIGNING_SECRET: options.signingSecret,
      SLACK_API_URL: options.slackApiUrl,
      PORT: '0',
      SHIPMATE_DB: join(options.dir, 'shipmate.db'),
      SHIPMATE_CONFIG: join(options.dir, 'shipmate.yml'),
    },
    /health checks on port (\d+)/,
  );
  return { child: started.child, url: `http://127.0.0.1:${started.match[1]}` };
}

/** Sends the signal and resolves once the process is gone. */
export async function signalAndWait(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  const closed = new Promise((resolve) => child.once('close', resolve));
  child.kill(signal);
  await closed;
}
