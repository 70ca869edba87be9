import { deployCommand, deployUsage, isVersion, parseDeploy, type DeployInput } from '../../../commands/deploy-command';
import type { Reply } from '../../../commands/reply';
import { deployFlow, deployFlowStates } from '../../../flows/deploy-flow';
import { DeployService } from '../../../flows/deploy-service';
import { FlowRunner } from '../../../flows/flow-runner';
import { parseShipmateConfig, type ShipmateConfig } from '../../../src/core/config';
import { AppError, ConflictError, ValidationError } from '../../../src/core/errors';
import type { Actor, Deployment, DeploymentStatus } from '../../../src/core/types';
import { ManualClock } from '../../support/manual-clock';
import { FakeAuditLog } from '../fakes/fake-audit-log';
import { FakeDeploymentStore } from '../fakes/fake-deployment-store';
import { FakeEffectQueue } from '../fakes/fake-effect-queue';
import { FakeFlowEventLog } from '../fakes/fake-flow-event-log';
import { FakeUnitOfWork } from '../fakes/fake-unit-of-work';

const webhook = { type: 'webhook', url: 'https://deployer.example.com/hook', secret: '0123456789abcdef0123' };

function testConfig(): ShipmateConfig {
  const result = parseShipmateConfig(
    {
      defaults: { channel: '#deploys' },
      services: {
        api: {
          channel: 'C0456APITEAM',
          environments: { staging: { deploy: webhook }, prod: { channel: 'C0789PRODDEPLOYS', deploy: webhook } },
        },
        web: { environments: { prod: { deploy: webhook } } },
      },
    },
    {},
  );
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.config;
}

const ALICE: Actor = { userId: 'U0ALICE', source: 'slash_command' };

function setup() {
  const clock = new ManualClock();
  const store = new FakeDeploymentStore();
  const queue = new FakeEffectQueue();
  const audit = new FakeAuditLog();
  const uow = new FakeUnitOfWork();
  const runner = new FlowRunner({
    uow,
    queue,
    events: new FakeFlowEventLog(),
    audit,
    clock: clock.now,
    flows: [
      {
        definition: deployFlow,
        states: deployFlowStates(store),
      },
    ],
  });
  const deployService = new DeployService({ store, audit, uow, runner, clock: clock.now });
  const deps = { config: testConfig(), deployments: store, deployService };

  /** Stores a deploy that already ran, `minutesAgo` before the clock's now. */
  function seed(service: string, environment: string, version: string, status: DeploymentStatus, error: string | null = null): Deployment {
    const d = store.create({ service, environment, version, requestedBy: 'U0BOB', source: 'slash_command', channel: '#deploys', requestKey: null }, clock.now());
    clock.advance(1_000);
    const startedAt = clock.now();
    clock.advance(60_000);
    const finishedAt = status === 'succeeded' || status === 'failed' ? clock.now() : null;
    const saved: Deployment = { ...d, status, startedAt: status === 'queued' ? null : startedAt, finishedAt, error };
    store.save(saved);
    clock.advance(60_000);
    return store.get(d.id)!;
  }

  const run = (text: string, requestKey?: string): Reply =>
    deployCommand.run(deps, deployCommand.parse(text), { actor: ALICE, ...(requestKey ? { requestKey } : {}) });

  return { clock, store, queue, audit, deps, seed, run };
}

/** Runs `fn`, expects it to throw a usage error, returns it. */
function usageError(fn: () => unknown): ValidationError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ValidationError);
  expect(deployCommand.isUsageError(thrown)).toBe(true);
  return thrown as ValidationError;
}

