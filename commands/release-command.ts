import { findEnvironment, type ShipmateConfig } from '../src/core/config';
import type { ReleaseStore } from '../src/core/ports';
import { describePlan } from '../src/core/release-plan';
import { parseWhen } from '../src/core/schedule';
import type { Release } from '../src/core/types';
import type { ReleaseService } from '../flows/release-service';
import type { TrainService } from '../flows/train-service';
import { isVersion, type Invocation } from './deploy-command';
import type { Reply } from './reply';
import { extractFlags, tokenize } from './tokenize';
import { CommandUsageError } from './usage-error';

export const releaseUsage = [
  '`/release`  open a form to plan a release',
  '`/release create <name> <service>@<version>… to <environment> [at <time>] [--notes "…"]`',
  '    e.g. `/release create checkout-v2 api@1.4.2 web@2.0.1 to prod at tomorrow 10:00`',
  '`/release status [name]`  releases and their waves',
  '`/release pause|resume|abort <name>`',
  '`/release queue <train> <service>@<version>…`  ship versions with the next release train',
  '`/release train <train>`  what waits for a train and when it leaves',
].join('\n');

export type ReleaseInput =
  | { action: 'form' }
  | { action: 'help' }
  | { action: 'create'; name: string; items: { name: string; version: string }[]; environment: string; at?: string; notes?: string }
  | { action: 'status'; name?: string }
  | { action: 'control'; control: 'pause' | 'resume' | 'abort'; name: string }
  | { action: 'queue'; train: string; items: { name: string; version: string }[] }
  | { action: 'train'; train: string };

export interface ReleaseCommandDeps {
  config: ShipmateConfig;
  releases: ReleaseStore;
  releaseService: ReleaseService;
  trainService: TrainService;
  now: () => Date;
}

export class ReleaseUsageError extends CommandUsageError {}

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/i;

function parseItems(words: string[]): { name: string; version: string }[] {
  return words.map((word) => {
    const [service = '', version = '', ...extra] = word.split('@');
    if (!service || extra.length > 0 || !isVersion(version)) {
      throw new ReleaseUsageError(`"${word}" is not service@version; use a semantic version or commit SHA, e.g. api@1.4.2.`);
    }
    return { name: service, version };
  });
}

/** The text after `/release create`: `<name> a@1 b@2 to prod [at …]`. */
export function parseCreate(words: string[], notes?: string): ReleaseInput {
  const [name, ...rest] = words;
  if (!name || !NAME.test(name)) throw new ReleaseUsageError(`Name the release first: letters, digits, ".", "_" or "-", e.g. \`/release create checkout-v2 api@1.4.2 to prod\`.`);
  const to = rest.indexOf('to');
  if (to < 0) throw new ReleaseUsageError('Say where: add `to <environment>` after the services.');
  const items = parseItems(rest.slice(0, to));
  if (items.length === 0) throw new ReleaseUsageError('List the services to release as service@version before `to`.');
  const [environment, ...tail] = rest.slice(to + 1);
  if (!environment) throw new ReleaseUsageError('Which environment? Add it after `to`.');
  if (tail.length > 0 && tail[0] !== 'at') throw new ReleaseUsageError(`Unexpected "${tail.join(' ')}" after the environment; to schedule it, write \`at <time>\`.`);
  if (tail[0] === 'at' && tail.length < 2) throw new ReleaseUsageError('Say when after `at`, e.g. `at 2026-11-24 10:00` or `at tomorrow 10:00`.');
  return { action: 'create', name, items, environment, ...(tail.length ? { at: tail.slice(1).join(' ') } : {}), ...(notes ? { notes } : {}) };
}

export function parseRelease(text: string): ReleaseInput {
  const parsed = extractFlags(tokenize(text), ['--notes'], ['--notes']);
  if ('error' in parsed) throw new ReleaseUsageError(parsed.error);
  const [first, ...rest] = parsed.words;
  const notes = parsed.flags.get('--notes');
  switch (first) {
    case undefined:
      return { action: 'form' };
    case 'help':
      return { action: 'help' };
    case 'create':
      return parseCreate(rest, typeof notes === 'string' ? notes : undefined);
    case 'status':
      if (rest.length > 1) throw new ReleaseUsageError('`/release status` takes at most one release name.');
      return rest[0] ? { action: 'status', name: rest[0] } : { action: 'status' };
    case 'pause':
    case 'resume':
    case 'abort':
      if (rest.length !== 1) throw new ReleaseUsageError(`\`/release ${first}\` needs the release's name.`);
      return { action: 'control', control: first, name: rest[0]! };
    case 'queue':
      if (rest.length < 2) throw new ReleaseUsageError('`/release queue` needs a train and at least one service@version.');
      return { action: 'queue', train: rest[0]!, items: parseItems(rest.slice(1)) };
    case 'train':
      if (rest.length !== 1) throw new ReleaseUsageError('`/release train` needs the train\'s name.');
      return { action: 'train', train: rest[0]! };
    default:
      throw new ReleaseUsageError(`"${first}" is not a /release subcommand.`);
  }
}

