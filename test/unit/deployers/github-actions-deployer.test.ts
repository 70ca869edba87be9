import { githubActionsDeploy } from '../../../src/core/deploy-specs';
import type { DeployRequest } from '../../../src/core/ports';
import { createGithubActionsDeployer, titleHasKey, type GithubActionsDeps } from '../../../src/deployers/github-actions-deployer';
import { FakeGitHubActions, type FakeWorkflow } from '../../support/fake-github-actions';
import { ManualClock } from '../../support/manual-clock';

const TOKEN = 'ghs_shipmateTestToken0123456789';
const KEY = 'deploy:7:deploy';

const request = (overrides: Partial<DeployRequest> = {}): DeployRequest => ({
  deploymentId: 7,
  service: 'api',
  environment: 'prod',
  version: '1.4.2',
  requestedBy: 'U0ALICE',
  idempotencyKey: KEY,
  ...overrides,
});

/** A workflow whose run-name shows the key, as the deployer's docs recommend. */
const keyedWorkflow = (gh: FakeGitHubActions): FakeWorkflow =>
  gh.addWorkflow('acme/api', 'deploy.yml', {
    inputs: ['service', 'environment', 'version', 'shipmate_key'],
    runName: (i) => `Deploy ${i.service} ${i.version} to ${i.environment} [${i.shipmate_key}]`,
  });
const keyedInputs = { service: '{{service}}', environment: '{{environment}}', version: '{{version}}', shipmate_key: '{{idempotencyKey}}' };

