import { ValidationError } from '../../../src/core/errors';
import {
  cronProblem,
  decideMissed,
  lastRunAtOrBefore,
  missedRuns,
  nextRun,
  parseWhen,
  runsBetween,
  timeZoneProblem,
  zonedTime,
} from '../../../src/core/schedule';

const at = (iso: string) => new Date(iso);
const isoList = (dates: Date[]) => dates.map((d) => d.toISOString());
const BERLIN = 'Europe/Berlin';
const NEW_YORK = 'America/New_York';
const KOLKATA = 'Asia/Kolkata';

/** The error `fn` throws; fails the test when it throws nothing. */
function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`threw a non-Error: ${String(error)}`);
  }
  throw new Error('expected an error, nothing was thrown');
}

const EXAMPLE = '(minute hour day-of-month month day-of-week), like "0 16 * * 5" for Fridays at 16:00';

describe('cronProblem', () => {
  it.each([
    ['0 16 * *', `cron "0 16 * *" has 4 fields; use 5 ${EXAMPLE}`],
    ['', `cron "" has 0 fields; use 5 ${EXAMPLE}`],
    ['@weekly', `cron "@weekly" has 1 field; use 5 ${EXAMPLE}`],
    ['0 0 16 * * 5', `cron "0 0 16 * * 5" has 6 fields; use 5 ${EXAMPLE}`],
    ['H 16 * * 5', 'cron "H 16 * * 5" uses H (a random value); write the exact time, like "0 16 * * 5" for Fridays at 16:00'],
    ['0 16 * * H/2', 'cron "0 16 * * H/2" uses H (a random value); write the exact time, like "0 16 * * 5" for Fridays at 16:00'],
    ['60 16 * * 5', `cron "60 16 * * 5" is invalid (Constraint error, got value 60 expected range 0-59); use 5 fields ${EXAMPLE}`],
    ['0 24 * * 5', `cron "0 24 * * 5" is invalid (Constraint error, got value 24 expected range 0-23); use 5 fields ${EXAMPLE}`],
    ['0 16 * * 8', `cron "0 16 * * 8" is invalid (Constraint error, got value 8 expected range 0-7); use 5 fields ${EXAMPLE}`],
    ['0 16 * 13 *', `cron "0 16 * 13 *" is invalid (Constraint error, got value 13 expected range 1-12); use 5 fields ${EXAMPLE}`],
    ['0 16 * * 5-1', `cron "0 16 * * 5-1" is invalid (Invalid range: 5-1, min(5) > max(1)); use 5 fields ${EXAMPLE}`],
    ['0 16 30 2 *', `cron "0 16 30 2 *" is invalid (Invalid explicit day of month definition); use 5 fields ${EXAMPLE}`],
    ['a b c d e', `cron "a b c d e" is invalid (Invalid characters, got value: a); use 5 fields ${EXAMPLE}`],
  ])('rejects %j', (cron, message) => {
    expect(cronProblem(cron)).toBe(message);
  });

  it.each(['0 16 * * 5', '0 16 * * FRI', '0 16 * * THU', '*/15 9-17 * * 1-5', '0 0 L * *', '0 9 * * 1#1', ' 0  16 * *  5 '])(
    'accepts %j',
    (cron) => {
      expect(cronProblem(cron)).toBeUndefined();
    },
  );
});

describe('timeZoneProblem', () => {
  it.each([BERLIN, NEW_YORK, KOLKATA, 'UTC', 'Etc/GMT+2'])('accepts %s', (zone) => {
    expect(timeZoneProblem(zone)).toBeUndefined();
  });

  it.each(['Europe/Berln', 'Mars/Olympus', '+02:00', ''])('rejects %j, naming it', (zone) => {
    expect(timeZoneProblem(zone)).toBe(`unknown time zone "${zone}": use an IANA name like "Europe/Berlin" or "UTC"`);
  });
});

