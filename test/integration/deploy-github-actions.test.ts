import { FakeGitHubActions } from '../support/fake-github-actions';
import { startHarness, type Harness } from '../support/harness';

const TOKEN = 'ghs_integrationToken0123456789';

const config = (gh: FakeGitHubActions) => `
defaults: { channel: C0DEPLOYS }
github: { apiUrl: "${gh.url}", token: "\${GITHUB_TOKEN}" }
services:
  api:
    channel: C0APIDEPLOY
    environments:
      staging:
        deploy:
          type: github-actions
          repository: acme/api
          workflow: deploy.yml
          ref: main
          inputs: { service: "{{service}}", environment: "{{environment}}", version: "{{version}}", shipmate_key: "{{idempotencyKey}}" }
          pollInterval: 10ms
          timeout: 5s
`;

describe('/deploy with a github-actions deployer', () => {
  let gh: FakeGitHubActions;
  let h: Harness;

  beforeEach(async () => {
    gh = await new FakeGitHubActions(TOKEN).start();
    gh.addWorkflow('acme/api', 'deploy.yml', {
      inputs: ['service', 'environment', 'version', 'shipmate_key'],
      runName: (i) => `Deploy ${i.service} ${i.version} to ${i.environment} [${i.shipmate_key}]`,
    });
    h = await startHarness(config(gh), { GITHUB_TOKEN: TOKEN });
    gh.clock = h.clock.now;
  });
  afterEach(async () => {
    await h.stop();
    await gh.stop();
  });

  it('dispatches the workflow with the deploy key, follows the run and links it in the thread', async () => {
    gh.script({ completeAfterPolls: 3 });
    await h.command('api@1.4.2 to staging');
    await h.emulator.waitFor('chat.update', (a) => String(a.text).endsWith('Succeeded'));
    const reply = await h.emulator.waitFor('chat.postMessage', (a) => a.thread_ts !== undefined);
    const run = gh.runs[0]!;
    expect(String(reply.args.text)).toContain(`acme/api deploy.yml run #1 succeeded: ${gh.htmlUrl(run)}`);
    expect(gh.dispatches).toEqual([
      { repository: 'acme/api', workflow: 'deploy.yml', ref: 'main', inputs: { service: 'api', environment: 'staging', version: '1.4.2', shipmate_key: 'deploy:1:deploy' } },
    ]);
    expect(run.polls).toBe(3);
    expect(gh.requests.every((r) => r.authorization === `token ${TOKEN}`)).toBe(true);
    await h.shipmate.worker.idle();
    expect(h.shipmate.db.prepare('SELECT status FROM deployments WHERE id = 1').pluck().get()).toBe('succeeded');
  });

  it('marks the deploy failed with the run link and lists the failed jobs in the thread', async () => {
    gh.script({ conclusion: 'failure', jobs: [{ name: 'build', conclusion: 'success' }, { name: 'migrate', conclusion: 'failure' }] });
    await h.command('api@1.4.2 to staging');
    const failed = await h.emulator.waitFor('chat.update', (a) => String(a.text).endsWith('Failed'));
    expect(JSON.stringify(failed.args.blocks)).toContain(`concluded failure: ${gh.htmlUrl(gh.runs[0]!)}`);
    const reply = await h.emulator.waitFor('chat.postMessage', (a) => a.thread_ts !== undefined);
    const thread = JSON.stringify(reply.args);
    expect(thread).toContain('migrate: failure');
    expect(thread).not.toContain('build: success');
    expect(thread).not.toContain(TOKEN);
    await h.shipmate.worker.idle();
    expect(h.shipmate.db.prepare('SELECT status FROM deployments WHERE id = 1').pluck().get()).toBe('failed');
  });
});
