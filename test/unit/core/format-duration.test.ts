import { formatDuration } from '../../../src/core/format-duration';

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [1, '1ms'],
    [300, '300ms'],
    [999, '999ms'],
    [1_000, '1s'],
    [1_499, '1s'],
    [1_500, '2s'],
    [59_000, '59s'],
    [60_000, '1m'],
    [95_000, '1m 35s'],
    [3_600_000, '1h'],
    [3_661_000, '1h 1m'],
    [86_400_000, '1d'],
    [90_061_000, '1d 1h'],
    [10 * 86_400_000, '10d'],
  ])('%i ms reads "%s"', (milliseconds, expected) => {
    expect(formatDuration(milliseconds)).toBe(expected);
  });

  it('shows at most the two largest units, rounding the second', () => {
    // 1h 59m 59.6s: the seconds round up into a whole 2 hours
    expect(formatDuration(7_199_600)).toBe('2h');
    // 1m 59.5s -> 2m
    expect(formatDuration(119_500)).toBe('2m');
  });

  it('rounds fractional milliseconds, carrying 999.5 into a whole second', () => {
    expect(formatDuration(299.6)).toBe('300ms');
    expect(formatDuration(999.5)).toBe('1s');
  });

  it('never reads negative: a clock that went backwards gives 0ms', () => {
    expect(formatDuration(-5)).toBe('0ms');
    expect(formatDuration(-95_000)).toBe('0ms');
  });
});