describe('nextRun', () => {
  it.each([
    // cron, zone, after, expected
    ['Friday 16:00 Berlin in winter is 15:00Z', '0 16 * * 5', BERLIN, '2026-11-19T00:00:00Z', '2026-11-20T15:00:00.000Z'],
    ['Friday 16:00 Berlin in summer is 14:00Z', '0 16 * * 5', BERLIN, '2026-06-01T00:00:00Z', '2026-06-05T14:00:00.000Z'],
    ['strictly after: exactly at a run gives the next one', '0 16 * * 5', BERLIN, '2026-11-20T15:00:00.000Z', '2026-11-27T15:00:00.000Z'],
    ['1ms before a run gives that run', '0 16 * * 5', BERLIN, '2026-11-20T14:59:59.999Z', '2026-11-20T15:00:00.000Z'],
    ['Kolkata is UTC+05:30', '0 16 * * 5', KOLKATA, '2026-11-19T00:00:00Z', '2026-11-20T10:30:00.000Z'],
    ['Kolkata half past', '30 9 * * *', KOLKATA, '2026-11-19T00:00:00Z', '2026-11-19T04:00:00.000Z'],
    ['New York before DST (EST)', '0 9 * * 1-5', NEW_YORK, '2026-03-06T00:00:00Z', '2026-03-06T14:00:00.000Z'],
    ['New York across the spring change: Monday is EDT', '0 9 * * 1-5', NEW_YORK, '2026-03-06T15:00:00Z', '2026-03-09T13:00:00.000Z'],
    ['New York across the autumn change: Monday is EST', '0 9 * * 1-5', NEW_YORK, '2026-10-30T14:00:00Z', '2026-11-02T14:00:00.000Z'],
    // Berlin 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00Z)
    ['Berlin spring: a run in the skipped hour moves to 03:30 CEST', '30 2 * * *', BERLIN, '2026-03-28T12:00:00Z', '2026-03-29T01:30:00.000Z'],
    ['Berlin spring: the day after is back at 02:30 CEST', '30 2 * * *', BERLIN, '2026-03-29T01:30:00Z', '2026-03-30T00:30:00.000Z'],
    ['Berlin spring: just after the jump the moved run is still ahead', '30 2 * * *', BERLIN, '2026-03-29T01:10:00Z', '2026-03-29T01:30:00.000Z'],
    ['Berlin spring: 03:00 CEST is 01:00Z', '0 3 * * *', BERLIN, '2026-03-28T12:00:00Z', '2026-03-29T01:00:00.000Z'],
    // Berlin 2026-10-25: 03:00 CEST falls back to 02:00 CET (01:00Z); 02:xx happens twice
    ['Berlin autumn: a repeated time runs the first time round', '30 2 * * *', BERLIN, '2026-10-24T12:00:00Z', '2026-10-25T00:30:00.000Z'],
    ['Berlin autumn: and not again in the repeated hour', '30 2 * * *', BERLIN, '2026-10-25T00:30:00Z', '2026-10-26T01:30:00.000Z'],
    ['Berlin autumn: asked from inside the repeated hour', '30 2 * * *', BERLIN, '2026-10-25T01:00:00Z', '2026-10-26T01:30:00.000Z'],
    ['Berlin autumn: hourly keeps every elapsed hour', '0 * * * *', BERLIN, '2026-10-25T00:30:00Z', '2026-10-25T01:00:00.000Z'],
    // New York 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z); 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z)
    ['New York spring: 02:30 moves to 03:30 EDT', '30 2 * * *', NEW_YORK, '2026-03-07T12:00:00Z', '2026-03-08T07:30:00.000Z'],
    ['New York spring: the day after', '30 2 * * *', NEW_YORK, '2026-03-08T07:30:00Z', '2026-03-09T06:30:00.000Z'],
    ['New York autumn: 01:30 the first time (EDT)', '30 1 * * *', NEW_YORK, '2026-10-31T12:00:00Z', '2026-11-01T05:30:00.000Z'],
    ['New York autumn: not again at 01:30 EST', '30 1 * * *', NEW_YORK, '2026-11-01T05:30:00Z', '2026-11-02T06:30:00.000Z'],
  ])('%s', (_title, cron, zone, after, expected) => {
    expect(nextRun(cron, zone, at(after)).toISOString()).toBe(expected);
  });

  it('throws a ValidationError for a bad cron or zone', () => {
    const badCron = thrownBy(() => nextRun('0 16 * *', BERLIN, at('2026-11-19T00:00:00Z')));
    expect(badCron).toBeInstanceOf(ValidationError);
    expect(badCron.message).toBe(`cron "0 16 * *" has 4 fields; use 5 ${EXAMPLE}`);
    const badZone = thrownBy(() => nextRun('0 16 * * 5', 'Europe/Berln', at('2026-11-19T00:00:00Z')));
    expect(badZone).toBeInstanceOf(ValidationError);
    expect(badZone.message).toBe('unknown time zone "Europe/Berln": use an IANA name like "Europe/Berlin" or "UTC"');
  });
});

