import { DateTime } from 'luxon';
import { z } from 'zod';
import { duration } from './duration';
import { ValidationError } from './errors';
import { cronProblem, lastRunAtOrBefore, runsBetween, timeZoneProblem, zonedTime } from './schedule';

/**
 * Freeze windows: times when deploys to an environment wait. Pure: every function takes the
 * instant it is asked about, so callers pass their clock's now.
 */

/** A 5-field cron, normalised to single spaces. */
export const cronExpression = z.string().transform((text, ctx) => {
  const problem = cronProblem(text);
  if (problem) {
    ctx.addIssue({ code: 'custom', message: problem });
    return z.NEVER;
  }
  return text.trim().split(/\s+/).join(' ');
});

/** An IANA zone name such as "Europe/Berlin"; abbreviations and offsets are not zones. */
export const timeZone = z.string().transform((text, ctx) => {
  const problem = timeZoneProblem(text);
  if (problem) {
    ctx.addIssue({ code: 'custom', message: problem });
    return z.NEVER;
  }
  return text;
});

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?$/;

/** "2026-12-20" or "2026-12-20T16:00", local to the window's zone. */
const localDateTime = z.string().superRefine((text, ctx) => {
  if (!LOCAL.test(text)) {
    ctx.addIssue({
      code: 'custom',
      message: `"${text}" is not a date like 2026-12-20 or a date and time like 2026-12-20T16:00`,
    });
  } else if (zonedTime(localParts(text), 'UTC') === 'invalid') {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a real date or time` });
  }
});

const name = z.string().min(1, 'name the window, like "Friday freeze"');

/** "Fridays from 16:00 Europe/Berlin for 64h": `{ cron: "0 16 * * 5", duration: "64h", timezone: "Europe/Berlin" }`. */
export const recurringFreezeWindowSchema = z.strictObject({
  name,
  cron: cronExpression,
  /** Elapsed time from each start, in ms once parsed; a DST change does not stretch it. */
  duration,
  timezone: timeZone,
  reason: z.string().optional(),
});

/** From one local date (or date and time) to another; a date-only `to` includes that whole day. */
export const fixedFreezeWindowSchema = z
  .strictObject({
    name,
    from: localDateTime,
    to: localDateTime,
    timezone: timeZone.default('UTC'),
    reason: z.string().optional(),
  })
  .superRefine((window, ctx) => {
    // zod still runs this after a field's own refinement failed; those are reported already.
    const readable = (text: string) => LOCAL.test(text) && zonedTime(localParts(text), 'UTC') !== 'invalid';
    if (timeZoneProblem(window.timezone) || !readable(window.from) || !readable(window.to)) return;
    for (const key of ['from', 'to'] as const) {
      if (zonedTime(localParts(window[key]), window.timezone) === 'skipped') {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `"${window[key]}" does not exist in ${window.timezone}: the clocks skip it that night`,
        });
        return;
      }
    }
    const { startsAt, endsAt } = rangeOf(window);
    if (endsAt.getTime() <= startsAt.getTime()) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: `to "${window.to}" is not after from "${window.from}"` });
    }
  });

export type RecurringFreezeWindow = z.infer<typeof recurringFreezeWindowSchema>;
export type FixedFreezeWindow = z.infer<typeof fixedFreezeWindowSchema>;
export type FreezeWindow = RecurringFreezeWindow | FixedFreezeWindow;
export type FreezeWindowInput = z.input<typeof recurringFreezeWindowSchema> | z.input<typeof fixedFreezeWindowSchema>;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * One entry of `freezeWindows` in shipmate.yml: recurring (`cron`) or a fixed range (`from`).
 * Chosen by key rather than with z.union, so a mistake is reported against the kind of window
 * that was meant instead of as "Invalid input".
 */
export const freezeWindowSchema = z.unknown().transform((input, ctx): FreezeWindow => {
  const recurring = isObject(input) && 'cron' in input;
  const fixed = isObject(input) && ('from' in input || 'to' in input);
  if (recurring === fixed) {
    ctx.addIssue({
      code: 'custom',
      message: recurring
        ? 'use either cron (a recurring window) or from and to (a fixed range), not both'
        : 'a freeze window needs name, cron, duration and timezone (recurring) or name, from and to (a fixed range)',
    });
    return z.NEVER;
  }
  const result = (recurring ? recurringFreezeWindowSchema : fixedFreezeWindowSchema).safeParse(input);
  if (result.success) return result.data;
  for (const issue of result.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  return z.NEVER;
});

/** One occurrence of a freeze: deploys wait from `startsAt` (inclusive) until `endsAt` (exclusive). */
export interface ActiveFreeze {
  name: string;
  reason?: string;
  startsAt: Date;
  endsAt: Date;
}

/** Most occurrences of one window that upcomingFreezes lists, so a minutely cron cannot flood it. */
export const MAX_OCCURRENCES_PER_WINDOW = 500;

function localParts(text: string) {
  const [, year, month, day, hour, minute] = (LOCAL.exec(text) ?? []).map(Number);
  return { year: year ?? NaN, month: month ?? NaN, day: day ?? NaN, hour: hour || 0, minute: minute || 0 };
}

function rangeOf(window: FixedFreezeWindow): { startsAt: Date; endsAt: Date } {
  const at = (text: string, wholeDay: boolean): Date => {
    const parts = localParts(text);
    if (!text.includes('T')) {
      // Midnight itself can be skipped (America/Santiago); luxon then starts the day at 01:00.
      const day = DateTime.fromObject({ year: parts.year, month: parts.month, day: parts.day }, { zone: window.timezone });
      return (wholeDay ? day.plus({ days: 1 }) : day).toJSDate();
    }
    const instant = zonedTime(parts, window.timezone);
    if (!(instant instanceof Date)) throw new Error(`freeze window "${window.name}": ${text} is ${instant}`);
    return instant;
  };
  return { startsAt: at(window.from, false), endsAt: at(window.to, true) };
}

const occurrence = (window: FreezeWindow, startsAt: Date, endsAt: Date): ActiveFreeze => ({
  name: window.name,
  ...(window.reason === undefined ? {} : { reason: window.reason }),
  startsAt,
  endsAt,
});

/** The occurrence of one window in force at `at`, if any. */
function activeOccurrence(window: FreezeWindow, at: Date): ActiveFreeze | undefined {
  if ('from' in window) {
    const { startsAt, endsAt } = rangeOf(window);
    return startsAt <= at && at < endsAt ? occurrence(window, startsAt, endsAt) : undefined;
  }
  // The latest start ends last, so it alone decides; earlier overlapping starts add nothing.
  const start = lastRunAtOrBefore(window.cron, window.timezone, at);
  if (!start) return undefined;
  const endsAt = new Date(start.getTime() + window.duration);
  return at < endsAt ? occurrence(window, start, endsAt) : undefined;
}

/** The freeze in force at `at`; when several are, the one that ends last. */
export function activeFreeze(windows: readonly FreezeWindow[], at: Date): ActiveFreeze | undefined {
  let found: ActiveFreeze | undefined;
  for (const window of windows) {
    const active = activeOccurrence(window, at);
    if (active && (!found || active.endsAt > found.endsAt)) found = active;
  }
  return found;
}

/**
 * Freezes in force at `from` or starting by `from + horizonMs` (inclusive; a negative horizon
 * counts as 0), sorted by start.
 * A recurring window contributes its current occurrence (as activeFreeze sees it) and every
 * later start, up to MAX_OCCURRENCES_PER_WINDOW.
 */
export function upcomingFreezes(windows: readonly FreezeWindow[], from: Date, horizonMs: number): ActiveFreeze[] {
  const until = new Date(from.getTime() + Math.max(0, horizonMs));
  const found: ActiveFreeze[] = [];
  for (const window of windows) {
    if ('from' in window) {
      const { startsAt, endsAt } = rangeOf(window);
      if (startsAt <= until && endsAt > from) found.push(occurrence(window, startsAt, endsAt));
      continue;
    }
    const current = activeOccurrence(window, from);
    if (current) found.push(current);
    const limit = MAX_OCCURRENCES_PER_WINDOW - (current ? 1 : 0);
    for (const start of runsBetween(window.cron, window.timezone, from, until, limit)) {
      found.push(occurrence(window, start, new Date(start.getTime() + window.duration)));
    }
  }
  return found.sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime() || a.endsAt.getTime() - b.endsAt.getTime());
}

/**
 * One line for people: `"Friday freeze" from Fri 20 Nov 16:00 to Mon 23 Nov 08:00 Europe/Berlin`.
 * Years appear when the two ends fall in different years; the reason, if any, follows a colon.
 */
export function describeFreeze(freeze: ActiveFreeze, timezone = 'UTC'): string {
  const problem = timeZoneProblem(timezone);
  if (problem) throw new ValidationError(problem);
  // A fixed locale: the server's own would turn "Fri 20 Nov" into "Fr. 20 Nov." on some hosts, and en-GB writes "Sept".
  const start = DateTime.fromJSDate(freeze.startsAt, { zone: timezone }).setLocale('en-US');
  const end = DateTime.fromJSDate(freeze.endsAt, { zone: timezone }).setLocale('en-US');
  const format = start.year === end.year ? 'ccc d LLL HH:mm' : 'ccc d LLL yyyy HH:mm';
  const text = `"${freeze.name}" from ${start.toFormat(format)} to ${end.toFormat(format)} ${timezone}`;
  return freeze.reason ? `${text}: ${freeze.reason}` : text;
}
