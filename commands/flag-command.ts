import type { FlagService } from '../flows/flag-service';
import type { ShipmateConfig } from '../src/core/config';
import type { FlagChange, FlagState, FlagStore, FlagValue, TargetingRule } from '../src/core/flags';
import { parseWhen } from '../src/core/schedule';
import type { Actor } from '../src/core/types';
import type { Reply } from './reply';
import { extractFlags, tokenize } from './tokenize';
import { CommandUsageError } from './usage-error';

export interface FlagCommandDeps {
  config: ShipmateConfig;
  flags: FlagStore;
  flagService: FlagService;
  now: () => Date;
}

export type FlagInput =
  | { action: 'help' }
  | { action: 'list'; environment?: string }
  | { action: 'show'; key: string }
  | { action: 'change'; key: string; change: FlagChange; environment?: string; at?: string }
  | { action: 'create'; key: string; type: FlagState['type']; variants?: string; defaultVariant?: string; offVariant?: string; description: string };

class UsageError extends CommandUsageError {}

const flagUsage = [
  '`/flag list [environment]`  every flag and its state',
  '`/flag show <key>`  one flag in every environment',
  '`/flag <key> on|off [environment] [--at <time>]`  turn it on or off, now or later ("tomorrow 10:00")',
  '`/flag <key> rollout 25% [environment] [--at <time>]`  serve it to a share of users, sticky per user',
  '`/flag <key> target <attribute> is|in|matches <value[,value…]> serve <variant> [environment]`  a targeting rule, tried in order',
  '`/flag <key> untarget [environment]`  remove its targeting rules',
  '`/flag create <key> [--type boolean|string|number|json] [--variants "a=1,b=2"] [--default a] [--off b] [--description "…"]`',
].join('\n');

const TYPES = ['boolean', 'string', 'number', 'json'] as const;

function parseFlag(text: string): FlagInput {
  const parsed = extractFlags(tokenize(text), ['--at', '--type', '--variants', '--default', '--off', '--description'], ['--at', '--type', '--variants', '--default', '--off', '--description']);
  if ('error' in parsed) throw new UsageError(parsed.error);
  const { words, flags } = parsed;
  const option = (name: string) => (typeof flags.get(name) === 'string' ? (flags.get(name) as string) : undefined);
  const [first = 'help', second, third, fourth, ...extra] = words;
  if (first === 'help') return { action: 'help' };
  if (first === 'list') {
    if (third) throw new UsageError('`/flag list` takes at most an environment: `/flag list prod`.');
    return { action: 'list', ...(second ? { environment: second } : {}) };
  }
  if (first === 'show') {
    if (!second || third) throw new UsageError('`/flag show` takes one flag key: `/flag show new-checkout`.');
    return { action: 'show', key: second };
  }
  if (first === 'create') {
    if (!second || third) throw new UsageError('`/flag create` takes a key, then options: `/flag create new-checkout --description "New checkout"`.');
    const type = option('--type') ?? 'boolean';
    if (!(TYPES as readonly string[]).includes(type)) throw new UsageError(`--type must be one of: ${TYPES.join(', ')}.`);
    return {
      action: 'create',
      key: second,
      type: type === 'json' ? 'object' : (type as FlagState['type']),
      description: option('--description') ?? '',
      ...(option('--variants') ? { variants: option('--variants')! } : {}),
      ...(option('--default') ? { defaultVariant: option('--default')! } : {}),
      ...(option('--off') ? { offVariant: option('--off')! } : {}),
    };
  }
  const at = option('--at');
  const key = first;
  if (second === 'on' || second === 'off') {
    if (fourth) throw new UsageError(`\`/flag ${key} ${second}\` takes at most an environment: \`/flag ${key} ${second} prod\`.`);
    return { action: 'change', key, change: { kind: second === 'on' ? 'enable' : 'disable' }, ...(third ? { environment: third } : {}), ...(at ? { at } : {}) };
  }
  if (second === 'rollout') {
    const match = /^(\d{1,3}(?:\.\d+)?)%?$/.exec(third ?? '');
    const percentage = match ? Number(match[1]) : NaN;
    if (!match || percentage > 100) throw new UsageError(`A rollout needs a percentage from 0 to 100: \`/flag ${key} rollout 25%\`.`);
    if (extra.length > 0) throw new UsageError(`\`/flag ${key} rollout ${third}\` takes at most an environment.`);
    return { action: 'change', key, change: { kind: 'rollout', percentage }, ...(fourth ? { environment: fourth } : {}), ...(at ? { at } : {}) };
  }
  if (second === 'untarget') {
    if (fourth) throw new UsageError(`\`/flag ${key} untarget\` takes at most an environment.`);
    return { action: 'change', key, change: { kind: 'clear-rules' }, ...(third ? { environment: third } : {}), ...(at ? { at } : {}) };
  }
  if (second === 'target') {
    const [attribute, op, values, serve, variant, environment, ...rest] = words.slice(2);
    const ops: Record<string, TargetingRule['op']> = { is: 'equals', equals: 'equals', in: 'in', matches: 'matches' };
    if (!attribute || !op || !Object.hasOwn(ops, op) || !values || serve !== 'serve' || !variant || rest.length > 0) {
      throw new UsageError(`A rule reads \`/flag ${key} target plan in pro,enterprise serve on [environment]\` (is, in or matches).`);
    }
    const rule: TargetingRule = { attribute, op: ops[op]!, values: ops[op] === 'in' ? values.split(',').map((v) => v.trim()).filter(Boolean) : [values], variant };
    return { action: 'change', key, change: { kind: 'add-rule', rule }, ...(environment ? { environment } : {}), ...(at ? { at } : {}) };
  }
  throw new UsageError(`Say what to do with ${key}: \`/flag ${key} on\`, \`/flag ${key} off\`, \`/flag ${key} rollout 25%\` or \`/flag ${key} target …\`.`);
}

