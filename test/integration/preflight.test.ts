import { FakeGitHub } from '../support/fake-github';
import { startHarness, type Harness } from '../support/harness';
import { WebhookTarget } from '../support/webhook-target';

const TOKEN = 'ghp_test0123456789';
const config = (target: WebhookTarget, github: FakeGitHub) => `
defaults: { channel: C0DEPLOYS }
breakGlass: { users: [U0CAROL] }
github: { apiUrl: "${github.url}", token: "\${GITHUB_TOKEN}" }
services:
  api:
    repository: acme/api
    environments:
      staging:
        deploy: { type: webhook, url: "${target.url}", secret: "preflight-secret-0123456789" }
      prod:
        requireGreenChecks: true
        deploy: { type: webhook, url: "${target.url}", secret: "preflight-secret-0123456789" }
`;

type Ack = { text: string };

describe('pre-flight checks on GitHub before production', () => {
  let target: WebhookTarget;
  let github: FakeGitHub;
  let h: Harness;
  const ack = async (text: string, user = 'U0ALICE') => ((await h.command(text, { user_id: user })).json as Ack).text;
  const deployCount = () => h.shipmate.db.prepare('SELECT COUNT(*) FROM deployments').pluck().get();

  beforeEach(async () => {
    target = await new WebhookTarget().start();
    github = await new FakeGitHub(TOKEN).start();
    github.refs.set('acme/api@v1.4.2', {
      statuses: [{ context: 'ci/build', state: 'success' }],
      checkRuns: [{ name: 'unit', status: 'completed', conclusion: 'success' }, { name: 'lint', status: 'completed', conclusion: 'skipped' }],
    });
    github.refs.set('acme/api@v1.4.3', {
      statuses: [{ context: 'ci/build', state: 'failure', description: 'exit 1' }],
      checkRuns: [{ name: 'unit', status: 'completed', conclusion: 'success' }, { name: 'e2e', status: 'in_progress', conclusion: null }],
    });
    github.refs.set(`acme/api@${'b'.repeat(40)}`, { statuses: [{ context: 'ci/build', state: 'success' }], checkRuns: [] });
    h = await startHarness(config(target, github), { GITHUB_TOKEN: TOKEN });
  });
  afterEach(async () => {
    await h.stop();
    await target.stop();
    await github.stop();
  });

  it('deploys a version whose commit checks are green, asking GitHub with the token', async () => {
    expect(await ack('api@1.4.2 to prod')).toContain('Deploying api 1.4.2 to prod');
    expect(github.requests.map((r) => r.path)).toEqual(['/repos/acme/api/commits/v1.4.2/status', '/repos/acme/api/commits/v1.4.2/check-runs']);
    expect(github.requests.every((r) => r.authorization === `token ${TOKEN}`)).toBe(true);
  });

  it('refuses a version with failing or unfinished checks, listing them, and starts nothing', async () => {
    const text = await ack('api@1.4.3 to prod');
    expect(text).toContain('acme/api@v1.4.3 does not have green checks, so it cannot go to prod:');
    expect(text).toContain('• ci/build: failure (exit 1)');
    expect(text).toContain('• e2e: in_progress');
    expect(text).not.toContain('• unit');
    expect(text).toContain('--force "reason"');
    expect(deployCount()).toBe(0);
  });

  it('refuses a version that is not a tag in the repository', async () => {
    expect(await ack('api@9.9.9 to prod')).toContain('v9.9.9 is not a tag or commit in acme/api');
  });

  it('uses a commit SHA as it is', async () => {
    expect(await ack(`api@${'b'.repeat(40)} to prod`)).toContain('Deploying');
  });

  it('refuses a deploy to a locked target at once, without asking GitHub about a version it will not deploy', async () => {
    expect(await ack('lock prod api "db migration running"')).toContain('Locked api in prod');
    expect(await ack('api@1.4.2 to prod')).toContain('api in prod is locked by <@U0ALICE>');
    expect(github.requests).toHaveLength(0);
    expect(deployCount()).toBe(0);
  });

  it('does not check environments that do not require it', async () => {
    expect(await ack('api@1.4.3 to staging')).toContain('Deploying');
    expect(github.requests).toHaveLength(0);
  });

  it('lets only allowed people force past failing checks, and audits it', async () => {
    expect(await ack('api@1.4.3 to prod --force "INC-42 fix, e2e is flaky"')).toContain('Only people listed under breakGlass');
    expect(await ack('api@1.4.3 to prod --force "INC-42 fix, e2e is flaky"', 'U0CAROL')).toContain('Deploying api 1.4.3 to prod');
    const audit = h.shipmate.db.prepare("SELECT actor, detail FROM audit_log WHERE action = 'preflight.forced'").get() as { actor: string; detail: string };
    expect(audit.actor).toBe('U0CAROL');
    expect(JSON.parse(audit.detail)).toMatchObject({ reason: 'INC-42 fix, e2e is flaky', problems: ['ci/build: failure (exit 1)', 'e2e: in_progress'] });
  });
});

describe('a slash command waiting on a slow GitHub', () => {
  it('is acked at once, and answered through response_url when the checks are in', async () => {
    const target = await new WebhookTarget().start();
    const github = await new FakeGitHub(TOKEN).start();
    github.refs.set('acme/api@v1.4.2', { statuses: [{ context: 'ci/build', state: 'success' }], checkRuns: [] });
    github.delayMs = 150;
    const h = await startHarness(config(target, github), { GITHUB_TOKEN: TOKEN }, { ackWithinMs: 50 });
    try {
      const ack = await h.command('api@1.4.2 to prod');
      expect((ack.json as Ack).text).toBe(':hourglass_flowing_sand: Checking… the answer follows in a moment.');
      const answer = await h.emulator.waitFor('response_url');
      expect(answer.args).toMatchObject({ response_type: 'ephemeral', replace_original: true });
      expect(String(answer.args.text)).toContain('Deploying api 1.4.2 to prod');
      await h.settle();
    } finally {
      await h.stop();
      await target.stop();
      await github.stop();
    }
  });
});
