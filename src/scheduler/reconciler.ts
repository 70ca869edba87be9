import cron, { type ScheduledTask } from 'node-cron';

/**
 * The reconciler's tick: every few seconds it looks for work that became due (a retry whose
 * backoff ran out, a message Slack rate-limited). Events kick the worker directly; this catches
 * everything time makes due.
 */
export function scheduleReconciler(tick: () => void, expression = '*/5 * * * * *'): ScheduledTask {
  return cron.schedule(expression, tick, { name: 'reconciler', noOverlap: true });
}

/** The SLO job: every SLO evaluated against Prometheus, by default each minute. */
export function scheduleSloEvaluation(evaluate: () => Promise<void>, expression: string, log: { error(obj: object, msg: string): void }): ScheduledTask {
  return cron.schedule(expression, () => evaluate().catch((error: unknown) => log.error({ err: error }, 'SLO evaluation failed')), { name: 'slo-evaluation', noOverlap: true });
}
