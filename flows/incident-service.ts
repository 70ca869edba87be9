import type { Clock } from '../src/core/clock';
import { ConflictError, NotFoundError } from '../src/core/errors';
import type { Incident, IncidentSnapshot, IncidentStore, RecentChange, Severity, SloReading, SloStateStore } from '../src/core/incident';
import type { DeploymentStore, EffectQueue, UnitOfWork } from '../src/core/ports';
import type { Actor, Deployment } from '../src/core/types';
import type { DeployService } from './deploy-service';
import type { FlowRunner } from './flow-runner';
import { type IncidentEvent, incidentFlowId } from './incident-flow';
import type { LockService } from './lock-service';
import type { Announcement } from './messages';
import { planRollback } from './rollback-plan';

/** One SLO's evaluation at one tick, as the evaluator reports it. */
export interface SloObservation {
  service: string;
  slo: string;
  reading: SloReading;
  /** The service had traffic and now has none (its total series is absent or flat). */
  trafficStopped?: boolean;
  runbook?: string | null;
}

/** An alert from Alertmanager's webhook, mapped to a service. */
export interface ExternalAlert {
  service: string;
  /** The SLO (or the alert's name): one incident per service and name. */
  name: string;
  /** The alert rule's own name, when it differs from `name` (Sloth names the SLO in a label). */
  alert?: string;
  status: 'firing' | 'resolved';
  severity: Severity;
  summary: string | null;
  runbook: string | null;
}

export interface IncidentServiceDeps {
  incidents: IncidentStore;
  sloStates: SloStateStore;
  deployments: DeploymentStore;
  queue: EffectQueue;
  uow: UnitOfWork;
  runner: FlowRunner;
  clock: Clock;
  deployService: DeployService;
  lockService: LockService;
  /** The SLOs in shipmate.yml: an SLO removed from it stops gating deploys and its incident resolves. */
  configuredSlos?: readonly { service: string; slo: string }[];
  /** The environment SLOs watch and rollbacks go to, e.g. prod. */
  environment: string;
  incidentChannel(service: string): string;
  /** The service's flags in an environment, and whether each is on. */
  flagsOf?(service: string, environment: string): { key: string; enabled: boolean | null }[];
  /** Changes of the service's flags applied since then. */
  flagChangesOf?(service: string, environment: string, since: Date): NonNullable<IncidentSnapshot['flagChanges']>;
  /** Turns a flag off at once (no approval: it is how people get out of trouble). */
  turnOffFlag?(flag: string, environment: string, actor: Actor, reason: string, requestKey: string | null): Promise<{ changeId: number; duplicate: boolean }>;
  deployChannel(service: string, environment: string): string;
  onQueued?: () => void;
}

const DAY_MS = 86_400_000;
const SEVERITY_RANK: Record<Severity, number> = { ticket: 1, page: 2 };

export function worstOf(alerts: readonly { severity: Severity }[]): Severity | undefined {
  return alerts.reduce<Severity | undefined>((worst, a) => (!worst || SEVERITY_RANK[a.severity] > SEVERITY_RANK[worst] ? a.severity : worst), undefined);
}

/** What a person sees change: rounded burn rates, the rows that fire, the budget, the deploys. */
const shownOf = (s: IncidentSnapshot): string =>
  JSON.stringify([Object.entries(s.burnRate).map(([w, r]) => [w, r === null ? null : Number(r.toPrecision(2))]), s.alerts, s.budgetRemaining === null ? null : Math.round(s.budgetRemaining * 1000), s.changes.map((c) => [c.deploymentId, c.status]), s.rollback, s.flags ?? [], (s.flagChanges ?? []).map((f) => f.changeId), s.firingAlerts ?? [], s.summary, s.runbook]);

/** Which rollback a deploy is, when it is one: a rollback deploy, or the abort of a canary. */
function rollbackOf(d: Deployment): { from: string; to: string; status: string; by: string } | undefined {
  if (d.rollbackOf) return { from: d.rollbackFrom ?? '?', to: d.version, status: d.status === 'queued' ? 'requested' : d.status, by: d.requestedBy };
  const c = d.canary;
  if (!c || !['aborting', 'rolled-back', 'abort-failed'].includes(c.status)) return undefined;
  const status = c.status === 'aborting' ? 'deploying' : c.status === 'rolled-back' ? 'succeeded' : 'failed';
  return { from: d.version, to: c.baselineVersion ?? 'the baseline', status, by: c.decidedBy ?? 'system' };
}

