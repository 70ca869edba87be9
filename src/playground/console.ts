import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { PLAYGROUND_CHANNELS, PLAYGROUND_USERS } from './demo-config';

/**
 * `shipmate console`: the playground in a terminal. Type slash commands as in Slack; Shipmate's
 * messages print as text with their buttons numbered, and typing a number clicks one.
 */

type Element = { type?: string; action_id?: string; value?: string; text?: { text?: string } | string; url?: string; confirm?: { text?: { text?: string } } };
type Block = { type: string; text?: { text?: string }; fields?: { text?: string }[]; elements?: (Element | string)[] };
type Message = { ts: string; text: unknown; blocks?: Block[]; thread_ts?: string; user?: string; files?: { title: string }[] };
type State = { messages: Record<string, Message[]>; ephemerals: { channel: string; text: unknown; ts: string }[] };
export type Button = { label: string; channel: string; ts: string; actionId: string; value: string; confirm?: string };

const HELP = [
  'Type a slash command (/deploy help, /release, /flag list, /slo status), or:',
  '  <number>          click that button ("<number> y" confirms one that asks first)',
  '  @shipmate …       a message mentioning Shipmate (in the last thread you opened with :thread)',
  '  :user bob         act as alice (engineer), bob (approver) or carol (on-call)',
  '  :channel #name    switch channel (#deploys, #incidents, #flags)',
  '  :thread <n>       show the replies of message n of the channel',
  '  :incident web     simulate an SLO burn of a service',
  '  :help, :quit',
].join('\n');

