import { CronExpressionParser } from 'cron-parser';
import { DateTime, IANAZone } from 'luxon';
import ms from 'ms';
import { ValidationError } from './errors';

/**
 * Pure time arithmetic for scheduled releases and cron jobs: no I/O and no clock of its own;
 * "now" always comes in as an argument.
 *
 * Cron occurrences follow cron-parser's forward iteration (`next()`), which behaves like
 * classic cron across DST changes: a fixed time inside the hour skipped in spring runs once,
 * shifted by the jump (02:30 -> 03:30), and a fixed time inside the hour repeated in autumn
 * runs once, the first time round; hour-wildcard expressions keep running through both passes.
 * Two quirks are worked around here rather than inherited: `prev()` disagrees with `next()`
 * in those hours (it skips the shifted spring time and yields the repeated autumn time
 * twice), and `next()` started from inside the repeated hour yields its second pass. So we
 * never trust `prev()` beyond "somewhere near here", and always iterate forward from an
 * instant that is not just after an offset change.
 */

const CRON_FIELDS = 'minute hour day-of-month month day-of-week';
const CRON_EXAMPLE = 'like "0 16 * * 5" for Fridays at 16:00';
/** Longer than any DST shift in the tz database (2h at Antarctica/Troll) plus the repeated hour. */
const DST_MARGIN_MS = 3 * 3_600_000;

