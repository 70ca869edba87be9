import { busyMessage } from '../../../flows/deploy-service';
import { ConflictError, NotFoundError, PermissionDeniedError } from '../../../src/core/errors';
import { ALICE, BOB, CAROL, DAVE, ERIN, FRANK, FREEZE, FREEZE_TEXT, HOUR, MALLORY, MINUTE, rejection, setup, slash } from './deploy-service-setup';

describe('DeployService.request', () => {
  it('a free target without approval starts at once and is audited', async () => {
    const { request, store, effectsOf, actions, audit } = setup();
    const result = await request(ALICE, 'api/staging');

    expect(result).toMatchObject({ duplicate: false, deployment: { id: 1, requestedBy: ALICE, approvalsRequired: 0, expiresAt: null, waitInQueue: false } });
    expect(result.waitingFor).toBeUndefined();
    expect(store.get(1)).toMatchObject({ status: 'deploying' });
    expect(effectsOf(1)).toEqual(['card.post', 'card.deploying', 'deploy']);
    expect(actions()).toEqual([`deploy.requested api/staging by ${ALICE}`, 'deploy.started api/staging by system']);
    expect(audit.entries[0]).toMatchObject({ source: 'slash_command', detail: { deploymentId: 1, version: '1.4.2', queue: false } });
  });

  it('the same request key twice is one deploy', async () => {
    const { deployService, store } = setup();
    const input = { service: 'api', environment: 'staging', version: '1.4.2', channel: 'C0DEPLOYS', requestKey: 'trigger-1' };
    const first = await deployService.request(input, slash(ALICE));
    const again = await deployService.request(input, slash(ALICE));
    expect(again).toEqual({ deployment: expect.objectContaining({ id: first.deployment.id }), duplicate: true });
    expect(store.all()).toHaveLength(1);
  });

  it('an environment with an approval policy waits for approval, with a deadline and a timer', async () => {
    const { request, store, clock, queue, effectsOf } = setup();
    const { deployment } = await request(BOB, 'api/prod');

    const deadline = new Date(clock.now().getTime() + HOUR);
    expect(deployment).toMatchObject({ status: 'awaiting_approval', approvalsRequired: 2, approvals: [], expiresAt: deadline });
    expect(store.get(deployment.id)!.status).toBe('awaiting_approval');
    expect(effectsOf(deployment.id)).toEqual(['card.post', 'timer.approval-expiry']);
    expect(queue.byKey('deploy:1:timer.approval-expiry')).toMatchObject({ lane: 'timer', notBefore: deadline });
  });

  describe('freeze windows', () => {
    const frozen = () => setup({ freezeWindows: [FREEZE] });

    it('refuses a deploy into a freeze, saying which and how to override it', async () => {
      const { request, store, audit, queue } = frozen();
      const error = await rejection(request(BOB, 'api/staging'), ConflictError);
      expect(error.userMessage).toBe(
        `staging is frozen: ${FREEZE_TEXT}. Someone allowed to break glass can deploy anyway with --break-glass "reason".`,
      );
      expect(store.all()).toEqual([]);
      expect(audit.entries).toEqual([]);
      expect(queue.rows).toEqual([]);
    });

    it('covers only the environments and services it names', async () => {
      const { request, store } = frozen();
      await request(BOB, 'web/staging');
      await request(BOB, 'api/prod');
      expect(store.all().map((d) => `${d.service}/${d.environment} ${d.status}`)).toEqual(['web/staging deploying', 'api/prod awaiting_approval']);
    });

    it('is over when the window ends', async () => {
      const { request, clock, store } = frozen();
      clock.advance(2 * HOUR - 1);
      await rejection(request(BOB, 'api/staging'), ConflictError);
      clock.advance(1); // 12:00, the end is exclusive
      await request(BOB, 'api/staging');
      expect(store.get(1)!.status).toBe('deploying');
    });

    it.each([
      ['a listed user', ERIN],
      ['a member of a listed group', FRANK],
    ])('--break-glass lets %s deploy, recorded, audited and announced', async (_who, user) => {
      const { request, store, audit, replyOf } = frozen();
      const { deployment } = await request(user, 'api/staging', { breakGlass: 'INC-42 checkout is down' });

      expect(store.get(deployment.id)).toMatchObject({ status: 'deploying', breakGlassReason: 'INC-42 checkout is down' });
      expect(audit.entries.map((e) => e.action)).toEqual(['deploy.requested', 'freeze.break-glass', 'deploy.started']);
      expect(audit.entries[1]).toMatchObject({
        actor: user,
        source: 'slash_command',
        action: 'freeze.break-glass',
        subject: 'api/staging',
        detail: { deploymentId: deployment.id, freeze: 'Release freeze', reason: 'INC-42 checkout is down' },
      });
      expect(replyOf(deployment.id, 'break-glass')).toMatchObject({ broadcast: true, mention: [user] });
    });

    it('--break-glass by someone not allowed to is refused, and nothing is recorded', async () => {
      const { request, store, audit } = frozen();
      const error = await rejection(request(MALLORY, 'api/staging', { breakGlass: 'I really need this' }), PermissionDeniedError);
      expect(error.userMessage).toBe(
        `staging is frozen (${FREEZE_TEXT}) and you are not allowed to break glass. Ask someone listed under breakGlass in shipmate.yml.`,
      );
      expect(store.all()).toEqual([]);
      expect(audit.entries).toEqual([]);
    });

    it('--break-glass outside a freeze is an ordinary deploy: nothing overridden, nothing announced', async () => {
      const { request, store, actions, replyOf } = setup();
      const { deployment } = await request(MALLORY, 'api/staging', { breakGlass: 'just in case' });
      expect(store.get(deployment.id)).toMatchObject({ status: 'deploying', breakGlassReason: null });
      expect(actions()).not.toContainEqual(expect.stringContaining('freeze.break-glass'));
      expect(replyOf(deployment.id, 'break-glass')).toBeUndefined();
    });
  });

  describe('locks, lifted through LockService', () => {
    it('a locked service is refused, naming who locked it, when and why', async () => {
      const { request, lockService, store, clock } = setup();
      lockService.lock('staging', 'api', 'db migration running', slash(CAROL));
      clock.advance(5 * MINUTE);
      const error = await rejection(request(BOB, 'api/staging'), ConflictError);
      expect(error.userMessage).toBe(
        `api in staging is locked by <@${CAROL}> since 2026-11-23 10:00 UTC: db migration running. Add --queue to deploy when it is unlocked.`,
      );
      expect(store.all()).toEqual([]);
    });

    it('an environment lock covers every service in it, and only that environment', async () => {
      const { request, lockService, store } = setup();
      lockService.lock('staging', null, 'load test', slash(CAROL));
      const error = await rejection(request(BOB, 'web/staging'), ConflictError);
      expect(error.userMessage).toMatch(/^staging is locked by <@U0CAROL1> since 2026-11-23 10:00 UTC: load test\./);
      await request(BOB, 'web/prod');
      expect(store.all().map((d) => `${d.service}/${d.environment} ${d.status}`)).toEqual(['web/prod deploying']);
    });

    it('--queue waits behind the lock instead, and says so', async () => {
      const { request, lockService, store, replyOf } = setup();
      lockService.lock('staging', 'api', 'db migration running', slash(CAROL));
      const result = await request(BOB, 'api/staging', { queue: true });

      expect(result.waitingFor).toBe('api is locked in staging (db migration running)');
      expect(store.get(result.deployment.id)).toMatchObject({ status: 'queued', waitInQueue: true });
      expect(replyOf(result.deployment.id, 'waiting')).toEqual({
        messageKey: 'deploy:1',
        text: 'Queued: api is locked in staging (db migration running). It starts by itself when the target is free.',
        mention: [BOB],
      });
    });

    it('--queue behind an environment lock names the environment', async () => {
      const { request, lockService } = setup();
      lockService.lock('staging', null, 'load test', slash(CAROL));
      expect((await request(BOB, 'api/staging', { queue: true })).waitingFor).toBe('the environment is locked in staging (load test)');
    });

    it('a deploy queued behind a lock starts when LockService.unlock lifts it, telling the requester', async () => {
      const { request, lockService, store, replyOf, actions } = setup();
      lockService.lock('staging', 'api', 'db migration running', slash(CAROL));
      const { deployment } = await request(BOB, 'api/staging', { queue: true });

      const result = lockService.unlock('staging', 'api', slash(CAROL), ['api', 'web']);

      expect(result).toEqual({ lock: expect.objectContaining({ environment: 'staging', service: 'api', reason: 'db migration running' }), started: 1 });
      expect(store.get(deployment.id)!.status).toBe('deploying');
      expect(replyOf(deployment.id, 'starting')).toEqual({ messageKey: 'deploy:1', text: 'The lock was lifted; your deploy starts now.', mention: [BOB] });
      expect(actions()).toEqual([
        `lock.added api/staging by ${CAROL}`,
        `deploy.requested api/staging by ${BOB}`,
        `lock.removed api/staging by ${CAROL}`,
        'deploy.started api/staging by system',
      ]);
    });

    it('lifting an environment lock starts what waited in each of its services, one per target', async () => {
      const { request, lockService, statuses } = setup();
      lockService.lock('staging', null, 'load test', slash(CAROL));
      await request(BOB, 'api/staging', { queue: true });
      await request(ALICE, 'api/staging', { queue: true, version: '1.4.3' });
      await request(BOB, 'web/staging', { queue: true });

      const { started } = lockService.unlock('staging', null, slash(CAROL), ['api', 'web']);

      expect(started).toBe(2);
      expect(statuses()).toEqual(['#1 api/staging deploying', '#2 api/staging queued', '#3 web/staging deploying']);
    });

    it('a service lock still holds its service when the environment lock is lifted', async () => {
      const { request, lockService, statuses } = setup();
      lockService.lock('staging', null, 'load test', slash(CAROL));
      lockService.lock('staging', 'api', 'db migration running', slash(CAROL));
      await request(BOB, 'api/staging', { queue: true });
      await request(BOB, 'web/staging', { queue: true });

      expect(lockService.unlock('staging', null, slash(CAROL), ['api', 'web']).started).toBe(1);
      expect(statuses()).toEqual(['#1 api/staging queued', '#2 web/staging deploying']);
    });

    it('unlocking what is not locked is a clear NotFoundError and changes nothing', () => {
      const { lockService, locks, audit } = setup();
      lockService.lock('staging', 'api', 'db migration running', slash(CAROL));
      const attempt = (service: string | null) => () => lockService.unlock('staging', service, slash(CAROL), ['api', 'web']);
      expect(attempt(null)).toThrow(NotFoundError);
      expect(attempt(null)).toThrow('staging is not locked as a whole. `/deploy status` lists the locks.');
      expect(attempt('web')).toThrow('web in staging is not locked. `/deploy status` lists the locks.');
      expect(locks.list()).toHaveLength(1);
      expect(audit.entries.map((e) => e.action)).toEqual(['lock.added']);
    });

    it('locking the same target twice is a conflict naming the holder', () => {
      const { lockService } = setup();
      lockService.lock('staging', 'api', 'db migration running', slash(CAROL));
      expect(() => lockService.lock('staging', 'api', 'me too', slash(BOB))).toThrow(
        new ConflictError(`api in staging is already locked by <@${CAROL}>: db migration running`),
      );
    });
  });

  describe('a busy target', () => {
    it('refuses a second deploy, saying what runs and how to wait for it', async () => {
      const { request, store } = setup();
      await request(ALICE, 'api/staging');
      const error = await rejection(request(BOB, 'api/staging', { version: '1.4.3' }), ConflictError);
      expect(error.userMessage).toBe(
        `api is already being deployed to staging: 1.4.2 by <@${ALICE}> (deploy #1, deploying). Wait for it to finish, or add --queue to run after it.`,
      );
      expect(error.userMessage).toBe(busyMessage(store.get(1)!));
      expect(store.all()).toHaveLength(1);
    });

    it('a deploy awaiting approval keeps the target busy too', async () => {
      const { request } = setup();
      await request(ALICE, 'api/prod');
      const error = await rejection(request(BOB, 'api/prod'), ConflictError);
      expect(error.userMessage).toContain('(deploy #1, awaiting approval). Wait for it to finish, or add --queue to run after it.');
    });

    it('--queue on a free target simply starts it', async () => {
      const { request, store } = setup();
      const result = await request(BOB, 'api/staging', { queue: true });
      expect(result.waitingFor).toBeUndefined();
      expect(store.get(1)).toMatchObject({ status: 'deploying', waitInQueue: true });
    });

    // BUG flows/deploy-service.ts (startNext) adds the "Your turn" note to every deploy asked with
    // --queue, so one that never waited gets a thread reply mentioning its requester anyway.
    it('--queue on a free target does not tell the requester it is their turn', async () => {
      const { request, replyOf } = setup();
      await request(BOB, 'api/staging', { queue: true });
      expect(replyOf(1, 'starting')).toBeUndefined();
    });

    it('--queue waits behind it and says behind what', async () => {
      const { request, store, replyOf } = setup();
      await request(ALICE, 'api/staging');
      const { deployment, waitingFor } = await request(BOB, 'api/staging', { queue: true, version: '1.4.3' });
      expect(waitingFor).toBe(`behind deploy #1 (1.4.2 by ${ALICE}, deploying)`);
      expect(store.get(deployment.id)!.status).toBe('queued');
      expect(replyOf(deployment.id, 'waiting')!.text).toBe(`Queued: behind deploy #1 (1.4.2 by ${ALICE}, deploying). It starts by itself when the target is free.`);
    });

    it.each([
      ['succeeds', true],
      ['fails', false],
    ])('the queued deploys start one at a time, oldest first, when the running one %s', async (_name, ok) => {
      const { request, finish, statuses, replyOf } = setup();
      await request(ALICE, 'api/staging');
      await request(BOB, 'api/staging', { queue: true, version: '1.4.3' });
      await request(CAROL, 'api/staging', { queue: true, version: '1.4.4' });
      await request(BOB, 'web/staging'); // another target: not in the way

      finish(1, ok);
      expect(statuses()).toEqual([
        `#1 api/staging ${ok ? 'succeeded' : 'failed'}`,
        '#2 api/staging deploying',
        '#3 api/staging queued',
        '#4 web/staging deploying',
      ]);
      expect(replyOf(2, 'starting')).toEqual({ messageKey: 'deploy:2', text: 'Your turn: the target is free, starting now.', mention: [BOB] });

      finish(2);
      expect(statuses().slice(1, 3)).toEqual(['#2 api/staging succeeded', '#3 api/staging deploying']);
    });

    it('a target frees when the deploy holding it is rejected or expires', async () => {
      const { request, deployService, clock, fireTimers, statuses } = setup();
      await request(ALICE, 'api/prod');
      await deployService.reject(1, CAROL, 'not today');
      await request(BOB, 'api/prod'); // accepted: #1 is over
      clock.advance(HOUR);
      expect(fireTimers()).toBe(2); // #1's timer fires too, and changes nothing
      await request(ALICE, 'api/prod');
      expect(statuses()).toEqual(['#1 api/prod rejected', '#2 api/prod expired', '#3 api/prod awaiting_approval']);
    });
  });
});