/** mrkdwn as terminal text: mentions by name, dates as written, links as their label. */
export function plain(text: string): string {
  return text
    .replace(/<@(\w+)>/g, (_m, id: string) => `@${PLAYGROUND_USERS.find((u) => u.id === id)?.name.split(' ')[0] ?? id}`)
    .replace(/<#(\w+)(?:\|([^>]*))?>/g, (_m, id: string, name?: string) => name ? `#${name}` : PLAYGROUND_CHANNELS.find((c) => c.id === id)?.name ?? `#${id}`)
    .replace(/<!date\^\d+\^[^|]*\|([^>]*)>/g, '$1')
    .replace(/<(https?:[^|>]+)\|([^>]+)>/g, '$2 ($1)')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

const labelOf = (e: Element) => (typeof e.text === 'string' ? e.text : e.text?.text ?? e.action_id ?? '?');

/** One message as lines, its buttons numbered from `next`. */
export function renderMessage(m: Message, channel: string, next: number): { lines: string[]; buttons: Button[] } {
  const lines: string[] = [];
  const buttons: Button[] = [];
  const who = m.user ? `@${PLAYGROUND_USERS.find((u) => u.id === m.user)?.name.split(' ')[0] ?? m.user}` : 'Shipmate';
  if (!m.blocks?.length) lines.push(`${who}: ${plain(String(m.text ?? ''))}`);
  else lines.push(`${who}:`);
  for (const b of m.blocks ?? []) {
    if ((b.type === 'section' || b.type === 'header') && b.text?.text) lines.push(...plain(b.text.text).split('\n').map((l) => `  ${l}`));
    for (const f of b.fields ?? []) if (f.text) lines.push(`  ${plain(f.text)}`);
    if (b.type === 'context') lines.push(`  ${(b.elements ?? []).map((e) => plain(typeof e === 'string' ? e : String((e as { text?: string }).text ?? ''))).join(' ')}`);
    if (b.type === 'actions') {
      const row = (b.elements ?? []).filter((e): e is Element => typeof e !== 'string' && e.type === 'button');
      for (const e of row) {
        buttons.push({ label: labelOf(e), channel, ts: m.ts, actionId: e.action_id ?? '', value: e.value ?? '', ...(e.confirm?.text?.text ? { confirm: plain(e.confirm.text.text) } : {}) });
      }
      if (row.length) lines.push(`  ${row.map((e, i) => `[${next + buttons.length - row.length + i}] ${labelOf(e)}`).join('  ')}`);
    }
  }
  for (const f of m.files ?? []) lines.push(`  (file: ${f.title})`);
  return { lines, buttons };
}

export interface ConsoleIo {
  input: Readable;
  output: Writable;
  /** The playground's address. */
  url: string;
  pollMs?: number;
}

/** Runs until :quit or the end of input. */
export async function runConsole(io: ConsoleIo): Promise<void> {
  let user: string = PLAYGROUND_USERS[0].id;
  let channel: string = PLAYGROUND_CHANNELS[0].id;
  let thread: string | undefined;
  const printed = new Set<string>();
  let buttons: Button[] = [];
  const say = (text: string) => io.output.write(`${text}\n`);
  const api = (path: string, body: object) => fetch(`${io.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, channel, ...body }) }).then((r) => r.json());

  /** Prints what is new in the channel (and the open thread) and what only this person sees. */
  async function refresh(): Promise<void> {
    const state = (await (await fetch(`${io.url}/api/state?user=${user}`)).json()) as State;
    for (const m of state.messages[channel] ?? []) {
      const key = `${channel}:${m.ts}:${JSON.stringify(m.blocks ?? m.text)}`;
      if (printed.has(key) || (m.thread_ts && m.thread_ts !== thread)) continue;
      printed.add(key);
      const rendered = renderMessage(m, channel, buttons.length + 1);
      buttons.push(...rendered.buttons);
      const replies = (state.messages[channel] ?? []).filter((r) => r.thread_ts === m.ts).length;
      say([...rendered.lines.map((l) => (m.thread_ts ? `    ${l}` : l)), ...(replies && !m.thread_ts ? [`  (${replies} ${replies === 1 ? 'reply' : 'replies'}: :thread ${(state.messages[channel] ?? []).filter((x) => !x.thread_ts).indexOf(m) + 1})`] : [])].join('\n'));
    }
    for (const e of state.ephemerals) {
      const key = `eph:${user}:${e.ts}:${String(e.text)}`;
      if (printed.has(key)) continue;
      printed.add(key);
      say(`(only you) ${plain(String(e.text ?? ''))}`);
    }
  }

  say(`Shipmate console on ${io.url}. You are ${PLAYGROUND_USERS[0].name} in #deploys.\n${HELP}`);
  const timer = setInterval(() => void refresh().catch(() => undefined), io.pollMs ?? 1000);
  const lines = createInterface({ input: io.input, terminal: false });
  try {
    for await (const raw of lines) {
      const line = raw.trim();
      if (!line) continue;
      if (line === ':quit') break;
      if (line === ':help') say(HELP);
      else if (line.startsWith(':user ')) {
        const found = PLAYGROUND_USERS.find((u) => u.name.startsWith(line.slice(6).trim()));
        if (found) user = found.id;
        say(found ? `You are ${found.name}.` : `No such person; try alice, bob or carol.`);
      } else if (line.startsWith(':channel ')) {
        const found = PLAYGROUND_CHANNELS.find((c) => c.name === line.slice(9).trim() || c.name === `#${line.slice(9).trim()}`);
        if (found) [channel, thread] = [found.id, undefined];
        say(found ? `In ${found.name}.` : 'No such channel; try #deploys, #incidents or #flags.');
      } else if (line.startsWith(':thread ')) {
        const state = (await (await fetch(`${io.url}/api/state?user=${user}`)).json()) as State;
        thread = (state.messages[channel] ?? []).filter((m) => !m.thread_ts)[Number(line.slice(8)) - 1]?.ts;
        say(thread ? 'Showing that thread.' : 'No such message.');
      } else if (line.startsWith(':incident')) {
        await api('/api/incident', { service: line.slice(9).trim() || 'web' });
      } else if (/^\d+( y)?$/.test(line)) {
        const [n = '', yes] = line.split(' ');
        const b = buttons[Number(n) - 1];
        if (!b) say(`No button ${n}.`);
        // A button with a confirm dialog asks first, as Slack does.
        else if (b.confirm && !yes) say(`${b.confirm}\nType "${n} y" to go ahead.`);
        else await api('/api/action', { channel: b.channel, ts: b.ts, actionId: b.actionId, value: b.value, container: 'message' });
      } else if (line.startsWith('/')) {
        await api('/api/command', { text: line });
      } else {
        await api('/api/message', { text: line, ...(thread ? { thread_ts: thread } : {}) });
      }
      await refresh();
    }
  } finally {
    clearInterval(timer);
    lines.close();
  }
}
