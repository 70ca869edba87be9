import fc from 'fast-check';
import { extractFlags, shellWords, tokenize } from '../../../commands/tokenize';

describe('tokenize', () => {
  it.each<[string, string[]]>([
    ['api@1.4.2 to prod', ['api@1.4.2', 'to', 'prod']],
    ['  lock \t prod   api  ', ['lock', 'prod', 'api']],
    ['', []],
    ['lock prod "db migration running"', ['lock', 'prod', 'db migration running']],
    ["lock prod 'db migration running'", ['lock', 'prod', 'db migration running']],
    ['lock prod “db migration running”', ['lock', 'prod', 'db migration running']],
    ['lock prod „db migration running“', ['lock', 'prod', 'db migration running']],
    ['lock prod ‘db migration running’', ['lock', 'prod', 'db migration running']],
    ['lock prod “it\'s Bob\'s call”', ['lock', 'prod', "it's Bob's call"]],
    ['lock prod “Alice’s migration”', ['lock', 'prod', 'Alice’s migration']],
    ['--break-glass “INC-42: checkout is down”', ['--break-glass', 'INC-42: checkout is down']],
    ['--break-glass ""', ['--break-glass', '']],
  ])('%j -> %j', (text, words) => {
    expect(tokenize(text)).toEqual(words);
  });

  it.each<[string, string[]]>([
    ['costs $5 for $HOME', ['costs', '$5', 'for', '$HOME']],
    ['a && b || c ; d | e', ['a', '&&', 'b', '||', 'c', ';', 'd', '|', 'e']],
    ['release *.js', ['release', '*.js']],
    ['release #123 is out', ['release', '#123 is out']],
  ])('keeps shell syntax as the literal text typed: %j', (text, words) => {
    expect(tokenize(text)).toEqual(words);
  });

  // BUG commands/tokenize.ts (tokenize) maps Slack's typographic apostrophe (’) to a straight quote
  // before shell-quote parses the text, so an apostrophe inside a word opens a quoted string:
  // "it’s Bob’s call" becomes ["its Bobs", "call"] and "Alice’s migration" ["Alice", "s", "migration"].
  it.each<[string, string[]]>([
    ['lock prod api it’s Bob’s call', ['lock', 'prod', 'api', 'it’s', 'Bob’s', 'call']],
    ['lock prod api Alice’s migration', ['lock', 'prod', 'api', 'Alice’s', 'migration']],
  ])('an apostrophe inside a word stays in the word: %j', (text, words) => {
    const normalised = (tokens: string[]) => tokens.map((t) => t.replace(/’/g, "'"));
    expect(normalised(tokenize(text))).toEqual(normalised(words));
  });
});

describe('tokenize on plain text', () => {
  // Words of these characters skip shell-quote; the answer must be the one it would have given.
  const plainChar = fc.constantFrom(...'abcXYZ019@._-/:=,+ \t'.split(''));
  const shellChar = fc.constantFrom(...'"\'\\$#*?!&|;<>()`~{}[]\n\u00a0“”‘’'.split(''));

  it('gives what shell-quote gives, for any text of plain characters', () => {
    fc.assert(
      fc.property(fc.array(plainChar, { maxLength: 40 }), (chars) => {
        const text = chars.join('');
        expect(tokenize(text)).toEqual(shellWords(text));
      }),
      { seed: 7, numRuns: 2000 },
    );
  });

  it('still gives what shell-quote gives with any one character shell-quote reads among plain ones', () => {
    fc.assert(
      fc.property(fc.array(plainChar, { maxLength: 20 }), shellChar, fc.nat(20), (chars, extra, at) => {
        chars.splice(at % (chars.length + 1), 0, extra);
        const text = chars.join('');
        expect(tokenize(text)).toEqual(shellWords(text));
      }),
      { seed: 7, numRuns: 2000 },
    );
  });
});

describe('extractFlags', () => {
  const OPTIONS = ['--queue', '--break-glass'];
  const VALUED = ['--break-glass'];
  const extract = (text: string) => extractFlags(tokenize(text), OPTIONS, VALUED);

  it('separates flags from words, wherever they are', () => {
    expect(extract('--queue api@1.4.2 --break-glass "INC 42" to prod')).toEqual({
      words: ['api@1.4.2', 'to', 'prod'],
      flags: new Map<string, string | true>([
        ['--queue', true],
        ['--break-glass', 'INC 42'],
      ]),
    });
  });

  it('no flags: every token is a word', () => {
    expect(extract('api@1.4.2 to prod')).toEqual({ words: ['api@1.4.2', 'to', 'prod'], flags: new Map() });
  });

  it('a flag’s value may be a phrase in typographic quotes', () => {
    const result = extract('api@1.4.2 to prod --break-glass “hotfix for INC-42”');
    expect('flags' in result && result.flags.get('--break-glass')).toBe('hotfix for INC-42');
  });

  it.each<[string, string]>([
    ['api@1.4.2 to prod --force', 'Unknown option --force. Options: --queue, --break-glass.'],
    ['api@1.4.2 to prod --Queue', 'Unknown option --Queue. Options: --queue, --break-glass.'],
    ['api@1.4.2 to prod --break-glass', '--break-glass needs a value in quotes, e.g. --break-glass "hotfix for INC-42".'],
    ['api@1.4.2 to prod --break-glass --queue', '--break-glass needs a value in quotes, e.g. --break-glass "hotfix for INC-42".'],
  ])('%j: %s', (text, error) => {
    expect(extract(text)).toEqual({ error });
  });

  it('a flag that takes no value leaves the next token a word', () => {
    expect(extract('--queue prod')).toEqual({ words: ['prod'], flags: new Map([['--queue', true]]) });
  });
});
