import { deployCommand, deployUsage, isVersion, parseDeploy, type DeployInput } from '../../../commands/deploy-command';
import { AppError, ConflictError, ValidationError } from '../../../src/core/errors';
import type { Actor } from '../../../src/core/types';
import { webhook } from '../fakes/deploy-world';
import { setup, testConfig, usageError } from './deploy-command-setup';

/** Expects `fn` to throw synchronously a usage error: parsing does no I/O. */
function parseError(text: string): ValidationError {
  let thrown: unknown;
  try {
    parseDeploy(text);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ValidationError);
  expect(deployCommand.isUsageError(thrown)).toBe(true);
  return thrown as ValidationError;
}

describe('parseDeploy', () => {
  it.each<[string, DeployInput]>([
    ['api@1.4.2 to staging', { action: 'deploy', service: 'api', version: '1.4.2', environment: 'staging', queue: false }],
    ['api@v1.4.2 staging', { action: 'deploy', service: 'api', version: 'v1.4.2', environment: 'staging', queue: false }],
    ['api@1.4.2-rc.1+build.5 to prod', { action: 'deploy', service: 'api', version: '1.4.2-rc.1+build.5', environment: 'prod', queue: false }],
    ['api@3f2a9c1 to prod', { action: 'deploy', service: 'api', version: '3f2a9c1', environment: 'prod', queue: false }],
    [
      'api@3f2a9c1d4e5f60718293a4b5c6d7e8f901234567 to prod',
      { action: 'deploy', service: 'api', version: '3f2a9c1d4e5f60718293a4b5c6d7e8f901234567', environment: 'prod', queue: false },
    ],
    ['  api@1.4.2 \t to   staging  ', { action: 'deploy', service: 'api', version: '1.4.2', environment: 'staging', queue: false }],
    ['api@1.4.2 to prod --queue', { action: 'deploy', service: 'api', version: '1.4.2', environment: 'prod', queue: true }],
    ['--queue api@1.4.2 to prod', { action: 'deploy', service: 'api', version: '1.4.2', environment: 'prod', queue: true }],
    [
      'api@1.4.2 to prod --break-glass "INC-42 checkout down"',
      { action: 'deploy', service: 'api', version: '1.4.2', environment: 'prod', queue: false, breakGlass: 'INC-42 checkout down' },
    ],
    [
      'api@1.4.2 --break-glass “INC-42 checkout down” to prod --queue',
      { action: 'deploy', service: 'api', version: '1.4.2', environment: 'prod', queue: true, breakGlass: 'INC-42 checkout down' },
    ],
    ['lock prod db migration running', { action: 'lock', environment: 'prod', words: ['db', 'migration', 'running'] }],
    ['lock prod api "db migration running"', { action: 'lock', environment: 'prod', words: ['api', 'db migration running'] }],
    ['lock prod “db migration”', { action: 'lock', environment: 'prod', words: ['db migration'] }],
    ['unlock prod', { action: 'unlock', environment: 'prod' }],
    ['unlock prod api', { action: 'unlock', environment: 'prod', service: 'api' }],
    ['audit', { action: 'audit' }],
    ['audit api', { action: 'audit', service: 'api' }],
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
    ['lock prod', '`/deploy lock` needs an environment and a reason, e.g. `/deploy lock prod api "db migration running"`.'],
    ['lock', '`/deploy lock` needs an environment and a reason, e.g. `/deploy lock prod api "db migration running"`.'],
    ['unlock', '`/deploy unlock` needs an environment and optionally a service.'],
    ['unlock prod api now', '`/deploy unlock` needs an environment and optionally a service.'],
    ['audit api web', '`/deploy audit` takes at most one service, got "api web".'],
    ['api@1.4.2 to prod --rollback', 'Unknown option --rollback. Options: --queue, --break-glass, --force, --to.'],
    ['api@1.4.2 to prod --force', '--force needs a value in quotes, e.g. --force "hotfix for INC-42".'],
    ['api@1.4.2 to prod --break-glass', '--break-glass needs a value in quotes, e.g. --break-glass "hotfix for INC-42".'],
    ['api@1.4.2 to prod --break-glass --queue', '--break-glass needs a value in quotes, e.g. --break-glass "hotfix for INC-42".'],
    ['status --queue', '--queue only go with a deploy: `/deploy api@1.4.2 to prod --queue`.'],
    ['lock prod x --break-glass why', '--break-glass only go with a deploy: `/deploy api@1.4.2 to prod --queue`.'],
    ['--queue', '--queue only go with a deploy: `/deploy api@1.4.2 to prod --queue`.'],
  ])('%j is a usage error', (text, message) => {
    const error = parseError(text);
    expect(error.userMessage).toBe(message);
    expect(error.code).toBe('validation');
  });

  it('rejects a second @', () => {
    parseError('api@1.2.3@junk to prod');
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
  it('help: explains every subcommand', async () => {
    const { run } = setup();
    const reply = await run('help');
    expect(reply).toEqual({ kind: 'text', text: `*Shipmate* deploys services from Slack.\n${deployUsage}` });
    for (const sub of ['<service>@<version> to <environment>', 'status [service]', 'history <service> [environment]', 'help']) {
      expect(deployUsage).toContain(`/deploy ${sub}`);
    }
    expect(await run('')).toEqual(reply);
  });

  describe('status', () => {
    it('lists every configured target with its newest deploy, or "never"', async () => {
      const { run, seed } = setup();
      seed('api', 'staging', '1.4.0', 'succeeded');
      const newest = seed('api', 'staging', '1.4.1', 'failed', 'the webhook answered 500');
      const prod = seed('api', 'prod', '1.3.9', 'deploying');
      seed('retired', 'prod', '0.1.0', 'succeeded'); // not in shipmate.yml any more: not listed

      const reply = await run('status');

      expect(reply).toEqual({
        kind: 'deployments',
        title: 'Status',
        empty: 'No services are configured.',
        locks: [],
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

    it('a queued deploy shows when it was asked for', async () => {
      const { run, seed } = setup();
      const queued = seed('web', 'prod', '2.0.0', 'queued');
      const reply = await run('status web');
      expect(reply).toMatchObject({ kind: 'deployments', lines: [{ status: 'queued', at: queued.createdAt.toISOString() }] });
    });

    it('status <service>: only that service', async () => {
      const { run, seed } = setup();
      seed('web', 'prod', '2.0.0', 'succeeded');
      const reply = await run('status api');
      expect(reply).toMatchObject({ kind: 'deployments', title: 'Status of api' });
      expect(reply.kind === 'deployments' && reply.lines.map((l) => `${l.service}/${l.environment}:${l.status}`)).toEqual([
        'api/staging:never',
        'api/prod:never',
      ]);
    });

    it('an unknown service is a usage error that lists the known ones', async () => {
      const { run } = setup();
      expect((await usageError(() => run('status billing'))).userMessage).toBe('Unknown service "billing". Services in shipmate.yml: api, web.');
    });

    it('a service named like an Object property is unknown too', async () => {
      const { run } = setup();
      expect((await usageError(() => run('status constructor'))).userMessage).toBe(
        'Unknown service "constructor". Services in shipmate.yml: api, web.',
      );
    });
  });

  describe('history', () => {
    it('the newest ten deploys of a service, newest first, in every environment', async () => {
      const { run, seed } = setup();
      const ids: number[] = [];
      for (let i = 0; i < 12; i++) ids.push(seed('api', i % 2 ? 'prod' : 'staging', `1.0.${i}`, 'succeeded').id);
      seed('web', 'prod', '9.9.9', 'succeeded');

      const reply = await run('history api');

      expect(reply).toMatchObject({ kind: 'deployments', title: 'Latest deploys of api', empty: 'api has not been deployed yet.' });
      if (reply.kind !== 'deployments') throw new Error('expected deployments');
      expect(reply.lines.map((l) => l.deploymentId)).toEqual(ids.slice(2).reverse());
      expect(reply.lines[0]).toMatchObject({ version: '1.0.11', environment: 'prod', status: 'succeeded' });
    });

    it('history <service> <environment>: only that environment', async () => {
      const { run, seed } = setup();
      seed('api', 'staging', '1.0.0', 'succeeded');
      const prod = seed('api', 'prod', '1.0.0', 'failed', 'boom');
      const reply = await run('history api prod');
      expect(reply).toMatchObject({ kind: 'deployments', title: 'Latest deploys of api in prod' });
      expect(reply.kind === 'deployments' && reply.lines).toEqual([expect.objectContaining({ deploymentId: prod.id, error: 'boom' })]);
    });

    it('says so when nothing was deployed yet', async () => {
      const { run } = setup();
      expect(await run('history web prod')).toEqual({
        kind: 'deployments',
        title: 'Latest deploys of web in prod',
        lines: [],
        empty: 'web in prod has not been deployed yet.',
      });
    });

    it('an unknown service or environment is a usage error that lists the known ones', async () => {
      const { run } = setup();
      expect((await usageError(() => run('history billing'))).userMessage).toBe('Unknown service "billing". Services in shipmate.yml: api, web.');
      expect((await usageError(() => run('history billing prod'))).userMessage).toBe('Unknown service "billing". Services in shipmate.yml: api, web.');
      expect((await usageError(() => run('history api production'))).userMessage).toBe(
        'api has no environment "production". Its environments: staging, prod.',
      );
    });

    it('a service named like an Object property is unknown too', async () => {
      const { run } = setup();
      await usageError(() => run('history toString'));
    });
  });

  describe('deploy', () => {
    it('starts the deploy and says where to follow it', async () => {
      const { run, store, queue, audit } = setup();

      const reply = await run('api@1.4.2 to staging', 'trigger-1');

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

    it('uses the environment channel, and shows a #name as it is', async () => {
      const { run, store } = setup();
      expect(await run('api@1.4.2 to prod')).toEqual({ kind: 'text', text: 'Deploying api 1.4.2 to prod (deploy #1). Follow it in <#C0789PRODDEPLOYS>.' });
      expect(await run('web@2.0.0 to prod')).toEqual({ kind: 'text', text: 'Deploying web 2.0.0 to prod (deploy #2). Follow it in #deploys.' });
      expect(store.all().map((d) => d.channel)).toEqual(['C0789PRODDEPLOYS', '#deploys']);
    });

    it('the same request key twice starts one deploy', async () => {
      const { run, store } = setup();
      await run('api@1.4.2 to staging', 'trigger-1');
      expect(await run('api@1.4.2 to staging', 'trigger-1')).toEqual({
        kind: 'text',
        text: 'Deploy #1 (api 1.4.2 to staging) was already requested; follow it in <#C0456APITEAM>.',
      });
      expect(store.all()).toHaveLength(1);
    });

    it('a second deploy to a busy target is a conflict, not a usage error', async () => {
      const { run, store } = setup();
      await run('api@1.4.2 to staging', 'trigger-1');
      let thrown: unknown;
      try {
        await run('api@1.4.3 to staging', 'trigger-2');
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConflictError);
      expect(deployCommand.isUsageError(thrown)).toBe(false);
      expect((thrown as ConflictError).userMessage).toBe(
        'api is already being deployed to staging: 1.4.2 by <@U0ALICE> (deploy #1, deploying). Wait for it to finish, or add --queue to run after it.',
      );
      expect(store.all()).toHaveLength(1);
    });

    it.each<[string, string]>([
      ['billing@1.0.0 to prod', 'Unknown service "billing". Services in shipmate.yml: api, web.'],
      ['api@1.4.2 to production', 'api has no environment "production". Its environments: staging, prod.'],
      ['web@1.0.0 to staging', 'web has no environment "staging". Its environments: prod.'],
    ])('%j is a usage error and creates nothing', async (text, message) => {
      const { run, store, queue, audit } = setup();
      expect((await usageError(() => run(text))).userMessage).toBe(message);
      expect(store.all()).toEqual([]);
      expect(queue.rows).toEqual([]);
      expect(audit.entries).toEqual([]);
    });

    it('a service named like an Object property is unknown too', async () => {
      const { run, store } = setup();
      expect((await usageError(() => run('constructor@1.0.0 to prod'))).userMessage).toBe(
        'Unknown service "constructor". Services in shipmate.yml: api, web.',
      );
      expect(store.all()).toEqual([]);
    });
  });

  describe('deploy with approvals, --queue and --break-glass', () => {
    const approvalConfig = () =>
      testConfig({
        services: {
          api: {
            channel: 'C0456APITEAM',
            environments: {
              staging: { deploy: webhook },
              prod: { channel: 'C0789PRODDEPLOYS', deploy: webhook, approval: { required: 2, approvers: { users: ['U0CAROL1', 'U0DAVE01'] } } },
            },
          },
          web: { environments: { prod: { deploy: webhook, approval: { approvers: { users: ['U0CAROL1'] } } } } },
        },
        freezeWindows: [{ name: 'Black Friday', from: '2026-11-23', to: '2026-11-23', environments: ['staging'] }],
        breakGlass: { users: ['U0ERIN01'] },
      });

    it('a deploy that needs approval says how many and where the request is', async () => {
      const { run, store } = setup(approvalConfig());
      expect(await run('api@1.4.2 to prod')).toEqual({
        kind: 'text',
        text: 'Deploy #1 (api 1.4.2 to prod) needs 2 approvals; the request is in <#C0789PRODDEPLOYS>.',
      });
      expect(await run('web@2.0.0 to prod')).toEqual({ kind: 'text', text: 'Deploy #2 (web 2.0.0 to prod) needs 1 approval; the request is in #deploys.' });
      expect(store.all().map((d) => d.status)).toEqual(['awaiting_approval', 'awaiting_approval']);
    });

    it('--queue behind a running deploy says behind what and where it will be told', async () => {
      const { run, store } = setup();
      await run('api@1.4.2 to staging');
      expect(await run('api@1.4.3 to staging --queue')).toEqual({
        kind: 'text',
        text: "Queued deploy #2 (api 1.4.3 to staging): behind deploy #1 (1.4.2 by U0ALICE, deploying). You'll be told in its thread in <#C0456APITEAM> when it starts.",
      });
      expect(store.get(2)).toMatchObject({ status: 'queued', waitInQueue: true });
    });

    it('a frozen environment is a conflict, not a usage error; --break-glass gets through for an allowed user', async () => {
      const { run, store } = setup(approvalConfig());
      let thrown: unknown;
      try {
        await run('api@1.4.2 to staging');
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConflictError);
      expect(deployCommand.isUsageError(thrown)).toBe(false);
      expect((thrown as ConflictError).userMessage).toMatch(/^staging is frozen: "Black Friday" from Mon 23 Nov 00:00 to Tue 24 Nov 00:00 UTC\./);

      const erin: Actor = { userId: 'U0ERIN01', source: 'slash_command' };
      expect(await run('api@1.4.2 to staging --break-glass "INC-42 checkout is down"', 't-1', erin)).toEqual({
        kind: 'text',
        text: 'Deploying api 1.4.2 to staging (deploy #1). Follow it in <#C0456APITEAM>.',
      });
      expect(store.get(1)).toMatchObject({ status: 'deploying', breakGlassReason: 'INC-42 checkout is down', requestedBy: 'U0ERIN01' });
    });
  });

  it('help describes the new subcommands and options', async () => {
    const { run } = setup();
    const reply = await run('help');
    for (const text of ['--queue', '--break-glass "reason"', '/deploy lock <environment> [service] <reason>', '/deploy unlock <environment> [service]', '/deploy audit [service]']) {
      expect(reply.kind === 'text' && reply.text).toContain(text);
    }
  });
});