describe('lastRunAtOrBefore', () => {
  it.each([
    ['exactly at a run counts', '0 16 * * 5', BERLIN, '2026-11-20T15:00:00.000Z', '2026-11-20T15:00:00.000Z'],
    ['1ms before a run gives the one before', '0 16 * * 5', BERLIN, '2026-11-20T14:59:59.999Z', '2026-11-13T15:00:00.000Z'],
    ['Kolkata', '0 16 * * 5', KOLKATA, '2026-11-21T00:00:00Z', '2026-11-20T10:30:00.000Z'],
    ['Berlin autumn: the repeated 02:30 is the first one', '30 2 * * *', BERLIN, '2026-10-25T01:45:00Z', '2026-10-25T00:30:00.000Z'],
    ['Berlin autumn: a range in the repeated hour ends in its first pass', '*/20 2 * * *', BERLIN, '2026-10-25T01:50:00Z', '2026-10-25T00:40:00.000Z'],
    ['Berlin spring: the moved 03:30 run counts', '30 2 * * *', BERLIN, '2026-03-29T02:00:00Z', '2026-03-29T01:30:00.000Z'],
    ['New York autumn: the repeated 01:30 is the first one', '30 1 * * *', NEW_YORK, '2026-11-01T06:45:00Z', '2026-11-01T05:30:00.000Z'],
    ['New York spring: the moved 03:30 run counts', '30 2 * * *', NEW_YORK, '2026-03-08T08:00:00Z', '2026-03-08T07:30:00.000Z'],
  ])('%s', (_title, cron, zone, when, expected) => {
    expect(lastRunAtOrBefore(cron, zone, at(when))?.toISOString()).toBe(expected);
  });
});

