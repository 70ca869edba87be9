import { readFileSync } from 'node:fs';
import { DateTime } from 'luxon';
import { parseAllDocuments } from 'yaml';
import { duration } from '../core/duration';
import type { InstantMetricsProvider } from '../core/metrics';
import { promDuration } from '../core/query-template';
import { alertTableOf, type ShipmateConfig, sloDefinitions } from '../core/config';
import { type AlertRow, BURN_WINDOWS, DEFAULT_ALERT_TABLE, definitionsFromSloth, type SloDefinition, slothSpecSchema } from '../core/slo';
import { evaluateSlos, type SloEvaluation } from '../core/slo-evaluator';
import { createPrometheusProvider } from '../metrics/prometheus-provider';

/**
 * `shipmate slo eval --sloth <spec.yml>`: evaluates Sloth SLOs against Prometheus at one instant,
 * with the SRE Workbook's multi-window, multi-burn-rate alert table. Exit 0 when every SLO was
 * evaluated (alerts firing or not), 1 when a query failed, 2 for bad input.
 */
export interface SloEvalOptions {
  sloth?: string;
  /** Default: the provider named by slo.provider in shipmate.yml, or http://localhost:9090 with --sloth. */
  prometheus?: string;
  at?: string;
  /** The SLO period for every SLO of the file, as Sloth's --default-slo-period. */
  window: string;
  timeout: string;
  json?: boolean;
}

export interface SloEvalRun {
  exitCode: 0 | 1 | 2;
  stdout: string;
  stderr: string;
}

export interface SloEvalDeps {
  now: () => Date;
  /** shipmate.yml, read only when --sloth is not given. */
  config?: () => ShipmateConfig;
  createProvider?: (url: string, timeoutMs: number) => InstantMetricsProvider;
}

class InputError extends Error {}

const defaultProvider = (url: string, timeoutMs: number) => createPrometheusProvider({ url, timeoutMs });

export async function runSloEval(options: SloEvalOptions, deps: SloEvalDeps): Promise<SloEvalRun> {
  let plan: ReturnType<typeof planEval>;
  try {
    plan = planEval(options, deps);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    return { exitCode: 2, stdout: '', stderr: `shipmate: ${error.message}` };
  }
  const provider = (deps.createProvider ?? defaultProvider)(plan.url, plan.timeoutMs);
  const results = await evaluateSlos(plan.definitions, plan.table, provider, plan.at);
  const failed = results.filter((r) => r.error !== undefined);
  const stdout = options.json ? toJson(results, plan.at) : renderTable(results, plan.at, plan.url, plan.windowMs);
  return { exitCode: failed.length > 0 ? 1 : 0, stdout, stderr: failed.map((r) => `shipmate: ${r.service}/${r.slo}: ${oneLine(r.error!)}`).join('\n') };
}

function planEval(options: SloEvalOptions, deps: SloEvalDeps): { definitions: SloDefinition[]; table: readonly AlertRow[]; windowMs: number; timeoutMs: number; url: string; at: Date } {
  const windowMs = durationOption('--window', options.window);
  const timeoutMs = durationOption('--timeout', options.timeout);
  const at = options.at === undefined ? deps.now() : parseTime('--at', options.at);
  const checkUrl = (url: string) => {
    if (!/^https?:\/\/[^\s/]+/.test(url) || !URL.canParse(url)) throw new InputError(`--prometheus ${JSON.stringify(url)} is not an http(s) URL; write e.g. http://localhost:9090`);
    return url;
  };
  if (options.sloth !== undefined) {
    return { definitions: readSlothFile(options.sloth, windowMs), table: DEFAULT_ALERT_TABLE, windowMs, timeoutMs, url: checkUrl(options.prometheus ?? 'http://localhost:9090'), at };
  }
  // Without a Sloth file: the SLOs, alert table and Prometheus of shipmate.yml.
  const config = deps.config?.();
  const definitions = config ? sloDefinitions(config) : [];
  if (!config || definitions.length === 0) {
    throw new InputError('slo eval needs SLOs: pass --sloth <spec.yml> (a Sloth spec, version: "prometheus/v1"), or declare slos: under the services of shipmate.yml');
  }
  const provider = config.slo.provider ? config.metrics.providers[config.slo.provider] : undefined;
  const configured = provider?.type === 'prometheus' ? provider.url : undefined;
  if (!options.prometheus && !configured) throw new InputError('pass --prometheus <url>, or name a prometheus provider in slo.provider of shipmate.yml');
  const window = definitions[0]!.windowMs;
  return { definitions, table: alertTableOf(config), windowMs: window, timeoutMs, url: checkUrl(options.prometheus ?? configured!), at };
}

