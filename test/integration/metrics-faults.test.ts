import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startHarness, type Harness } from '../support/harness';

/**
 * A canary whose metrics backend is down (nothing listens) or slow (it never answers within the
 * provider's timeout). Missing data is never a pass: the canary stays at its step, then the
 * analysis ends in error and the canary is rolled back, with the reason in the thread.
 */

const SCRIPT = join(__dirname, '..', 'fixtures', 'canary-script.sh');
const config = (prometheusUrl: string) => (dir: string) => `
defaults: { channel: C0DEPLOYS }
metrics:
  providers:
    prom: { type: prometheus, url: "${prometheusUrl}", timeout: 200ms }
analyses:
  health:
    interval: 1m
    count: 5
    consecutiveErrorLimit: 2
    metrics:
      - name: error-rate
        provider: prom
        query: 'sum(rate(http_requests_total{code="500"}[1m]))'
        successCondition: result < 0.05
services:
  api:
    environments:
      prod:
        deploy: { type: command, command: ${SCRIPT}, env: { RECORD_FILE: ${join(dir, 'calls.txt')} } }
        strategy: canary
        steps: [{ weight: 20 }, { analysis: health }, { weight: 100 }]
`;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('a canary whose metrics backend misbehaves', () => {
  let h: Harness;
  let server: Server | undefined;
  afterEach(async () => {
    await h.stop();
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });

  const calls = () => readFileSync(join(h.dir, 'calls.txt'), 'utf8').trim().split('\n');
  const card = (id: number) => h.emulator.messagesIn('C0DEPLOYS').find((m) => JSON.stringify(m.blocks).includes(`Deploy #${id} `))!;
  const thread = (id: number) => h.emulator.repliesTo('C0DEPLOYS', card(id).ts).map((m) => String(m.text));
  const canary = () => JSON.parse(h.shipmate.db.prepare('SELECT canary FROM deployments WHERE id = 2').pluck().get() as string) as { status: string };

  async function canaryAgainst(url: string) {
    h = await startHarness(config(url));
    await h.command('api@1.0.0 to prod', { user_id: 'U0ALICE' });
    await h.settle();
    await h.command('api@1.1.0 to prod', { user_id: 'U0ALICE' });
    await h.settle();
    for (let minute = 0; minute < 6; minute++) {
      h.clock.advance(60_000);
      h.shipmate.tick();
      await h.settle();
    }
  }

  function expectNeverPromoted() {
    expect(calls()).toEqual(['1.0.0 - -', '1.1.0 20 1.0.0', '1.1.0 0 1.0.0']);
    expect(canary().status).not.toBe('promoted');
    expect(h.shipmate.db.prepare('SELECT status FROM deployments WHERE id = 2').pluck().get()).toBe('failed');
  }

  it('down: measurements are errors, the step is never passed, and the canary rolls back', async () => {
    const closed = createServer();
    const url = await listen(closed);
    await new Promise((resolve) => closed.close(resolve)); // a port where nothing listens now
    await canaryAgainst(url);
    expectNeverPromoted();
    const measurements = thread(2).filter((t) => t.startsWith('Analysis health, measurement'));
    expect(measurements.length).toBeGreaterThanOrEqual(3);
    expect(measurements.every((t) => /error/i.test(t))).toBe(true);
    expect(thread(2).join('\n')).toMatch(/ECONNREFUSED|refused|unreachable|could not reach/i);
  });

  it('slow: a backend that never answers within the timeout counts as an error, not as data', async () => {
    server = createServer(() => undefined); // accepts, never answers
    await canaryAgainst(await listen(server));
    expectNeverPromoted();
    expect(thread(2).join('\n')).toMatch(/timeout|timed out|did not answer/i);
  });
});