describe('runsBetween and missedRuns', () => {
  it('lists runs in (lastRunAt, now]: excludes the last run, includes now', () => {
    expect(isoList(missedRuns('0 * * * *', 'UTC', at('2026-11-20T10:00:00Z'), at('2026-11-20T13:00:00Z')))).toEqual([
      '2026-11-20T11:00:00.000Z',
      '2026-11-20T12:00:00.000Z',
      '2026-11-20T13:00:00.000Z',
    ]);
  });

  it('is empty when nothing is due or now is not after the last run', () => {
    expect(missedRuns('0 * * * *', 'UTC', at('2026-11-20T10:00:00Z'), at('2026-11-20T10:59:59.999Z'))).toEqual([]);
    expect(missedRuns('0 * * * *', 'UTC', at('2026-11-20T10:00:00Z'), at('2026-11-20T10:00:00Z'))).toEqual([]);
    expect(missedRuns('0 * * * *', 'UTC', at('2026-11-20T12:00:00Z'), at('2026-11-20T10:00:00Z'))).toEqual([]);
  });

  it('stops at 100 by default, oldest first', () => {
    const runs = missedRuns('* * * * *', 'UTC', at('2026-11-20T10:00:00Z'), at('2026-11-20T13:00:00Z'));
    expect(runs).toHaveLength(100);
    expect(runs[0]?.toISOString()).toBe('2026-11-20T10:01:00.000Z');
    expect(runs[99]?.toISOString()).toBe('2026-11-20T11:40:00.000Z');
  });

  it('honours a limit, and pages on from the last run returned', () => {
    const first = missedRuns('*/10 * * * *', 'UTC', at('2026-11-20T10:00:00Z'), at('2026-11-20T11:00:00Z'), 4);
    expect(isoList(first)).toEqual([
      '2026-11-20T10:10:00.000Z',
      '2026-11-20T10:20:00.000Z',
      '2026-11-20T10:30:00.000Z',
      '2026-11-20T10:40:00.000Z',
    ]);
    const rest = runsBetween('*/10 * * * *', 'UTC', first[3] as Date, at('2026-11-20T11:00:00Z'), 4);
    expect(isoList(rest)).toEqual(['2026-11-20T10:50:00.000Z', '2026-11-20T11:00:00.000Z']);
  });

  it.each([0, -1, 1.5, NaN])('rejects limit %p', (limit) => {
    expect(() => missedRuns('* * * * *', 'UTC', at('2026-11-20T10:00:00Z'), at('2026-11-20T11:00:00Z'), limit)).toThrow(
      RangeError,
    );
  });

  it.each([
    [
      'Berlin autumn: hourly runs every elapsed hour, 02:00 twice',
      '0 * * * *', BERLIN, '2026-10-24T22:30:00Z', '2026-10-25T03:30:00Z',
      ['2026-10-24T23:00:00.000Z', '2026-10-25T00:00:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T02:00:00.000Z', '2026-10-25T03:00:00.000Z'],
    ],
    [
      'Berlin autumn: a daily 02:30 runs once on the long night',
      '30 2 * * *', BERLIN, '2026-10-24T00:00:00Z', '2026-10-27T00:00:00Z',
      ['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z'],
    ],
    [
      'Berlin autumn: caught up from inside the repeated hour',
      '30 2 * * *', BERLIN, '2026-10-25T01:00:00Z', '2026-10-26T12:00:00Z',
      ['2026-10-26T01:30:00.000Z'],
    ],
    [
      'Berlin spring: a daily 02:30 is not lost on the short night',
      '30 2 * * *', BERLIN, '2026-03-27T12:00:00Z', '2026-03-31T00:00:00Z',
      ['2026-03-28T01:30:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z'],
    ],
    [
      'Berlin spring: hourly skips the hour that does not exist',
      '0 * * * *', BERLIN, '2026-03-28T23:30:00Z', '2026-03-29T02:30:00Z',
      ['2026-03-29T00:00:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-29T02:00:00.000Z'],
    ],
    [
      'New York spring: 09:00 moves from 14:00Z to 13:00Z',
      '0 9 * * *', NEW_YORK, '2026-03-06T00:00:00Z', '2026-03-10T00:00:00Z',
      ['2026-03-06T14:00:00.000Z', '2026-03-07T14:00:00.000Z', '2026-03-08T13:00:00.000Z', '2026-03-09T13:00:00.000Z'],
    ],
    [
      'New York autumn: 09:00 moves from 13:00Z to 14:00Z',
      '0 9 * * *', NEW_YORK, '2026-10-30T00:00:00Z', '2026-11-03T00:00:00Z',
      ['2026-10-30T13:00:00.000Z', '2026-10-31T13:00:00.000Z', '2026-11-01T14:00:00.000Z', '2026-11-02T14:00:00.000Z'],
    ],
    [
      'Kolkata: no DST, always 03:30Z',
      '0 9 * * *', KOLKATA, '2026-03-27T00:00:00Z', '2026-03-30T00:00:00Z',
      ['2026-03-27T03:30:00.000Z', '2026-03-28T03:30:00.000Z', '2026-03-29T03:30:00.000Z'],
    ],
    [
      'across the new year',
      '0 0 * * *', BERLIN, '2026-12-30T12:00:00Z', '2027-01-02T12:00:00Z',
      ['2026-12-30T23:00:00.000Z', '2026-12-31T23:00:00.000Z', '2027-01-01T23:00:00.000Z'],
    ],
  ])('%s', (_title, cron, zone, lastRunAt, now, expected) => {
    expect(isoList(missedRuns(cron, zone, at(lastRunAt), at(now)))).toEqual(expected);
  });
});

