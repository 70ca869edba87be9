import { formatIssues } from '../../../src/core/config';
import { ValidationError } from '../../../src/core/errors';
import {
  activeFreeze,
  describeFreeze,
  freezeWindowSchema,
  MAX_OCCURRENCES_PER_WINDOW,
  upcomingFreezes,
  type ActiveFreeze,
  type FreezeWindow,
} from '../../../src/core/freeze-windows';

const at = (iso: string) => new Date(iso);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function windowOf(raw: unknown): FreezeWindow {
  const result = freezeWindowSchema.safeParse(raw);
  if (!result.success) throw new Error(`expected a valid window, got:\n${formatIssues(result.error.issues).join('\n')}`);
  return result.data;
}

function problemsOf(raw: unknown): string[] {
  const result = freezeWindowSchema.safeParse(raw);
  if (result.success) throw new Error(`expected problems, got ${JSON.stringify(result.data)}`);
  return formatIssues(result.error.issues);
}

/** Fridays 16:00 Berlin for 64h: Monday 08:00 local when no clock change falls in between. */
const friday = windowOf({
  name: 'Friday freeze',
  cron: '0 16 * * 5',
  duration: '64h',
  timezone: 'Europe/Berlin',
  reason: 'No deploys over the weekend',
});
/** Fridays 17:00 New York for 60h. */
const fridayNy = windowOf({ name: 'NY weekend', cron: '0 17 * * 5', duration: '60h', timezone: 'America/New_York' });
/** Daily 18:30 IST (13:00Z) for 30 minutes. */
const kolkata = windowOf({ name: 'Evening batch', cron: '30 18 * * *', duration: '30m', timezone: 'Asia/Kolkata' });
/** Daily at 02:30 Berlin for 30 minutes: a time the clocks skip once and repeat once a year. */
const nightly = windowOf({ name: 'Nightly backup', cron: '30 2 * * *', duration: '30m', timezone: 'Europe/Berlin' });
const yearEnd = windowOf({ name: 'Year-end freeze', from: '2026-12-20', to: '2027-01-03', timezone: 'Europe/Berlin' });

const freeze = (
  window: FreezeWindow,
  startsAt: string,
  endsAt: string,
): ActiveFreeze => ({
  name: window.name,
  ...(window.reason === undefined ? {} : { reason: window.reason }),
  startsAt: at(startsAt),
  endsAt: at(endsAt),
});

