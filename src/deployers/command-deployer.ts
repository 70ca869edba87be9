import { spawn } from 'node:child_process';
import type { DeploySpec } from '../core/config';
import type { Deployer, DeployOutcome, DeployRequest } from '../core/ports';
import { formatDuration } from '../core/format-duration';

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
 * tail of its output. It runs in its own process group so a timeout stops its children too.
 */
export function createCommandDeployer(spec: CommandSpec, deps: { baseEnv: Readonly<Record<string, string | undefined>> }): Deployer {
  const running = new Set<number>();
  return {
    /** Stops the process groups of commands still running (Shipmate is shutting down). */
    stop() {
      for (const pid of running) {
        try {
          process.kill(-pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    },
    deploy(request: DeployRequest): Promise<DeployOutcome> {
      return new Promise((resolve) => {
        let output = '';
        let timedOut = false;
        const child = spawn(spec.command, spec.args, {
          cwd: spec.cwd,
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {
            ...Object.fromEntries(Object.entries(deps.baseEnv).filter(([name]) => INHERITED.test(name))),
            ...spec.env,
            SHIPMATE_SERVICE: request.service,
            SHIPMATE_ENV: request.environment,
            SHIPMATE_VERSION: request.version,
            SHIPMATE_DEPLOYMENT_ID: String(request.deploymentId),
            SHIPMATE_REQUESTED_BY: request.requestedBy,
            SHIPMATE_IDEMPOTENCY_KEY: request.idempotencyKey,
            ...(request.canary ? { SHIPMATE_WEIGHT: String(request.canary.weight), SHIPMATE_BASELINE_VERSION: request.canary.baselineVersion ?? '' } : {}),
          },
        });
        const pid = child.pid;
        if (pid) running.add(pid);
        const collect = (chunk: Buffer): void => {
          output = (output + chunk.toString('utf8')).slice(-MAX_BUFFER);
        };
        child.stdout.on('data', collect);
        child.stderr.on('data', collect);

        const signalGroup = (signal: NodeJS.Signals): void => {
          try {
            if (child.pid) process.kill(-child.pid, signal);
          } catch {
            // already gone
          }
        };
        let killTimer: NodeJS.Timeout | undefined;
        const timer = setTimeout(() => {
          timedOut = true;
          signalGroup('SIGTERM');
          killTimer = setTimeout(() => signalGroup('SIGKILL'), KILL_GRACE_MS);
        }, spec.timeout);

        child.on('error', (error) => {
          clearTimeout(timer);
          resolve({ ok: false, error: `could not start ${spec.command}: ${error.message}` });
        });
        child.on('close', (code, signal) => {
          if (pid) running.delete(pid);
          clearTimeout(timer);
          clearTimeout(killTimer);
          const tail = tailLines(output, spec.outputTailLines);
          if (timedOut) {
            resolve({ ok: false, error: `${spec.command} did not finish within ${formatDuration(spec.timeout)} and was stopped`, outputTail: tail });
          } else if (code === 0) {
            resolve({ ok: true, summary: `${spec.command} exited 0.` });
          } else {
            const how = code === null ? `was killed by ${signal}` : `exited with status ${code}`;
            resolve({ ok: false, error: `${spec.command} ${how}`, outputTail: tail });
          }
        });
      });
    },
  };
}
