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

/** 95_000 -> "1m 35s", 90_061_000 -> "1d 1h"; under a second in milliseconds: 300 -> "300ms". */
export function formatDuration(milliseconds: number): string {
  const ms = Math.max(0, Math.round(milliseconds));
  return ms < 1000 ? `${ms}ms` : short(ms);
}
