import { ConflictError } from '../../../src/core/errors';
import type { Incident, IncidentStore, NewIncident, SloState, SloStateStore } from '../../../src/core/incident';

/** The JSON columns go through JSON in SQLite: what JSON cannot hold does not come back. */
const viaJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

const copy = (i: Incident): Incident => ({
  ...i,
  snapshot: viaJson(i.snapshot),
  rollback: i.rollback && viaJson(i.rollback),
  openedAt: new Date(i.openedAt),
  resolvedAt: i.resolvedAt && new Date(i.resolvedAt),
});

/**
 * An in-memory IncidentStore with the SQLite one's rules: IDs count from 1, a new incident is
 * firing at revision 0 with nothing done about it, at most one firing incident per service and
 * SLO (the partial unique index: ConflictError on create, an error on save), `linkedTo` finds
 * the newest incident linked to a deploy, `save` changes only what changes over an incident's
 * life (an unknown ID changes nothing, like an UPDATE of no row), and reads return copies.
 */
export class FakeIncidentStore implements IncidentStore {
  private readonly rows: Incident[] = [];

  create(input: NewIncident, now: Date): Incident {
    if (this.rows.some((i) => i.service === input.service && i.slo === input.slo && i.source === input.source && i.status === 'firing')) {
      throw new ConflictError(`${input.service} already has a firing incident for ${input.slo}.`);
    }
    const incident: Incident = {
      id: this.rows.length + 1,
      service: input.service,
      slo: input.slo,
      source: input.source,
      status: 'firing',
      severity: input.severity,
      channel: input.channel,
      environment: input.environment,
      snapshot: viaJson(input.snapshot),
      revision: 0,
      acknowledgedBy: null,
      rollback: null,
      releasesPausedBy: null,
      openedAt: new Date(now),
      resolvedAt: null,
    };
    this.rows.push(incident);
    return copy(incident);
  }

  get(id: number): Incident | undefined {
    const found = this.rows.find((i) => i.id === id);
    return found && copy(found);
  }

  firing(service: string, slo: string, source: Incident['source'] = 'slo'): Incident | undefined {
    const found = this.rows.find((i) => i.service === service && i.slo === slo && i.source === source && i.status === 'firing');
    return found && copy(found);
  }

  allFiring(service?: string): Incident[] {
    return this.rows.filter((i) => i.status === 'firing' && (service === undefined || i.service === service)).map(copy);
  }

  linkedTo(deploymentId: number): Incident[] {
    return [...this.rows].reverse().filter((i) => i.rollback?.deploymentId === deploymentId).map(copy);
  }

  save(incident: Incident): void {
    const index = this.rows.findIndex((i) => i.id === incident.id);
    if (index < 0) return;
    const stored = this.rows[index]!;
    const clash = this.rows.find((i) => i.id !== stored.id && i.service === stored.service && i.slo === stored.slo && i.source === stored.source && i.status === 'firing');
    if (incident.status === 'firing' && clash) throw new Error(`UNIQUE constraint failed: incidents.service, incidents.slo (${stored.service}, ${stored.slo})`);
    this.rows[index] = copy({
      ...stored,
      status: incident.status,
      severity: incident.severity,
      snapshot: incident.snapshot,
      revision: incident.revision,
      acknowledgedBy: incident.acknowledgedBy,
      rollback: incident.rollback,
      releasesPausedBy: incident.releasesPausedBy,
      resolvedAt: incident.resolvedAt,
    });
  }

  /** Every stored incident, oldest first: for assertions. */
  all(): Incident[] {
    return this.rows.map(copy);
  }
}

const copyState = (s: SloState): SloState => ({ ...s, evaluatedAt: new Date(s.evaluatedAt), evaluation: viaJson(s.evaluation) });

/** An in-memory SloStateStore like the SQLite one: one row per service and SLO, put replaces it, list is ordered by service and SLO. */
export class FakeSloStateStore implements SloStateStore {
  private readonly rows = new Map<string, SloState>();

  get(service: string, slo: string): SloState | undefined {
    const found = this.rows.get(`${service}\u0000${slo}`);
    return found && copyState(found);
  }

  put(state: SloState): void {
    this.rows.set(`${state.service}\u0000${state.slo}`, copyState(state));
  }

  list(service?: string): SloState[] {
    return [...this.rows.values()]
      .filter((s) => service === undefined || s.service === service)
      .sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : a.slo < b.slo ? -1 : a.slo > b.slo ? 1 : 0))
      .map(copyState);
  }
}