function summary(r: Release): string {
  const done = Object.values(r.results).filter((x) => x.status === 'succeeded').length;
  const total = r.waves.reduce((n, w) => n + w.services.length, 0);
  const when = r.status === 'scheduled' && r.scheduledFor ? `, starts ${r.scheduledFor.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '';
  return `*${r.name}* → ${r.environment}: ${r.status} (${done}/${total} services${when}) · #${r.id} by <@${r.requestedBy}>`;
}

/** What each deploy of the release will have to pass, in words: approvals, green checks, freezes, locks. */
function gatesOf(config: ShipmateConfig, services: string[], environment: string): string {
  const gates: string[] = [];
  for (const s of services) {
    const env = findEnvironment(config, s, environment)!;
    if (env.approval) gates.push(`${s} needs ${env.approval.required} approval${env.approval.required === 1 ? '' : 's'}`);
    if (env.requireGreenChecks) gates.push(`${s} needs green checks`);
  }
  if (config.freezeWindows.some((w) => !w.environments || w.environments.includes(environment))) gates.push(`freeze windows apply to ${environment}`);
  return gates.join(' · ');
}

/** Checks services and environment against shipmate.yml and creates the release. */
export function createRelease(deps: ReleaseCommandDeps, input: Extract<ReleaseInput, { action: 'create' }>, invocation: Invocation & { channel: string }): Reply {
  const { config } = deps;
  for (const item of input.items) {
    if (!Object.hasOwn(config.services, item.name)) {
      throw new ReleaseUsageError(`Unknown service "${item.name}". Services in shipmate.yml: ${Object.keys(config.services).join(', ')}.`);
    }
    if (!findEnvironment(config, item.name, input.environment)) {
      throw new ReleaseUsageError(`${item.name} has no environment "${input.environment}".`);
    }
  }
  const at = input.at ? parseWhen(input.at, deps.now(), config.timezone) : undefined;
  const { release, duplicate } = deps.releaseService.create(
    {
      name: input.name,
      environment: input.environment,
      items: input.items,
      channel: invocation.channel,
      ...(at ? { at } : {}),
      ...(input.notes ? { notes: input.notes } : {}),
      ...(invocation.requestKey ? { requestKey: invocation.requestKey } : {}),
    },
    invocation.actor,
  );
  if (duplicate) return { kind: 'text', text: `Release ${release.name} (#${release.id}) was already created.` };
  const plan = describePlan(release.waves).join('\n');
  const when = at ? `It starts at ${at.toISOString().slice(0, 16).replace('T', ' ')} UTC.` : 'It starts now.';
  const gates = gatesOf(config, input.items.map((i) => i.name), input.environment);
  return { kind: 'text', text: `Release ${release.name} (#${release.id}) to ${release.environment}. ${when}\n${plan}${gates ? `\nGates: ${gates}` : ''}` };
}

export const releaseCommand = {
  name: 'release',
  usage: releaseUsage,
  parse: parseRelease,
  isUsageError: (error: unknown): boolean => error instanceof ReleaseUsageError,

  run(deps: ReleaseCommandDeps, input: Exclude<ReleaseInput, { action: 'form' }>, invocation: Invocation & { channel: string }): Reply {
    switch (input.action) {
      case 'help':
        return { kind: 'text', text: `*Releases* deploy several services in waves, in dependency order.\n${releaseUsage}` };
      case 'create':
        return createRelease(deps, input, invocation);
      case 'status': {
        if (input.name) {
          const r = deps.releases.activeByName(input.name) ?? deps.releases.latest(50).find((x) => x.name === input.name);
          if (!r) throw new ReleaseUsageError(`No release is named "${input.name}".`);
          const waves = r.waves.map((w) => `Wave ${w.index}: ${w.services.map((s) => `${s.name} ${s.version} (${r.results[s.name]?.status ?? 'pending'})`).join(', ')}`);
          return { kind: 'text', text: [summary(r), ...waves].join('\n') };
        }
        const latest = deps.releases.latest(10);
        return { kind: 'text', text: latest.length ? ['*Releases*', ...latest.map(summary)].join('\n') : 'No releases yet. `/release help` shows how to plan one.' };
      }
      case 'queue': {
        const train = deps.trainService.train(input.train);
        for (const item of input.items) {
          if (!findEnvironment(deps.config, item.name, train.environment)) {
            throw new ReleaseUsageError(`${item.name} has no environment "${train.environment}", where the ${train.name} train goes.`);
          }
        }
        const { departsAt } = deps.trainService.queueVersions(input.train, input.items, invocation.actor);
        const what = input.items.map((i) => `${i.name} ${i.version}`).join(', ');
        return { kind: 'text', text: `Queued ${what} for the ${train.name} train to ${train.environment}, leaving ${departsAt.toISOString().slice(0, 16).replace('T', ' ')} UTC.` };
      }
      case 'train': {
        const { train, items, departsAt } = deps.trainService.status(input.train);
        const waiting = items.length ? items.map((i) => `• ${i.service} ${i.version} (queued by <@${i.queuedBy}>)`).join('\n') : 'Nothing is queued yet.';
        return { kind: 'text', text: `*${train.name}* train to ${train.environment} leaves ${departsAt.toISOString().slice(0, 16).replace('T', ' ')} UTC.\n${waiting}` };
      }
      case 'control': {
        const r = deps.releaseService.control(input.name, input.control, invocation.actor);
        return { kind: 'text', text: `Release ${r.name} is ${r.status}.` };
      }
    }
  },
};