describe('freezeWindowSchema', () => {
  it('parses a recurring window: duration in ms, cron spacing normalised', () => {
    expect(
      windowOf({ name: 'Friday freeze', cron: ' 0  16 * *  5', duration: '64h', timezone: 'Europe/Berlin', reason: 'weekend' }),
    ).toStrictEqual({ name: 'Friday freeze', cron: '0 16 * * 5', duration: 64 * HOUR, timezone: 'Europe/Berlin', reason: 'weekend' });
  });

  it('parses a fixed range, defaulting the zone to UTC', () => {
    expect(windowOf({ name: 'Year end', from: '2026-12-20', to: '2027-01-03' })).toStrictEqual({
      name: 'Year end',
      from: '2026-12-20',
      to: '2027-01-03',
      timezone: 'UTC',
    });
  });

  it.each([
    ['one day: from and to the same date', { from: '2026-12-24', to: '2026-12-24' }],
    ['a time to the end of the same day', { from: '2026-12-24T12:00', to: '2026-12-24' }],
    ['times, one minute apart', { from: '2026-12-24T12:00', to: '2026-12-24T12:01' }],
    ['a range across the autumn change', { from: '2026-10-25T02:30', to: '2026-10-25T02:45', timezone: 'Europe/Berlin' }],
  ])('accepts a fixed range: %s', (_title, range) => {
    expect(() => windowOf({ name: 'ok', ...range })).not.toThrow();
  });

  const recurring = { name: 'Friday freeze', cron: '0 16 * * 5', duration: '64h', timezone: 'Europe/Berlin' };
  const fixed = { name: 'Year end', from: '2026-12-20', to: '2027-01-03', timezone: 'Europe/Berlin' };
  const EXAMPLE = '(minute hour day-of-month month day-of-week), like "0 16 * * 5" for Fridays at 16:00';

  it.each([
    ['a cron with 4 fields', { ...recurring, cron: '0 16 * *' }, [`cron: cron "0 16 * *" has 4 fields; use 5 ${EXAMPLE}`]],
    ['a cron with seconds', { ...recurring, cron: '0 0 16 * * 5' }, [`cron: cron "0 0 16 * * 5" has 6 fields; use 5 ${EXAMPLE}`]],
    [
      'a cron out of range',
      { ...recurring, cron: '0 16 * * 8' },
      [`cron: cron "0 16 * * 8" is invalid (Constraint error, got value 8 expected range 0-7); use 5 fields ${EXAMPLE}`],
    ],
    [
      'a random cron',
      { ...recurring, cron: 'H 16 * * 5' },
      ['cron: cron "H 16 * * 5" uses H (a random value); write the exact time, like "0 16 * * 5" for Fridays at 16:00'],
    ],
    [
      'a misspelt zone',
      { ...recurring, timezone: 'Europe/Berln' },
      ['timezone: unknown time zone "Europe/Berln": use an IANA name like "Europe/Berlin" or "UTC"'],
    ],
    [
      'an offset instead of a zone',
      { ...recurring, timezone: '+02:00' },
      ['timezone: unknown time zone "+02:00": use an IANA name like "Europe/Berlin" or "UTC"'],
    ],
    [
      'a duration without a unit',
      { ...recurring, duration: '64' },
      ['duration: "64" is not a duration: use a number and a unit, like 30s, 5m or 1h'],
    ],
    ['a recurring window without a zone', { ...recurring, timezone: undefined }, ['timezone: Invalid input: expected string, received undefined']],
    ['an empty name', { ...recurring, name: '' }, ['name: name the window, like "Friday freeze"']],
    ['an unknown key', { ...recurring, days: 3 }, ['Unrecognized key: "days"']],
    ['to before from', { ...fixed, from: '2027-01-03', to: '2026-12-20' }, ['to: to "2026-12-20" is not after from "2027-01-03"']],
    [
      'to equal to from, with times',
      { ...fixed, from: '2026-12-20T10:00', to: '2026-12-20T10:00' },
      ['to: to "2026-12-20T10:00" is not after from "2026-12-20T10:00"'],
    ],
    [
      'to a time before from on the same day',
      { ...fixed, from: '2026-12-20T10:00', to: '2026-12-20T09:59' },
      ['to: to "2026-12-20T09:59" is not after from "2026-12-20T10:00"'],
    ],
    [
      'a date in another format',
      { ...fixed, from: '20.12.2026' },
      ['from: "20.12.2026" is not a date like 2026-12-20 or a date and time like 2026-12-20T16:00'],
    ],
    [
      'a space instead of T',
      { ...fixed, to: '2027-01-03 18:00' },
      ['to: "2027-01-03 18:00" is not a date like 2026-12-20 or a date and time like 2026-12-20T16:00'],
    ],
    ['a date that does not exist', { ...fixed, to: '2027-02-30' }, ['to: "2027-02-30" is not a real date or time']],
    ['24:00', { ...fixed, to: '2027-01-03T24:00' }, ['to: "2027-01-03T24:00" is not a real date or time']],
    [
      'a time the clocks skip',
      { ...fixed, from: '2026-03-29T02:30', to: '2026-03-30' },
      ['from: "2026-03-29T02:30" does not exist in Europe/Berlin: the clocks skip it that night'],
    ],
    [
      'a bad zone on a fixed range, reported once',
      { ...fixed, timezone: 'Mars/Olympus' },
      ['timezone: unknown time zone "Mars/Olympus": use an IANA name like "Europe/Berlin" or "UTC"'],
    ],
    ['both kinds at once', { ...recurring, from: '2026-12-20', to: '2027-01-03' }, ['use either cron (a recurring window) or from and to (a fixed range), not both']],
    [
      'neither kind',
      { name: 'Nothing' },
      ['a freeze window needs name, cron, duration and timezone (recurring) or name, from and to (a fixed range)'],
    ],
    [
      'not an object',
      'Fridays from 16:00',
      ['a freeze window needs name, cron, duration and timezone (recurring) or name, from and to (a fixed range)'],
    ],
    ['a fixed range without to', { name: 'Year end', from: '2026-12-20' }, ['to: Invalid input: expected string, received undefined']],
  ])('rejects %s', (_title, raw, problems) => {
    expect(problemsOf(raw)).toEqual(problems);
  });

  it('reports every problem of a window at once', () => {
    expect(problemsOf({ name: 'Friday freeze', cron: '0 16 * *', duration: 'soon', timezone: 'Berlin' })).toEqual([
      `cron: cron "0 16 * *" has 4 fields; use 5 ${EXAMPLE}`,
      'duration: "soon" is not a duration: use a number and a unit, like 30s, 5m or 1h',
      'timezone: unknown time zone "Berlin": use an IANA name like "Europe/Berlin" or "UTC"',
    ]);
  });

  it('keeps paths when used inside a list', () => {
    const result = freezeWindowSchema.array().safeParse([{ ...recurring }, { ...fixed, to: '2026-12-01' }]);
    expect(result.success ? [] : formatIssues(result.error.issues)).toEqual([
      '1.to: to "2026-12-01" is not after from "2026-12-20"',
    ]);
  });
});

