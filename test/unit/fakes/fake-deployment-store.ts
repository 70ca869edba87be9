import { ConflictError } from '../../../src/core/errors';
import type { DeploymentStore } from '../../../src/core/ports';
import { ACTIVE_STATUSES, type Deployment, type DeploymentStatus, type NewDeployment, type Target } from '../../../src/core/types';

const copy = (d: Deployment): Deployment => ({ ...d, approvals: d.approvals.map((a) => ({ userId: a.userId, at: new Date(a.at) })) });

/**
 * An in-memory DeploymentStore with the same rules as the SQLite one: IDs count from 1, request
 * keys are unique, a new deploy awaits approval when it needs some and is queued otherwise, at
 * most one deploy per target is `deploying` (the unique index), and reads return copies so
 * callers cannot change stored rows by accident.
 */
export class FakeDeploymentStore implements DeploymentStore {
  private readonly rows: Deployment[] = [];

  create(input: NewDeployment, now: Date): Deployment {
    if (input.requestKey !== null && this.rows.some((d) => d.requestKey === input.requestKey)) {
      throw new Error(`UNIQUE constraint failed: deployments.request_key (${input.requestKey})`);
    }
    const deployment: Deployment = {
      ...input,
      id: this.rows.length + 1,
      status: input.approvalsRequired > 0 ? 'awaiting_approval' : 'queued',
      createdAt: new Date(now),
      startedAt: null,
      finishedAt: null,
      error: null,
      approvals: [],
      expiresAt: input.expiresAt && new Date(input.expiresAt),
      decidedBy: null,
      decisionReason: null,
      releaseId: input.releaseId ?? null,
      rollbackOf: input.rollbackOf ?? null,
      rollbackFrom: input.rollbackFrom ?? null,
      rolledBack: false,
      previousGood: null,
      canary: null,
    };
    this.rows.push(deployment);
    return copy(deployment);
  }

  get(id: number): Deployment | undefined {
    const found = this.rows.find((d) => d.id === id);
    return found && copy(found);
  }

  findByRequestKey(key: string): Deployment | undefined {
    const found = this.rows.find((d) => d.requestKey === key);
    return found && copy(found);
  }

  /** Like the SQL: the deploying one if there is one, else the oldest that is not over. */
  active(service: string, environment: string): Deployment | undefined {
    const open = this.rows.filter((d) => d.service === service && d.environment === environment && ACTIVE_STATUSES.includes(d.status));
    const found = open.find((d) => d.status === 'deploying') ?? open[0];
    return found && copy(found);
  }

  good(service: string, environment: string, limit: number): Deployment[] {
    return this.rows
      .filter((d) => d.service === service && d.environment === environment && d.status === 'succeeded' && !d.rolledBack)
      .sort((a, b) => b.id - a.id)
      .slice(0, limit)
      .map(copy);
  }

  queued(service: string, environment: string): Deployment[] {
    return this.rows
      .filter((d) => d.service === service && d.environment === environment && d.status === 'queued')
      .sort((a, b) => Number(!a.rollbackOf) - Number(!b.rollbackOf) || a.id - b.id)
      .map(copy);
  }

  withStatus(status: DeploymentStatus): Deployment[] {
    return this.rows.filter((d) => d.status === status).map(copy);
  }

  latestOf(targets: readonly Target[]): Deployment[] {
    return targets.flatMap((t) => {
      const newest = this.rows.filter((d) => d.service === t.service && d.environment === t.environment).at(-1); // rows are in ID order
      return newest ? [copy(newest)] : [];
    });
  }

  history(service: string, environment: string | undefined, limit: number): Deployment[] {
    return this.rows
      .filter((d) => d.service === service && (environment === undefined || d.environment === environment))
      .sort((a, b) => b.id - a.id)
      .slice(0, limit)
      .map(copy);
  }

  save(deployment: Deployment): void {
    const index = this.rows.findIndex((d) => d.id === deployment.id);
    if (index < 0) throw new Error(`no deployment ${deployment.id}`);
    const stored = this.rows[index]!;
    // The unique index on (service, environment) WHERE status = 'deploying'.
    const running = this.rows.find(
      (d) => d.id !== stored.id && d.service === stored.service && d.environment === stored.environment && d.status === 'deploying',
    );
    if (deployment.status === 'deploying' && running) {
      throw new ConflictError(`${stored.service} is already being deployed to ${stored.environment}.`);
    }
    // Like the SQL UPDATE: only the fields that change over a deploy's life.
    this.rows[index] = copy({
      ...stored,
      status: deployment.status,
      startedAt: deployment.startedAt,
      finishedAt: deployment.finishedAt,
      error: deployment.error,
      approvals: deployment.approvals,
      decidedBy: deployment.decidedBy,
      decisionReason: deployment.decisionReason,
    });
  }

  /** Every stored deployment, oldest first: for assertions. */
  all(): Deployment[] {
    return this.rows.map(copy);
  }
}
