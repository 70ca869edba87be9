import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A server process the benchmark started, with what it printed (for errors). */
export interface AppProcess {
  url: string;
  pid: number;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<ChildProcess>();

/** Children still alive when the benchmark exits early are not left behind. */
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  await once(probe, 'close');
  return port;
}

function httpStatus(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = get(url, { timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/**
 * Starts `node <script> ...args` on 127.0.0.1:`port` and waits (at most `readyWithinMs`) until
 * `readyPath` answers 200, or answers at all with `anyAnswer` (a server with no health route).
 */
export async function startNodeProcess(
  script: string,
  args: string[],
  env: Record<string, string>,
  port: number,
  { readyPath, anyAnswer = false, readyWithinMs = 20_000 }: { readyPath: string; anyAnswer?: boolean; readyWithinMs?: number },
): Promise<AppProcess> {
  const child = spawn(process.execPath, [script, ...args], { env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4_000)));
  child.stderr.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4_000)));
  const exited = once(child, 'exit').then(() => running.delete(child));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (graceMs = 5_000) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(killer);
    }
  };
  const deadline = Date.now() + readyWithinMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${script} exited (${child.exitCode ?? child.signalCode}) before it served:\n${output}`);
    const status = await httpStatus(`${url}${readyPath}`);
    if (status === 200 || (anyAnswer && status !== undefined)) return { url, pid: child.pid!, output: () => output, stop };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stop();
  throw new Error(`${script} did not serve ${readyPath} within ${readyWithinMs} ms:\n${output}`);
}

/** Resident set size and its peak, in bytes, from /proc/<pid>/status (Linux). */
export function residentMemory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** USER_HZ, the unit of /proc/<pid>/stat's CPU times: 100 on every Linux that Node supports. */
const TICKS_PER_SECOND = 100;

function stat(pid: number | string): { command: string; cpuSeconds: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command is in parentheses and may hold spaces; the fields after it are space-separated.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { command: text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND };
  } catch {
    return undefined; // gone meanwhile
  }
}

/** CPU seconds (user + system) a process has used so far: other work on the machine moves it far less than latency. */
export function cpuSeconds(pid: number): number {
  return stat(pid)?.cpuSeconds ?? NaN;
}

/** CPU seconds used so far by this process's children running `command` (Linux). */
export function childCpuSeconds(command: string): number {
  const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return children.map((pid) => stat(pid)).reduce((sum, s) => (s?.command === command ? sum + s.cpuSeconds : sum), 0);
}

/** Memory no other process shares, in bytes (Private_Clean + Private_Dirty of /proc/<pid>/smaps_rollup). */
export function privateMemory(pid: number): number {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? 0) * 1024;
  return kb('Private_Clean') + kb('Private_Dirty');
}

/** PIDs of the children of `pid` whose command line contains `marker`. */
export function childrenRunning(pid: number, marker: string): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return children.filter((child) => {
    try {
      return readFileSync(`/proc/${child}/cmdline`, 'utf8').includes(marker);
    } catch {
      return false; // gone meanwhile
    }
  });
}