function durationOption(option: string, text: string): number {
  const parsed = duration.safeParse(text);
  if (!parsed.success) throw new InputError(`${option} ${parsed.error.issues[0]?.message ?? 'is not a duration'}`);
  return parsed.data;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function parseTime(option: string, text: string): Date {
  const parsed = RFC3339.test(text) ? DateTime.fromISO(text.replace(' ', 'T'), { setZone: true }) : undefined;
  if (!parsed?.isValid) throw new InputError(`${option} ${JSON.stringify(text)} is not an RFC 3339 time; write e.g. 2024-06-10T12:00:00Z`);
  return parsed.toJSDate();
}

/** Every problem of every YAML document, each named by its path (and document, when there are several). */
function readSlothFile(file: string, windowMs: number): SloDefinition[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`cannot read Sloth spec ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message}`);
  }
  const documents = parseAllDocuments(text, { prettyErrors: true });
  const docs = Array.isArray(documents) ? documents.filter((d) => d.contents !== null || d.errors.length > 0) : [];
  if (docs.length === 0) throw new InputError(`Sloth spec ${file} is empty; write version: "prometheus/v1", a service and its slos`);
  const problems: string[] = [];
  const definitions: SloDefinition[] = [];
  docs.forEach((doc, i) => {
    const where = docs.length > 1 ? `document ${i + 1}: ` : '';
    if (doc.errors.length > 0) {
      problems.push(...doc.errors.map((e) => `${where}line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`));
      return;
    }
    const parsed = slothSpecSchema.safeParse(doc.toJS());
    if (!parsed.success) {
      problems.push(...parsed.error.issues.map((issue) => `${where}${issue.path.length ? `${issue.path.map(String).join('.')}: ` : ''}${issue.message}`));
      return;
    }
    for (const def of definitionsFromSloth(parsed.data, { windowMs })) {
      if (definitions.some((d) => d.service === def.service && d.name === def.name)) problems.push(`${where}service ${def.service} declares SLO ${def.name} again; each service's SLO names must be unique`);
      else definitions.push(def);
    }
  });
  if (problems.length > 0) throw new InputError(`Sloth spec ${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${problems.map((p) => `  ${oneLine(p)}`).join('\n')}`);
  return definitions;
}

function toJson(results: SloEvaluation[], at: Date): string {
  const slos = results.map((r) => ({
    service: r.service,
    slo: r.slo,
    objective: r.objective,
    window: promDuration(r.windowMs),
    errorRatio: r.errorRatio,
    burnRate: r.burnRate,
    budgetRemaining: r.budgetRemaining,
    alerts: r.alerts,
    noData: r.noData,
    ...(r.error !== undefined ? { error: r.error } : {}),
  }));
  return JSON.stringify({ at: at.toISOString(), slos });
}

const number = (value: number | null) => (value === null ? '-' : String(Number(value.toPrecision(3))));
const percent = (value: number | null) => (value === null ? '-' : `${Number((value * 100).toPrecision(3))}%`);

function renderTable(results: SloEvaluation[], at: Date, url: string, windowMs: number): string {
  const header = ['service', 'slo', 'objective', ...BURN_WINDOWS, 'budget left', 'alerts'];
  const rows = results.map((r) => [
    r.service,
    r.slo,
    `${r.objective}%`,
    ...BURN_WINDOWS.map((w) => (r.error !== undefined ? '?' : number(r.burnRate[w]))),
    r.error !== undefined ? '?' : percent(r.budgetRemaining),
    r.error !== undefined ? 'query failed' : r.alerts.length ? r.alerts.map((a) => `${a.severity} ${a.longWindow}/${a.shortWindow} >${a.factor}`).join(', ') : r.noData ? 'no data' : 'none',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const lines = [
    `SLO burn rates at ${at.toISOString()} from ${url} (${promDuration(windowMs)} SLO period; burn rate = error ratio / error budget, "-" = no data)`,
    '',
    line(header),
    ...rows.map(line),
  ];
  const failed = results.filter((r) => r.error !== undefined);
  if (failed.length > 0) lines.push('', 'Failed:', ...failed.map((r) => `- ${r.service}/${r.slo}: ${oneLine(r.error!)}`));
  return lines.join('\n');
}

/** A query or a file name may hold a line break; each problem stays one line. */
const oneLine = (message: string): string => message.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
