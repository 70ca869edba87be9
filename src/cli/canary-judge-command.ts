import { readFileSync } from 'node:fs';
import { judgeCanary, parseCanaryJudgeInput, type CanaryJudgeInput, type CanaryJudgment } from '../core/canary-judge';

/**
 * `shipmate canary judge --input <file.json> [--json]`: reads a canary analysis input, judges it,
 * and returns what to print. Any verdict is a successful run (exit 0): the verdict is the output,
 * and scripts read it from the JSON. Exit 1 means the input could not be read or is invalid, and
 * `output` is then one line for stderr.
 */
export interface CanaryJudgeRun {
  exitCode: 0 | 1;
  output: string;
}

export function runCanaryJudge(inputPath: string, options: { json?: boolean } = {}): CanaryJudgeRun {
  let text: string;
  try {
    text = readFileSync(inputPath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
    return failure(`cannot read canary input ${inputPath}: ${why}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return failure(`canary input ${inputPath} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = parseCanaryJudgeInput(raw);
  if (!parsed.ok) return failure(`canary input ${inputPath} is invalid: ${parsed.problems.join('; ')}`);
  const judgment = judgeCanary(parsed.input);
  return { exitCode: 0, output: options.json ? toJson(judgment) : renderTable(judgment, parsed.input) };
}

/** One line whatever the input: a group name or key in the file may itself hold a line break. */
const failure = (message: string): CanaryJudgeRun => ({
  exitCode: 1,
  output: `shipmate: ${message.replace(/\r/g, '\\r').replace(/\n/g, '\\n')}`,
});

/**
 * JSON has no ±Infinity or NaN (JSON.stringify would write null, which here means NoData), so a
 * median that is one is written as the string "Infinity", "-Infinity" or "NaN"; Number() and
 * Python's float() read those back.
 */
function toJson(judgment: CanaryJudgment): string {
  return JSON.stringify(judgment, (_key, value: unknown) =>
    typeof value === 'number' && !Number.isFinite(value) ? String(value) : value,
  );
}

const formatNumber = (value: number | null) =>
  value === null ? '-' : Number.isFinite(value) ? String(Number(value.toPrecision(6))) : String(value);
const formatP = (p: number | null) => (p === null ? '-' : p >= 0.001 ? p.toPrecision(3) : p.toExponential(2));

function renderTable(judgment: CanaryJudgment, input: CanaryJudgeInput): string {
  const { pass, marginal } = input.thresholds;
  const header = ['metric', 'group', 'result', 'failed', 'p-value', 'baseline median', 'canary median'];
  const rows = judgment.metrics.map((m) => [
    m.name,
    m.group,
    m.classification,
    m.failed ? 'yes' : 'no',
    formatP(m.pValue),
    formatNumber(m.baselineMedian),
    formatNumber(m.canaryMedian),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const lines = [
    `Canary verdict: ${judgment.verdict.toUpperCase()} (score ${Math.round(judgment.score * 100) / 100}; pass at ${pass}, marginal at ${marginal}, confidence ${input.confidence})`,
    '',
    line(header),
    ...rows.map(line),
  ];
  if (judgment.reasons.length > 0) lines.push('', 'Why:', ...judgment.reasons.map((r) => `- ${r}`));
  return lines.join('\n');
}