describe('DeployService.resume', () => {
  it('starts queued deploys whose target is free, and leaves locked ones waiting', async () => {
    const { store, locks, clock, deployService, statuses } = setup();
    const fresh = { version: '1.4.2', requestedBy: BOB, source: 'slash_command' as const, channel: 'C0DEPLOYS', requestKey: null, approvalsRequired: 0, expiresAt: null, waitInQueue: true, breakGlassReason: null };
    // As a restart finds them: queued, nothing started.
    store.create({ ...fresh, service: 'api', environment: 'staging' }, clock.now());
    store.create({ ...fresh, service: 'web', environment: 'staging' }, clock.now());
    store.create({ ...fresh, service: 'web', environment: 'staging' }, clock.now());
    locks.lock({ environment: 'prod', service: null, reason: 'x', lockedBy: CAROL, lockedAt: clock.now() });
    store.create({ ...fresh, service: 'web', environment: 'prod' }, clock.now());

    deployService.resume();

    expect(statuses()).toEqual(['#1 api/staging deploying', '#2 web/staging deploying', '#3 web/staging queued', '#4 web/prod queued']);
  });
});

describe('freezes and deploys that were accepted before them', () => {
  // BUG flows/deploy-service.ts (startNext) checks running deploys and locks but not freeze
  // windows, so a deploy queued (or approved) before a freeze starts in the middle of it without
  // anyone breaking glass. Freeze windows are "times when deploys to an environment wait".
  it('a deploy queued behind a running one does not start during a freeze that began meanwhile', async () => {
    const { request, finish, clock, store } = setup({ freezeWindows: [{ ...FREEZE, from: '2026-11-23T10:30' }] });
    await request(ALICE, 'api/staging');
    await request(BOB, 'api/staging', { queue: true, version: '1.4.3' });
    clock.advance(45 * MINUTE); // 10:45, frozen since 10:30
    finish(1);
    expect(store.get(2)!.status).toBe('queued');
  });

  it('a deploy requested before a freeze and approved during it does not start', async () => {
    const { request, deployService, clock, store } = setup({ freezeWindows: [{ ...FREEZE, from: '2026-11-23T10:30', environments: ['prod'] }] });
    await request(BOB, 'api/prod'); // 10:00, not frozen yet
    clock.advance(45 * MINUTE); // 10:45, frozen since 10:30
    await deployService.approve(1, CAROL);
    await deployService.approve(1, DAVE);
    expect(store.get(1)!.status).toBe('queued');
  });
});