describe('decideMissed', () => {
  const scheduled = at('2026-11-20T10:00:00Z');
  it.each([
    ['on time', '2026-11-20T10:00:00.000Z', 300_000, 'run'],
    ['early (a clock ahead of the timer)', '2026-11-20T09:59:00.000Z', 300_000, 'run'],
    ['late within grace', '2026-11-20T10:04:59.999Z', 300_000, 'run'],
    ['late by exactly the grace', '2026-11-20T10:05:00.000Z', 300_000, 'run'],
    ['1ms beyond the grace', '2026-11-20T10:05:00.001Z', 300_000, 'missed'],
    ['a day late', '2026-11-21T10:00:00.000Z', 300_000, 'missed'],
    ['no grace, on time', '2026-11-20T10:00:00.000Z', 0, 'run'],
    ['no grace, 1ms late', '2026-11-20T10:00:00.001Z', 0, 'missed'],
  ] as const)('%s: %s', (_title, now, grace, expected) => {
    expect(decideMissed(scheduled, at(now), grace)).toBe(expected);
  });
});

describe('zonedTime', () => {
  it.each([
    ['winter', { year: 2026, month: 11, day: 24, hour: 10, minute: 0 }, BERLIN, '2026-11-24T09:00:00.000Z'],
    ['summer', { year: 2026, month: 6, day: 24, hour: 10, minute: 0 }, BERLIN, '2026-06-24T08:00:00.000Z'],
    ['a repeated time is the first one', { year: 2026, month: 10, day: 25, hour: 2, minute: 30 }, BERLIN, '2026-10-25T00:30:00.000Z'],
    ['New York repeated 01:30 is EDT', { year: 2026, month: 11, day: 1, hour: 1, minute: 30 }, NEW_YORK, '2026-11-01T05:30:00.000Z'],
    ['Kolkata', { year: 2026, month: 11, day: 24, hour: 10, minute: 0 }, KOLKATA, '2026-11-24T04:30:00.000Z'],
  ])('%s', (_title, local, zone, expected) => {
    const result = zonedTime(local, zone);
    expect(result instanceof Date ? result.toISOString() : result).toBe(expected);
  });

  it.each([
    ['a skipped time', { year: 2026, month: 3, day: 29, hour: 2, minute: 30 }, BERLIN, 'skipped'],
    ['New York skipped time', { year: 2026, month: 3, day: 8, hour: 2, minute: 0 }, NEW_YORK, 'skipped'],
    ['30 February', { year: 2026, month: 2, day: 30, hour: 10, minute: 0 }, BERLIN, 'invalid'],
    ['24:00', { year: 2026, month: 2, day: 3, hour: 24, minute: 0 }, BERLIN, 'invalid'],
    ['minute 60', { year: 2026, month: 2, day: 3, hour: 10, minute: 60 }, BERLIN, 'invalid'],
  ])('%s is %s', (_title, local, zone, expected) => {
    expect(zonedTime(local, zone)).toBe(expected);
  });
});

