import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCliProcess } from '../support/run-process';

/** `shipmate console` as a real process: commands typed on stdin, buttons picked by number. */
describe('shipmate console', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'shipmate-console-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('deploys, approves as another person by picking the button, and quits', async () => {
    const { child, output } = await startCliProcess(['console', '--data', dir], {}, /:help, :quit/);
    const until = async (pattern: RegExp, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(output())) {
        if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${output()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      return output().match(pattern)!;
    };
    child.stdin.write('/deploy api@2.0.0 to prod\n');
    await until(/\(only you\) Deploy #1 \(api 2\.0\.0 to prod\) needs 1 approval/);
    const approve = await until(/\[(\d+)\] Approve/);
    child.stdin.write(':user bob\n');
    await until(/You are bob \(approver\)\./);
    child.stdin.write(`${approve[1]}\n`);
    await until(/Succeeded in/);
    child.stdin.write(':quit\n');
    const [code] = (await once(child, 'close')) as [number];
    expect(code).toBe(0);
  }, 60_000);
});
