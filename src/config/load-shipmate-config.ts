import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { parseShipmateConfig, type ShipmateConfig } from '../core/config';
import { ConfigError } from '../core/errors';

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
  const result = parseShipmateConfig(doc.toJS(), env);
  if (!result.ok) throw new InvalidConfigError(file, result.problems);
  return result.config;
}
