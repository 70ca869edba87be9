import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHarness, type Harness } from '../support/harness';

const SCRIPT = join(__dirname, '..', 'fixtures', 'deploy-script.sh');

const configFor = (behaviour: string, timeout = '30s') => (dir: string) => `
defaults:
  channel: C0DEPLOYS
services:
  worker:
    environments:
      staging:
        deploy:
          type: command
          command: ${SCRIPT}
          timeout: ${timeout}
          outputTailLines: 4
          env:
            DEPLOY_BEHAVIOUR: ${behaviour}
            RECORD_FILE: ${join(dir, 'record.txt')}
`;

const finished = (h: Harness) =>
  h.emulator.waitFor('chat.update', (a) => /(Succeeded|Failed)$/.test(String(a.text)));
const threadReply = (h: Harness) => h.emulator.waitFor('chat.postMessage', (a) => a.thread_ts !== undefined);

describe('/deploy with a command deployer', () => {
  let h: Harness;
  afterEach(() => h.stop());

  it('runs the executable with the service, environment, version and idempotency key in its environment', async () => {
    h = await startHarness(configFor('succeed'));
    await h.command('worker@2.0.0 to staging');
    expect((await finished(h)).args.text).toBe('worker 2.0.0 → staging: Succeeded');
    expect(readFileSync(join(h.dir, 'record.txt'), 'utf8')).toBe('worker staging 2.0.0 deploy:1:deploy\n');
    expect((await threadReply(h)).args.text).toContain('worker 2.0.0 is live in staging');
  });

  it('fails with the exit status and puts the tail of the output in the thread', async () => {
    h = await startHarness(configFor('fail'));
    await h.command('worker@2.0.1 to staging');
    expect((await finished(h)).args.text).toBe('worker 2.0.1 → staging: Failed');
    const reply = await threadReply(h);
    expect(reply.args.text).toMatch(/^Deploy failed after .*: .*deploy-script\.sh exited with status 3$/);
    const blocks = JSON.stringify(reply.args.blocks);
    expect(blocks).toContain('error: image api:2.0.1 not found');
    expect(blocks).toContain('step 30 of 30');
    expect(blocks).not.toContain('step 27 of 30'); // only the last 4 lines
    await h.shipmate.worker.idle();
    expect(h.shipmate.db.prepare('SELECT status, error FROM deployments').get()).toEqual({
      status: 'failed',
      error: expect.stringContaining('exited with status 3'),
    });
  });

  it('stops a command that outlives its timeout and says so', async () => {
    h = await startHarness(configFor('hang', '300ms'));
    await h.command('worker@2.0.2 to staging');
    await finished(h);
    const reply = await threadReply(h);
    expect(reply.args.text).toContain('did not finish within 300ms and was stopped');
    expect(JSON.stringify(reply.args.blocks)).toContain('waiting for rollout');
  });
});
