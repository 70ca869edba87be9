import { parseCreate, parseRelease, releaseCommand, type ReleaseInput, releaseUsage, ReleaseUsageError } from '../../../commands/release-command';
import type { Reply } from '../../../commands/reply';
import { NotFoundError, ValidationError } from '../../../src/core/errors';
import type { Actor } from '../../../src/core/types';
import { releaseWorld } from '../fakes/release-world';

const ALICE: Actor = { userId: 'U0ALICE', source: 'slash_command' };

/** The error `fn` throws, which must be one. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected it to throw');
}

function usageError(fn: () => unknown): string {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(ReleaseUsageError);
  expect(releaseCommand.isUsageError(error)).toBe(true);
  return (error as ReleaseUsageError).userMessage;
}

describe('parseRelease', () => {
  it.each<[string, ReleaseInput]>([
    ['', { action: 'form' }],
    ['   ', { action: 'form' }],
    ['help', { action: 'help' }],
    ['status', { action: 'status' }],
    ['status checkout-v2', { action: 'status', name: 'checkout-v2' }],
    ['pause train', { action: 'control', control: 'pause', name: 'train' }],
    ['resume train', { action: 'control', control: 'resume', name: 'train' }],
    ['abort train', { action: 'control', control: 'abort', name: 'train' }],
    [
      'create checkout-v2 api@1.4.2 web@v2.0.1 to prod',
      { action: 'create', name: 'checkout-v2', items: [{ name: 'api', version: '1.4.2' }, { name: 'web', version: 'v2.0.1' }], environment: 'prod' },
    ],
    ['create hotfix api@abc1234 to staging', { action: 'create', name: 'hotfix', items: [{ name: 'api', version: 'abc1234' }], environment: 'staging' }],
    [
      'create nightly db@7.1.0 to prod at tomorrow 10:00',
      { action: 'create', name: 'nightly', items: [{ name: 'db', version: '7.1.0' }], environment: 'prod', at: 'tomorrow 10:00' },
    ],
    [
      'create x api@1.4.2 to prod at 2026-11-24T10:00:00Z --notes "new checkout"',
      { action: 'create', name: 'x', items: [{ name: 'api', version: '1.4.2' }], environment: 'prod', at: '2026-11-24T10:00:00Z', notes: 'new checkout' },
    ],
    ['--notes “typed in Slack” create x api@1.4.2 to prod', { action: 'create', name: 'x', items: [{ name: 'api', version: '1.4.2' }], environment: 'prod', notes: 'typed in Slack' }],
    ['queue tuesday api@1.4.2 web@2.0.1', { action: 'queue', train: 'tuesday', items: [{ name: 'api', version: '1.4.2' }, { name: 'web', version: '2.0.1' }] }],
    ['train tuesday', { action: 'train', train: 'tuesday' }],
  ])('%j', (text, expected) => {
    expect(parseRelease(text)).toEqual(expected);
  });

  it.each<[string, string]>([
    ['create', 'Name the release first: letters, digits, ".", "_" or "-", e.g. `/release create checkout-v2 api@1.4.2 to prod`.'],
    ['create api@1.4.2 to prod', 'Name the release first: letters, digits, ".", "_" or "-", e.g. `/release create checkout-v2 api@1.4.2 to prod`.'],
    ['create bad/name api@1.4.2 to prod', 'Name the release first: letters, digits, ".", "_" or "-", e.g. `/release create checkout-v2 api@1.4.2 to prod`.'],
    ['create -x api@1.4.2 to prod', 'Name the release first: letters, digits, ".", "_" or "-", e.g. `/release create checkout-v2 api@1.4.2 to prod`.'],
    [`create ${'a'.repeat(65)} api@1.4.2 to prod`, 'Name the release first: letters, digits, ".", "_" or "-", e.g. `/release create checkout-v2 api@1.4.2 to prod`.'],
    ['create x api@1.4.2 prod', 'Say where: add `to <environment>` after the services.'],
    ['create x to prod', 'List the services to release as service@version before `to`.'],
    ['create x api@1.4 to prod', '"api@1.4" is not service@version; use a semantic version or commit SHA, e.g. api@1.4.2.'],
    ['create x api to prod', '"api" is not service@version; use a semantic version or commit SHA, e.g. api@1.4.2.'],
    ['create x @1.4.2 to prod', '"@1.4.2" is not service@version; use a semantic version or commit SHA, e.g. api@1.4.2.'],
    ['create x api@1.4.2@2.0.0 to prod', '"api@1.4.2@2.0.0" is not service@version; use a semantic version or commit SHA, e.g. api@1.4.2.'],
    ['create x api@1.4.2 to', 'Which environment? Add it after `to`.'],
    ['create x api@1.4.2 to prod staging', 'Unexpected "staging" after the environment; to schedule it, write `at <time>`.'],
    ['create x api@1.4.2 to prod tomorrow 10:00', 'Unexpected "tomorrow 10:00" after the environment; to schedule it, write `at <time>`.'],
    ['create x api@1.4.2 to prod at', 'Say when after `at`, e.g. `at 2026-11-24 10:00` or `at tomorrow 10:00`.'],
    ['create x api@1.4.2 to prod --notes', '--notes needs a value in quotes, e.g. --notes "hotfix for INC-42".'],
    ['create x api@1.4.2 to prod --notes ""', '--notes needs a value in quotes, e.g. --notes "hotfix for INC-42".'],
    ['create x api@1.4.2 to prod --queue', 'Unknown option --queue. Options: --notes.'],
    ['status a b', '`/release status` takes at most one release name.'],
    ['pause', "`/release pause` needs the release's name."],
    ['resume', "`/release resume` needs the release's name."],
    ['abort a b', "`/release abort` needs the release's name."],
    ['deploy api', '"deploy" is not a /release subcommand.'],
    ['queue tuesday', '`/release queue` needs a train and at least one service@version.'],
    ['queue tuesday api', '"api" is not service@version; use a semantic version or commit SHA, e.g. api@1.4.2.'],
    ['train', "`/release train` needs the train's name."],
  ])('%j: %s', (text, message) => {
    expect(usageError(() => parseRelease(text))).toBe(message);
  });

  it('a name may be up to 64 characters', () => {
    expect(parseRelease(`create ${'a'.repeat(64)} api@1.4.2 to prod`)).toMatchObject({ name: 'a'.repeat(64) });
  });
});

describe('parseCreate (also what the form submits)', () => {
  it('takes words and the notes apart', () => {
    expect(parseCreate(['from-form', 'db@7.1.0', 'api@1.4.2', 'to', 'prod', 'at', 'in', '2h'], 'via the form')).toEqual({
      action: 'create',
      name: 'from-form',
      items: [{ name: 'db', version: '7.1.0' }, { name: 'api', version: '1.4.2' }],
      environment: 'prod',
      at: 'in 2h',
      notes: 'via the form',
    });
    expect(parseCreate(['x', 'db@7.1.0', 'to', 'prod'])).not.toHaveProperty('notes');
    expect(parseCreate(['x', 'db@7.1.0', 'to', 'prod'], '')).not.toHaveProperty('notes');
    expect(parseCreate(['x', 'db@7.1.0', 'to', 'prod'])).not.toHaveProperty('at');
  });

  it('an empty form names nothing', () => {
    expect(usageError(() => parseCreate(['', 'to', '']))).toContain('Name the release first');
  });
});

describe('releaseCommand.run', () => {
  function setup() {
    const world = releaseWorld();
    let keys = 0;
    const run = (text: string, options: { requestKey?: string; actor?: Actor } = {}): Reply => {
      const input = releaseCommand.parse(text);
      if (input.action === 'form') throw new Error('the form is opened by Slack');
      return releaseCommand.run(world.deps, input, { actor: options.actor ?? ALICE, requestKey: options.requestKey ?? `trigger-${++keys}`, channel: 'C0DEPLOYS' });
    };
    const text = (reply: Reply) => {
      expect(reply.kind).toBe('text');
      return (reply as { text: string }).text;
    };
    return { ...world, run, text };
  }

  it('help: what releases are, and the usage', () => {
    const { run, text } = setup();
    expect(text(run('help'))).toBe(`*Releases* deploy several services in waves, in dependency order.\n${releaseUsage}`);
    for (const sub of ['create', 'status', 'pause|resume|abort']) expect(releaseUsage).toContain(`/release ${sub}`);
    expect(releaseCommand.usage).toBe(releaseUsage);
  });

  it('create: shows the plan and says when it starts; the same request key again says it exists', async () => {
    const { run, text, releases } = setup();
    expect(text(run('create checkout-v2 web@3.0.0 api@1.4.2 worker@0.9.0 db@7.1.0 to prod', { requestKey: 't-1' }))).toBe(
      'Release checkout-v2 (#1) to prod. It starts now.\nWave 1: db 7.1.0\nWave 2: api 1.4.2, worker 0.9.0\nWave 3: web 3.0.0',
    );
    expect(text(run('create checkout-v2 web@3.0.0 api@1.4.2 worker@0.9.0 db@7.1.0 to prod', { requestKey: 't-1' }))).toBe('Release checkout-v2 (#1) was already created.');
    expect(text(run('create nightly web@3.0.0 to prod at tomorrow 10:00 --notes "after hours"'))).toBe(
      'Release nightly (#2) to prod. It starts at 2026-11-24 10:00 UTC.\nWave 1: web 3.0.0 (depends on api outside this release)',
    );
    expect(releases.get(2)).toMatchObject({ status: 'scheduled', scheduledFor: new Date('2026-11-24T10:00:00.000Z'), notes: 'after hours', channel: 'C0DEPLOYS', requestedBy: 'U0ALICE' });
  });

  it('create: unknown services and environments are usage errors; a time in the past says so; nothing is created', () => {
    const { run, releases } = setup();
    expect(usageError(() => run('create x nope@1.0.0 to prod'))).toBe('Unknown service "nope". Services in shipmate.yml: db, api, worker, web.');
    expect(usageError(() => run('create x api@1.4.2 db@7.1.0 to qa'))).toBe('api has no environment "qa".');
    const past = thrown(() => run('create x api@1.4.2 to prod at 2026-11-23 09:00'));
    expect(past).toBeInstanceOf(ValidationError);
    expect(releaseCommand.isUsageError(past)).toBe(false);
    expect((past as ValidationError).userMessage).toBe('"2026-11-23 09:00" is in the past (it is now 2026-11-23 10:00 in UTC)');
    expect(releases.all()).toEqual([]);
  });

  it('status with no releases says how to plan one', () => {
    const { run, text } = setup();
    expect(text(run('status'))).toBe('No releases yet. `/release help` shows how to plan one.');
  });

  it('status lists the latest releases, newest first, with progress and start times', async () => {
    const { run, text, settle } = setup();
    run('create checkout-v2 web@3.0.0 api@1.4.2 worker@0.9.0 db@7.1.0 to prod');
    await settle();
    run('create nightly db@7.1.0 to prod at tomorrow 10:00');
    run('create hotfix api@1.4.3 db@7.1.1 to staging', { actor: { userId: 'U0BOB', source: 'slash_command' } });
    expect(text(run('status'))).toBe(
      [
        '*Releases*',
        '*hotfix* → staging: running (0/2 services) · #3 by <@U0BOB>',
        '*nightly* → prod: scheduled (0/1 services, starts 2026-11-24 10:00 UTC) · #2 by <@U0ALICE>',
        '*checkout-v2* → prod: succeeded (4/4 services) · #1 by <@U0ALICE>',
      ].join('\n'),
    );
  });

  it('status shows at most the ten latest', () => {
    const { run, text } = setup();
    for (let i = 1; i <= 12; i++) run(`create r${i} db@7.1.${i} to prod at tomorrow 10:00`);
    const lines = text(run('status')).split('\n');
    expect(lines).toHaveLength(11);
    expect(lines[1]).toMatch(/^\*r12\* /);
    expect(lines[10]).toMatch(/^\*r3\* /);
  });

  it('status <name> shows every wave and how each service fared', async () => {
    const { run, text, settle, deployers } = setup();
    deployers.outcomes.set('api', { ok: false, error: 'the webhook answered 500' });
    run('create checkout-v2 web@3.0.0 api@1.4.2 worker@0.9.0 db@7.1.0 to prod');
    await settle();
    expect(text(run('status checkout-v2'))).toBe(
      [
        '*checkout-v2* → prod: failed (2/4 services) · #1 by <@U0ALICE>',
        'Wave 1: db 7.1.0 (succeeded)',
        'Wave 2: api 1.4.2 (failed), worker 0.9.0 (succeeded)',
        'Wave 3: web 3.0.0 (pending)',
      ].join('\n'),
    );
  });

  it('status <name> prefers the active release of that name over an older one that is over', () => {
    const { run, text } = setup();
    run('create train db@7.1.0 to prod at tomorrow 10:00');
    run('abort train');
    run('create train api@1.4.2 db@7.1.0 to prod at tomorrow 11:00');
    expect(text(run('status train')).split('\n')[0]).toBe('*train* → prod: scheduled (0/2 services, starts 2026-11-24 11:00 UTC) · #2 by <@U0ALICE>');
    run('abort train');
    expect(text(run('status train')).split('\n')[0]).toBe('*train* → prod: aborted (0/2 services) · #2 by <@U0ALICE>');
  });

  it('status <unknown name> is a usage error', () => {
    const { run } = setup();
    expect(usageError(() => run('status nope'))).toBe('No release is named "nope".');
  });

  it('pause, resume and abort by name answer with the new status', () => {
    const { run, text, releases, audit } = setup();
    run('create train db@7.1.0 api@1.4.2 to prod');
    expect(text(run('pause train', { actor: { userId: 'U0BOB', source: 'slash_command' } }))).toBe('Release train is paused.');
    expect(text(run('resume train'))).toBe('Release train is running.');
    expect(text(run('abort train'))).toBe('Release train is aborted.');
    expect(releases.get(1)!.status).toBe('aborted');
    expect(audit.entries.filter((e) => e.action.startsWith('release.') && e.action !== 'release.created' && e.action !== 'release.started').map((e) => `${e.action} by ${e.actor}`)).toEqual([
      'release.paused by U0BOB',
      'release.resumed by U0ALICE',
      'release.aborted by U0ALICE',
    ]);
  });

  it('control of a name with no open release is a not-found that names it', () => {
    const { run } = setup();
    const error = thrown(() => run('pause nope'));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(releaseCommand.isUsageError(error)).toBe(false);
    expect((error as NotFoundError).userMessage).toBe('No scheduled, running or paused release is named "nope". `/release status` lists them.');
  });
});
