import { ValidationError } from '../../../src/core/errors';
import {
  describePlan,
  nextWave,
  planWaves,
  type ReleaseItem,
  type ServiceResult,
  type Wave,
} from '../../../src/core/release-plan';

/** A dependsOn backed by a plain table, as the config would give it. */
const deps =
  (table: Record<string, string[]>) =>
  (service: string): readonly string[] =>
    (Object.hasOwn(table, service) ? table[service]! : []);

/** Items at version 1.0.0 unless given as `name@version`. */
const items = (...specs: string[]): ReleaseItem[] =>
  specs.map((spec) => {
    const [name, version = '1.0.0'] = spec.split('@');
    return { name: name!, version };
  });

/** Waves as lists of names, the shape most assertions care about. */
const layers = (waves: Wave[]) => waves.map((wave) => wave.services.map((service) => service.name));

function planError(release: ReleaseItem[], table: Record<string, string[]>): ValidationError {
  try {
    planWaves(release, deps(table));
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected planWaves to throw a ValidationError');
}

describe('planWaves', () => {
  it.each<[string, string[], Record<string, string[]>, string[][]]>([
    ['independent services share one wave, by name', ['web', 'api', 'worker'], {}, [['api', 'web', 'worker']]],
    ['a single service is one wave', ['api'], {}, [['api']]],
    ['a chain is one service per wave', ['web', 'api', 'db'], { web: ['api'], api: ['db'] }, [['db'], ['api'], ['web']]],
    [
      'a diamond puts both middles in one wave',
      ['web', 'worker', 'api', 'db'],
      { web: ['api', 'worker'], api: ['db'], worker: ['db'] },
      [['db'], ['api', 'worker'], ['web']],
    ],
    [
      'a service waits for its longest path, not its shortest',
      ['web', 'api', 'db'],
      { web: ['db', 'api'], api: ['db'] },
      [['db'], ['api'], ['web']],
    ],
    [
      'two unrelated chains interleave by depth',
      ['b2', 'a1', 'b1', 'a2', 'a3'],
      { a2: ['a1'], a3: ['a2'], b2: ['b1'] },
      [['a1', 'b1'], ['a2', 'b2'], ['a3']],
    ],
    [
      'dependencies outside the release do not hold a service back',
      ['web', 'api'],
      { web: ['api', 'cdn'], api: ['postgres'] },
      [['api'], ['web']],
    ],
    ['a dependency listed twice counts once', ['web', 'api'], { web: ['api', 'api'] }, [['api'], ['web']]],
  ])('%s', (_title, release, table, expected) => {
    expect(layers(planWaves(items(...release), deps(table)))).toEqual(expected);
  });

  it('numbers waves from 1 and keeps each version with its service', () => {
    const waves = planWaves(items('web@2.0.1', 'api@1.4.2', 'db-migrate@3.1.0'), deps({ api: ['db-migrate'], web: ['db-migrate'] }));
    expect(waves).toEqual([
      { index: 1, services: [{ name: 'db-migrate', version: '3.1.0', externalDependencies: [] }] },
      {
        index: 2,
        services: [
          { name: 'api', version: '1.4.2', externalDependencies: [] },
          { name: 'web', version: '2.0.1', externalDependencies: [] },
        ],
      },
    ]);
  });

  it('gives the same plan whatever order the release lists its services in', () => {
    const table = { web: ['api', 'worker'], api: ['db'], worker: ['db'] };
    const expected = planWaves(items('db', 'api', 'worker', 'web'), deps(table));
    for (const order of [['web', 'worker', 'api', 'db'], ['api', 'web', 'db', 'worker'], ['worker', 'db', 'web', 'api']]) {
      expect(planWaves(items(...order), deps(table))).toEqual(expected);
    }
  });

  it('lists dependencies outside the release per service, in config order, once each', () => {
    const waves = planWaves(items('web', 'api'), deps({ web: ['cdn', 'api', 'auth', 'cdn'], api: ['postgres'] }));
    expect(waves.flatMap((wave) => wave.services)).toEqual([
      { name: 'api', version: '1.0.0', externalDependencies: ['postgres'] },
      { name: 'web', version: '1.0.0', externalDependencies: ['cdn', 'auth'] },
    ]);
  });

  it('orders by a dependency only when that dependency is part of the release', () => {
    const table = { web: ['api'] };
    expect(layers(planWaves(items('web'), deps(table)))).toEqual([['web']]);
    expect(planWaves(items('web'), deps(table))[0]!.services[0]!.externalDependencies).toEqual(['api']);
    expect(layers(planWaves(items('web', 'api'), deps(table)))).toEqual([['api'], ['web']]);
  });

  describe('cycles', () => {
    it.each<[string, string[], Record<string, string[]>, string]>([
      ['a self-dependency', ['api'], { api: ['api'] }, 'dependsOn has a cycle: api → api'],
      ['two services', ['api', 'db-migrate'], { api: ['db-migrate'], 'db-migrate': ['api'] }, 'dependsOn has a cycle: api → db-migrate → api'],
      ['three services', ['a', 'b', 'c'], { a: ['b'], b: ['c'], c: ['a'] }, 'dependsOn has a cycle: a → b → c → a'],
      // Same three services, arrows the other way: the message follows "depends on", not the alphabet.
      ['three services, reversed', ['a', 'b', 'c'], { a: ['c'], c: ['b'], b: ['a'] }, 'dependsOn has a cycle: a → c → b → a'],
      [
        'a cycle reached from a service outside it names only the cycle',
        ['admin', 'db', 'queue'],
        { admin: ['db'], db: ['queue'], queue: ['db'] },
        'dependsOn has a cycle: db → queue → db',
      ],
      [
        'a cycle entered at its higher name still starts at its lowest',
        ['admin', 'y', 'z'],
        { admin: ['z'], z: ['y'], y: ['z'] },
        'dependsOn has a cycle: y → z → y',
      ],
      [
        'a cycle behind services that could be placed',
        ['db', 'queue', 'worker', 'web'],
        { queue: ['db', 'worker'], worker: ['queue'], web: ['db'] },
        'dependsOn has a cycle: queue → worker → queue',
      ],
      [
        'a self-dependency beside a healthy service',
        ['web', 'api'],
        { web: ['api'], api: ['api', 'postgres'] },
        'dependsOn has a cycle: api → api',
      ],
    ])('%s', (_title, release, table, message) => {
      const error = planError(items(...release), table);
      expect(error.userMessage).toBe(message);
      expect(error.code).toBe('validation');
    });

    it('names the same cycle whatever order the release lists its services in', () => {
      const table = { x: ['y'], y: ['z'], z: ['x'] };
      for (const order of [['x', 'y', 'z'], ['z', 'y', 'x'], ['y', 'x', 'z']]) {
        expect(planError(items(...order), table).userMessage).toBe('dependsOn has a cycle: x → y → z → x');
      }
    });

    it('with two cycles, names the one holding the lowest name, whatever the order', () => {
      const table = { x: ['y'], y: ['x'], a: ['b'], b: ['a'] };
      for (const order of [['x', 'y', 'a', 'b'], ['b', 'y', 'a', 'x']]) {
        expect(planError(items(...order), table).userMessage).toBe('dependsOn has a cycle: a → b → a');
      }
    });

    it('ignores a cycle that runs through a service outside the release', () => {
      // api → cache → api in config, but cache is not being released: it is already running.
      expect(layers(planWaves(items('api'), deps({ api: ['cache'], cache: ['api'] })))).toEqual([['api']]);
    });
  });

  describe('invalid releases', () => {
    it('rejects a service listed twice, naming it and both versions', () => {
      expect(planError(items('api@1.4.2', 'web', 'api@1.5.0'), {}).userMessage).toBe(
        'the release lists a service more than once: api (1.4.2, 1.5.0); list each service once',
      );
    });

    it('names every repeated service at once', () => {
      expect(planError(items('web@2', 'api@1', 'web@2', 'api@1', 'api@3'), {}).userMessage).toBe(
        'the release lists a service more than once: web (2, 2), api (1, 1, 3); list each service once',
      );
    });

    it('reports a duplicate before looking for cycles', () => {
      expect(planError(items('api', 'api'), { api: ['api'] }).userMessage).toMatch(/^the release lists a service more than once: api/);
    });

    it('rejects an empty release', () => {
      expect(planError([], {}).userMessage).toBe('a release needs at least one service');
    });
  });
});

describe('describePlan', () => {
  it('writes one line per wave with each service and version', () => {
    const waves = planWaves(items('web@2.0.1', 'api@1.4.2', 'db-migrate@3.1.0'), deps({ api: ['db-migrate'], web: ['api'] }));
    expect(describePlan(waves)).toEqual(['Wave 1: db-migrate 3.1.0', 'Wave 2: api 1.4.2', 'Wave 3: web 2.0.1']);
  });

  it('joins the services of a wave with commas', () => {
    const waves = planWaves(items('web@2.0.1', 'api@1.4.2', 'db-migrate@3.1.0'), deps({ api: ['db-migrate'], web: ['db-migrate'] }));
    expect(describePlan(waves)).toEqual(['Wave 1: db-migrate 3.1.0', 'Wave 2: api 1.4.2, web 2.0.1']);
  });

  it('shows dependencies outside the release so people can check they are up', () => {
    const waves = planWaves(items('web@2.0.1', 'api@1.4.2'), deps({ api: ['postgres', 'redis'], web: ['api', 'cdn'] }));
    expect(describePlan(waves)).toEqual([
      'Wave 1: api 1.4.2 (depends on postgres, redis outside this release)',
      'Wave 2: web 2.0.1 (depends on cdn outside this release)',
    ]);
  });

  it('describes no waves as no lines', () => {
    expect(describePlan([])).toEqual([]);
  });
});

describe('nextWave', () => {
  // db-migrate in wave 1; api and web both need it, so they share wave 2.
  const waves = planWaves(items('web@2.0.1', 'api@1.4.2', 'db-migrate@3.1.0'), deps({ api: ['db-migrate'], web: ['db-migrate'] }));
  const [wave1, wave2] = waves;

  it.each<[string, Record<string, ServiceResult>, ReturnType<typeof nextWave>]>([
    ['nothing has run: start wave 1', {}, { kind: 'start', wave: wave1! }],
    ['everything pending: start wave 1', { 'db-migrate': 'pending', api: 'pending', web: 'pending' }, { kind: 'start', wave: wave1! }],
    ['wave 1 running: wait', { 'db-migrate': 'running' }, { kind: 'wait' }],
    ['wave 1 succeeded: start wave 2', { 'db-migrate': 'succeeded' }, { kind: 'start', wave: wave2! }],
    ['wave 2 partly started: wait, do not start it again', { 'db-migrate': 'succeeded', api: 'running' }, { kind: 'wait' }],
    ['wave 2 half done: wait', { 'db-migrate': 'succeeded', api: 'succeeded', web: 'running' }, { kind: 'wait' }],
    ['one of wave 2 done, the other not started: wait', { 'db-migrate': 'succeeded', api: 'succeeded' }, { kind: 'wait' }],
    ['everything succeeded: done', { 'db-migrate': 'succeeded', api: 'succeeded', web: 'succeeded' }, { kind: 'done' }],
    [
      'wave 1 failed: stop, nothing to roll back',
      { 'db-migrate': 'failed' },
      { kind: 'failed', failed: ['db-migrate'], deployed: [] },
    ],
    [
      'a failure while its neighbour still runs: wait for the neighbour',
      { 'db-migrate': 'succeeded', api: 'failed', web: 'running' },
      { kind: 'wait' },
    ],
    [
      'a failure once the wave settled: report it with what to roll back, latest wave first',
      { 'db-migrate': 'succeeded', api: 'failed', web: 'succeeded' },
      { kind: 'failed', failed: ['api'], deployed: ['web', 'db-migrate'] },
    ],
    [
      'a failure next to a service never started: report it, do not start the rest',
      { 'db-migrate': 'succeeded', api: 'failed', web: 'pending' },
      { kind: 'failed', failed: ['api'], deployed: ['db-migrate'] },
    ],
    [
      'every failure is listed',
      { 'db-migrate': 'succeeded', api: 'failed', web: 'failed' },
      { kind: 'failed', failed: ['api', 'web'], deployed: ['db-migrate'] },
    ],
  ])('%s', (_title, results, expected) => {
    expect(nextWave(waves, results)).toEqual(expected);
  });

  it('walks a three-service release with one failure from start to stop', () => {
    const results: Record<string, ServiceResult> = {};
    const seen: string[] = [];
    const step = () => {
      const next = nextWave(waves, results);
      seen.push(next.kind === 'start' ? `start wave ${next.wave.index}` : next.kind);
      return next;
    };

    let next = step();
    if (next.kind !== 'start') throw new Error(`expected start, got ${next.kind}`);
    results['db-migrate'] = 'running';
    step();
    results['db-migrate'] = 'succeeded';
    next = step();
    if (next.kind !== 'start') throw new Error(`expected start, got ${next.kind}`);
    expect(next.wave.services.map((service) => service.name)).toEqual(['api', 'web']);
    results.api = 'running';
    results.web = 'running';
    step();
    results.web = 'failed';
    step();
    results.api = 'succeeded';
    const last = step();

    expect(seen).toEqual(['start wave 1', 'wait', 'start wave 2', 'wait', 'wait', 'failed']);
    expect(last).toEqual({ kind: 'failed', failed: ['web'], deployed: ['api', 'db-migrate'] });
  });

  describe('a chain of three waves', () => {
    const chain = planWaves(items('web', 'api', 'db'), deps({ web: ['api'], api: ['db'] }));

    it('never starts a later wave after a failure', () => {
      expect(nextWave(chain, { db: 'succeeded', api: 'failed' })).toEqual({ kind: 'failed', failed: ['api'], deployed: ['db'] });
    });

    it('starts wave 3 only once wave 2 succeeded', () => {
      expect(nextWave(chain, { db: 'succeeded', api: 'running' })).toEqual({ kind: 'wait' });
      expect(nextWave(chain, { db: 'succeeded', api: 'succeeded' })).toEqual({ kind: 'start', wave: chain[2] });
    });
  });

  it('lists rollbacks latest wave first across several waves', () => {
    const plan = planWaves(items('db', 'api', 'cache', 'web', 'worker'), deps({ api: ['db'], cache: ['db'], web: ['api'], worker: ['cache'] }));
    expect(layers(plan)).toEqual([['db'], ['api', 'cache'], ['web', 'worker']]);
    expect(nextWave(plan, { db: 'succeeded', api: 'succeeded', cache: 'succeeded', web: 'failed', worker: 'succeeded' })).toEqual({
      kind: 'failed',
      failed: ['web'],
      deployed: ['worker', 'cache', 'api', 'db'],
    });
  });

  it('ignores results for services outside the plan, even ones named like object keys', () => {
    const results = { 'db-migrate': 'succeeded', constructor: 'failed', other: 'running' } as Record<string, ServiceResult>;
    expect(nextWave(waves, results)).toEqual({ kind: 'start', wave: wave2 });
  });

  it('treats a service named like an object key as pending until it has a result', () => {
    const plan = planWaves(items('constructor', 'toString'), deps({}));
    expect(nextWave(plan, {})).toEqual({ kind: 'start', wave: plan[0] });
    const results = new Map<string, ServiceResult>([['constructor', 'succeeded'], ['toString', 'succeeded']]);
    expect(nextWave(plan, Object.fromEntries(results))).toEqual({ kind: 'done' });
  });

  it('has nothing to do for an empty plan', () => {
    expect(nextWave([], {})).toEqual({ kind: 'done' });
  });
});
