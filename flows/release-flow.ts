import { nextWave, type ServiceResult } from '../src/core/release-plan';
import type { EffectSpec, ReleaseStore } from '../src/core/ports';
import type { Release, ServiceRun, Source } from '../src/core/types';
import { type FlowDefinition, type FlowStateRepository, type Transition, unchanged } from './flow';
import { type PostMessage, releaseCard, type ThreadReply, type UpdateMessage } from './messages';

export type ReleaseEvent =
  /** Recorded. `missedGraceMs`: how late a scheduled start may still run (Shipmate was down). */
  | { type: 'created'; missedGraceMs: number }
  /** The scheduled time came; later than `graceMs` after it (Shipmate was down) it is missed. */
  | { type: 'scheduled-time'; graceMs: number }
  | { type: 'wave-started'; wave: number; started: { service: string; deploymentId: number }[]; refused: { service: string; error: string }[] }
  | { type: 'service-finished'; service: string; ok: boolean; error?: string }
  | { type: 'pause'; by: string; source: Source }
  | { type: 'resume'; by: string; source: Source }
  | { type: 'abort'; by: string; source: Source }
  /** Rollbacks of what a failed release deployed were requested; one line per service. */
  | { type: 'rolled-back'; lines: string[] };

/** What a wave effect asks for: deploy these services of the release. */
export interface WavePayload {
  releaseId: number;
  wave: number;
}

export const releaseFlowId = (releaseId: number): string => `release:${releaseId}`;

export function releaseFlowStates(store: ReleaseStore): FlowStateRepository<Release> {
  return {
    load: (flowId) => store.get(Number(flowId.slice('release:'.length))),
    save: (r) => store.save(r),
  };
}

const key = (r: Release) => releaseFlowId(r.id);
const OPEN = new Set(['scheduled', 'running', 'paused']);

function post(r: Release): EffectSpec {
  const payload: PostMessage = { messageKey: key(r), channel: r.channel, message: releaseCard(r) };
  return { step: 'card.post', lane: 'slack', type: 'message.post', payload };
}

/** Every change of a release re-renders its card; the step names the change so each is sent once. */
function update(r: Release, change: string): EffectSpec {
  const payload: UpdateMessage = { messageKey: key(r), message: releaseCard(r) };
  return { step: `card.${change}`, lane: 'slack', type: 'message.update', payload };
}

function reply(r: Release, step: string, text: string, mention: string[] = []): EffectSpec {
  const payload: ThreadReply = { messageKey: key(r), text, mention };
  return { step: `reply.${step}`, lane: 'slack', type: 'message.reply', payload };
}

const wave = (r: Release, index: number): EffectSpec => {
  const payload: WavePayload = { releaseId: r.id, wave: index };
  return { step: `wave.${index}`, lane: 'work', type: 'release.wave', payload };
};

function audit(r: Release, action: string, actor = 'system', detail: Record<string, unknown> = {}, source: Source = 'system') {
  return [{ actor, source, action, subject: `release/${r.name}`, detail: { releaseId: r.id, environment: r.environment, ...detail } }];
}

function results(r: Release): Record<string, ServiceResult> {
  return Object.fromEntries(Object.entries(r.results).map(([s, run]) => [s, run.status]));
}

/**
 * After anything changed: start the next wave, or conclude. A paused release finishes the wave
 * it is in but starts no other; a failure stops it for good.
 */
function advance(r: Release, now: Date, change: string, options: ReleaseFlowOptions): Transition<Release> {
  const step = nextWave(r.waves, results(r));
  switch (step.kind) {
    case 'wait':
      return { state: r, effects: [update(r, change)] };
    case 'start': {
      if (r.status !== 'running') return { state: r, effects: [update(r, change)] };
      const running = Object.fromEntries(step.wave.services.map((s) => [s.name, { status: 'running' as const }]));
      const next: Release = { ...r, results: { ...r.results, ...running } };
      return { state: next, effects: [update(next, `${change}.wave${step.wave.index}`), wave(next, step.wave.index)] };
    }
    case 'done': {
      const next: Release = { ...r, status: 'succeeded', finishedAt: now };
      return { state: next, effects: [update(next, 'succeeded'), reply(next, 'succeeded', `Release ${r.name} is out: every service is live in ${r.environment}.`, [r.requestedBy])], audit: audit(next, 'release.succeeded') };
    }
    case 'failed': {
      const next: Release = { ...r, status: 'failed', finishedAt: now };
      const deployed = step.deployed.length ? ` Already deployed in this release (newest first): ${step.deployed.join(', ')}; roll them back if the failure leaves them broken.` : '';
      const rollback: EffectSpec[] =
        options.autoRollback && step.deployed.length ? [{ step: 'auto-rollback', lane: 'work', type: 'release.rollback', payload: { releaseId: r.id } }] : [];
      return {
        state: next,
        effects: [update(next, 'failed'), reply(next, 'failed', `Release ${r.name} stopped: ${step.failed.join(', ')} failed, so later waves will not start.${deployed}`, [r.requestedBy]), ...rollback],
        audit: audit(next, 'release.failed', 'system', { failed: step.failed, deployed: step.deployed }),
      };
    }
  }
}