/**
 * Turns SLO evaluations and Alertmanager alerts into incidents, one per service and SLO while it
 * fires, and carries out what on-call asks from the incident message.
 */
export class IncidentService {
  constructor(private readonly deps: IncidentServiceDeps) {
    // Rollbacks of a service that has an incident show up on it, whichever way they were started.
    deps.runner.onTransition((flowId, state) => {
      if (!flowId.startsWith('deploy:')) return;
      const d = state as Deployment;
      const rb = rollbackOf(d);
      if (!rb || d.environment !== deps.environment) return;
      const detail = d.error ? { detail: d.error } : {};
      for (const incident of deps.incidents.allFiring(d.service)) {
        if (incident.rollback?.deploymentId !== d.id) {
          // A rollback under way stays the incident's; after a failed one, the next try is recorded.
          if (incident.rollback && incident.rollback.status !== 'failed') continue;
          this.dispatch(incident, { type: 'rollback-started', by: rb.by, source: d.source, deploymentId: d.id, from: rb.from, to: rb.to });
        }
        this.dispatch(incident, { type: 'rollback-progress', deploymentId: d.id, status: rb.status, ...detail });
      }
      // Incidents resolved meanwhile still hear how their rollback ended.
      for (const linked of deps.incidents.linkedTo(d.id)) {
        if (linked.status === 'resolved') this.dispatch(linked, { type: 'rollback-progress', deploymentId: d.id, status: rb.status, ...detail });
      }
    });
  }

  private dispatch(i: Incident, event: IncidentEvent): void {
    this.deps.runner.dispatch(incidentFlowId(i.id), event);
  }