/** Why `cron` is not a usable 5-field expression, or undefined when it is. */
export function cronProblem(cron: string): string | undefined {
  const fields = cron.trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 5) {
    const count = `${fields.length} ${fields.length === 1 ? 'field' : 'fields'}`;
    return `cron "${cron}" has ${count}; use 5 (${CRON_FIELDS}), ${CRON_EXAMPLE}`;
  }
  // cron-parser reads H as a random value, picked anew on every parse: never the same schedule twice.
  if (fields.some((field) => /(^|[,/-])H(?=$|[(/,#])/.test(field))) {
    return `cron "${cron}" uses H (a random value); write the exact time, ${CRON_EXAMPLE}`;
  }
  try {
    CronExpressionParser.parse(fields.join(' '), { tz: 'UTC', currentDate: 0 });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return `cron "${cron}" is invalid (${reason}); use 5 fields (${CRON_FIELDS}), ${CRON_EXAMPLE}`;
  }
  return undefined;
}

/** Why `zone` is not an IANA time zone, or undefined when it is. */
export function timeZoneProblem(zone: string): string | undefined {
  return IANAZone.isValidZone(zone)
    ? undefined
    : `unknown time zone "${zone}": use an IANA name like "Europe/Berlin" or "UTC"`;
}

function assertSchedule(cron: string, timezone: string): void {
  const problem = cronProblem(cron) ?? timeZoneProblem(timezone);
  if (problem) throw new ValidationError(problem);
}

/** An instant to iterate from that is not inside the hour after an offset change. */
function cleanStart(after: number, timezone: string): number {
  const zone = IANAZone.create(timezone);
  return zone.offset(after) === zone.offset(after - DST_MARGIN_MS) ? after : after - DST_MARGIN_MS;
}

/** Occurrences in increasing order, starting somewhat before `after` (callers filter). */
function* occurrencesFrom(cron: string, timezone: string, after: number): Generator<Date> {
  const iterator = CronExpressionParser.parse(cron.trim(), {
    tz: timezone,
    currentDate: new Date(cleanStart(after, timezone)),
  });
  let last = -Infinity;
  for (let stalled = 0; stalled < 1_000; ) {
    let next: Date;
    try {
      next = iterator.next().toDate();
    } catch {
      return; // cron-parser gives up after a loop limit; nothing further to yield
    }
    if (next.getTime() > last) {
      stalled = 0;
      last = next.getTime();
      yield next;
    } else {
      stalled += 1; // never yield a time twice or out of order, whatever the iterator does
    }
  }
}

/** The first occurrence strictly after `after`. */
export function nextRun(cron: string, timezone: string, after: Date): Date {
  assertSchedule(cron, timezone);
  for (const run of occurrencesFrom(cron, timezone, after.getTime())) {
    if (run.getTime() > after.getTime()) return run;
  }
  throw new ValidationError(`cron "${cron}" has no run after ${after.toISOString()}`);
}

/** The latest occurrence at or before `at`, or undefined if there is none. */
export function lastRunAtOrBefore(cron: string, timezone: string, at: Date): Date | undefined {
  assertSchedule(cron, timezone);
  let anchor: number;
  try {
    // prev() is strict; +1ms makes `at` itself count. Its answer is only a starting point.
    anchor = CronExpressionParser.parse(cron.trim(), { tz: timezone, currentDate: new Date(at.getTime() + 1) })
      .prev()
      .getTime();
  } catch {
    return undefined;
  }
  let latest: Date | undefined;
  for (const run of occurrencesFrom(cron, timezone, anchor - 1)) {
    if (run.getTime() > at.getTime()) break;
    latest = run;
  }
  return latest;
}

/**
 * Occurrences in (after, until], oldest first, at most `limit` of them. Asking again with
 * `after` set to the last one returned pages through the rest.
 */
export function runsBetween(cron: string, timezone: string, after: Date, until: Date, limit: number): Date[] {
  assertSchedule(cron, timezone);
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  const runs: Date[] = [];
  if (until.getTime() <= after.getTime()) return runs;
  for (const run of occurrencesFrom(cron, timezone, after.getTime())) {
    if (run.getTime() > until.getTime() || runs.length >= limit) break;
    if (run.getTime() > after.getTime()) runs.push(run);
  }
  return runs;
}

/** Runs that should have happened in (lastRunAt, now], oldest first, at most `limit`. */
export function missedRuns(cron: string, timezone: string, lastRunAt: Date, now: Date, limit = 100): Date[] {
  return runsBetween(cron, timezone, lastRunAt, now, limit);
}

/** Whether a run that was due at `scheduledFor` should still happen at `now`. */
export function decideMissed(scheduledFor: Date, now: Date, graceMs: number): 'run' | 'missed' {
  return now.getTime() - scheduledFor.getTime() <= graceMs ? 'run' : 'missed';
}

export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

/**
 * A wall-clock time in `timezone` as an instant. `invalid` for a date that does not exist
 * (2026-02-30, 24:00); `skipped` for a time the clocks jump over (02:30 on a spring-forward
 * night). A time that happens twice (the autumn repeated hour) is the first one.
 */
export function zonedTime(local: LocalTime, timezone: string): Date | 'invalid' | 'skipped' {
  const { year, month, day, hour, minute } = local;
  if (hour > 23 || minute > 59) return 'invalid';
  const dt = DateTime.fromObject({ year, month, day, hour, minute }, { zone: timezone });
  if (!dt.isValid) return 'invalid';
  if (dt.hour !== hour || dt.minute !== minute) return 'skipped';
  return new Date(Math.min(...dt.getPossibleOffsets().map((candidate) => candidate.toMillis())));
}

const ACCEPTED_FORMS =
  'Use one of: 2026-11-24 10:00, 2026-11-24T10:00, 10:00 (the next 10:00), tomorrow 10:00, ' +
  'in 2h / in 30m, or ISO 8601 with an offset like 2026-11-24T10:00:00Z.';

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$/i;
const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{1,2}):(\d{2})$/i;
const TIME_ONLY = /^(\d{1,2}):(\d{2})$/;
const TOMORROW = /^tomorrow\s+(?:at\s+)?(\d{1,2}):(\d{2})$/i;
const RELATIVE = /^in\s+(.+)$/i;

/**
 * A release time typed in Slack. Local forms are read in `timezone`; the result must be
 * after `now`. Throws a ValidationError that says what was wrong and what would be right.
 */
export function parseWhen(text: string, now: Date, timezone: string): Date {
  const zoneProblem = timeZoneProblem(timezone);
  if (zoneProblem) throw new ValidationError(zoneProblem);
  const input = text.trim();
  const unreadable = (problem: string) =>
    new ValidationError(`${problem}. ${ACCEPTED_FORMS} Local times are in ${timezone}.`);

  const local = (parts: LocalTime): Date => {
    const at = zonedTime(parts, timezone);
    if (at === 'invalid') throw unreadable(`"${input}" is not a real date and time`);
    if (at === 'skipped') {
      throw new ValidationError(`"${input}" does not exist in ${timezone}: the clocks skip it that night`);
    }
    return at;
  };

  let when: Date;
  let match: RegExpMatchArray | null;
  const nowLocal = DateTime.fromJSDate(now, { zone: timezone });
  if (ISO_WITH_OFFSET.test(input)) {
    const parsed = DateTime.fromISO(input.replace(' ', 'T'), { setZone: true });
    if (!parsed.isValid) throw unreadable(`"${input}" is not a real date and time`);
    when = parsed.toJSDate();
  } else if ((match = LOCAL_DATE_TIME.exec(input))) {
    const [year, month, day, hour, minute] = match.slice(1).map(Number) as [number, number, number, number, number];
    when = local({ year, month, day, hour, minute });
  } else if ((match = TIME_ONLY.exec(input))) {
    const [hour, minute] = match.slice(1).map(Number) as [number, number];
    const today = zonedTime({ year: nowLocal.year, month: nowLocal.month, day: nowLocal.day, hour, minute }, timezone);
    if (today instanceof Date && today.getTime() > now.getTime()) {
      when = today;
    } else {
      const tomorrow = nowLocal.plus({ days: 1 }); // past, or skipped by the clocks today
      when = local({ year: tomorrow.year, month: tomorrow.month, day: tomorrow.day, hour, minute });
    }
  } else if ((match = TOMORROW.exec(input))) {
    const [hour, minute] = match.slice(1).map(Number) as [number, number];
    const tomorrow = nowLocal.plus({ days: 1 });
    when = local({ year: tomorrow.year, month: tomorrow.month, day: tomorrow.day, hour, minute });
  } else if ((match = RELATIVE.exec(input))) {
    const amount = match[1] ?? '';
    let offset: number | undefined;
    try {
      offset = /[a-z]\s*$/i.test(amount) ? ms(amount as ms.StringValue) : undefined; // a unit is required
    } catch {
      offset = undefined;
    }
    if (typeof offset !== 'number' || !Number.isFinite(offset) || offset <= 0) {
      throw unreadable(`Could not read "${amount}" in "${input}" as a duration`);
    }
    when = new Date(now.getTime() + offset);
  } else {
    throw unreadable(`Could not read "${input}" as a time`);
  }

  if (when.getTime() <= now.getTime()) {
    throw new ValidationError(
      `"${input}" is in the past (it is now ${nowLocal.toFormat('yyyy-MM-dd HH:mm')} in ${timezone})`,
    );
  }
  return when;
}
