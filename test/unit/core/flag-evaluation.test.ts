import { createHash } from 'node:crypto';
import { bucketOf, evaluateFlag, MAX_MATCHED_LENGTH, validateContext } from '../../../src/core/flag-evaluation';
import type { FlagState, TargetingRule } from '../../../src/core/flags';
import { FakeFlagStore, newFlag } from '../fakes/fake-flag-store';

const flagOf = (overrides: Partial<FlagState> & { key?: string } = {}): FlagState => ({
  ...newFlag({ key: 'new-checkout' }),
  version: 1,
  updatedAt: new Date('2025-03-01T10:00:00Z'),
  ...overrides,
});

const rule = (attribute: string, op: TargetingRule['op'], values: string[], variant: string): TargetingRule => ({ attribute, op, values, variant });

/** A string flag whose variants name themselves, so the served variant is plain in the value. */
const colours = (overrides: Partial<FlagState> = {}) =>
  flagOf({ key: 'banner', type: 'string', variants: { red: 'red', green: 'green', blue: 'blue' }, defaultVariant: 'blue', offVariant: 'red', ...overrides });

describe('evaluateFlag', () => {
  it.each([
    ['off, whatever its rules and rollout', { enabled: false, rules: [rule('plan', 'equals', ['pro'], 'green')], rollout: { percentage: 100, variant: 'green' } }, { plan: 'pro', targetingKey: 'u1' }, 'red', 'DISABLED'],
    ['on without rules or rollout', {}, { plan: 'pro' }, 'blue', 'STATIC'],
    ['on with rules of which none matches', { rules: [rule('plan', 'equals', ['pro'], 'green')] }, { plan: 'free' }, 'blue', 'DEFAULT'],
    ['a matching rule', { rules: [rule('plan', 'equals', ['pro'], 'green')] }, { plan: 'pro' }, 'green', 'TARGETING_MATCH'],
    ['the first matching rule, not a later one', { rules: [rule('plan', 'equals', ['pro'], 'green'), rule('country', 'equals', ['DE'], 'red')] }, { plan: 'pro', country: 'DE' }, 'green', 'TARGETING_MATCH'],
    ['a later rule when the first does not match', { rules: [rule('plan', 'equals', ['pro'], 'green'), rule('country', 'equals', ['DE'], 'red')] }, { plan: 'free', country: 'DE' }, 'red', 'TARGETING_MATCH'],
    ['a rule before the rollout', { rules: [rule('plan', 'equals', ['pro'], 'green')], rollout: { percentage: 0, variant: 'red' } }, { plan: 'pro' }, 'green', 'TARGETING_MATCH'],
    ['a rollout at 100%', { rollout: { percentage: 100, variant: 'green' } }, { targetingKey: 'u1' }, 'green', 'SPLIT'],
    ['a rollout at 0%', { rollout: { percentage: 0, variant: 'green' } }, { targetingKey: 'u1' }, 'blue', 'SPLIT'],
  ])('serves %s', (_case, overrides, context, variant, reason) => {
    expect(evaluateFlag(colours(overrides as Partial<FlagState>), context)).toEqual({ key: 'banner', value: variant, variant, reason });
  });

  it.each([
    ['equals', rule('plan', 'equals', ['pro'], 'green'), { plan: 'pro' }, true],
    ['equals is case-sensitive', rule('plan', 'equals', ['pro'], 'green'), { plan: 'Pro' }, false],
    ['equals compares a number by its string form', rule('seats', 'equals', ['10'], 'green'), { seats: 10 }, true],
    ['equals compares a boolean by its string form', rule('beta', 'equals', ['true'], 'green'), { beta: true }, true],
    ['equals with an absent attribute', rule('plan', 'equals', ['pro'], 'green'), {}, false],
    ['equals with an object attribute', rule('plan', 'equals', ['[object Object]'], 'green'), { plan: { name: 'pro' } }, false],
    ['equals with no value', rule('plan', 'equals', [], 'green'), { plan: '' }, false],
    ['in, one of the values', rule('country', 'in', ['DE', 'AT', 'CH'], 'green'), { country: 'AT' }, true],
    ['in, none of the values', rule('country', 'in', ['DE', 'AT', 'CH'], 'green'), { country: 'FR' }, false],
    ['in, a number among strings', rule('tier', 'in', ['1', '2'], 'green'), { tier: 2 }, true],
    ['matches', rule('email', 'matches', ['@example\\.com$'], 'green'), { email: 'ana@example.com' }, true],
    ['matches, no match', rule('email', 'matches', ['@example\\.com$'], 'green'), { email: 'ana@example.org' }, false],
    ['matches searches anywhere unless anchored', rule('email', 'matches', ['example'], 'green'), { email: 'ana@example.org' }, true],
    ['matches with a bad pattern never matches', rule('email', 'matches', ['(unclosed'], 'green'), { email: '(unclosed' }, false],
    ['matches with no pattern', rule('email', 'matches', [], 'green'), { email: 'x' }, false],
    ['matches at the length limit', rule('name', 'matches', ['^a+$'], 'green'), { name: 'a'.repeat(MAX_MATCHED_LENGTH) }, true],
    ['matches beyond the length limit', rule('name', 'matches', ['^a+$'], 'green'), { name: 'a'.repeat(MAX_MATCHED_LENGTH + 1) }, false],
  ])('%s', (_case, r, context, matched) => {
    const result = evaluateFlag(colours({ rules: [r] }), context);
    expect(result).toMatchObject(matched ? { variant: 'green', reason: 'TARGETING_MATCH' } : { variant: 'blue', reason: 'DEFAULT' });
  });

  it('keeps evaluating the rules after a bad pattern, and the bad pattern stays harmless', () => {
    const flag = colours({ rules: [rule('email', 'matches', ['[z-a]'], 'red'), rule('email', 'matches', ['@example\\.com$'], 'green')] });
    expect(evaluateFlag(flag, { email: 'ana@example.com' })).toMatchObject({ variant: 'green' });
    expect(evaluateFlag(flag, { email: 'ana@example.com' })).toMatchObject({ variant: 'green' });
  });

  it('refuses a catastrophic input before the pattern sees it', () => {
    const flag = colours({ rules: [rule('name', 'matches', ['^(a+)+$'], 'green')] });
    const started = Date.now();
    expect(evaluateFlag(flag, { name: `${'a'.repeat(5_000)}!` })).toMatchObject({ reason: 'DEFAULT' });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it.each([
    ['boolean', { on: true, off: false }, true],
    ['string', { on: 'v2', off: 'v1' }, 'v2'],
    ['number', { on: 0.25, off: 0 }, 0.25],
    ['object', { on: { limit: 10, regions: ['eu'] }, off: { limit: 0, regions: [] } }, { limit: 10, regions: ['eu'] }],
    ['list', { on: ['a', 'b'], off: [] }, ['a', 'b']],
  ])('serves a %s variant as it is', (_type, variants, value) => {
    expect(evaluateFlag(flagOf({ variants }), {})).toEqual({ key: 'new-checkout', value, variant: 'on', reason: 'STATIC' });
  });

  it('serves the off variant of a JSON flag when off', () => {
    expect(evaluateFlag(flagOf({ enabled: false, variants: { on: { limit: 10 }, off: { limit: 0 } } }), {})).toEqual({ key: 'new-checkout', value: { limit: 0 }, variant: 'off', reason: 'DISABLED' });
  });

  it.each([
    ['no targeting key', {}],
    ['an empty targeting key', { targetingKey: '' }],
  ])('asks for a targeting key when a rollout decides and the context has %s', (_case, context) => {
    expect(evaluateFlag(flagOf({ rollout: { percentage: 50, variant: 'on' }, defaultVariant: 'off' }), context)).toEqual({
      key: 'new-checkout',
      errorCode: 'TARGETING_KEY_MISSING',
      errorDetails: expect.stringContaining('targetingKey'),
    });
  });

  it('needs no targeting key when the flag is off or a rule decides', () => {
    const flag = flagOf({ rollout: { percentage: 50, variant: 'on' }, defaultVariant: 'off', rules: [rule('plan', 'equals', ['pro'], 'on')] });
    expect(evaluateFlag(flag, { plan: 'pro' })).toMatchObject({ reason: 'TARGETING_MATCH' });
    expect(evaluateFlag({ ...flag, enabled: false }, {})).toMatchObject({ reason: 'DISABLED' });
  });

  it('calls a targeting key that is not a string an invalid context', () => {
    expect(evaluateFlag(flagOf({ rollout: { percentage: 50, variant: 'on' } }), { targetingKey: 42 })).toMatchObject({ errorCode: 'INVALID_CONTEXT' });
  });

  it('reports a flag that serves a variant it does not define', () => {
    expect(evaluateFlag(flagOf({ defaultVariant: 'maybe' }), {})).toEqual({ key: 'new-checkout', errorCode: 'GENERAL', errorDetails: expect.stringContaining('"maybe"') });
  });
});

describe('rollout buckets', () => {
  const keys = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
  const served = (percentage: number) => {
    const flag = flagOf({ rollout: { percentage, variant: 'on' }, defaultVariant: 'off' });
    return new Set(keys.filter((targetingKey) => (evaluateFlag(flag, { targetingKey }) as { variant: string }).variant === 'on'));
  };

  it('keeps every key that was in as the percentage grows from 10 to 25 to 50', () => {
    const at10 = served(10);
    const at25 = served(25);
    const at50 = served(50);
    expect([...at10].filter((k) => !at25.has(k))).toEqual([]);
    expect([...at25].filter((k) => !at50.has(k))).toEqual([]);
    expect(at10.size).toBeLessThan(at25.size);
    expect(at25.size).toBeLessThan(at50.size);
  });

  it.each([10, 25, 50])('serves about %i%% of the keys', (percentage) => {
    expect(Math.abs(served(percentage).size / keys.length - percentage / 100)).toBeLessThanOrEqual(0.02);
  });

  it('is a stable number in [0, 100) that depends on the flag as well as the key', () => {
    const buckets = keys.map((k) => bucketOf('new-checkout', k));
    expect(buckets.every((b) => b >= 0 && b < 100)).toBe(true);
    expect(bucketOf('new-checkout', 'user-1')).toBe(bucketOf('new-checkout', 'user-1'));
    expect(keys.filter((k) => bucketOf('new-checkout', k) === bucketOf('dark-mode', k))).toEqual([]);
  });

  it('is the first four bytes of sha256("flag\\0key") as a share of 2^32', () => {
    const first = createHash('sha256').update(Buffer.from([0x61, 0x00, 0x62])).digest().readUInt32BE(0);
    expect(bucketOf('a', 'b')).toBeCloseTo((first / 2 ** 32) * 100, 10);
  });
});

describe('validateContext', () => {
  it.each([
    ['a context', { context: { targetingKey: 'u1', plan: 'pro' } }, { context: { targetingKey: 'u1', plan: 'pro' } }],
    ['an empty context', { context: {} }, { context: {} }],
    ['no context, which OFREP allows', {}, { context: {} }],
    ['a context without a targeting key', { context: { plan: 'pro' } }, { context: { plan: 'pro' } }],
  ])('accepts %s', (_case, body, expected) => {
    expect(validateContext(body)).toEqual(expected);
  });

  it.each([
    ['null', null, 'PARSE_ERROR'],
    ['a string', 'context', 'PARSE_ERROR'],
    ['a list', [{ context: {} }], 'PARSE_ERROR'],
    ['a context that is a string', { context: 'u1' }, 'PARSE_ERROR'],
    ['a context that is a list', { context: [] }, 'PARSE_ERROR'],
    ['a context that is null', { context: null }, 'PARSE_ERROR'],
    ['a numeric targeting key', { context: { targetingKey: 7 } }, 'INVALID_CONTEXT'],
    ['an object targeting key', { context: { targetingKey: { id: 'u1' } } }, 'INVALID_CONTEXT'],
  ])('refuses %s', (_case, body, errorCode) => {
    expect(validateContext(body)).toEqual({ errorCode, errorDetails: expect.any(String) });
  });
});

describe('FakeFlagStore', () => {
  const now = new Date('2025-03-01T10:00:00Z');

  it('numbers versions per environment, so every create and save raises the revision', () => {
    const store = new FakeFlagStore();
    expect(store.revision('prod')).toBe(0);
    const a = store.create(newFlag({ key: 'a' }), now);
    const b = store.create(newFlag({ key: 'b' }), now);
    const staged = store.create(newFlag({ key: 'a', environment: 'staging' }), now);
    expect([a.version, b.version, staged.version]).toEqual([1, 2, 1]);
    store.save({ ...a, enabled: false });
    expect(store.get('a', 'prod')).toMatchObject({ version: 3, enabled: false });
    store.save({ ...store.get('b', 'prod')!, enabled: false });
    expect(store.get('b', 'prod')!.version).toBe(4);
    expect(store.revision('prod')).toBe(4);
    expect(store.revision('staging')).toBe(1);
    store.save({ ...a, key: 'missing' });
    expect(store.get('missing', 'prod')).toBeUndefined();
    expect(store.revision('prod')).toBe(4);
    expect(store.all('a').map((f) => f.environment)).toEqual(['prod', 'staging']);
    expect(store.list().map((f) => `${f.key}/${f.environment}`)).toEqual(['a/prod', 'a/staging', 'b/prod']);
    expect(store.list('prod').map((f) => f.key)).toEqual(['a', 'b']);
  });

  it('refuses a second flag with the same key in an environment and hands out copies', () => {
    const store = new FakeFlagStore();
    const created = store.create(newFlag({ key: 'a' }), now);
    expect(() => store.create(newFlag({ key: 'a' }), now)).toThrow(/already exists/);
    created.enabled = false;
    expect(store.get('a', 'prod')!.enabled).toBe(true);
  });
});