export interface ReleaseFlowOptions {
  /** A failed release rolls back what it deployed without asking. */
  autoRollback: boolean;
}

/** A multi-service release: scheduled -> running (waves) -> succeeded | failed, or paused, aborted, missed. */
export function createReleaseFlow(options: ReleaseFlowOptions): FlowDefinition<Release, ReleaseEvent> {
  const advance_ = (r: Release, now: Date, change: string) => advance(r, now, change, options);
  return {
  kind: 'release',
  transition(r, event, now): Transition<Release> {
    switch (event.type) {
      case 'created': {
        if (r.status !== 'scheduled') return unchanged(r);
        if (r.scheduledFor && r.scheduledFor > now) {
          const timer: EffectSpec = { step: 'timer.start', lane: 'timer', type: 'timer', payload: { type: 'scheduled-time', graceMs: event.missedGraceMs }, notBefore: r.scheduledFor };
          return { state: r, effects: [post(r), timer] };
        }
        const next: Release = { ...r, status: 'running', startedAt: now };
        const started = advance_(next, now, 'started');
        return { ...started, effects: [post(r), ...started.effects], audit: audit(next, 'release.started') };
      }
      case 'scheduled-time': {
        if (r.status !== 'scheduled') return unchanged(r);
        const late = r.scheduledFor ? now.getTime() - r.scheduledFor.getTime() : 0;
        if (late > event.graceMs) {
          const next: Release = { ...r, status: 'missed', finishedAt: now };
          return {
            state: next,
            effects: [update(next, 'missed'), reply(next, 'missed', `Release ${r.name} was due while Shipmate was not running and is more than the grace period late, so it did not start. Create it again to run it now.`, [r.requestedBy])],
            audit: audit(next, 'release.missed'),
          };
        }
        const next: Release = { ...r, status: 'running', startedAt: now };
        return { ...advance_(next, now, 'started'), audit: audit(next, 'release.started') };
      }
      case 'wave-started': {
        if (!OPEN.has(r.status)) return unchanged(r);
        const changes: Record<string, ServiceRun> = {};
        for (const s of event.started) {
          // A fast deploy may have finished before its wave reported back: keep its outcome.
          const current = r.results[s.service]?.status;
          const status = current === 'succeeded' || current === 'failed' ? current : 'running';
          changes[s.service] = { ...r.results[s.service], status, deploymentId: s.deploymentId };
        }
        for (const s of event.refused) changes[s.service] = { status: 'failed', error: s.error };
        return advance_({ ...r, results: { ...r.results, ...changes } }, now, `wave${event.wave}.started`);
      }
      case 'service-finished': {
        if (!OPEN.has(r.status) && r.status !== 'aborted') return unchanged(r);
        const run: ServiceRun = { ...r.results[event.service], status: event.ok ? 'succeeded' : 'failed', ...(event.error ? { error: event.error } : {}) };
        const next: Release = { ...r, results: { ...r.results, [event.service]: run } };
        if (r.status === 'aborted') return { state: next, effects: [update(next, `${event.service}.finished`)] };
        return advance_(next, now, `${event.service}.finished`);
      }
      case 'pause': {
        if (r.status !== 'running') return unchanged(r);
        const next: Release = { ...r, status: 'paused' };
        return { state: next, effects: [update(next, `paused.${now.getTime()}`), reply(next, `paused.${now.getTime()}`, 'paused the release: the current wave finishes, no new wave starts until someone resumes it.', [event.by])], audit: audit(next, 'release.paused', event.by, {}, event.source) };
      }
      case 'resume': {
        if (r.status !== 'paused') return unchanged(r);
        const resumed = advance_({ ...r, status: 'running' }, now, `resumed.${now.getTime()}`);
        return { ...resumed, audit: audit(resumed.state, 'release.resumed', event.by, {}, event.source) };
      }
      case 'rolled-back':
        return { state: r, effects: [reply(r, `rolled-back.${now.getTime()}`, `Rolling back what release ${r.name} deployed:\n${event.lines.join('\n')}`)] };
      case 'abort': {
        if (!OPEN.has(r.status)) return unchanged(r);
        const next: Release = { ...r, status: 'aborted', finishedAt: now };
        return {
          state: next,
          effects: [update(next, 'aborted'), reply(next, 'aborted', 'aborted the release: no further wave starts. Deploys already running finish on their own.', [event.by])],
          audit: audit(next, 'release.aborted', event.by, {}, event.source),
        };
      }
    }
  },
};
}

/** The release flow with default options (no automatic rollback). */
export const releaseFlow = createReleaseFlow({ autoRollback: false });
