import { parse } from 'shell-quote';

/**
 * Slack turns typed quotes into typographic ones; people mean plain quotes. A lone ’ is an
 * apostrophe ("it’s") and stays; only a ‘…’ pair counts as single quotes.
 */
const SMART_DOUBLE = /[“”„]/g;
const SMART_SINGLE_PAIR = /‘([^‘’]*)’/g;

/**
 * Text that is only words of these characters between spaces has nothing for shell-quote to do:
 * no quotes, escapes, operators, variables, globs or comments. Most commands are such
 * (`api@1.4.2 to prod`, `status`), and splitting them at the spaces costs a tenth of parsing them.
 */
const PLAIN = /^[A-Za-z0-9@._\-/:=,+ \t]*$/;

/**
 * Splits command text into words, honouring "quoted phrases" (straight or typographic quotes).
 * Shell operators and variables are kept as the literal text the person typed.
 */
export function tokenize(text: string): string[] {
  if (PLAIN.test(text)) return text.split(/[ \t]+/).filter((word) => word !== '');
  return shellWords(text);
}

/** What tokenize gives for any text, by way of shell-quote. */
export function shellWords(text: string): string[] {
  // Slack's escapes (<@U123>, <#C123|deploys>, <https://x|a link>) stay whole, and &amp; &lt; &gt;
  // are the characters the person typed: shell-quote would split them at < > & and ;.
  const escapes: string[] = [];
  const kept = text.replace(SLACK_ESCAPE, (match) => `${HOLD}${escapes.push(match) - 1}${HOLD}`);
  // shell-quote would expand $VAR and refuse an unclosed ${; a dollar is only ever meant literally here.
  const normalized = kept.replace(SMART_DOUBLE, '"').replace(SMART_SINGLE_PAIR, "'$1'").replace(/\$/g, DOLLAR);
  return parse(normalized).map((token) =>
    wordOf(token)
      .split(DOLLAR)
      .join('$')
      .replace(HELD, (_m, i: string) => escapes[Number(i)]!)
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&'),
  );
}

const SLACK_ESCAPE = /<[@#!][^<>\n]*>|<[a-z][a-z0-9+.-]*:[^<>\n]*>|&(?:amp|lt|gt);/gi;
/** Private-use characters standing in for what shell-quote must not see. */
const HOLD = '\uE025';
const HELD = /\uE025(\d+)\uE025/g;

/** A private-use character standing in for "$" while shell-quote parses. */
const DOLLAR = '\uE024';

function wordOf(token: ReturnType<typeof parse>[number]): string {
  if (typeof token === 'string') return token;
  if ('op' in token && token.op === 'glob') return token.pattern;
  if ('op' in token) return token.op;
  return 'comment' in token ? `#${token.comment}` : String(token);
}

export interface Flags {
  words: string[];
  flags: Map<string, string | true>;
}

/**
 * Separates `--name` and `--name value` flags from the words. `valued` names the flags that take
 * a value; anything else starting with -- must be in `known`.
 */
export function extractFlags(tokens: string[], known: readonly string[], valued: readonly string[]): Flags | { error: string } {
  const words: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (!token.startsWith('--')) {
      words.push(token);
      continue;
    }
    if (!known.includes(token)) return { error: `Unknown option ${token}. Options: ${known.join(', ')}.` };
    if (valued.includes(token)) {
      const value = tokens[i + 1];
      if (value === undefined || value.startsWith('--') || value.trim() === '') return { error: `${token} needs a value in quotes, e.g. ${token} "hotfix for INC-42".` };
      flags.set(token, value);
      i++;
    } else {
      flags.set(token, true);
    }
  }
  return { words, flags };
}
