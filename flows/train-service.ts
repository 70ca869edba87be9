import type { Clock } from '../src/core/clock';
import type { ShipmateConfig } from '../src/core/config';
import { AppError, NotFoundError } from '../src/core/errors';
import type { AuditLog, EffectQueue, TrainStore, UnitOfWork } from '../src/core/ports';
import { decideMissed, nextRun, runsBetween } from '../src/core/schedule';
import type { Actor } from '../src/core/types';
import type { Announcement } from './messages';
import type { ReleaseService } from './release-service';

type Train = ShipmateConfig['trains'][number];

export interface TrainServiceDeps {
  config: ShipmateConfig;
  trains: TrainStore;
  queue: EffectQueue;
  audit: AuditLog;
  uow: UnitOfWork;
  clock: Clock;
  releaseService: ReleaseService;
  onQueued?: () => void;
}

const stamp = (at: Date): string => at.toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');

/**
 * Release trains: versions are queued for a train, and at each departure (the train's cron, in
 * its time zone) whatever waits goes out as one release. The reconciler tick calls `runDue`; the
 * last departure is stored, so a restart neither repeats one nor forgets one it missed.
 */
export class TrainService {
  constructor(private readonly deps: TrainServiceDeps) {}

  train(name: string): Train {
    const train = this.deps.config.trains.find((t) => t.name === name);
    if (!train) {
      const known = this.deps.config.trains.map((t) => t.name).join(', ') || 'none configured';
      throw new NotFoundError(`No release train is named "${name}". Trains: ${known}.`);
    }
    return train;
  }

  queueVersions(name: string, items: { name: string; version: string }[], actor: Actor): { train: Train; departsAt: Date } {
    const train = this.train(name);
    const now = this.deps.clock();
    this.deps.uow.transaction(() => {
      for (const item of items) this.deps.trains.queue(name, { service: item.name, version: item.version, queuedBy: actor.userId, queuedAt: now });
      this.deps.audit.record({ at: now, actor: actor.userId, source: actor.source, action: 'train.queued', subject: `train/${name}`, detail: { items } });
    });
    return { train, departsAt: nextRun(train.cron, train.timezone, now) };
  }

  status(name: string) {
    const train = this.train(name);
    return { train, items: this.deps.trains.items(name), departsAt: nextRun(train.cron, train.timezone, this.deps.clock()) };
  }

  /** Departs every train whose time has come since its last departure. */
  runDue(): void {
    for (const train of this.deps.config.trains) this.runTrain(train);
  }

  private runTrain(train: Train): void {
    const { trains, uow, clock, config, releaseService, audit } = this.deps;
    const now = clock();
    const last = trains.lastRunAt(train.name);
    if (!last) {
      // A new train departs from its next time on, not from the beginning of time.
      trains.setLastRunAt(train.name, now);
      return;
    }
    const due = runsBetween(train.cron, train.timezone, last, now, 1000).at(-1);
    if (!due) return;
    const channel = train.channel ?? config.defaults.channel!;
    uow.transaction(() => {
      trains.setLastRunAt(train.name, due);
      if (decideMissed(due, now, config.releases.missedGrace) === 'missed') {
        audit.record({ at: now, actor: 'system', source: 'system', action: 'train.missed', subject: `train/${train.name}`, detail: { due: due.toISOString() } });
        this.announce(train, due, channel, `The ${train.name} train due ${due.toISOString().slice(0, 16).replace('T', ' ')} UTC was missed while Shipmate was not running. What was queued stays queued for the next departure.`);
        return;
      }
      const items = trains.items(train.name);
      if (items.length === 0) {
        this.announce(train, due, channel, `The ${train.name} train left empty: nothing was queued. Queue versions with \`/release queue ${train.name} api@1.4.2\`.`);
        return;
      }
      try {
        releaseService.create(
          { name: `${train.name}-${stamp(due)}`, environment: train.environment, items: items.map((i) => ({ name: i.service, version: i.version })), channel, requestKey: `train:${train.name}:${due.toISOString()}` },
          { userId: items[0]!.queuedBy, source: 'system' },
        );
        trains.take(train.name);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        // What was queued stays queued: someone fixes the problem and the next departure takes it.
        this.announce(train, due, channel, `The ${train.name} train could not leave: ${error.userMessage}`);
      }
    });
    this.deps.onQueued?.();
  }

  private announce(train: Train, due: Date, channel: string, text: string): void {
    const payload: Announcement = { channel, text };
    this.deps.queue.enqueue(`train:${train.name}`, [{ step: `announce.${due.toISOString()}`, lane: 'slack', type: 'message.announce', payload }], this.deps.clock());
  }
}
