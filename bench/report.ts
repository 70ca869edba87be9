/** Figures of one benchmark as the table prints them. */
export interface Row {
  benchmark: string;
  figure: string;
  target: string;
  /** undefined: a figure given for reference, with no target of its own. */
  pass?: boolean;
  note?: string;
}

/** Nearest-rank percentile of `values` (milliseconds, any order). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export const ms = (value: number): string => (value >= 100 ? `${value.toFixed(0)} ms` : value >= 10 ? `${value.toFixed(1)} ms` : `${value.toFixed(2)} ms`);
export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

/** A fixed-width table in plain text, so it reads the same in a terminal and in CI logs. */
export function formatTable(rows: readonly Row[]): string {
  const cells = rows.map((r) => [r.benchmark, r.figure, r.target, r.pass === undefined ? '-' : r.pass ? 'pass' : 'FAIL']);
  const header = ['benchmark', 'figure', 'target', 'result'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join(' | ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...cells.map(line)].join('\n');
}

/** A deterministic generator (mulberry32), so every run measures the same data and picks. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `work` at most `count` times and for at most `budgetMs`; returns each run's duration in ms. */
export function timeEach(count: number, budgetMs: number, work: (i: number) => void): number[] {
  const durations: number[] = [];
  const deadline = performance.now() + budgetMs;
  for (let i = 0; i < count && performance.now() < deadline; i++) {
    const start = performance.now();
    work(i);
    durations.push(performance.now() - start);
  }
  return durations;
}
