import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';

export interface LaunchRequest {
  command: string;
  args: readonly string[];
  cwd?: string;
  /** The command's whole environment: it inherits nothing else. */
  env: Record<string, string>;
  /** SIGTERM to its process group after this long, SIGKILL `killGraceMs` later. */
  timeoutMs: number;
  killGraceMs: number;
  /** Output (stdout and stderr together) kept: the last this many characters. */
  maxBuffer: number;
}

export interface LaunchResult {
  code: number | null;
  signal: string | null;
  output: string;
  timedOut: boolean;
  /** The command could not be started (`start`), or the helper running it went away (`lost`). */
  failure?: { kind: 'start' | 'lost'; message: string };
}

/** Runs commands to completion, each in a process group of its own. */
export interface ProcessLauncher {
  run(request: LaunchRequest): Promise<LaunchResult>;
  /** SIGTERM to every command still running; the helper goes once they have ended (Shipmate is shutting down). */
  stop(): void;
}

const RUNNER = join(__dirname, 'command-runner.js');

/** What a command is answered with when the helper running it went away. */
const lostResult = (message: string): LaunchResult => ({ code: null, signal: null, output: '', timedOut: false, failure: { kind: 'lost', message } });

/**
 * Starts commands from a small helper process (command-runner.js) instead of Shipmate's own. A fork
 * copies the page tables of the process that forks, and afterwards every page that process writes
 * faults once: at Shipmate's ~150 MB that cost its event loop ~20 ms per deploy, a third of its CPU
 * under the ack benchmark's load. The helper is forked once, at the first command, and again after
 * it died; commands it was running when it died fail, saying so.
 */
export function createProcessLauncher(): ProcessLauncher {
  let helper: ChildProcess | undefined;
  let next = 1;
  /** Commands not answered yet, with the helper running each. */
  const pending = new Map<number, { child: ChildProcess; resolve: (result: LaunchResult) => void }>();
  const runningOn = (child: ChildProcess) => [...pending.values()].filter((p) => p.child === child).length;

  const lost = (child: ChildProcess, message: string) => {
    for (const [id, p] of pending) {
      if (p.child !== child) continue;
      pending.delete(id);
      p.resolve(lostResult(message));
    }
  };

  /** While nothing runs, the helper keeps neither Shipmate nor a test process alive. */
  const holdOpen = (child: ChildProcess, hold: boolean) => {
    const channel = child.channel as { ref(): void; unref(): void } | undefined;
    if (hold) {
      child.ref();
      channel?.ref();
    } else {
      child.unref();
      channel?.unref();
    }
  };

  const start = (): ChildProcess => {
    // No environment of Shipmate's (its tokens) reaches the helper; each command gets its own.
    // No flags of Shipmate's (--inspect, --require) either.
    const child = fork(RUNNER, [], { env: {}, execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    child.on('message', (message: { type: string; id: number; error?: string } & LaunchResult) => {
      if (message.type !== 'done') return;
      const waiting = pending.get(message.id);
      pending.delete(message.id);
      const { code, signal, output, timedOut, error } = message;
      waiting?.resolve({ code, signal, output, timedOut, ...(error === undefined ? {} : { failure: { kind: 'start' as const, message: error } }) });
      if (runningOn(child) === 0) {
        holdOpen(child, false);
        if (child !== helper && child.connected) child.disconnect(); // stopped, and every command has ended
      }
    });
    child.on('exit', (code, signal) => {
      if (helper === child) helper = undefined;
      lost(child, `the process that runs deploy commands stopped (${signal ?? `exit ${code}`})`);
    });
    child.on('error', (error) => {
      // A helper that never started (EMFILE, EAGAIN) emits no 'exit': forget it, so the next command forks again.
      if (child.pid !== undefined) return; // 'exit' follows, and says it
      if (helper === child) helper = undefined;
      lost(child, `could not start the process that runs deploy commands: ${error.message}`);
    });
    return child;
  };

  return {
    run(request) {
      helper ??= start();
      const child = helper;
      const id = next++;
      holdOpen(child, true);
      return new Promise((resolve) => {
        pending.set(id, { child, resolve });
        try {
          child.send({ type: 'run', id, ...request });
        } catch (error) {
          // The helper is gone already; its 'exit' settles the others, this one is told here.
          if (helper === child) helper = undefined;
          pending.delete(id);
          resolve(lostResult((error as Error).message));
        }
      });
    },
    stop() {
      if (!helper) return;
      // The commands end on SIGTERM and are answered as such; the helper goes once the last has.
      if (runningOn(helper) > 0) helper.send({ type: 'stop' });
      else helper.disconnect();
      helper = undefined;
    },
  };
}
