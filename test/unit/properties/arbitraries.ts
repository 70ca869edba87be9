import fc from 'fast-check';

/**
 * Inputs shared by the property tests: free text of every kind, and text that looks like what
 * people type into Slack, so that the grammars are exercised past their first word.
 */

/** Slack escapes what people type: mentions, channels, special mentions, links, and &, <, >. */
export const slackEscapes = [
  '<@U0123ABCD>',
  '<@W0123ABCD|bob>',
  '<#C0123ABCD|deploys>',
  '<#C0123ABCD>',
  '<!here>',
  '<!channel>',
  '<!subteam^S0123ABCD|@sre>',
  '<https://status.example.com|status page>',
  '<mailto:ops@example.com|ops>',
  '&amp;',
  '&lt;',
  '&gt;',
] as const;

export const slackEscape = fc.constantFrom(...slackEscapes);

/** What the shell-style tokenizer gives meaning to. */
const shellSyntax = fc.constantFrom('$', '$HOME', '${', '${}', '${X', '${X}', '$(', '`', ';', '&&', '||', '|', '>', '<', '2>&1', '#', '#1', '*', '?', '\\', '\\"', "'", '"', '(', ')', '{', '}', '~', '!');

const quoted = (word: fc.Arbitrary<string>) =>
  fc.tuple(fc.constantFrom(['"', '"'], ["'", "'"], ['“', '”'], ['„', '“'], ['‘', '’'], ['"', ''], ['“', '']), word).map(([[open, close], text]) => `${open}${text}${close}`);

const semverCore = fc.tuple(fc.nat({ max: 30 }), fc.nat({ max: 30 }), fc.nat({ max: 30 })).map((parts) => parts.join('.'));

/** A version `isVersion` accepts: a semantic version (with v, pre-release or build) or a commit SHA. */
export const version = fc.oneof(
  semverCore,
  semverCore.map((v) => `v${v}`),
  fc.tuple(semverCore, fc.constantFrom('rc.1', 'beta', 'alpha.2.x')).map(([v, pre]) => `${v}-${pre}`),
  fc.tuple(semverCore, fc.constantFrom('build.5', '20260101')).map(([v, build]) => `${v}+${build}`),
  fc.stringMatching(/^[0-9a-f]{7,40}$/),
);

/** Names as shipmate.yml allows them: services, environments, releases, trains, flags. */
export const name = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,15}$/);

/** Words that mean something to one command or another. */
const keyword = fc.constantFrom(
  'rollback', 'status', 'history', 'lock', 'unlock', 'audit', 'help', 'to', 'at', 'prod', 'staging',
  'create', 'pause', 'resume', 'abort', 'queue', 'train', 'list', 'show', 'on', 'off', 'rollout',
  '25%', '0', '100', '100%', '101%', '12.5%', '-5%', 'tomorrow', '10:00', '2026-11-24',
  '--queue', '--break-glass', '--force', '--to', '--notes', '--at', '--type', '--variants', '--default', '--off', '--description', '--', '-q', '--unknown',
  'boolean', 'string', 'number', 'json', 'a=1,b=2',
  'target', 'untarget', 'serve', 'is', 'equals', 'in', 'matches', 'plan', 'pro,enterprise', ',', 'email', '^[a-z]+@example\\.com$',
  'api@1.4.2', 'web@v2.0.1', 'api@deadbee', 'api@', '@1.2.3', 'a@b@c', 'api@1.4', 'api@latest', 'constructor@1.0.0', '__proto__',
);

const freeWord = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }),
);

const serviceAtVersion = fc.tuple(name, version).map(([s, v]) => `${s}@${v}`);

const token: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: keyword },
  { weight: 2, arbitrary: serviceAtVersion },
  { weight: 2, arbitrary: name },
  { weight: 2, arbitrary: slackEscape },
  { weight: 2, arbitrary: shellSyntax },
  { weight: 2, arbitrary: quoted(fc.oneof(fc.string({ maxLength: 20 }), slackEscape, keyword)) },
  { weight: 2, arbitrary: freeWord },
);

const separator = fc.constantFrom(' ', ' ', ' ', '  ', '\t', '\n', '\u00a0', '');

/** Command text made of real keywords, flags, versions, quotes, Slack escapes and shell syntax. */
export const commandLike = fc
  .array(fc.tuple(token, separator), { maxLength: 14 })
  .map((parts) => parts.map(([t, s]) => `${t}${s}`).join(''));

/** Long input: up to 10,000 characters, free or repeated command words. */
export const longText = fc.oneof(
  fc.string({ minLength: 1_000, maxLength: 10_000 }),
  fc.tuple(commandLike, fc.integer({ min: 50, max: 700 })).map(([text, n]) => `${text} `.repeat(n).slice(0, 10_000)),
  fc.tuple(fc.constantFrom('a', 'api@', '"', '“', 'x'.repeat(100), '--break-glass '), fc.integer({ min: 100, max: 10_000 })).map(([unit, n]) => unit.repeat(n).slice(0, 10_000)),
);

/** One code point of the whole Unicode range, or now and then half of a surrogate pair on its own. */
const codeUnit = fc.oneof(
  { weight: 9, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
);

/** Any text: ASCII, full Unicode (lone surrogates included), graphemes, command-like text. */
export const anyText = fc.oneof(
  fc.string(),
  fc.string({ unit: codeUnit }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  { weight: 4, arbitrary: commandLike },
);

/** Nested arrays and objects `depth` levels deep, around a leaf. */
export function nested(depth: number, leaf: unknown = 'x', kind: 'array' | 'object' = 'array'): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = kind === 'array' ? [value] : { a: value };
  return value;
}
