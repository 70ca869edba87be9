/**
 * SLO incidents: what burns, how fast, and what on-call did about it. Types and ports only; the
 * flow is in flows/incident-flow.ts, the SQLite store in src/store.
 */

export type Severity = 'page' | 'ticket';

/** One alert row that fires: both windows burn faster than the factor. */
export interface FiringRow {
  severity: Severity;
  longWindow: string;
  shortWindow: string;
  factor: number;
}

/** A deploy of the service in the last day, shown on the incident so on-call sees what changed. */
export interface RecentChange {
  deploymentId: number;
  version: string;
  status: string;
  by: string;
  at: string;
  rollbackFrom: string | null;
}

/** What the incident message shows; refreshed at each evaluation. Dates are ISO strings. */
export interface IncidentSnapshot {
  objective: number | null;
  /** The SLO period, e.g. "30d". */
  period: string | null;
  burnRate: Record<string, number | null>;
  budgetRemaining: number | null;
  alerts: FiringRow[];
  runbook: string | null;
  /** Alertmanager's summary annotation, for alerts that come from there. */
  summary: string | null;
  changes: RecentChange[];
  /** Alertmanager incidents: the alerts that fire now, as `severity:alertname`. */
  firingAlerts?: string[];
  /** Flag changes of the service's flags in the last day. */
  flagChanges?: { changeId: number; flag: string; what: string; by: string; at: string }[];
  /** The service's flags (services.<name>.flags) and whether each is on (null: not known here). */
  flags?: { key: string; enabled: boolean | null }[];
  /** The rollback the button offers, when there is an earlier good version. */
  rollback: { from: string; to: string } | null;
  evaluatedAt: string;
}

export interface IncidentRollback {
  deploymentId: number;
  by: string;
  from: string;
  to: string;
  status: string;
}

export interface Incident {
  id: number;
  service: string;
  /** The SLO's name, or the Alertmanager alert's. */
  slo: string;
  source: 'slo' | 'alertmanager';
  status: 'firing' | 'resolved';
  severity: Severity;
  channel: string;
  /** Where rollbacks from this incident go. */
  environment: string;
  snapshot: IncidentSnapshot;
  /** Counts edits of the message, so each edit is its own effect. */
  revision: number;
  acknowledgedBy: string | null;
  rollback: IncidentRollback | null;
  releasesPausedBy: string | null;
  openedAt: Date;
  resolvedAt: Date | null;
}

export type NewIncident = Pick<Incident, 'service' | 'slo' | 'source' | 'severity' | 'channel' | 'environment' | 'snapshot'>;

export interface IncidentStore {
  /** Throws ConflictError when the service and SLO already have a firing incident. */
  create(input: NewIncident, now: Date): Incident;
  get(id: number): Incident | undefined;
  /** The firing incident of a service and SLO from one source (Shipmate's evaluation by default). */
  firing(service: string, slo: string, source?: Incident['source']): Incident | undefined;
  /** Firing incidents, of one service or all. */
  allFiring(service?: string): Incident[];
  /** Incidents a rollback deploy is recorded on, newest first. */
  linkedTo(deploymentId: number): Incident[];
  save(incident: Incident): void;
}

/** The latest evaluation of one SLO, and what was already said about it. */
export interface SloState {
  service: string;
  slo: string;
  evaluatedAt: Date;
  evaluation: SloReading;
  error: string | null;
  trafficStopped: boolean;
}

/** What an SLO evaluation found, as Shipmate keeps it. */
export interface SloReading {
  objective: number;
  period: string;
  errorRatio: Record<string, number | null>;
  burnRate: Record<string, number | null>;
  budgetRemaining: number | null;
  alerts: FiringRow[];
  noData: boolean;
  error?: string;
}

export interface SloStateStore {
  get(service: string, slo: string): SloState | undefined;
  put(state: SloState): void;
  list(service?: string): SloState[];
}