describe('activeFreeze', () => {
  const fridayWinter = freeze(friday, '2026-11-20T15:00:00Z', '2026-11-23T07:00:00Z');
  const fridaySummer = freeze(friday, '2026-06-05T14:00:00Z', '2026-06-08T06:00:00Z');
  // Berlin 2026-03-29: the weekend loses an hour, so 64h ends at 09:00 CEST, not 08:00
  const fridaySpring = freeze(friday, '2026-03-27T15:00:00Z', '2026-03-30T07:00:00Z');
  // Berlin 2026-10-25: the weekend gains an hour, so 64h ends at 07:00 CET
  const fridayAutumn = freeze(friday, '2026-10-23T14:00:00Z', '2026-10-26T06:00:00Z');
  // New York 2026-03-08 and 2026-11-01: Friday 17:00 EST/EDT + 60h
  const nySpring = freeze(fridayNy, '2026-03-06T22:00:00Z', '2026-03-09T10:00:00Z');
  const nyAutumn = freeze(fridayNy, '2026-10-30T21:00:00Z', '2026-11-02T09:00:00Z');
  const kolkataEvening = freeze(kolkata, '2026-11-24T13:00:00Z', '2026-11-24T13:30:00Z');
  // 2026-12-20 00:00 CET to the end of 2027-01-03, i.e. 2027-01-04 00:00 CET
  const yearEndFreeze = freeze(yearEnd, '2026-12-19T23:00:00Z', '2027-01-03T23:00:00Z');

  it.each([
    ['Berlin winter: exactly at the start', friday, '2026-11-20T15:00:00.000Z', fridayWinter],
    ['Berlin winter: 1ms before the start', friday, '2026-11-20T14:59:59.999Z', undefined],
    ['Berlin winter: during the weekend', friday, '2026-11-22T12:00:00.000Z', fridayWinter],
    ['Berlin winter: 1ms before the end', friday, '2026-11-23T06:59:59.999Z', fridayWinter],
    ['Berlin winter: exactly at the end', friday, '2026-11-23T07:00:00.000Z', undefined],
    ['Berlin winter: midweek', friday, '2026-11-25T12:00:00.000Z', undefined],
    ['Berlin summer: 16:00 CEST is 14:00Z', friday, '2026-06-05T14:00:00.000Z', fridaySummer],
    ['Berlin summer: 15:00Z on a Friday is not 16:00 CET', friday, '2026-06-05T13:59:59.999Z', undefined],
    ['Berlin summer: exactly at the end', friday, '2026-06-08T06:00:00.000Z', undefined],
    ['Berlin spring change: still frozen at 08:30 CEST Monday', friday, '2026-03-30T06:30:00.000Z', fridaySpring],
    ['Berlin spring change: ends after 64 elapsed hours', friday, '2026-03-30T07:00:00.000Z', undefined],
    ['Berlin spring change: over the jump itself', friday, '2026-03-29T01:00:00.000Z', fridaySpring],
    ['Berlin autumn change: starts at 16:00 CEST', friday, '2026-10-23T14:00:00.000Z', fridayAutumn],
    ['Berlin autumn change: in the repeated hour', friday, '2026-10-25T01:30:00.000Z', fridayAutumn],
    ['Berlin autumn change: 1ms before the end', friday, '2026-10-26T05:59:59.999Z', fridayAutumn],
    ['Berlin autumn change: ended at 07:00 CET', friday, '2026-10-26T06:00:00.000Z', undefined],
    ['New York spring change: started 17:00 EST', fridayNy, '2026-03-06T22:00:00.000Z', nySpring],
    ['New York spring change: 1ms before the end', fridayNy, '2026-03-09T09:59:59.999Z', nySpring],
    ['New York spring change: ended at 06:00 EDT', fridayNy, '2026-03-09T10:00:00.000Z', undefined],
    ['New York autumn change: 1ms before 17:00 EDT', fridayNy, '2026-10-30T20:59:59.999Z', undefined],
    ['New York autumn change: started 17:00 EDT', fridayNy, '2026-10-30T21:00:00.000Z', nyAutumn],
    ['New York autumn change: ended at 04:00 EST', fridayNy, '2026-11-02T09:00:00.000Z', undefined],
    ['Kolkata +05:30: 1ms before 18:30 IST', kolkata, '2026-11-24T12:59:59.999Z', undefined],
    ['Kolkata +05:30: at 18:30 IST', kolkata, '2026-11-24T13:00:00.000Z', kolkataEvening],
    ['Kolkata +05:30: 1ms before 19:00 IST', kolkata, '2026-11-24T13:29:59.999Z', kolkataEvening],
    ['Kolkata +05:30: at 19:00 IST', kolkata, '2026-11-24T13:30:00.000Z', undefined],
    ['nightly, spring: 02:30 is skipped, so it runs at 03:30 CEST', nightly, '2026-03-29T01:45:00.000Z', freeze(nightly, '2026-03-29T01:30:00Z', '2026-03-29T02:00:00Z')],
    ['nightly, autumn: the first 02:30 (CEST)', nightly, '2026-10-25T00:45:00.000Z', freeze(nightly, '2026-10-25T00:30:00Z', '2026-10-25T01:00:00Z')],
    ['nightly, autumn: not again at the second 02:30 (CET)', nightly, '2026-10-25T01:45:00.000Z', undefined],
    ['year end: 1ms before local midnight', yearEnd, '2026-12-19T22:59:59.999Z', undefined],
    ['year end: at local midnight on the 20th', yearEnd, '2026-12-19T23:00:00.000Z', yearEndFreeze],
    ['year end: over new year', yearEnd, '2027-01-01T00:00:00.000Z', yearEndFreeze],
    ['year end: the last minute of the inclusive 3rd', yearEnd, '2027-01-03T22:59:59.999Z', yearEndFreeze],
    ['year end: over at midnight after the 3rd', yearEnd, '2027-01-03T23:00:00.000Z', undefined],
  ])('%s', (_title, window, when, expected) => {
    expect(activeFreeze([window], at(when))).toStrictEqual(expected);
  });

  it.each([
    ['a whole UTC day by default', { from: '2026-12-24', to: '2026-12-24' }, '2026-12-24T00:00:00Z', '2026-12-25T00:00:00Z'],
    [
      'times across the spring change: 5 elapsed hours',
      { from: '2026-03-28T22:00', to: '2026-03-29T04:00', timezone: 'Europe/Berlin' },
      '2026-03-28T21:00:00Z',
      '2026-03-29T02:00:00Z',
    ],
    [
      'times across the autumn change: 3 elapsed hours',
      { from: '2026-10-25T01:00', to: '2026-10-25T03:00', timezone: 'Europe/Berlin' },
      '2026-10-24T23:00:00Z',
      '2026-10-25T02:00:00Z',
    ],
    [
      'a date to the end of a New York day',
      { from: '2026-11-26', to: '2026-11-27', timezone: 'America/New_York' },
      '2026-11-26T05:00:00Z',
      '2026-11-28T05:00:00Z',
    ],
    [
      'whole days across the New York spring change',
      { from: '2026-03-07', to: '2026-03-08', timezone: 'America/New_York' },
      '2026-03-07T05:00:00Z',
      '2026-03-09T04:00:00Z',
    ],
    [
      'a Kolkata date and time',
      { from: '2026-11-24T09:30', to: '2026-11-24T10:00', timezone: 'Asia/Kolkata' },
      '2026-11-24T04:00:00Z',
      '2026-11-24T04:30:00Z',
    ],
    [
      'a time to the end of a day',
      { from: '2026-12-24T12:00', to: '2026-12-24', timezone: 'Europe/Berlin' },
      '2026-12-24T11:00:00Z',
      '2026-12-24T23:00:00Z',
    ],
    [
      'a repeated time is the first one',
      { from: '2026-10-25T02:30', to: '2026-10-25T02:45', timezone: 'Europe/Berlin' },
      '2026-10-25T00:30:00Z',
      '2026-10-25T00:45:00Z',
    ],
  ])('fixed range, %s: active from start (inclusive) to end (exclusive)', (_title, range, startsAt, endsAt) => {
    const window = windowOf({ name: 'Range', ...range });
    const expected = freeze(window, startsAt, endsAt);
    expect(activeFreeze([window], new Date(at(startsAt).getTime() - 1))).toBeUndefined();
    expect(activeFreeze([window], at(startsAt))).toStrictEqual(expected);
    expect(activeFreeze([window], new Date(at(endsAt).getTime() - 1))).toStrictEqual(expected);
    expect(activeFreeze([window], at(endsAt))).toBeUndefined();
  });

  it('uses the most recent start when occurrences overlap', () => {
    const hourly = windowOf({ name: 'Hourly', cron: '0 * * * *', duration: '90m', timezone: 'UTC' });
    expect(activeFreeze([hourly], at('2026-11-20T10:45:00Z'))).toStrictEqual(
      freeze(hourly, '2026-11-20T10:00:00Z', '2026-11-20T11:30:00Z'),
    );
  });

  it('returns the freeze that ends last when several are active, in any order', () => {
    const blackFriday = windowOf({ name: 'Black Friday', from: '2026-11-20', to: '2026-11-30', timezone: 'Europe/Berlin' });
    const expected = freeze(blackFriday, '2026-11-19T23:00:00Z', '2026-11-30T23:00:00Z');
    expect(activeFreeze([friday, blackFriday], at('2026-11-21T12:00:00Z'))).toStrictEqual(expected);
    expect(activeFreeze([blackFriday, friday], at('2026-11-21T12:00:00Z'))).toStrictEqual(expected);
    // once the range has ended, the recurring one is still there
    const shortRange = windowOf({ name: 'Short', from: '2026-11-20T18:00', to: '2026-11-21T18:00', timezone: 'Europe/Berlin' });
    expect(activeFreeze([shortRange, friday], at('2026-11-21T12:00:00Z'))).toStrictEqual(
      freeze(friday, '2026-11-20T15:00:00Z', '2026-11-23T07:00:00Z'),
    );
  });

  it('is undefined with no windows', () => {
    expect(activeFreeze([], at('2026-11-21T12:00:00Z'))).toBeUndefined();
  });
});

