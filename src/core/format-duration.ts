import humanizeDuration from 'humanize-duration';

const short = humanizeDuration.humanizer({
  language: 'short',
  languages: { short: { y: () => 'y', mo: () => 'mo', w: () => 'w', d: () => 'd', h: () => 'h', m: () => 'm', s: () => 's', ms: () => 'ms' } },
  spacer: '',
  delimiter: ' ',
  largest: 2,
  round: true,
  units: ['d', 'h', 'm', 's'],
});

/** 95_000 -> "1m 35s"; anything under half a second reads "0s". */
export function formatDuration(milliseconds: number): string {
  return short(Math.max(0, milliseconds));
}
