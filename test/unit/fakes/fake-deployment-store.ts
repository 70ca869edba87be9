import { ConflictError } from '../../../src/core/errors';
import type { DeploymentStore } from '../../../src/core/ports';
import { ACTIVE_STATUSES, type Deployment, type DeploymentStatus, type NewDeployment } from '../../../src/core/types';

const copy = (d: Deployment): Deployment => ({ ...d });

/**
 * An in-memory DeploymentStore with the same rules as the SQLite one: IDs count from 1, one active
 * deploy per target, reads return copies so callers cannot change stored rows by accident.
 */
export class FakeDeploymentStore implements DeploymentStore {
  private readonly rows: Deployment[] = [];

  create(input: NewDeployment, now: Date): Deployment {
    if (this.active(input.service, input.environment)) {
      throw new ConflictError(`${input.service} is already being deployed to ${input.environment}.`);
    }
    const deployment: Deployment = {
      ...input,
      id: this.rows.length + 1,
      status: 'queued',
      createdAt: new Date(now),
      startedAt: null,
      finishedAt: null,
      error: null,
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

  active(service: string, environment: string): Deployment | undefined {
    const found = this.rows.find(
      (d) => d.service === service && d.environment === environment && ACTIVE_STATUSES.includes(d.status),
    );
    return found && copy(found);
  }

  withStatus(status: DeploymentStatus): Deployment[] {
    return this.rows.filter((d) => d.status === status).map(copy);
  }

  latestPerTarget(service?: string): Deployment[] {
    const newest = new Map<string, Deployment>();
    for (const d of this.rows) {
      if (service !== undefined && d.service !== service) continue;
      newest.set(`${d.service}/${d.environment}`, d); // rows are in ID order, so the last one wins
    }
    return [...newest.values()]
      .sort((a, b) => a.service.localeCompare(b.service) || a.environment.localeCompare(b.environment))
      .map(copy);
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
    // Like the SQL UPDATE: only the fields that change over a deploy's life.
    this.rows[index] = {
      ...stored,
      status: deployment.status,
      startedAt: deployment.startedAt,
      finishedAt: deployment.finishedAt,
      error: deployment.error,
    };
  }

  /** Every stored deployment, oldest first: for assertions. */
  all(): Deployment[] {
    return this.rows.map(copy);
  }
}