describe('upcomingFreezes', () => {
  it('lists coming occurrences sorted by start, the horizon end inclusive', () => {
    const from = at('2026-11-18T00:00:00Z');
    const untilSecondStart = at('2026-11-27T15:00:00Z').getTime() - from.getTime();
    const expected = [
      freeze(friday, '2026-11-20T15:00:00Z', '2026-11-23T07:00:00Z'),
      freeze(friday, '2026-11-27T15:00:00Z', '2026-11-30T07:00:00Z'),
    ];
    expect(upcomingFreezes([friday], from, untilSecondStart)).toStrictEqual(expected);
    expect(upcomingFreezes([friday], from, untilSecondStart - 1)).toStrictEqual(expected.slice(0, 1));
  });

  it('includes the occurrence already in force at from', () => {
    const from = at('2026-11-21T12:00:00Z');
    expect(upcomingFreezes([friday], from, DAY)).toStrictEqual([freeze(friday, '2026-11-20T15:00:00Z', '2026-11-23T07:00:00Z')]);
    expect(upcomingFreezes([friday], from, 7 * DAY)).toStrictEqual([
      freeze(friday, '2026-11-20T15:00:00Z', '2026-11-23T07:00:00Z'),
      freeze(friday, '2026-11-27T15:00:00Z', '2026-11-30T07:00:00Z'),
    ]);
    // an occurrence that ended exactly at from is over
    expect(upcomingFreezes([friday], at('2026-11-23T07:00:00Z'), DAY)).toStrictEqual([]);
  });

  it('mixes recurring and fixed windows by start, across the new year', () => {
    expect(upcomingFreezes([yearEnd, friday], at('2026-12-15T00:00:00Z'), 11 * DAY)).toStrictEqual([
      freeze(friday, '2026-12-18T15:00:00Z', '2026-12-21T07:00:00Z'),
      freeze(yearEnd, '2026-12-19T23:00:00Z', '2027-01-03T23:00:00Z'),
      freeze(friday, '2026-12-25T15:00:00Z', '2026-12-28T07:00:00Z'),
    ]);
    expect(upcomingFreezes([yearEnd], at('2027-01-02T00:00:00Z'), DAY)).toStrictEqual([
      freeze(yearEnd, '2026-12-19T23:00:00Z', '2027-01-03T23:00:00Z'),
    ]);
  });

  // yearEnd runs from 2026-12-19T23:00Z to 2027-01-03T23:00Z
  it.each([
    ['ended exactly at from', '2027-01-03T23:00:00Z', DAY, 0],
    ['starts 1ms after the horizon', '2026-12-18T22:59:59.999Z', DAY, 0],
    ['starts exactly at the horizon', '2026-12-18T23:00:00Z', DAY, 1],
    ['is in force at from, with no horizon', '2027-01-03T22:59:59.999Z', 0, 1],
  ])('a fixed range that %s', (_title, fromIso, horizon, count) => {
    expect(upcomingFreezes([yearEnd], at(fromIso), horizon)).toHaveLength(count);
  });

  it.each([
    [
      'Berlin autumn: the repeated 02:30 once',
      '2026-10-24T00:00:00Z',
      [
        ['2026-10-24T00:30:00Z', '2026-10-24T01:00:00Z'],
        ['2026-10-25T00:30:00Z', '2026-10-25T01:00:00Z'],
        ['2026-10-26T01:30:00Z', '2026-10-26T02:00:00Z'],
      ],
    ],
    [
      'Berlin spring: the skipped 02:30 at 03:30 CEST',
      '2026-03-28T00:00:00Z',
      [
        ['2026-03-28T01:30:00Z', '2026-03-28T02:00:00Z'],
        ['2026-03-29T01:30:00Z', '2026-03-29T02:00:00Z'],
        ['2026-03-30T00:30:00Z', '2026-03-30T01:00:00Z'],
      ],
    ],
  ])('agrees with activeFreeze over a clock change: %s', (_title, fromIso, expected) => {
    const list = upcomingFreezes([nightly], at(fromIso), 3 * DAY);
    expect(list).toStrictEqual(expected.map(([s, e]) => freeze(nightly, s as string, e as string)));
    for (const occurrence of list) {
      expect(activeFreeze([nightly], occurrence.startsAt)).toStrictEqual(occurrence);
      expect(activeFreeze([nightly], new Date(occurrence.endsAt.getTime() - 1))).toStrictEqual(occurrence);
    }
  });

  it('lists Kolkata evenings at 13:00Z', () => {
    expect(upcomingFreezes([kolkata], at('2026-11-24T13:15:00Z'), DAY)).toStrictEqual([
      freeze(kolkata, '2026-11-24T13:00:00Z', '2026-11-24T13:30:00Z'),
      freeze(kolkata, '2026-11-25T13:00:00Z', '2026-11-25T13:30:00Z'),
    ]);
  });

  it(`stops at ${MAX_OCCURRENCES_PER_WINDOW} occurrences of one window`, () => {
    const everyMinute = windowOf({ name: 'Busy', cron: '* * * * *', duration: '30s', timezone: 'UTC' });
    const list = upcomingFreezes([everyMinute, yearEnd], at('2026-12-01T00:00:00Z'), 30 * DAY);
    expect(list.filter((f) => f.name === 'Busy')).toHaveLength(MAX_OCCURRENCES_PER_WINDOW);
    expect(list.filter((f) => f.name === 'Year-end freeze')).toHaveLength(1);
  });

  it('is empty with no windows', () => {
    expect(upcomingFreezes([], at('2026-11-21T12:00:00Z'), 30 * DAY)).toEqual([]);
  });
});

