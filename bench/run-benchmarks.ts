import { cpus, loadavg, totalmem } from 'node:os';
import { benchAckLatency } from './ack-latency';
import { benchHistoryQueries } from './history-queries';
import { formatTable, type Row } from './report';
import { benchSloEvaluation } from './slo-burn-rate';

/**
 * `npm run bench`: every benchmark in turn, then one table. A missed target is a measurement, not
 * an error: the exit status is 0 unless a benchmark could not run at all. Names on the command
 * line (ack, slo, history) run only those.
 */
const BENCHMARKS: Record<string, (log: (line: string) => void) => Promise<{ rows: Row[]; details: string[] }>> = {
  ack: benchAckLatency,
  slo: benchSloEvaluation,
  history: benchHistoryQueries,
};

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((name) => !(name in BENCHMARKS));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(BENCHMARKS).join(', ')}\n`);
    return 2;
  }
  const chosen = argv.length > 0 ? argv : Object.keys(BENCHMARKS);
  const log = (line: string) => process.stdout.write(`${line}\n`);
  // Other work on the machine skews every figure: the load average says how much there was.
  const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
  log(`${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB, Node ${process.version}; load average ${load()}`);
  const rows: Row[] = [];
  const details: string[] = [];
  let broken = 0;
  for (const name of chosen) {
    const start = performance.now();
    try {
      const result = await BENCHMARKS[name]!(log);
      rows.push(...result.rows);
      details.push(...result.details.map((d) => `${name}: ${d}`));
    } catch (error) {
      broken++;
      rows.push({ benchmark: name, figure: 'could not run (see above)', target: '-', pass: false });
      log(`${name} could not run: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    log(`${name} took ${((performance.now() - start) / 1000).toFixed(1)} s`);
  }
  log(`load average at the end: ${load()}`);
  log('');
  log(formatTable(rows));
  log('');
  for (const d of details) log(d);
  const missed = rows.filter((r) => r.pass === false);
  log('');
  log(missed.length === 0 ? 'Every target was met.' : `MISSED ${missed.length} target(s):\n${missed.map((r) => `  - ${r.benchmark}: ${r.figure} (target ${r.target})`).join('\n')}`);
  return broken > 0 ? 1 : 0;
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
