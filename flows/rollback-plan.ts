import { ConflictError } from '../src/core/errors';
import type { Deployment } from '../src/core/types';

/**
 * Decides what a rollback undoes and which version it restores. Pure: it gets the target's
 * known good deploys (newest first), its newest deploy of any outcome, and the version asked for.
 *
 * A failed deploy on top is undone by deploying the last good version again (the failure may have
 * left things half-done); otherwise the good version running now is undone and the good version
 * before it returns. Throws ConflictError with a sentence when there is nothing to go back to.
 */
export function planRollback(
  target: string,
  good: readonly Deployment[],
  newest: Deployment | undefined,
  to?: string,
): { undo: Deployment; to: Deployment } {
  const undo = newest?.status === 'failed' && (!good[0] || newest.id > good[0].id) ? newest : good[0];
  if (!undo) throw new ConflictError(`Nothing to roll back: ${target} has no successful deploy yet.`);
  if (to && to === undo.version && undo.status === 'succeeded') {
    throw new ConflictError(`${target} already runs ${undo.version}${undo.rollbackOf ? ` (rolled back by deploy #${undo.id})` : ''}; nothing to roll back.`);
  }
  const candidates = good.filter((d) => (d.id < undo.id || undo.status === 'failed') && d.version !== undo.version);
  const restore = to ? candidates.find((d) => d.version === to) : candidates[0];
  if (restore) return { undo, to: restore };
  const known = [...new Set(candidates.map((d) => d.version))].slice(0, 5).join(', ');
  throw new ConflictError(
    to
      ? `${to} is not a known good version of ${target} to roll back to from ${undo.version}.${known ? ` Known good: ${known}.` : ''}`
      : `${target} has no earlier good version to roll back to: ${undo.version} is the only one that ever succeeded there.`,
  );
}