describe('describeFreeze', () => {
  it.each([
    [
      'with its reason, in the window zone',
      freeze(friday, '2026-11-20T15:00:00Z', '2026-11-23T07:00:00Z'),
      'Europe/Berlin',
      '"Friday freeze" from Fri 20 Nov 16:00 to Mon 23 Nov 08:00 Europe/Berlin: No deploys over the weekend',
    ],
    [
      'in UTC by default',
      freeze(fridayNy, '2026-11-20T22:00:00Z', '2026-11-23T10:00:00Z'),
      undefined,
      '"NY weekend" from Fri 20 Nov 22:00 to Mon 23 Nov 10:00 UTC',
    ],
    [
      'across the spring change, in local wall time',
      freeze(friday, '2026-03-27T15:00:00Z', '2026-03-30T07:00:00Z'),
      'Europe/Berlin',
      '"Friday freeze" from Fri 27 Mar 16:00 to Mon 30 Mar 09:00 Europe/Berlin: No deploys over the weekend',
    ],
    [
      'with years when it spans new year',
      freeze(yearEnd, '2026-12-19T23:00:00Z', '2027-01-03T23:00:00Z'),
      'Europe/Berlin',
      '"Year-end freeze" from Sun 20 Dec 2026 00:00 to Mon 4 Jan 2027 00:00 Europe/Berlin',
    ],
    [
      'at half past in Kolkata',
      freeze(kolkata, '2026-11-24T13:00:00Z', '2026-11-24T13:30:00Z'),
      'Asia/Kolkata',
      '"Evening batch" from Tue 24 Nov 18:30 to Tue 24 Nov 19:00 Asia/Kolkata',
    ],
    [
      'September as Sep',
      freeze(kolkata, '2026-09-04T13:00:00Z', '2026-09-04T13:30:00Z'),
      'America/New_York',
      '"Evening batch" from Fri 4 Sep 09:00 to Fri 4 Sep 09:30 America/New_York',
    ],
  ])('%s', (_title, occurrence, zone, expected) => {
    expect(describeFreeze(occurrence, zone)).toBe(expected);
  });

  it('rejects an unknown zone', () => {
    expect(() => describeFreeze(freeze(friday, '2026-11-20T15:00:00Z', '2026-11-23T07:00:00Z'), 'Mars/Olympus')).toThrow(
      new ValidationError('unknown time zone "Mars/Olympus": use an IANA name like "Europe/Berlin" or "UTC"'),
    );
  });
});
