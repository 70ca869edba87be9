import fc from 'fast-check';
import { runInNewContext } from 'node:vm';
import { bucketOf, evaluateFlag, MAX_MATCHED_LENGTH, patternProblem, validateContext } from '../../../src/core/flag-evaluation';
import type { FlagState, TargetingRule } from '../../../src/core/flags';

fc.configureGlobal({ seed: 42, numRuns: 300 });

const REASONS = ['DISABLED', 'TARGETING_MATCH', 'SPLIT', 'STATIC', 'DEFAULT'];
const ERROR_CODES = ['TARGETING_KEY_MISSING', 'INVALID_CONTEXT', 'GENERAL'];

const variantName = fc.constantFrom('on', 'off', 'blue', 'red', 'constructor', 'toString', '__proto__', '');
const attribute = fc.oneof(fc.constantFrom('email', 'plan', 'country', 'targetingKey', 'constructor', 'toString', '__proto__', 'length', ''), fc.string({ maxLength: 6 }));

/** Regular expressions or not: random text over the characters that make them, and real ones. */
const patternText = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'ab.*+?|()[]{}^$\\-,0123456789dws'.split('')), maxLength: 16 }),
  fc.constantFrom('^[a-z]+@example\\.com$', '^(pro|enterprise)$', '(', '[', '\\', 'a{2,1}', '(?<n>a)\\k<n>', '\\p{L}+', '^$', '.*'),
);

const rule: fc.Arbitrary<TargetingRule> = fc.record({
  attribute,
  op: fc.constantFrom('equals', 'in', 'matches', 'startsWith') as fc.Arbitrary<TargetingRule['op']>,
  values: fc.array(fc.oneof(patternText, fc.string({ maxLength: 8 }), fc.constantFrom('pro', 'enterprise', '42', 'true')), { maxLength: 4 }),
  variant: variantName,
});

/** A flag whose variants may or may not include the ones it names. */
const flagState = (variants: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<FlagState> =>
  fc
    .record({
      key: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/),
      variants,
      enabled: fc.boolean(),
      defaultVariant: variantName,
      offVariant: variantName,
      rollout: fc.option(fc.record({ percentage: fc.double({ min: 0, max: 100, noNaN: true }), variant: variantName })),
      rules: fc.array(rule, { maxLength: 4 }),
    })
    .map((f) => ({ ...f, environment: 'prod', type: 'boolean', description: '', version: 1, updatedAt: new Date(0), updatedBy: 'U0123ABCD' }) as FlagState);

const anyVariants = fc.dictionary(variantName, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 });

/** Contexts from apps: any JSON object, with the attributes the rules look at now and then. */
const context = fc.oneof(
  fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 })),
  fc.record(
    { email: fc.oneof(fc.emailAddress(), fc.string()), plan: fc.constantFrom('pro', 'free', 42, true, null), targetingKey: fc.oneof(fc.string(), fc.integer(), fc.constant(undefined)), country: fc.string({ unit: 'grapheme', maxLength: 4 }) },
    { requiredKeys: [] },
  ),
);

describe('evaluateFlag', () => {
  it('never throws: a value of one of the flag’s own variants, or an error code', () => {
    fc.assert(
      fc.property(flagState(anyVariants), context, (flag, ctx) => {
        const result = evaluateFlag(flag, ctx);
        expect(result.key).toBe(flag.key);
        if ('errorCode' in result) {
          expect(ERROR_CODES).toContain(result.errorCode);
          expect(result.errorDetails.trim()).not.toBe('');
          return;
        }
        expect(Object.hasOwn(flag.variants, result.variant)).toBe(true);
        expect(result.value).toEqual(flag.variants[result.variant]);
        expect(REASONS).toContain(result.reason);
        if (!flag.enabled) expect(result).toMatchObject({ variant: flag.offVariant, reason: 'DISABLED' });
      }),
      { numRuns: 500 },
    );
  });

  it('a flag that defines every variant it names never answers GENERAL', () => {
    const complete = flagState(fc.constant({})).map((f) => {
      const named = [f.defaultVariant, f.offVariant, ...(f.rollout ? [f.rollout.variant] : []), ...f.rules.map((r) => r.variant)];
      const variants: Record<string, unknown> = {};
      for (const name of named) Object.defineProperty(variants, name, { value: name.length % 2 === 0, enumerable: true, writable: true, configurable: true });
      return { ...f, variants } as FlagState;
    });
    fc.assert(
      fc.property(complete, context, (flag, ctx) => {
        const result = evaluateFlag(flag, ctx);
        if ('errorCode' in result) expect(result.errorCode).not.toBe('GENERAL');
      }),
    );
  });

  it('a rollout is sticky: whoever is in at p% is in at any higher percentage', () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ minLength: 1 }), fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 0, max: 100, noNaN: true }), (key, targetingKey, a, b) => {
        const flagAt = (percentage: number): FlagState => ({
          key, environment: 'prod', type: 'boolean', description: '', variants: { on: true, off: false }, enabled: true, defaultVariant: 'off', offVariant: 'off',
          rollout: { percentage, variant: 'on' }, rules: [], version: 1, updatedAt: new Date(0), updatedBy: 'U0123ABCD',
        });
        const [low, high] = a <= b ? [a, b] : [b, a];
        const inAt = (p: number) => (evaluateFlag(flagAt(p), { targetingKey }) as { variant: string }).variant === 'on';
        if (inAt(low)) expect(inAt(high)).toBe(true);
        expect(inAt(0)).toBe(false);
        expect(inAt(100)).toBe(true);
      }),
    );
  });
});