describe('parseWhen', () => {
  // Tuesday 2026-11-24 09:00 in Berlin (CET, UTC+1)
  const NOW = at('2026-11-24T08:00:00Z');

  it.each([
    ['2026-11-24 10:00', '2026-11-24T09:00:00.000Z'],
    ['2026-11-24T10:00', '2026-11-24T09:00:00.000Z'],
    ['  2026-11-24 10:00  ', '2026-11-24T09:00:00.000Z'],
    ['2026-11-24 9:30', '2026-11-24T08:30:00.000Z'],
    ['2026-12-01 10:00', '2026-12-01T09:00:00.000Z'],
    ['2027-07-01 10:00', '2027-07-01T08:00:00.000Z'],
    ['10:00', '2026-11-24T09:00:00.000Z'],
    ['9:05', '2026-11-24T08:05:00.000Z'],
    ['23:59', '2026-11-24T22:59:00.000Z'],
    ['08:30', '2026-11-25T07:30:00.000Z'],
    ['09:00', '2026-11-25T08:00:00.000Z'],
    ['00:00', '2026-11-24T23:00:00.000Z'],
    ['tomorrow 10:00', '2026-11-25T09:00:00.000Z'],
    ['Tomorrow at 7:15', '2026-11-25T06:15:00.000Z'],
    ['tomorrow 00:00', '2026-11-24T23:00:00.000Z'],
    ['in 2h', '2026-11-24T10:00:00.000Z'],
    ['in 30m', '2026-11-24T08:30:00.000Z'],
    ['IN 1.5h', '2026-11-24T09:30:00.000Z'],
    ['in 90 minutes', '2026-11-24T09:30:00.000Z'],
    ['in 1d', '2026-11-25T08:00:00.000Z'],
    ['2026-11-24T10:00:00Z', '2026-11-24T10:00:00.000Z'],
    ['2026-11-24T10:00:00.250Z', '2026-11-24T10:00:00.250Z'],
    ['2026-11-24T10:00Z', '2026-11-24T10:00:00.000Z'],
    ['2026-11-24 10:00Z', '2026-11-24T10:00:00.000Z'],
    ['2026-11-24T10:00+01:00', '2026-11-24T09:00:00.000Z'],
    ['2026-11-24T16:00:00+05:30', '2026-11-24T10:30:00.000Z'],
    ['2026-11-24T05:00:00-05:00', '2026-11-24T10:00:00.000Z'],
    ['2026-11-24T10:00:00+0100', '2026-11-24T09:00:00.000Z'],
  ])('Berlin, at 09:00: %j', (text, expected) => {
    expect(parseWhen(text, NOW, BERLIN).toISOString()).toBe(expected);
  });

  it.each([
    // zone, now, text, expected
    ['Kolkata: later today', KOLKATA, '2026-11-24T08:00:00Z', '14:00', '2026-11-24T08:30:00.000Z'],
    ['Kolkata: already past, so tomorrow', KOLKATA, '2026-11-24T08:00:00Z', '13:00', '2026-11-25T07:30:00.000Z'],
    ['Kolkata: a date and time', KOLKATA, '2026-11-24T08:00:00Z', '2026-11-24 18:30', '2026-11-24T13:00:00.000Z'],
    ['New York: a date and time', NEW_YORK, '2026-11-24T08:00:00Z', '2026-11-24 10:00', '2026-11-24T15:00:00.000Z'],
    ['New York: "today" is still the 23rd at 03:00Z', NEW_YORK, '2026-11-24T03:00:00Z', '23:00', '2026-11-24T04:00:00.000Z'],
    ['UTC', 'UTC', '2026-11-24T08:00:00Z', 'tomorrow 10:00', '2026-11-25T10:00:00.000Z'],
    ['Berlin spring: tomorrow is summer time', BERLIN, '2026-03-28T12:00:00Z', 'tomorrow 10:00', '2026-03-29T08:00:00.000Z'],
    ['Berlin spring: "in 24h" is elapsed time', BERLIN, '2026-03-28T12:00:00Z', 'in 24h', '2026-03-29T12:00:00.000Z'],
    ['Berlin spring: late the night before, tomorrow is the short day', BERLIN, '2026-03-28T22:30:00Z', 'tomorrow 10:00', '2026-03-29T08:00:00.000Z'],
    ['Berlin spring: late the night before, 10:00 is on the short day', BERLIN, '2026-03-28T22:30:00Z', '10:00', '2026-03-29T08:00:00.000Z'],
    ['Berlin spring: a time skipped tonight means tomorrow', BERLIN, '2026-03-29T00:30:00Z', '02:30', '2026-03-30T00:30:00.000Z'],
    ['Berlin autumn: tomorrow is winter time', BERLIN, '2026-10-24T12:00:00Z', 'tomorrow 10:00', '2026-10-25T09:00:00.000Z'],
    ['Berlin autumn: a repeated time is the first one', BERLIN, '2026-10-24T12:00:00Z', '2026-10-25 02:30', '2026-10-25T00:30:00.000Z'],
    ['New York spring: tomorrow is EDT', NEW_YORK, '2026-03-07T17:00:00Z', 'tomorrow 12:00', '2026-03-08T16:00:00.000Z'],
    ['New York autumn: tomorrow is EST', NEW_YORK, '2026-10-31T16:00:00Z', 'tomorrow 12:00', '2026-11-01T17:00:00.000Z'],
    ['New York autumn: a repeated time is the first one (EDT)', NEW_YORK, '2026-10-31T16:00:00Z', '2026-11-01 01:30', '2026-11-01T05:30:00.000Z'],
    ['across the new year', BERLIN, '2026-12-31T22:00:00Z', 'tomorrow 09:00', '2027-01-01T08:00:00.000Z'],
  ])('%s', (_title, zone, now, text, expected) => {
    expect(parseWhen(text, at(now), zone).toISOString()).toBe(expected);
  });

  const FORMS =
    'Use one of: 2026-11-24 10:00, 2026-11-24T10:00, 10:00 (the next 10:00), tomorrow 10:00, ' +
    'in 2h / in 30m, or ISO 8601 with an offset like 2026-11-24T10:00:00Z. Local times are in Europe/Berlin.';

  it.each([
    ['next tuesday', `Could not read "next tuesday" as a time. ${FORMS}`],
    ['', `Could not read "" as a time. ${FORMS}`],
    ['2026-11-24', `Could not read "2026-11-24" as a time. ${FORMS}`],
    ['24/11/2026 10:00', `Could not read "24/11/2026 10:00" as a time. ${FORMS}`],
    ['10am', `Could not read "10am" as a time. ${FORMS}`],
    ['tomorrow', `Could not read "tomorrow" as a time. ${FORMS}`],
    ['in 2', `Could not read "2" in "in 2" as a duration. ${FORMS}`],
    ['in soon', `Could not read "soon" in "in soon" as a duration. ${FORMS}`],
    ['in -2h', `Could not read "-2h" in "in -2h" as a duration. ${FORMS}`],
    ['in 0m', `Could not read "0m" in "in 0m" as a duration. ${FORMS}`],
    ['25:00', `"25:00" is not a real date and time. ${FORMS}`],
    ['10:60', `"10:60" is not a real date and time. ${FORMS}`],
    ['tomorrow 24:00', `"tomorrow 24:00" is not a real date and time. ${FORMS}`],
    ['2026-02-30 10:00', `"2026-02-30 10:00" is not a real date and time. ${FORMS}`],
    ['2026-11-24T25:00:00Z', `"2026-11-24T25:00:00Z" is not a real date and time. ${FORMS}`],
    ['2026-11-24 08:59', '"2026-11-24 08:59" is in the past (it is now 2026-11-24 09:00 in Europe/Berlin)'],
    ['2026-11-24 09:00', '"2026-11-24 09:00" is in the past (it is now 2026-11-24 09:00 in Europe/Berlin)'],
    ['2026-11-24T07:59:59Z', '"2026-11-24T07:59:59Z" is in the past (it is now 2026-11-24 09:00 in Europe/Berlin)'],
    ['2025-11-24T10:00', '"2025-11-24T10:00" is in the past (it is now 2026-11-24 09:00 in Europe/Berlin)'],
  ])('rejects %j', (text, message) => {
    const error = thrownBy(() => parseWhen(text, NOW, BERLIN));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe(message);
    expect((error as ValidationError).userMessage).toBe(message);
    expect((error as ValidationError).code).toBe('validation');
  });

  it.each([
    [BERLIN, '2026-03-28T12:00:00Z', '2026-03-29 02:30', '"2026-03-29 02:30" does not exist in Europe/Berlin: the clocks skip it that night'],
    [BERLIN, '2026-03-28T12:00:00Z', 'tomorrow 02:15', '"tomorrow 02:15" does not exist in Europe/Berlin: the clocks skip it that night'],
    [NEW_YORK, '2026-03-07T17:00:00Z', '2026-03-08T02:30', '"2026-03-08T02:30" does not exist in America/New_York: the clocks skip it that night'],
  ])('in %s rejects a time the clocks skip: %j', (zone, now, text, message) => {
    const error = thrownBy(() => parseWhen(text, at(now), zone));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe(message);
  });

  it('rejects an unknown time zone', () => {
    const error = thrownBy(() => parseWhen('10:00', NOW, 'Mars/Olympus'));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe('unknown time zone "Mars/Olympus": use an IANA name like "Europe/Berlin" or "UTC"');
  });
});