describe('github-actions deployer', () => {
  let gh: FakeGitHubActions;
  let clock: ManualClock;

  beforeEach(async () => {
    gh = await new FakeGitHubActions(TOKEN).start();
    clock = new ManualClock();
    gh.clock = clock.now;
  });
  afterEach(() => gh.stop());

  function deployer(spec: Record<string, unknown> = {}, deps: Partial<GithubActionsDeps> = {}) {
    const parsed = githubActionsDeploy.parse({ type: 'github-actions', repository: 'acme/api', workflow: 'deploy.yml', pollInterval: '5ms', timeout: '10s', retries: 2, ...spec });
    return createGithubActionsDeployer(parsed, { clock: clock.now, github: { apiUrl: gh.url, token: TOKEN, timeout: 2_000 }, retryDelayMs: 1, ...deps });
  }

  describe('dispatching and following a run', () => {
    it('dispatches on the ref with the default inputs, follows the run until it completes and links it', async () => {
      gh.addWorkflow('acme/api', 'deploy.yml');
      gh.script({ completeAfterPolls: 3 });

      const outcome = await deployer().deploy(request());

      const run = gh.runs[0]!;
      expect(outcome).toEqual({ ok: true, summary: `acme/api deploy.yml run #1 succeeded: https://github.com/acme/api/actions/runs/${run.id}` });
      expect(gh.dispatches).toEqual([{ repository: 'acme/api', workflow: 'deploy.yml', ref: 'main', inputs: { service: 'api', environment: 'prod', version: '1.4.2' } }]);
      expect(run.polls).toBe(3);
      const lists = gh.requestsTo('list').map((r) => Object.fromEntries(r.query));
      // First a look for a run an earlier attempt started (a day back), then the run the dispatch started.
      expect(lists[0]).toMatchObject({ event: 'workflow_dispatch', created: '>=2026-11-22T10:00:00Z' });
      expect(lists[0]).not.toHaveProperty('branch');
      expect(lists.slice(1)).toEqual([expect.objectContaining({ event: 'workflow_dispatch', branch: 'main', created: '>=2026-11-23T09:59:00Z' })]);
      expect(gh.requests.map((r) => r.authorization)).toEqual(gh.requests.map(() => `token ${TOKEN}`));
      expect(gh.requestsTo('jobs')).toHaveLength(0);
    });

    it('fills the placeholders into the inputs the user configured, including the idempotency key', async () => {
      keyedWorkflow(gh).refs.push('release/2026-11');
      await expect(deployer({ ref: 'refs/heads/release/2026-11', inputs: { ...keyedInputs, version: 'v{{version}}' } }).deploy(request())).resolves.toMatchObject({ ok: true });
      expect(gh.dispatches).toEqual([
        { repository: 'acme/api', workflow: 'deploy.yml', ref: 'refs/heads/release/2026-11', inputs: { service: 'api', environment: 'prod', version: 'v1.4.2', shipmate_key: KEY } },
      ]);
      expect(gh.runs[0]!.displayTitle).toBe(`Deploy api v1.4.2 to prod [${KEY}]`);
      expect(gh.requestsTo('list').at(-1)!.query.get('branch')).toBe('release/2026-11');
    });

    it('keeps listing runs until the dispatched one shows up', async () => {
      gh.addWorkflow('acme/api', 'deploy.yml');
      gh.script({ hiddenForLists: 3 });
      await expect(deployer().deploy(request())).resolves.toMatchObject({ ok: true });
      expect(gh.requestsTo('list')).toHaveLength(1 + 4);
      expect(gh.runs[0]!.polls).toBe(1);
    });

    it("finds its run when GitHub's clock is behind Shipmate's", async () => {
      gh.addWorkflow('acme/api', 'deploy.yml');
      gh.clock = () => new Date(clock.now().getTime() - 20_000);
      await expect(deployer({ timeout: '500ms' }).deploy(request())).resolves.toMatchObject({ ok: true });
      expect(gh.runs[0]!.polls).toBe(1);
    });

    it('follows the run whose title carries the key, not a newer one someone else dispatched at the same moment', async () => {
      const workflow = keyedWorkflow(gh);
      let theirs: ReturnType<FakeGitHubActions['addRun']> | undefined;
      gh.onDispatch = () => {
        gh.onDispatch = undefined;
        theirs = gh.addRun(workflow, { displayTitle: 'Deploy api 9.9.9 to prod [deploy:70:deploy]', createdAt: new Date(clock.now().getTime() + 2_000), completeAfterPolls: Infinity });
      };
      const outcome = await deployer({ inputs: keyedInputs }).deploy(request());
      const ours = gh.runs[0]!;
      expect(outcome).toEqual({ ok: true, summary: `acme/api deploy.yml run #1 succeeded: ${gh.htmlUrl(ours)}` });
      expect(theirs!.polls).toBe(0);
    });

    it('without the key in run titles, follows the newest new run and ignores runs listed before the dispatch', async () => {
      const workflow = gh.addWorkflow('acme/api', 'deploy.yml');
      // GitHub's clock runs ahead of ours: a run started just before looks newer than ours.
      const before = gh.addRun(workflow, { createdAt: new Date(clock.now().getTime() + 30_000), status: 'in_progress', completeAfterPolls: Infinity });
      const outcome = await deployer().deploy(request());
      const ours = gh.runs.find((r) => r !== before)!;
      expect(outcome).toEqual({ ok: true, summary: `acme/api deploy.yml run #2 succeeded: ${gh.htmlUrl(ours)}` });
      expect(before.polls).toBe(0);
      expect(gh.dispatches).toHaveLength(1);
    });

    it.each([
      ['Deploy api 1.4.2 [deploy:7:deploy]', KEY, true],
      ['deploy:7:deploy', KEY, true],
      ['Deploy (deploy:7:deploy) again', KEY, true],
      ['Deploy [deploy:7:deploy-2]', KEY, false],
      ['Deploy [deploy:77:deploy]', KEY, false],
      ['Deploy [xdeploy:7:deploy]', KEY, false],
      ['release:3:deploy:api-gateway', 'release:3:deploy:api', false],
      ['Deploy', KEY, false],
      [null, KEY, false],
    ])('titleHasKey(%p, %p) is %p', (title, key, expected) => {
      expect(titleHasKey(title, key)).toBe(expected);
    });
  });

  describe('how a run ends', () => {
    it('reports a failed run with its conclusion, its link and the names of the failed jobs', async () => {
      gh.addWorkflow('acme/api', 'deploy.yml');
      gh.script({
        completeAfterPolls: 2,
        conclusion: 'failure',
        jobs: [
          { name: 'build', conclusion: 'success' },
          { name: 'migrate database', conclusion: 'failure' },
          { name: 'smoke test', conclusion: 'timed_out' },
          { name: 'notify', conclusion: 'skipped' },
        ],
      });
      const outcome = await deployer().deploy(request());
      expect(outcome).toEqual({
        ok: false,
        error: `acme/api deploy.yml run #1 concluded failure: ${gh.htmlUrl(gh.runs[0]!)}`,
        outputTail: 'migrate database: failure\nsmoke test: timed_out',
      });
      expect(gh.requestsTo('jobs')[0]!.query.get('filter')).toBe('latest');
    });

    it('reports a cancelled run without listing jobs', async () => {
      gh.addWorkflow('acme/api', 'deploy.yml');
      gh.script({ conclusion: 'cancelled' });
      const outcome = await deployer().deploy(request());
      expect(outcome).toEqual({ ok: false, error: `acme/api deploy.yml run #1 concluded cancelled: ${gh.htmlUrl(gh.runs[0]!)}` });
      expect(gh.requestsTo('jobs')).toHaveLength(0);
    });

    it('gives up on a run that does not complete within the timeout, with its link', async () => {
      gh.addWorkflow('acme/api', 'deploy.yml');
      gh.script({ completeAfterPolls: Infinity });
      const outcome = await deployer({ timeout: '150ms', pollInterval: '10ms' }).deploy(request());
      expect(outcome).toEqual({ ok: false, error: `acme/api deploy.yml run #1 did not finish within 150ms: ${gh.htmlUrl(gh.runs[0]!)}` });
      expect(gh.runs[0]!.polls).toBeGreaterThan(1);
      expect(gh.runs[0]!.status).toBe('in_progress');
    });

    it('gives up when the dispatched run never shows up', async () => {
      gh.addWorkflow('acme/api', 'deploy.yml');
      gh.script({ hiddenForLists: Infinity });
      const outcome = await deployer({ timeout: '100ms', pollInterval: '10ms' }).deploy(request());
      expect(outcome).toEqual({ ok: false, error: 'GitHub accepted the dispatch of deploy.yml in acme/api on main, but no run of it appeared within 100ms.' });
      expect(gh.requestsTo('list').length).toBeGreaterThan(2);
    });
  });

  describe('transient failures', () => {
    it('retries a dispatch that got a 502 and starts exactly one run', async () => {
      gh.addWorkflow('acme/api', 'deploy.yml');
      gh.failNext('dispatch', 502);
      await expect(deployer().deploy(request())).resolves.toMatchObject({ ok: true });
      expect(gh.requestsTo('dispatch')).toHaveLength(2);
      expect(gh.runs).toHaveLength(1);
    });

    it('retries reads that fail or hang while following the run', async () => {
      gh.addWorkflow('acme/api', 'deploy.yml');
      gh.script({ completeAfterPolls: 2 });
      gh.failNext('list', 503).failNext('run', 502, 'hang', 500);
      const outcome = await deployer({ retries: 3 }, { github: { apiUrl: gh.url, token: TOKEN, timeout: 100 } }).deploy(request());
      expect(outcome).toEqual({ ok: true, summary: `acme/api deploy.yml run #1 succeeded: ${gh.htmlUrl(gh.runs[0]!)}` });
      expect(gh.requestsTo('run')).toHaveLength(3 + 2);
    });

    it('keeps following a run through errors that outlast the retries of one poll', async () => {
      gh.addWorkflow('acme/api', 'deploy.yml');
      gh.failNext('run', 502, 502, 502, 502, 502);
      await expect(deployer({ retries: 1 }).deploy(request())).resolves.toMatchObject({ ok: true });
      expect(gh.requestsTo('run')).toHaveLength(6);
    });

    it('fails, without throwing, when the dispatch keeps failing after the retries', async () => {
      gh.addWorkflow('acme/api', 'deploy.yml');
      gh.failNext('dispatch', 502, 502, 502);
      const outcome = await deployer({ retries: 2 }).deploy(request());
      expect(outcome).toEqual({ ok: false, error: 'GitHub answered HTTP 502: Server Error for deploy.yml in acme/api, also after 2 retries.' });
      expect(gh.requestsTo('dispatch')).toHaveLength(3);
      expect(gh.runs).toHaveLength(0);
    });

    it('fails, without throwing, when GitHub cannot be reached', async () => {
      const gone = await new FakeGitHubActions(TOKEN).start();
      const url = gone.url;
      await gone.stop();
      const outcome = await deployer({ retries: 1, apiUrl: url }).deploy(request());
      expect(outcome.ok).toBe(false);
      expect(!outcome.ok && outcome.error).toMatch(new RegExp(`^could not reach GitHub at ${new URL(url).host.replace(/\./g, '\\.')} for deploy\\.yml in acme/api: \\S`));
    });
  });

  describe('failures a person has to fix', () => {
    it('names the repository and workflow when GitHub has no such workflow (404), without retrying', async () => {
      gh.addWorkflow('acme/api', 'deploy.yml');
      const outcome = await deployer({ workflow: 'deploy-prod.yml' }).deploy(request());
      expect(outcome).toEqual({
        ok: false,
        error:
          'GitHub found no workflow deploy-prod.yml in acme/api (HTTP 404: Not Found): check the repository and the workflow file name, and that the token can see the repository.',
      });
      expect(gh.requests).toHaveLength(1);
    });

    it('points at the token on 401 and never shows it', async () => {
      gh.addWorkflow('acme/api', 'deploy.yml');
      const wrong = 'ghp_wrongTokenWrongToken0123456789';
      const outcome = await deployer({}, { github: { apiUrl: gh.url, token: wrong, timeout: 2_000 } }).deploy(request());
      expect(outcome).toEqual({
        ok: false,
        error: "GitHub rejected the token for acme/api (HTTP 401: Bad credentials): check github.token, or the deploy's token, in shipmate.yml.",
      });
      expect(gh.requests).toHaveLength(1);
      expect(gh.requests[0]!.authorization).toBe(`token ${wrong}`);
    });

    it('names the permission to grant on 403', async () => {
      gh.addWorkflow('acme/api', 'deploy.yml');
      gh.failNext('dispatch', 403);
      const outcome = await deployer().deploy(request());
      expect(outcome.ok).toBe(false);
      expect(!outcome.ok && outcome.error).toMatch(/^GitHub refused access to deploy\.yml in acme\/api \(HTTP 403: Resource not accessible by integration.*\): the token needs the actions:write permission/);
      expect(gh.requestsTo('dispatch')).toHaveLength(1);
    });

    it.each([
      ['a workflow without a workflow_dispatch trigger', { dispatchable: false }, {}, "Workflow does not have 'workflow_dispatch' trigger"],
      ['a ref that does not exist', {}, { ref: 'mian' }, 'No ref found for: mian'],
      ['an input the workflow does not declare', {}, { inputs: keyedInputs }, 'Unexpected inputs provided: ["shipmate_key"]'],
    ])('explains what to check when GitHub refuses the dispatch (422): %s', async (_, workflow, spec, said) => {
      gh.addWorkflow('acme/api', 'deploy.yml', workflow);
      const outcome = await deployer(spec).deploy(request());
      const ref = (spec as { ref?: string }).ref ?? 'main';
      expect(outcome).toEqual({
        ok: false,
        error: `GitHub refused to dispatch deploy.yml in acme/api on ${ref} (HTTP 422: ${said}): check that the workflow has a workflow_dispatch trigger, that ${ref} exists, and that it declares every input in shipmate.yml.`,
      });
      expect(gh.requestsTo('dispatch')).toHaveLength(1);
      expect(gh.runs).toHaveLength(0);
    });

    it('never shows the token, even when an answer echoes it', async () => {
      gh.addWorkflow('acme/api', 'deploy.yml');
      gh.failNext('dispatch', { status: 400, body: { message: `Bad request from a proxy. Authorization: token ${TOKEN}` } });
      const outcome = await deployer().deploy(request());
      expect(outcome).toEqual({ ok: false, error: 'GitHub answered HTTP 400: Bad request from a proxy. Authorization: token *** for deploy.yml in acme/api.' });
    });

    it('uses the apiUrl and token of the deploy block over the shared GitHub settings', async () => {
      gh.addWorkflow('acme/api', 'deploy.yml');
      const outcome = await deployer({ apiUrl: gh.url, token: TOKEN }, { github: { apiUrl: 'http://127.0.0.1:9', token: 'ghp_sharedTokenNotThisOne00000', timeout: 2_000 } }).deploy(request());
      expect(outcome).toMatchObject({ ok: true });
      expect(gh.requests.every((r) => r.authorization === `token ${TOKEN}`)).toBe(true);
    });
  });

  describe('after a crash or restart (idempotency)', () => {
    it('follows the run an earlier attempt started instead of dispatching again', async () => {
      const workflow = keyedWorkflow(gh);
      const earlier = gh.addRun(workflow, { displayTitle: `Deploy api 1.4.2 to prod [${KEY}]`, createdAt: new Date(clock.now().getTime() - 3 * 3_600_000), status: 'in_progress', completeAfterPolls: 2 });
      const outcome = await deployer({ inputs: keyedInputs }).deploy(request());
      expect(outcome).toEqual({ ok: true, summary: `acme/api deploy.yml run #1 succeeded (a run an earlier attempt started): ${gh.htmlUrl(earlier)}` });
      expect(gh.requestsTo('dispatch')).toHaveLength(0);
      expect(earlier.polls).toBe(2);
    });

    it('reports a run the earlier attempt started that has already failed, without dispatching', async () => {
      const workflow = keyedWorkflow(gh);
      gh.addRun(workflow, { displayTitle: `Deploy api 1.4.2 to prod [${KEY}]`, status: 'completed', conclusion: 'failure', jobs: [{ name: 'deploy', conclusion: 'failure' }] });
      const outcome = await deployer({ inputs: keyedInputs }).deploy(request());
      expect(outcome).toEqual({ ok: false, error: `acme/api deploy.yml run #1 concluded failure (a run an earlier attempt started): ${gh.htmlUrl(gh.runs[0]!)}`, outputTail: 'deploy: failure' });
      expect(gh.requestsTo('dispatch')).toHaveLength(0);
    });

    it('dispatches again when the only run with the key is more than a day old, or belongs to another key', async () => {
      const workflow = keyedWorkflow(gh);
      gh.addRun(workflow, { displayTitle: `Deploy [${KEY}]`, createdAt: new Date(clock.now().getTime() - 25 * 3_600_000), status: 'completed', conclusion: 'success' });
      gh.addRun(workflow, { displayTitle: `Deploy [${KEY}-retry]`, status: 'completed', conclusion: 'success' });
      const outcome = await deployer({ inputs: keyedInputs }).deploy(request());
      expect(outcome).toEqual({ ok: true, summary: `acme/api deploy.yml run #3 succeeded: ${gh.htmlUrl(gh.runs[2]!)}` });
      expect(gh.dispatches).toHaveLength(1);
    });
  });
});