describe('bucketOf', () => {
  it('is in [0, 100) and the same every time', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (flagKey, targetingKey) => {
        const bucket = bucketOf(flagKey, targetingKey);
        expect(bucket).toBeGreaterThanOrEqual(0);
        expect(bucket).toBeLessThan(100);
        expect(bucketOf(flagKey, targetingKey)).toBe(bucket);
      }),
    );
  });
});

describe('validateContext', () => {
  it('anything gives a context object (with a string targetingKey if any) or an error code', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.jsonValue(), fc.record({ context: fc.oneof(fc.anything(), fc.dictionary(fc.string(), fc.jsonValue())) })), (body) => {
        const result = validateContext(body);
        if ('errorCode' in result) {
          expect(['PARSE_ERROR', 'INVALID_CONTEXT']).toContain(result.errorCode);
          return;
        }
        expect(typeof result.context).toBe('object');
        expect(Array.isArray(result.context)).toBe(false);
        const { targetingKey } = result.context;
        expect(targetingKey === undefined || typeof targetingKey === 'string').toBe(true);
      }),
    );
  });
});

describe('matches rules', () => {
  /** Runs `work` and says whether it ended within `ms`; vm's timeout interrupts even a regular expression. */
  function endsWithin(ms: number, work: () => unknown): boolean {
    try {
      runInNewContext('work()', { work }, { timeout: ms });
      return true;
    } catch (error) {
      if (error instanceof Error && /timed out/.test(error.message)) return false;
      throw error;
    }
  }

  const flagMatching = (pattern: string): FlagState => ({
    key: 'new-checkout', environment: 'prod', type: 'boolean', description: '', variants: { on: true, off: false }, enabled: true, defaultVariant: 'off', offVariant: 'off',
    rollout: null, rules: [{ attribute: 'email', op: 'matches', values: [pattern], variant: 'on' }], version: 1, updatedAt: new Date(0), updatedBy: 'U0123ABCD',
  });

  it('random patterns on attributes up to the matched length end quickly and never throw', () => {
    fc.assert(
      fc.property(patternText, fc.string({ unit: fc.constantFrom('a', 'b', '-', '@', '.', '1'), maxLength: MAX_MATCHED_LENGTH }), (pattern, email) => {
        expect(endsWithin(1_000, () => evaluateFlag(flagMatching(pattern), { email }))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('patterns refused by patternProblem never match', () => {
    fc.assert(
      fc.property(fc.constantFrom('^(a+)+$', '(a*)*b', '(\\w+\\s?)+$', '(', 'a'.repeat(201)), fc.string({ unit: fc.constantFrom('a', 'b', ' '), maxLength: 40 }), (pattern, email) => {
        expect(patternProblem(pattern)).toBeDefined();
        expect(evaluateFlag(flagMatching(pattern), { email })).toMatchObject({ variant: 'off', reason: 'DEFAULT' });
      }),
      { numRuns: 50 },
    );
  });

  /** Patterns that backtrack exponentially or polynomially on a near miss. */
  const slowPatterns = ['^(a|a)*$', '^(?:a|a)*$', '^((a)+)+$', '^(a|aa)*$', '^([a-z]|[a-z0-9])*@example\\.com$', 'a*a*a*a*a*a*a*$', '(a+)+$', '^(a*)*$'];

  it('refuses every pattern known to backtrack for ever, and evaluating a flag holding one ends at once', () => {
    for (const pattern of slowPatterns) {
      expect(patternProblem(pattern)).toBeDefined();
      expect(endsWithin(200, () => evaluateFlag(flagMatching(pattern), { email: `${'a'.repeat(999)}!` }))).toBe(true);
    }
  });

  it('keeps patterns people write: one [class]+ with fixed text around it, alternatives of words', () => {
    for (const pattern of ['^[a-z0-9._%+-]+@example\\.com$', '^(pro|enterprise)$', '^user-\\d{1,6}$', 'beta']) expect(patternProblem(pattern)).toBeUndefined();
    fc.assert(
      fc.property(fc.integer({ min: 30, max: MAX_MATCHED_LENGTH - 1 }), (n) => {
        expect(endsWithin(200, () => evaluateFlag(flagMatching('^[a-z0-9._%+-]+@example\\.com$'), { email: `${'a'.repeat(n)}!` }))).toBe(true);
      }),
      { numRuns: 20 },
    );
  });
});
