import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** The functional core, the flows and the commands know no infrastructure: adapters are wired in src/main.ts. */
const ROOT = join(__dirname, '..', '..');
const INNER = ['src/core', 'flows', 'commands'];
const FORBIDDEN = /^(@slack\/|axios$|better-sqlite3$|node-cron$|@kubernetes\/|@octokit\/|pino|prom-client$)/;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const importsOf = (source: string): string[] => [...source.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1]!);

describe('import direction', () => {
  const files = INNER.flatMap((dir) => filesUnder(join(ROOT, dir)));

  it('finds the modules it checks', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  it.each(INNER)('%s imports no infrastructure package and no adapter', (dir) => {
    const offending = files
      .filter((f) => relative(ROOT, f).startsWith(dir))
      .flatMap((f) => importsOf(readFileSync(f, 'utf8')).filter((i) => FORBIDDEN.test(i) || /\/src\/(slack|store|deployers|metrics|http|cli|github|telemetry)\//.test(`/${join(relative(ROOT, join(f, '..')), i)}`)).map((i) => `${relative(ROOT, f)} imports ${i}`));
    expect(offending).toEqual([]);
  });
});