  /** What the incident message shows about the service now: deploys of the last day and the rollback on offer. */
  snapshot(service: string, reading: Omit<IncidentSnapshot, 'changes' | 'rollback' | 'evaluatedAt'>): IncidentSnapshot {
    const { deployments, environment, clock } = this.deps;
    const now = clock();
    const changes: RecentChange[] = deployments
      .history(service, environment, 20)
      .filter((d) => now.getTime() - d.createdAt.getTime() <= DAY_MS)
      .map((d) => ({ deploymentId: d.id, version: d.version, status: d.status, by: d.requestedBy, at: d.createdAt.toISOString(), rollbackFrom: d.rollbackFrom ?? null }));
    let rollback: IncidentSnapshot['rollback'] = null;
    try {
      const [newest] = deployments.history(service, environment, 1);
      const plan = planRollback(`${service} in ${environment}`, deployments.good(service, environment, 100), newest);
      rollback = { from: plan.undo.version, to: plan.to.version };
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
    const flags = this.deps.flagsOf?.(service, environment);
    const flagChanges = this.deps.flagChangesOf?.(service, environment, new Date(now.getTime() - DAY_MS));
    return { ...reading, changes, rollback, ...(flags?.length ? { flags } : {}), ...(flagChanges?.length ? { flagChanges } : {}), evaluatedAt: now.toISOString() };
  }

  /** One tick's evaluations: open, edit and resolve incidents; say a backend error or a traffic stop once. */
  observe(observations: readonly SloObservation[]): void {
    const { uow, sloStates, clock } = this.deps;
    for (const o of observations) {
      uow.transaction(() => {
        const before = sloStates.get(o.service, o.slo);
        const error = o.reading.error ?? null;
        // Without a verdict this tick (a backend error), what was known about traffic stays known.
        const stoppedBefore = before?.trafficStopped ?? false;
        const trafficStopped = o.trafficStopped ?? stoppedBefore;
        sloStates.put({ service: o.service, slo: o.slo, evaluatedAt: clock(), evaluation: error && before ? before.evaluation : o.reading, error, trafficStopped });
        this.announceChanges({ ...o, trafficStopped }, before?.error ?? null, stoppedBefore);
        if (error) return; // an outage of the backend says nothing about the service
        this.apply(o.service, o.slo, 'slo', worstOf(o.reading.alerts), {
          objective: o.reading.objective,
          period: o.reading.period,
          burnRate: o.reading.burnRate,
          budgetRemaining: o.reading.budgetRemaining,
          alerts: o.reading.alerts,
          runbook: o.runbook ?? null,
          summary: null,
        }, o.reading.noData);
      });
    }
  }

  /**
   * Alerts from Alertmanager: the same incidents, without burn rates of our own. Sloth sends a
   * page and a ticket alert per SLO; the incident fires while any of them does, at the worst.
   */
  alertmanager(alerts: readonly ExternalAlert[]): void {
    for (const a of alerts) {
      this.deps.uow.transaction(() => {
        const open = this.deps.incidents.firing(a.service, a.name, 'alertmanager');
        const active = new Set(open?.snapshot.firingAlerts ?? []);
        const key = `${a.severity}:${a.alert ?? a.name}`;
        if (a.status === 'firing') active.add(key);
        else active.delete(key);
        const severity = worstOf([...active].map((k) => ({ severity: k.slice(0, k.indexOf(':')) as Severity })));
        this.apply(a.service, a.name, 'alertmanager', severity, {
          objective: null,
          period: null,
          burnRate: {},
          budgetRemaining: null,
          alerts: [],
          runbook: a.runbook,
          summary: a.summary,
          firingAlerts: [...active].sort(),
        }, false);
      });
    }
  }

  private apply(service: string, slo: string, source: Incident['source'], severity: Severity | undefined, reading: Omit<IncidentSnapshot, 'changes' | 'rollback' | 'evaluatedAt'>, noData: boolean): void {
    const { incidents, clock, runner } = this.deps;
    const open = incidents.firing(service, slo, source);
    // No data neither opens nor resolves: silence is not health.
    if (noData) return;
    const snapshot = this.snapshot(service, reading);
    if (!open && severity) {
      const created = incidents.create({ service, slo, source, severity, channel: this.deps.incidentChannel(service), environment: this.deps.environment, snapshot }, clock());
      runner.dispatch(incidentFlowId(created.id), { type: 'opened' } satisfies IncidentEvent);
    } else if (open && severity) {
      if (shownOf(open.snapshot) !== shownOf(snapshot) || severity !== open.severity) this.dispatch(open, { type: 'evaluated', severity, snapshot });
    } else if (open) {
      this.dispatch(open, { type: 'resolved', snapshot });
    }
  }

  /** A backend error, and a traffic stop, are said once when they start and once when they end. */
  private announceChanges(o: SloObservation, errorBefore: string | null, stoppedBefore: boolean): void {
    const now = this.deps.clock();
    const say: string[] = [];
    const error = o.reading.error ?? null;
    if (error && !errorBefore) say.push(`:warning: Cannot evaluate ${o.service} SLO ${o.slo}: ${error}. Shipmate keeps trying every minute and says so here when it works again.`);
    if (!error && errorBefore) say.push(`:white_check_mark: ${o.service} SLO ${o.slo} can be evaluated again.`);
    if (!error && o.trafficStopped && !stoppedBefore) say.push(`:warning: ${o.service} has stopped receiving traffic (${o.slo}): its request series is absent or flat. No data is not health: check the service.`);
    if (!error && !o.trafficStopped && stoppedBefore) say.push(`:white_check_mark: ${o.service} receives traffic again (${o.slo}).`);
    if (say.length === 0) return;
    const channel = this.deps.incidentChannel(o.service);
    const effects = say.map((text, n) => ({ step: `announce.${now.getTime()}.${n}`, lane: 'slack' as const, type: 'message.announce', payload: { channel, text } satisfies Announcement }));
    this.deps.queue.enqueue(`slo:${o.service}:${o.slo}`, effects, now);
    this.deps.onQueued?.();
  }

  find(id: number): Incident | undefined {
    return this.deps.incidents.get(id);
  }

  private require(id: number): Incident {
    const i = this.deps.incidents.get(id);
    if (!i) throw new NotFoundError(`Incident #${id} is not in Shipmate's database.`);
    return i;
  }

  acknowledge(id: number, actor: Actor): string {
    const i = this.require(id);
    if (i.status !== 'firing') return `Incident #${id} is resolved; there is nothing to acknowledge.`;
    if (i.acknowledgedBy) return `Incident #${id} was already acknowledged by <@${i.acknowledgedBy}>.`;
    this.dispatch(i, { type: 'acknowledged', by: actor.userId, source: actor.source });
    return `You acknowledged incident #${id}.`;
  }

  /** Rolls the incident's service back to its last good version; progress goes to the incident's thread. */
  async rollback(id: number, actor: Actor, requestKey: string | null): Promise<string> {
    const i = this.require(id);
    if (i.status !== 'firing') return `Incident #${id} is resolved. To roll back anyway: \`/deploy rollback ${i.service} ${i.environment}\`.`;
    try {
      const result = await this.deps.deployService.rollback(
        { service: i.service, environment: i.environment, channel: this.deps.deployChannel(i.service, i.environment), requestKey },
        actor,
      );
      const d = result.deployment;
      if (result.abortedCanary) return `Rolling back the canary of ${i.service} ${d.version} (deploy #${d.id}); follow it in the incident thread.`;
      return result.duplicate
        ? `A rollback of ${i.service} is already under way: deploy #${d.id} back to ${d.version}.`
        : `Rolling back ${i.service} in ${i.environment} from ${d.rollbackFrom} to ${d.version} (deploy #${d.id}); follow it in the incident thread.`;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      this.dispatch(i, { type: 'rollback-refused', by: actor.userId, reason: error.userMessage });
      return error.userMessage;
    }
  }

  /** "Turn off <flag>" on the incident: only a flag of the incident's own service. */
  async turnOffFlag(id: number, flag: string, actor: Actor, requestKey: string | null): Promise<string> {
    const i = this.require(id);
    if (i.status !== 'firing') return `Incident #${id} is resolved; turn ${flag} off with \`/flag ${flag} off ${i.environment}\` if you still need to.`;
    if (!this.deps.turnOffFlag || !i.snapshot.flags?.some((f) => f.key === flag)) return `${flag} is not a flag of ${i.service}; nothing was changed.`;
    const { changeId, duplicate } = await this.deps.turnOffFlag(flag, i.environment, actor, `from incident #${i.id} (${i.slo})`, requestKey);
    if (!duplicate) this.dispatch(i, { type: 'flag-off', by: actor.userId, source: actor.source, flag, changeId });
    return duplicate ? `${flag} is already being turned off (flag change #${changeId}).` : `Turning off ${flag} in ${i.environment} (flag change #${changeId}).`;
  }

  /** Locks the service in the incident's environment until someone unlocks it. */
  pauseReleases(id: number, actor: Actor): string {
    const i = this.require(id);
    if (i.status !== 'firing') return `Incident #${id} is resolved; nothing was paused.`;
    try {
      this.deps.lockService.lock(i.environment, i.service, `releases paused from incident #${i.id} (${i.slo})`, actor);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      return `${i.service} in ${i.environment} is already locked; its releases are paused.`;
    }
    this.dispatch(i, { type: 'releases-paused', by: actor.userId, source: actor.source });
    return `Releases of ${i.service} in ${i.environment} are paused: \`/deploy unlock ${i.environment} ${i.service}\` lifts it.`;
  }

  /** The SLOs of a service (or all) whose error budget is used up, by the latest evaluation. */
  exhausted(service: string): string[] {
    return this.deps.sloStates
      .list(service)
      .filter((s) => this.configured(s.service, s.slo) && s.evaluation.budgetRemaining !== null && s.evaluation.budgetRemaining <= 0)
      .map((s) => s.slo);
  }

  private configured(service: string, slo: string): boolean {
    return !this.deps.configuredSlos || this.deps.configuredSlos.some((c) => c.service === service && c.slo === slo);
  }

  /** Incidents of SLOs no longer in shipmate.yml resolve: nothing will ever evaluate them again. */
  resolveRemoved(): void {
    for (const i of this.deps.incidents.allFiring()) {
      if (i.source === 'slo' && !this.configured(i.service, i.slo)) this.dispatch(i, { type: 'resolved', why: `${i.slo} is no longer in shipmate.yml, so nothing evaluates it` });
    }
  }
}
