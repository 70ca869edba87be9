import type { DeploySpec } from '../core/config';
import type { Deployer, DeployOutcome, DeployRequest } from '../core/ports';
import { formatDuration } from '../core/format-duration';
import type { ProcessLauncher } from './process-launcher';

type CommandSpec = Extract<DeploySpec, { type: 'command' }>;

/**
 * What a deploy command inherits from Shipmate's environment. Not the rest: Shipmate's own
 * tokens must not reach a script whose output is posted to Slack. Pass more with `env:` in
 * shipmate.yml (`${VAR}` reads Shipmate's environment there).
 */
const INHERITED = /^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LANGUAGE|TZ|TMPDIR|TERM|LC_[A-Z]+)$/;

/** How long a command gets after SIGTERM to clean up before SIGKILL. */
const KILL_GRACE_MS = 5_000;
/** Output kept in memory; the thread shows only the tail anyway. */
const MAX_BUFFER = 64 * 1024;

export function tailLines(output: string, lines: number): string {
  return output.replace(/\s+$/, '').split('\n').slice(-lines).join('\n');
}

/**
 * Runs the configured executable (no shell) with SHIPMATE_SERVICE, SHIPMATE_ENV, SHIPMATE_VERSION
 * and SHIPMATE_IDEMPOTENCY_KEY set. Exit 0 is success; on failure or timeout the thread gets the
 * tail of its output. It runs in its own process group so a timeout stops its children too, and
 * is started by `launcher` (a helper process), not by Shipmate's own process.
 */
/**
 * `command: /bin/sleep 600` names a file "/bin/sleep 600": the command runs without a shell. When no
 * such file exists, say how to write it instead.
 */
function argumentsHint(spec: CommandSpec, failure: string): string {
  const [file, ...words] = spec.command.trim().split(/\s+/);
  if (words.length === 0 || !failure.includes('ENOENT')) return '';
  const args = [...words, ...spec.args].map((word) => JSON.stringify(word)).join(', ');
  return `. Shipmate runs the command without a shell, so its arguments go under args in shipmate.yml: command: ${file}, args: [${args}]`;
}

export function createCommandDeployer(
  spec: CommandSpec,
  deps: { baseEnv: Readonly<Record<string, string | undefined>>; launcher: ProcessLauncher },
): Deployer {
  const { launcher } = deps;
  const inherited = Object.fromEntries(
    Object.entries(deps.baseEnv).filter((entry): entry is [string, string] => INHERITED.test(entry[0]) && entry[1] !== undefined),
  );
  return {
    /** Stops the process groups of commands still running (Shipmate is shutting down). */
    stop: () => launcher.stop(),
    async deploy(request: DeployRequest): Promise<DeployOutcome> {
      const result = await launcher.run({
        command: spec.command,
        args: spec.args,
        ...(spec.cwd ? { cwd: spec.cwd } : {}),
        env: {
          ...inherited,
          ...spec.env,
          SHIPMATE_SERVICE: request.service,
          SHIPMATE_ENV: request.environment,
          SHIPMATE_VERSION: request.version,
          SHIPMATE_DEPLOYMENT_ID: String(request.deploymentId),
          SHIPMATE_REQUESTED_BY: request.requestedBy,
          SHIPMATE_IDEMPOTENCY_KEY: request.idempotencyKey,
          ...(request.canary ? { SHIPMATE_WEIGHT: String(request.canary.weight), SHIPMATE_BASELINE_VERSION: request.canary.baselineVersion ?? '' } : {}),
        },
        timeoutMs: spec.timeout,
        killGraceMs: KILL_GRACE_MS,
        maxBuffer: MAX_BUFFER,
      });
      const tail = tailLines(result.output, spec.outputTailLines);
      if (result.failure?.kind === 'start') return { ok: false, error: `could not start ${spec.command}: ${result.failure.message}${argumentsHint(spec, result.failure.message)}` };
      if (result.failure) return { ok: false, error: `${spec.command} was cut off: ${result.failure.message}` };
      if (result.timedOut) return { ok: false, error: `${spec.command} did not finish within ${formatDuration(spec.timeout)} and was stopped`, outputTail: tail };
      if (result.code === 0) return { ok: true, summary: `${spec.command} exited 0.` };
      const how = result.code === null ? `was killed by ${result.signal}` : `exited with status ${result.code}`;
      return { ok: false, error: `${spec.command} ${how}`, outputTail: tail };
    },
  };
}
