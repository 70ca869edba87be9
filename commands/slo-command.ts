import { findService, sloDefinitions, type ShipmateConfig } from '../src/core/config';
import type { IncidentStore, SloStateStore } from '../src/core/incident';
import type { Reply } from './reply';
import { tokenize } from './tokenize';
import { CommandUsageError } from './usage-error';

export interface SloCommandDeps {
  config: ShipmateConfig;
  sloStates: SloStateStore;
  incidents: IncidentStore;
}

export type SloInput = { action: 'status'; service?: string } | { action: 'help' };

class UsageError extends CommandUsageError {}

const sloUsage = [
  '`/slo status [service]`  burn rates and error budget left of every SLO, or of one service',
  '`/slo help`  this text',
].join('\n');

function parseSlo(text: string): SloInput {
  const [first = 'status', ...rest] = tokenize(text);
  if (first === 'help') return { action: 'help' };
  if (first !== 'status') throw new UsageError(`Unknown subcommand "${first}". Try \`/slo status\` or \`/slo status api\`.`);
  if (rest.length > 1) throw new UsageError('`/slo status` takes at most one service: `/slo status api`.');
  return { action: 'status', ...(rest[0] ? { service: rest[0] } : {}) };
}

const rate = (r: number | null | undefined) => (r === null || r === undefined ? 'no data' : `${Number(r.toPrecision(3))}×`);
const percent = (f: number) => `${Math.round(f * 1000) / 10}%`;

/** `/slo`: what the latest evaluation of each SLO found. */
export const sloCommand = {
  name: 'slo',
  usage: sloUsage,
  parse: parseSlo,
  isUsageError: (error: unknown): boolean => error instanceof UsageError,

  run(deps: SloCommandDeps, input: SloInput): Reply {
    if (input.action === 'help') return { kind: 'text', text: sloUsage };
    if (input.service && !findService(deps.config, input.service)) {
      throw new UsageError(`There is no service "${input.service}" in shipmate.yml. Services: ${Object.keys(deps.config.services).join(', ')}.`);
    }
    const defs = sloDefinitions(deps.config).filter((d) => !input.service || d.service === input.service);
    if (defs.length === 0) return { kind: 'text', text: `${input.service ?? 'No service'} has no SLOs in shipmate.yml; add them under services.<name>.slos (Sloth's format).` };
    const lines = defs.map((def) => {
      const state = deps.sloStates.get(def.service, def.name);
      const head = `*${def.service}* \`${def.name}\` (${def.objective}%)`;
      if (!state) return `${head}: not evaluated yet.`;
      const e = state.evaluation;
      const since = state.evaluatedAt.toISOString().slice(11, 16);
      const budget = e.budgetRemaining === null ? 'budget unknown' : e.budgetRemaining <= 0 ? '*budget exhausted*' : `budget ${percent(e.budgetRemaining)} left`;
      const burns = Object.entries(e.burnRate).map(([w, r]) => `${w} ${rate(r)}`).join(' · ');
      const incident = deps.incidents.firing(def.service, def.name);
      const firing = incident ? ` · :rotating_light: ${incident.severity} (incident #${incident.id})` : e.noData ? ' · no data (no traffic?)' : '';
      const error = state.error ? `\n  :warning: cannot evaluate: ${state.error}` : '';
      return `${head}: ${budget} · burn ${burns}${firing} (as of ${since} UTC)${error}`;
    });
    return { kind: 'text', text: lines.join('\n') };
  },
};