describe('parseDeploy', () => {
  it.each<[string, DeployInput]>([
    ['api@1.4.2 to staging', { action: 'deploy', service: 'api', version: '1.4.2', environment: 'staging' }],
    ['api@v1.4.2 staging', { action: 'deploy', service: 'api', version: 'v1.4.2', environment: 'staging' }],
    ['api@1.4.2-rc.1+build.5 to prod', { action: 'deploy', service: 'api', version: '1.4.2-rc.1+build.5', environment: 'prod' }],
    ['api@3f2a9c1 to prod', { action: 'deploy', service: 'api', version: '3f2a9c1', environment: 'prod' }],
    [
      'api@3f2a9c1d4e5f60718293a4b5c6d7e8f901234567 to prod',
      { action: 'deploy', service: 'api', version: '3f2a9c1d4e5f60718293a4b5c6d7e8f901234567', environment: 'prod' },
    ],
    ['  api@1.4.2 \t to   staging  ', { action: 'deploy', service: 'api', version: '1.4.2', environment: 'staging' }],
    ['status', { action: 'status' }],
    ['status api', { action: 'status', service: 'api' }],
    ['history api', { action: 'history', service: 'api' }],
    ['history api prod', { action: 'history', service: 'api', environment: 'prod' }],
    ['help', { action: 'help' }],
    ['', { action: 'help' }],
    ['   ', { action: 'help' }],
  ])('%j -> %j', (text, expected) => {
    expect(parseDeploy(text)).toEqual(expected);
  });

  it('is the command module’s parse', () => {
    expect(deployCommand.parse).toBe(parseDeploy);
    expect(deployCommand.name).toBe('deploy');
  });

  it.each<[string, string]>([
    ['api@1.4 to staging', '"1.4" is not a version. Use a semantic version like 1.4.2 or v1.4.2, or a commit SHA (7 to 40 hex characters).'],
    ['api@latest to staging', '"latest" is not a version. Use a semantic version like 1.4.2 or v1.4.2, or a commit SHA (7 to 40 hex characters).'],
    ['api@3f2a9c to staging', '"3f2a9c" is not a version. Use a semantic version like 1.4.2 or v1.4.2, or a commit SHA (7 to 40 hex characters).'],
    ['api@ to staging', '"" is not a version. Use a semantic version like 1.4.2 or v1.4.2, or a commit SHA (7 to 40 hex characters).'],
    ['api@1.4.2', 'Which environment? Add it: `/deploy api@1.4.2 to staging`.'],
    ['api@1.4.2 to', 'Which environment? Add it: `/deploy api@1.4.2 to staging`.'],
    ['frobnicate', '"frobnicate" is not a subcommand. To deploy, name a service and a version: `/deploy frobnicate@1.4.2 to staging`.'],
    ['api 1.4.2 to staging', '"api" is not a subcommand. To deploy, name a service and a version: `/deploy api@1.4.2 to staging`.'],
    ['api@1.4.2 to staging prod', 'Expected one environment after "to", got "staging prod".'],
    ['api@1.4.2 staging now please', 'Expected one environment after "to", got "staging now please".'],
    ['status api web', '`/deploy status` takes at most one service, got "api web".'],
    ['history', '`/deploy history` needs a service and optionally an environment.'],
    ['history api prod today', '`/deploy history` needs a service and optionally an environment.'],
    ['@1.2.3 to prod', '"@1.2.3" has no service before the @.'],
  ])('%j is a usage error', (text, message) => {
    const error = usageError(() => parseDeploy(text));
    expect(error.userMessage).toBe(message);
    expect(error.code).toBe('validation');
  });

  it('rejects a second @', () => {
    usageError(() => parseDeploy('api@1.2.3@junk to prod'));
  });
});

