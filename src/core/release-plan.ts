import { ValidationError } from './errors';

/**
 * Multi-service releases deploy in waves: a service goes out only after everything it depends on
 * in the same release is up. Pure: the config's dependencies come in as a function, deploy
 * results as data, so a flow can ask "what next?" after every event.
 */

/** One item of a release: a service and the version to deploy. */
export interface ReleaseItem {
  name: string;
  version: string;
}

/** A release item placed in a wave. */
export interface PlannedService extends ReleaseItem {
  /** Dependencies that are not part of this release; assumed to be running already, shown so people can check. */
  externalDependencies: string[];
}

export interface Wave {
  /** 1-based, as people read it: wave 1 deploys first. */
  index: number;
  /** Sorted by name, so the same release always gives the same plan. */
  services: PlannedService[];
}

export type ServiceResult = 'pending' | 'running' | 'succeeded' | 'failed';

export type NextStep =
  | { kind: 'start'; wave: Wave }
  | { kind: 'wait' }
  | { kind: 'done' }
  /** `deployed` is what to roll back: services that succeeded, latest wave first. */
  | { kind: 'failed'; failed: string[]; deployed: string[] };

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Layers the release (Kahn's algorithm): wave 1 holds the services with no dependency inside the
 * release, wave N+1 those whose in-release dependencies are all in waves 1..N.
 * Throws a ValidationError for an empty release, a service listed twice, or a dependency cycle.
 */
export function planWaves(items: readonly ReleaseItem[], dependsOn: (service: string) => readonly string[]): Wave[] {
  if (items.length === 0) throw new ValidationError('a release needs at least one service');
  rejectDuplicates(items);

  const inRelease = new Map(items.map((item) => [item.name, item]));
  const internal = new Map<string, string[]>();
  const external = new Map<string, string[]>();
  for (const { name } of items) {
    const deps = [...new Set(dependsOn(name))];
    internal.set(name, deps.filter((dep) => inRelease.has(dep)));
    external.set(name, deps.filter((dep) => !inRelease.has(dep)));
  }

  const waves: Wave[] = [];
  const placed = new Set<string>();
  let remaining = items.map((item) => item.name);
  while (remaining.length > 0) {
    const ready = remaining.filter((name) => internal.get(name)!.every((dep) => placed.has(dep))).sort(byName);
    if (ready.length === 0) throw new ValidationError(`dependsOn has a cycle: ${findCycle(remaining, internal).join(' → ')}`);
    waves.push({
      index: waves.length + 1,
      services: ready.map((name) => ({ ...inRelease.get(name)!, externalDependencies: external.get(name)! })),
    });
    // Placed only after the wave is complete: services in one wave never depend on each other.
    for (const name of ready) placed.add(name);
    remaining = remaining.filter((name) => !placed.has(name));
  }
  return waves;
}

function rejectDuplicates(items: readonly ReleaseItem[]): void {
  const versions = new Map<string, string[]>();
  for (const { name, version } of items) versions.set(name, [...(versions.get(name) ?? []), version]);
  const repeated = [...versions].filter(([, list]) => list.length > 1);
  if (repeated.length === 0) return;
  const listed = repeated.map(([name, list]) => `${name} (${list.join(', ')})`).join(', ');
  throw new ValidationError(`the release lists a service more than once: ${listed}; list each service once`);
}

/**
 * Every node left over by Kahn's algorithm has a dependency that is also left over, so walking
 * "first remaining dependency" from any of them must come back to a node already on the path.
 * Starts at the lowest name and rotates the cycle to begin at its lowest name, so the message is
 * the same however the release is ordered.
 */
function findCycle(remaining: readonly string[], internal: ReadonlyMap<string, readonly string[]>): string[] {
  const left = new Set(remaining);
  const path: string[] = [];
  let current = [...remaining].sort(byName)[0]!;
  while (!path.includes(current)) {
    path.push(current);
    current = internal.get(current)!.find((dep) => left.has(dep))!;
  }
  const cycle = path.slice(path.indexOf(current));
  const start = cycle.indexOf([...cycle].sort(byName)[0]!);
  const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
  return [...rotated, rotated[0]!];
}

/** One line per wave: `Wave 2: api 1.4.2 (depends on auth outside this release), web 2.0.1`. */
export function describePlan(waves: readonly Wave[]): string[] {
  return waves.map((wave) => {
    const services = wave.services.map((service) => {
      const outside = service.externalDependencies;
      const note = outside.length > 0 ? ` (depends on ${outside.join(', ')} outside this release)` : '';
      return `${service.name} ${service.version}${note}`;
    });
    return `Wave ${wave.index}: ${services.join(', ')}`;
  });
}

/**
 * What to do after a result changed. A wave starts only when every service of the wave before it
 * succeeded. After a failure nothing new starts; the failure is reported once no service is still
 * running, so a service that finishes after its neighbour failed is still on the rollback list.
 * A service missing from `results` counts as pending.
 */
export function nextWave(waves: readonly Wave[], results: Readonly<Record<string, ServiceResult>>): NextStep {
  const resultOf = (name: string): ServiceResult => (Object.hasOwn(results, name) ? results[name]! : 'pending');
  const all = waves.flatMap((wave) => wave.services.map((service) => service.name));

  const failed = all.filter((name) => resultOf(name) === 'failed');
  if (failed.length > 0) {
    if (all.some((name) => resultOf(name) === 'running')) return { kind: 'wait' };
    const deployed = all.filter((name) => resultOf(name) === 'succeeded').reverse();
    return { kind: 'failed', failed, deployed };
  }

  for (const wave of waves) {
    const states = wave.services.map((service) => resultOf(service.name));
    if (states.every((state) => state === 'succeeded')) continue;
    if (states.every((state) => state === 'pending')) return { kind: 'start', wave };
    return { kind: 'wait' };
  }
  return { kind: 'done' };
}
