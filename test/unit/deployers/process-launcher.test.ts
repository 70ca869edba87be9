import { readFileSync } from 'node:fs';
import { createProcessLauncher, type LaunchRequest, type ProcessLauncher } from '../../../src/deployers/process-launcher';

const request = (script: string, overrides: Partial<LaunchRequest> = {}): LaunchRequest => ({
  command: 'sh',
  args: ['-c', script],
  env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  timeoutMs: 10_000,
  killGraceMs: 1_000,
  maxBuffer: 1_000,
  ...overrides,
});

/** Whether a process still runs: a zombie waiting for a parent to reap it does not (Linux). */
const running = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe('the process launcher', () => {
  let launcher: ProcessLauncher;
  beforeEach(() => (launcher = createProcessLauncher()));
  afterEach(() => launcher.stop());

  it('runs a command from its helper process, not from this one, with the environment given and nothing else', async () => {
    process.env.SHIPMATE_LAUNCHER_TEST_SECRET = 'xoxb-not-for-commands';
    const result = await launcher.run(request('echo "parent=$PPID dir=$(pwd) color=$COLOR secret=${SHIPMATE_LAUNCHER_TEST_SECRET:-none}"; exit 3', { env: { PATH: process.env.PATH!, COLOR: 'blue' }, cwd: '/tmp' }));
    delete process.env.SHIPMATE_LAUNCHER_TEST_SECRET;

    expect(result).toMatchObject({ code: 3, signal: null, timedOut: false });
    expect(result.failure).toBeUndefined();
    const parent = Number(/parent=(\d+)/.exec(result.output)![1]);
    expect(parent).not.toBe(process.pid);
    expect(result.output).toContain('dir=/tmp color=blue secret=none');
  });

  it('runs commands side by side through one helper, and keeps the last maxBuffer characters of output', async () => {
    const results = await Promise.all([1, 2, 3].map((n) => launcher.run(request(`sleep 0.2; printf '%0${2_000}d' ${n}; echo "ppid=$PPID"`, { maxBuffer: 20 }))));

    expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
    expect(results.every((r) => r.output.length === 20)).toBe(true);
    expect(new Set(results.map((r) => /ppid=(\d+)/.exec(r.output)![1])).size).toBe(1);
  });

  it('says a command could not start', async () => {
    const result = await launcher.run(request('', { command: '/nonexistent/deploy.sh', args: [] }));

    expect(result.failure).toEqual({ kind: 'start', message: expect.stringContaining('ENOENT') });
  });

  it('stops a command that runs too long, children included, and says it timed out', async () => {
    const result = await launcher.run(request('sleep 30 & echo "child=$!"; wait', { timeoutMs: 200 }));

    expect(result).toMatchObject({ timedOut: true, signal: 'SIGTERM' });
    const child = Number(/child=(\d+)/.exec(result.output)![1]);
    expect(running(child)).toBe(false);
  });

  it('keeps running when Shipmate’s process group gets SIGINT or SIGTERM: Shipmate stops its commands itself', async () => {
    const longer = launcher.run(request('echo "helper=$PPID"; sleep 0.3; echo done'));
    const { output } = await launcher.run(request('echo "helper=$PPID"'));
    const helper = Number(/helper=(\d+)/.exec(output)![1]);
    process.kill(helper, 'SIGINT');
    process.kill(helper, 'SIGTERM');

    expect(await longer).toMatchObject({ code: 0, timedOut: false });
    expect((await longer).output).toContain('done');
  });

  it('fails the commands of a helper that died, and starts a new one for the next', async () => {
    const cutOff = launcher.run(request('echo "helper=$PPID"; sleep 30'));
    const first = await launcher.run(request('echo "helper=$PPID"'));
    const helper = Number(/helper=(\d+)/.exec(first.output)![1]);
    process.kill(helper, 'SIGKILL');

    expect(await cutOff).toEqual({ code: null, signal: null, output: '', timedOut: false, failure: { kind: 'lost', message: 'the process that runs deploy commands stopped (SIGKILL)' } });
    const next = await launcher.run(request('echo "helper=$PPID"'));
    expect(next.code).toBe(0);
    expect(Number(/helper=(\d+)/.exec(next.output)![1])).not.toBe(helper);
  });
});