describe('isVersion', () => {
  it.each(['1.4.2', 'v1.4.2', '0.0.1-alpha.1', '3f2a9c1', 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef'])('%s is a version', (text) => {
    expect(isVersion(text)).toBe(true);
  });
  it.each(['1.4', '1', 'latest', 'main', '3f2a9c', 'DEADBEEF', 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef0', '=1.2.3'])(
    '%s is not',
    (text) => {
      expect(isVersion(text)).toBe(false);
    },
  );
});

describe('deployCommand.isUsageError', () => {
  it('is false for other errors, even other validation-coded app errors', () => {
    expect(deployCommand.isUsageError(new ConflictError('busy'))).toBe(false);
    expect(deployCommand.isUsageError(new AppError('validation', 'x'))).toBe(false);
    expect(deployCommand.isUsageError(new Error('x'))).toBe(false);
    expect(deployCommand.isUsageError(undefined)).toBe(false);
  });
});

describe('deployCommand.run', () => {
  it('help: explains every subcommand', () => {
    const { run } = setup();
    const reply = run('help');
    expect(reply).toEqual({ kind: 'text', text: `*Shipmate* deploys services from Slack.\n${deployUsage}` });
    for (const sub of ['<service>@<version> to <environment>', 'status [service]', 'history <service> [environment]', 'help']) {
      expect(deployUsage).toContain(`/deploy ${sub}`);
    }
    expect(run('')).toEqual(reply);
  });

  describe('status', () => {
    it('lists every configured target with its newest deploy, or "never"', () => {
      const { run, seed } = setup();
      seed('api', 'staging', '1.4.0', 'succeeded');
      const newest = seed('api', 'staging', '1.4.1', 'failed', 'the webhook answered 500');
      const prod = seed('api', 'prod', '1.3.9', 'deploying');
      seed('retired', 'prod', '0.1.0', 'succeeded'); // not in shipmate.yml any more: not listed

      const reply = run('status');

      expect(reply).toEqual({
        kind: 'deployments',
        title: 'Status',
        empty: 'No services are configured.',
        lines: [
          {
            service: 'api',
            environment: 'staging',
            version: '1.4.1',
            status: 'failed',
            requestedBy: 'U0BOB',
            at: newest.finishedAt!.toISOString(),
            deploymentId: newest.id,
            error: 'the webhook answered 500',
          },
          {
            service: 'api',
            environment: 'prod',
            version: '1.3.9',
            status: 'deploying',
            requestedBy: 'U0BOB',
            at: prod.startedAt!.toISOString(), // not finished: when it started
            deploymentId: prod.id,
            error: null,
          },
          { service: 'web', environment: 'prod', version: null, status: 'never', requestedBy: null, at: null, deploymentId: null, error: null },
        ],
      });
    });

    it('a queued deploy shows when it was asked for', () => {
      const { run, seed } = setup();
      const queued = seed('web', 'prod', '2.0.0', 'queued');
      const reply = run('status web');
      expect(reply).toMatchObject({ kind: 'deployments', lines: [{ status: 'queued', at: queued.createdAt.toISOString() }] });
    });

    it('status <service>: only that service', () => {
      const { run, seed } = setup();
      seed('web', 'prod', '2.0.0', 'succeeded');
      const reply = run('status api');
      expect(reply).toMatchObject({ kind: 'deployments', title: 'Status of api' });
      expect(reply.kind === 'deployments' && reply.lines.map((l) => `${l.service}/${l.environment}:${l.status}`)).toEqual([
        'api/staging:never',
        'api/prod:never',
      ]);
    });

    it('an unknown service is a usage error that lists the known ones', () => {
      const { run } = setup();
      expect(usageError(() => run('status billing')).userMessage).toBe('Unknown service "billing". Services in shipmate.yml: api, web.');
    });

    it('a service named like an Object property is unknown too', () => {
      const { run } = setup();
      expect(usageError(() => run('status constructor')).userMessage).toBe(
        'Unknown service "constructor". Services in shipmate.yml: api, web.',
      );
    });
  });

  describe('history', () => {
    it('the newest ten deploys of a service, newest first, in every environment', () => {
      const { run, seed } = setup();
      const ids: number[] = [];
      for (let i = 0; i < 12; i++) ids.push(seed('api', i % 2 ? 'prod' : 'staging', `1.0.${i}`, 'succeeded').id);
      seed('web', 'prod', '9.9.9', 'succeeded');

      const reply = run('history api');

      expect(reply).toMatchObject({ kind: 'deployments', title: 'Latest deploys of api', empty: 'api has not been deployed yet.' });
      if (reply.kind !== 'deployments') throw new Error('expected deployments');
      expect(reply.lines.map((l) => l.deploymentId)).toEqual(ids.slice(2).reverse());
      expect(reply.lines[0]).toMatchObject({ version: '1.0.11', environment: 'prod', status: 'succeeded' });
    });

    it('history <service> <environment>: only that environment', () => {
      const { run, seed } = setup();
      seed('api', 'staging', '1.0.0', 'succeeded');
      const prod = seed('api', 'prod', '1.0.0', 'failed', 'boom');
      const reply = run('history api prod');
      expect(reply).toMatchObject({ kind: 'deployments', title: 'Latest deploys of api in prod' });
      expect(reply.kind === 'deployments' && reply.lines).toEqual([expect.objectContaining({ deploymentId: prod.id, error: 'boom' })]);
    });

    it('says so when nothing was deployed yet', () => {
      const { run } = setup();
      expect(run('history web prod')).toEqual({
        kind: 'deployments',
        title: 'Latest deploys of web in prod',
        lines: [],
        empty: 'web in prod has not been deployed yet.',
      });
    });

    it('an unknown service or environment is a usage error that lists the known ones', () => {
      const { run } = setup();
      expect(usageError(() => run('history billing')).userMessage).toBe('Unknown service "billing". Services in shipmate.yml: api, web.');
      expect(usageError(() => run('history billing prod')).userMessage).toBe('Unknown service "billing". Services in shipmate.yml: api, web.');
      expect(usageError(() => run('history api production')).userMessage).toBe(
        'api has no environment "production". Its environments: staging, prod.',
      );
    });

    it('a service named like an Object property is unknown too', () => {
      const { run } = setup();
      usageError(() => run('history toString'));
    });
  });

  describe('deploy', () => {
    it('starts the deploy and says where to follow it', () => {
      const { run, store, queue, audit } = setup();

      const reply = run('api@1.4.2 to staging', 'trigger-1');

      expect(reply).toEqual({ kind: 'text', text: 'Deploying api 1.4.2 to staging (deploy #1). Follow it in <#C0456APITEAM>.' });
      expect(store.all()).toEqual([
        expect.objectContaining({ id: 1, service: 'api', environment: 'staging', version: '1.4.2', requestedBy: 'U0ALICE', channel: 'C0456APITEAM', requestKey: 'trigger-1', status: 'deploying' }),
      ]);
      expect(queue.rows.map((r) => r.idempotencyKey)).toEqual(['deploy:1:card.post', 'deploy:1:card.deploying', 'deploy:1:deploy']);
      expect(audit.entries).toEqual([
        expect.objectContaining({ action: 'deploy.requested', actor: 'U0ALICE', source: 'slash_command', subject: 'api/staging' }),
        expect.objectContaining({ action: 'deploy.started', actor: 'system', source: 'system', subject: 'api/staging' }),
      ]);
    });

    it('uses the environment channel, and shows a #name as it is', () => {
      const { run, store } = setup();
      expect(run('api@1.4.2 to prod')).toEqual({ kind: 'text', text: 'Deploying api 1.4.2 to prod (deploy #1). Follow it in <#C0789PRODDEPLOYS>.' });
      expect(run('web@2.0.0 to prod')).toEqual({ kind: 'text', text: 'Deploying web 2.0.0 to prod (deploy #2). Follow it in #deploys.' });
      expect(store.all().map((d) => d.channel)).toEqual(['C0789PRODDEPLOYS', '#deploys']);
    });

    it('the same request key twice starts one deploy', () => {
      const { run, store } = setup();
      run('api@1.4.2 to staging', 'trigger-1');
      expect(run('api@1.4.2 to staging', 'trigger-1')).toEqual({
        kind: 'text',
        text: 'Deploy #1 (api 1.4.2 to staging) was already requested; follow it in <#C0456APITEAM>.',
      });
      expect(store.all()).toHaveLength(1);
    });

    it('a second deploy to a busy target is a conflict, not a usage error', () => {
      const { run, store } = setup();
      run('api@1.4.2 to staging', 'trigger-1');
      let thrown: unknown;
      try {
        run('api@1.4.3 to staging', 'trigger-2');
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConflictError);
      expect(deployCommand.isUsageError(thrown)).toBe(false);
      expect((thrown as ConflictError).userMessage).toContain('api is already being deployed to staging: 1.4.2 by <@U0ALICE>');
      expect(store.all()).toHaveLength(1);
    });

    it.each<[string, string]>([
      ['billing@1.0.0 to prod', 'Unknown service "billing". Services in shipmate.yml: api, web.'],
      ['api@1.4.2 to production', 'api has no environment "production". Its environments: staging, prod.'],
      ['web@1.0.0 to staging', 'web has no environment "staging". Its environments: prod.'],
    ])('%j is a usage error and creates nothing', (text, message) => {
      const { run, store, queue, audit } = setup();
      expect(usageError(() => run(text)).userMessage).toBe(message);
      expect(store.all()).toEqual([]);
      expect(queue.rows).toEqual([]);
      expect(audit.entries).toEqual([]);
    });

    it('a service named like an Object property is unknown too', () => {
      const { run, store } = setup();
      expect(usageError(() => run('constructor@1.0.0 to prod')).userMessage).toBe(
        'Unknown service "constructor". Services in shipmate.yml: api, web.',
      );
      expect(store.all()).toEqual([]);
    });
  });
});
