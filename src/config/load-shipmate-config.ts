import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { formatIssues, parseShipmateConfig, type ShipmateConfig } from '../core/config';
import { ConfigError } from '../core/errors';
import { slothSpecSchema } from '../core/slo';

export class InvalidConfigError extends ConfigError {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/** Reads shipmate.yml, resolves `${VAR}` from `env`, validates it, and lists every problem. */
export function loadShipmateConfig(file: string, env: Readonly<Record<string, string | undefined>>): ShipmateConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    throw new InvalidConfigError(file, [`${reason} (set SHIPMATE_CONFIG to the path of shipmate.yml)`]);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new InvalidConfigError(
      file,
      doc.errors.map((e) => `line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (error) {
    // An alias to nothing, too many aliases, a merge of a non-map: YAML that parses but has no value.
    throw new InvalidConfigError(file, [`${(error as Error).message.split('\n')[0]} (check the anchors (&name) and aliases (*name))`]);
  }
  const slothProblems = inlineSlothSpecs(raw, dirname(file));
  const result = parseShipmateConfig(raw, env);
  if (slothProblems.length > 0 || !result.ok) throw new InvalidConfigError(file, [...slothProblems, ...(result.ok ? [] : result.problems)]);
  return result.config;
}

/** Reads a YAML file as a Sloth spec; problems name the file and the path in it. */
export function readSlothSpec(path: string): { ok: true; spec: import('../core/slo').SlothSpec } | { ok: false; problems: string[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { ok: false, problems: [`${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message}`] };
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) return { ok: false, problems: doc.errors.map((e) => `${path}: line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`) };
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (error) {
    return { ok: false, problems: [`${path}: ${(error as Error).message.split('\n')[0]} (check the anchors (&name) and aliases (*name))`] };
  }
  const parsed = slothSpecSchema.safeParse(raw);
  return parsed.success ? { ok: true, spec: parsed.data } : { ok: false, problems: formatIssues(parsed.error.issues).map((p) => `${path}: ${p}`) };
}

/**
 * A service's `sloth: <file>` brings in the SLOs of a Sloth spec, as they are, next to any
 * `slos:` written inline. The path is relative to shipmate.yml.
 */
function inlineSlothSpecs(raw: unknown, baseDir: string): string[] {
  const services = (raw as { services?: Record<string, Record<string, unknown>> } | null)?.services;
  if (!services || typeof services !== 'object') return [];
  const problems: string[] = [];
  for (const [name, svc] of Object.entries(services)) {
    if (!svc || typeof svc !== 'object' || !('sloth' in svc)) continue;
    const { sloth, ...rest } = svc;
    if (typeof sloth !== 'string' || sloth === '') {
      problems.push(`services.${name}.sloth: the path of a Sloth spec file (version: "prometheus/v1"), relative to shipmate.yml`);
      continue;
    }
    const read = readSlothSpec(resolve(baseDir, sloth));
    if (!read.ok) {
      problems.push(...read.problems.map((p) => `services.${name}.sloth: ${p}`));
      continue;
    }
    services[name] = { ...rest, slos: [...(Array.isArray(rest.slos) ? rest.slos : []), ...read.spec.slos] };
  }
  return problems;
}