/** "on=true,off=false" -> variants, each value read as JSON when it is JSON, else as a string. */
function parseVariants(text: string | undefined, type: FlagState['type']): Record<string, FlagValue> {
  if (!text) {
    if (type !== 'boolean') throw new UsageError(`A ${type} flag needs its variants: --variants "a=…,b=…".`);
    return { on: true, off: false };
  }
  const variants: Record<string, FlagValue> = {};
  for (const pair of text.split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`"${pair}" is not name=value; write --variants "blue=\\"#00f\\",red=\\"#f00\\"".`);
    const name = pair.slice(0, at).trim();
    const raw = pair.slice(at + 1).trim();
    let value: FlagValue;
    try {
      value = JSON.parse(raw) as FlagValue;
    } catch {
      value = raw;
    }
    const actual = Array.isArray(value) || (value !== null && typeof value === 'object') ? 'object' : typeof value;
    if (actual !== type) throw new UsageError(`The variant ${name} = ${raw} is not a ${type === 'object' ? 'JSON object' : type}.`);
    variants[name] = value;
  }
  return variants;
}

function line(f: FlagState): string {
  const rollout = f.rollout ? `, ${f.rollout.percentage}% get ${f.rollout.variant}` : '';
  const rules = f.rules.length ? `, rules: ${f.rules.map((r) => `${r.attribute} ${r.op} ${r.values.join(',')} → ${r.variant}`).join('; ')}` : '';
  return `*${f.key}* in ${f.environment}: ${f.enabled ? ':large_green_circle: on' : ':white_circle: off'}${rollout}${rules} (serves ${f.enabled ? (f.rollout ? `${f.rollout.variant}/${f.defaultVariant}` : f.defaultVariant) : f.offVariant})${f.description ? ` — ${f.description}` : ''}`;
}

/** `/flag`: list, show, create and change feature flags. */
export const flagCommand = {
  name: 'flag',
  usage: flagUsage,
  parse: parseFlag,
  isUsageError: (error: unknown): boolean => error instanceof UsageError,

  async run(deps: FlagCommandDeps, input: FlagInput, invocation: { actor: Actor; requestKey: string | null }): Promise<Reply> {
    const environments = Object.keys(deps.config.flags.environments);
    switch (input.action) {
      case 'help':
        return { kind: 'text', text: flagUsage };
      case 'list': {
        const flags = deps.flags.list(input.environment);
        const external = environments.filter((e) => deps.config.flags.environments[e]!.backend.type !== 'builtin');
        const note = external.length ? `\nFlags in ${external.join(', ')} live in ${[...new Set(external.map((e) => deps.config.flags.environments[e]!.backend.type))].join(' and ')}: change them here by key.` : '';
        return { kind: 'text', text: `${flags.length ? flags.map(line).join('\n') : 'No flags yet: `/flag create <key>` makes one.'}${note}` };
      }
      case 'show': {
        const all = deps.flags.all(input.key);
        if (all.length === 0) return { kind: 'error', text: `There is no flag "${input.key}". \`/flag list\` shows them.` };
        return { kind: 'text', text: all.map(line).join('\n') };
      }
      case 'create': {
        const variants = parseVariants(input.variants, input.type);
        const names = Object.keys(variants);
        const created = deps.flagService.create(
          { key: input.key, type: input.type, variants, defaultVariant: input.defaultVariant ?? names[0]!, offVariant: input.offVariant ?? names[1] ?? names[0]!, description: input.description },
          invocation.actor,
        );
        return { kind: 'text', text: `Created ${input.key} (off) in ${created.map((f) => f.environment).join(', ')}. Turn it on with \`/flag ${input.key} on ${created[0]!.environment}\`.` };
      }
      case 'change': {
        const environment = input.environment ?? (environments.length === 1 ? environments[0]! : undefined);
        if (!environment) throw new UsageError(`Which environment? Flags have ${environments.join(', ') || 'none (declare flags.environments)'}: add it at the end, e.g. \`/flag ${input.key} on ${environments.at(-1) ?? 'prod'}\`.`);
        const scheduledFor = input.at ? parseWhen(input.at, deps.now(), deps.config.timezone) : undefined;
        const { change, duplicate } = await deps.flagService.requestAs({ flag: input.key, environment, change: input.change, requestKey: invocation.requestKey, ...(scheduledFor ? { scheduledFor } : {}) }, invocation.actor);
        const where = change.channel.startsWith('#') ? change.channel : `<#${change.channel}>`;
        if (duplicate) return { kind: 'text', text: `That is flag change #${change.id}, already ${change.status.replace('_', ' ')}.` };
        const state =
          change.status === 'scheduled' ? `scheduled for ${change.scheduledFor!.toISOString().slice(0, 16).replace('T', ' ')} UTC` : change.status === 'awaiting_approval' ? 'waiting for approval' : 'being applied';
        return { kind: 'text', text: `Flag change #${change.id} (${input.key} in ${environment}) is ${state}. Follow it in ${where}.` };
      }
    }
  },
};
