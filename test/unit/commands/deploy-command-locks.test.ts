import { ConflictError, NotFoundError } from '../../../src/core/errors';
import { setup, usageError } from './deploy-command-setup';

describe('deployCommand.run: locks and the audit trail', () => {
  describe('lock', () => {
    it('a service in an environment, when the first word names one there', async () => {
      const { run, locks, audit, clock } = setup();
      expect(await run('lock prod api "db migration running"')).toEqual({
        kind: 'text',
        text: 'Locked api in prod: db migration running. Deploys there are refused until `/deploy unlock prod api`.',
      });
      expect(locks.list()).toEqual([{ environment: 'prod', service: 'api', reason: 'db migration running', lockedBy: 'U0ALICE', lockedAt: clock.now() }]);
      expect(audit.entries).toEqual([
        { at: clock.now(), actor: 'U0ALICE', source: 'slash_command', action: 'lock.added', subject: 'api/prod', detail: { reason: 'db migration running' } },
      ]);
    });

    it('the whole environment otherwise, the words being the reason', async () => {
      const { run, locks, audit } = setup();
      expect(await run('lock prod load test until 3pm')).toEqual({
        kind: 'text',
        text: 'Locked prod (every service): load test until 3pm. Deploys there are refused until `/deploy unlock prod`.',
      });
      expect(locks.list()).toEqual([expect.objectContaining({ environment: 'prod', service: null, reason: 'load test until 3pm' })]);
      expect(audit.entries[0]).toMatchObject({ action: 'lock.added', subject: 'prod' });
    });

    it('a service name alone asks for a reason instead of locking anything', async () => {
      const { run, locks } = setup();
      await expect(run('lock prod api')).rejects.toMatchObject({ userMessage: expect.stringContaining('Give a reason for locking api') });
      expect(locks.list()).toEqual([]);
    });

    it('a service that does not have the environment is part of the reason', async () => {
      const { run, locks } = setup();
      await run('lock staging web "not yet"');
      expect(locks.list()).toEqual([expect.objectContaining({ environment: 'staging', service: null, reason: 'web not yet' })]);
    });

    it('an environment no service has is a usage error listing the real ones, and locks nothing', async () => {
      const { run, locks } = setup();
      expect((await usageError(() => run('lock production "db migration"'))).userMessage).toBe(
        'No service has an environment "production". Environments in shipmate.yml: staging, prod.',
      );
      expect(locks.list()).toEqual([]);
    });

    it('locking a locked target is a conflict naming who holds it', async () => {
      const { run } = setup();
      await run('lock prod api "db migration running"');
      await expect(run('lock prod api "me too"', undefined, { userId: 'U0BOB', source: 'slash_command' })).rejects.toThrow(
        new ConflictError('api in prod is already locked by <@U0ALICE>: db migration running'),
      );
    });

    it('a locked target refuses deploys until unlocked, and --queue waits', async () => {
      const { run, store } = setup();
      await run('lock prod api "db migration running"');
      await expect(run('api@1.4.2 to prod')).rejects.toBeInstanceOf(ConflictError);
      expect(await run('api@1.4.2 to prod --queue')).toMatchObject({ text: expect.stringMatching(/^Queued deploy #1 \(api 1\.4\.2 to prod\): api is locked in prod \(db migration running\)\./) });
      expect(await run('unlock prod api')).toEqual({ kind: 'text', text: 'Unlocked api in prod. 1 queued deploy started.' });
      expect(store.get(1)!.status).toBe('deploying');
    });
  });

  describe('unlock', () => {
    it('an environment lock, starting what waited in every service there', async () => {
      const { run, store, locks } = setup();
      await run('lock prod "load test"');
      await run('api@1.4.2 to prod --queue');
      await run('web@2.0.0 to prod --queue');
      expect(await run('unlock prod')).toEqual({ kind: 'text', text: 'Unlocked prod. 2 queued deploys started.' });
      expect(store.all().map((d) => d.status)).toEqual(['deploying', 'deploying']);
      expect(locks.list()).toEqual([]);
    });

    it('says nothing about deploys when none waited', async () => {
      const { run, audit } = setup();
      await run('lock prod "load test"');
      expect(await run('unlock prod', undefined, { userId: 'U0BOB', source: 'slash_command' })).toEqual({ kind: 'text', text: 'Unlocked prod.' });
      expect(audit.entries.at(-1)).toMatchObject({ action: 'lock.removed', actor: 'U0BOB', subject: 'prod', detail: { reason: 'load test' } });
    });

    it('what is not locked is a clear not-found answer', async () => {
      const { run } = setup();
      await run('lock prod api "db migration running"');
      await expect(run('unlock prod')).rejects.toThrow(new NotFoundError('prod is not locked as a whole. `/deploy status` lists the locks.'));
      await expect(run('unlock staging api')).rejects.toThrow(new NotFoundError('api in staging is not locked. `/deploy status` lists the locks.'));
    });

    it.each<[string, string]>([
      ['unlock production', 'No service has an environment "production". Environments in shipmate.yml: staging, prod.'],
      ['unlock staging web', 'web has no environment "staging". Its environments: prod.'],
      ['unlock prod billing', 'Unknown service "billing". Services in shipmate.yml: api, web.'],
    ])('%j is a usage error', async (text, message) => {
      const { run } = setup();
      expect((await usageError(() => run(text))).userMessage).toBe(message);
    });
  });

  describe('status with locks', () => {
    it('lists the locks that concern what is shown, with ISO times', async () => {
      const { run, clock } = setup();
      await run('lock prod api "db migration running"');
      await run('lock staging "load test"');
      await run('lock prod web "new CDN"');
      const lockedAt = clock.now().toISOString();

      const all = await run('status');
      expect(all.kind === 'deployments' && all.locks).toEqual([
        { environment: 'prod', service: 'api', reason: 'db migration running', lockedBy: 'U0ALICE', lockedAt },
        { environment: 'prod', service: 'web', reason: 'new CDN', lockedBy: 'U0ALICE', lockedAt },
        { environment: 'staging', service: null, reason: 'load test', lockedBy: 'U0ALICE', lockedAt },
      ]);
      const api = await run('status api');
      expect(api.kind === 'deployments' && api.locks!.map((l) => `${l.environment}/${l.service}`)).toEqual(['prod/api', 'staging/null']);
    });
  });

  describe('audit', () => {
    it('the newest twenty entries, newest first, with ISO times', async () => {
      const { run, audit, clock } = setup();
      for (let i = 0; i < 25; i++) {
        audit.record({ at: clock.now(), actor: 'U0BOB', source: 'slash_command', action: `test.${i}`, subject: i % 2 ? 'api/prod' : 'web/prod' });
        clock.advance(1_000);
      }
      const reply = await run('audit');
      if (reply.kind !== 'audit') throw new Error(`expected an audit reply, got ${reply.kind}`);
      expect(reply).toMatchObject({ title: 'Audit trail', empty: 'Nothing recorded yet.' });
      expect(reply.entries.map((e) => e.action)).toEqual(Array.from({ length: 20 }, (_, i) => `test.${24 - i}`));
      expect(reply.entries[0]).toEqual({ at: '2026-11-23T10:00:24.000Z', actor: 'U0BOB', source: 'slash_command', action: 'test.24', subject: 'web/prod' });
    });

    it('audit <service>: only what concerns it', async () => {
      const { run } = setup();
      await run('api@1.4.2 to prod');
      await run('web@2.0.0 to prod');
      await run('lock prod api "db migration running"');
      const reply = await run('audit api');
      if (reply.kind !== 'audit') throw new Error(`expected an audit reply, got ${reply.kind}`);
      expect(reply.title).toBe('Audit trail of api');
      expect(reply.entries.map((e) => `${e.action} ${e.subject}`)).toEqual(['lock.added api/prod', 'deploy.started api/prod', 'deploy.requested api/prod']);
    });

    it('says so when nothing was recorded, and refuses an unknown service', async () => {
      const { run } = setup();
      expect(await run('audit')).toEqual({ kind: 'audit', title: 'Audit trail', entries: [], empty: 'Nothing recorded yet.' });
      expect((await usageError(() => run('audit billing'))).userMessage).toBe('Unknown service "billing". Services in shipmate.yml: api, web.');
    });
  });
});
