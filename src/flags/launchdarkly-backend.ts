import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { type Clock, systemClock } from '../core/clock';
import { ExternalServiceError, ValidationError } from '../core/errors';
import type { FlagBackend } from '../core/flags';
import { formatDuration } from '../core/format-duration';
import { createFlagApiClient } from './flag-api-client';

export interface LaunchDarklyBackendSpec {
  /**
   * https://app.launchdarkly.com (the default), https://app.eu.launchdarkly.com,
   * https://app.launchdarkly.us (federal), or a proxy in front of one of them.
   */
  apiUrl?: string;
  /** A personal or service access token whose role may update flags in the project. Sent as is, without "Bearer". */
  token: string;
  projectKey: string;
  /** Shipmate environment -> LaunchDarkly environment key; an environment not listed keeps its name. */
  environmentKeys?: Record<string, string>;
  /** Per request; default 10 s. */
  timeoutMs?: number;
  /** Further tries after a 5xx or a transport failure; default 2. */
  retries?: number;
}

export interface LaunchDarklyBackendDeps {
  http?: AxiosInstance;
  /** The first wait between tries; default 1 s. */
  retryDelayMs?: number;
  /** Reads X-Ratelimit-Reset, an epoch time. */
  clock?: Clock;
}

/** The parts of a flag (GET /api/v2/flags/{projectKey}/{featureFlagKey}) this backend reads. */
interface WeightedVariation {
  variation: number;
  weight: number;
}
interface FlagEnvironment {
  on?: boolean;
  fallthrough?: { variation?: number; rollout?: { variations?: WeightedVariation[]; contextKind?: string; bucketBy?: string } };
}
interface Flag {
  kind?: string;
  variations?: { _id?: string; value?: unknown }[];
  environments?: Record<string, FlagEnvironment>;
}

/** What one call is about: every error message names it. */
interface Subject {
  key: string;
  environment: string;
  envKey: string;
  doing: string;
}

const SEMANTIC_PATCH = 'application/json; domain-model=launchdarkly.semanticpatch';
/** Pinned so a token created for another API version reads the same flag shape. */
const API_VERSION = '20240415';
const FULL = 100_000;

/** LaunchDarkly answers errors as {"code", "message", "id"}; a proxy in front of it answers anything. */
function said(response: AxiosResponse<string>): string {
  const text = String(response.data ?? '').trim();
  // A proxy's error page says nothing a person could act on.
  if (text.startsWith('<')) return '';
  try {
    const body = JSON.parse(text) as { code?: unknown; message?: unknown };
    if (typeof body.message === 'string' && body.message) return typeof body.code === 'string' ? `${body.code}: ${body.message}` : body.message;
  } catch {
    // not JSON
  }
  return text.replace(/\s+/g, ' ').slice(0, 200);
}

/** Retry-After (seconds), else X-Ratelimit-Reset (epoch milliseconds when the window resets). */
function retryAfterMs(headers: Record<string, unknown>, now: Date): number | undefined {
  const seconds = Number(headers['retry-after']);
  if (headers['retry-after'] !== undefined && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const reset = Number(headers['x-ratelimit-reset']);
  if (headers['x-ratelimit-reset'] !== undefined && Number.isFinite(reset)) return Math.max(0, reset - now.getTime());
  return undefined;
}

/** Thousandths of a percent, as LaunchDarkly's rollout weights count: 33.333 -> 33333. */
export function rolloutWeight(percentage: number): number {
  if (!Number.isFinite(percentage) || percentage < 0 || percentage > 100) {
    throw new ValidationError(`A rollout is a percentage from 0 to 100, not ${percentage}`);
  }
  return Math.round(percentage * 1000);
}

/**
 * Changes LaunchDarkly flags through the REST API v2 with semantic patches on
 * PATCH /api/v2/flags/{projectKey}/{featureFlagKey}: turnFlagOn / turnFlagOff, and
 * updateFallthroughVariationOrRollout, which sets the default rule's rollout (the true variation
 * of a boolean flag gets the percentage). Targeting rules and individual targets are left alone.
 * Semantic patches are idempotent, so a 5xx or a lost answer is tried again; a 429 or a 409 is
 * thrown at once as retryable, with LaunchDarkly's wait when it gives one.
 */
export function createLaunchDarklyBackend(spec: LaunchDarklyBackendSpec, deps: LaunchDarklyBackendDeps = {}): FlagBackend {
  const http = deps.http ?? axios.create();
  const clock = deps.clock ?? systemClock;
  const apiUrl = (spec.apiUrl ?? 'https://app.launchdarkly.com').replace(/\/+$/, '');
  const timeoutMs = spec.timeoutMs ?? 10_000;
  const retries = spec.retries ?? 2;
  const project = spec.projectKey;
  const envKeyOf = (environment: string) => spec.environmentKeys?.[environment] ?? environment;
  const flagUrl = (key: string) => `${apiUrl}/api/v2/flags/${encodeURIComponent(project)}/${encodeURIComponent(key)}`;

  const where = (s: Subject) =>
    `flag ${s.key} in environment ${s.envKey}${s.envKey === s.environment ? '' : ` (Shipmate's ${s.environment})`} of project ${project}`;

  const refused = (s: Subject, response: AxiosResponse<string>): ExternalServiceError => {
    const { status } = response;
    const detail = `${status}${said(response) ? ` ${said(response)}` : ''}`;
    const about = `LaunchDarkly refused ${s.doing} ${where(s)} (${detail})`;
    if (status === 401) return new ExternalServiceError(`${about}; check the access token is valid, unexpired and not revoked`, false);
    if (status === 403) {
      return new ExternalServiceError(`${about}; check the access token's role may update flags in that project and environment`, false);
    }
    if (status === 404) {
      return new ExternalServiceError(`${about}; check the flag key, projectKey ${project} and the LaunchDarkly key of environment ${s.environment}`, false);
    }
    if (status === 405) {
      return new ExternalServiceError(`${about}: changes there require an approval; request it in LaunchDarkly, or turn off required approvals for that environment`, false);
    }
    if (status === 409) return new ExternalServiceError(`${about}: another change to the flag was saved at the same time; try again`, true);
    if (status === 429) {
      const wait = retryAfterMs(response.headers as Record<string, unknown>, clock());
      const later = wait === undefined ? 'try again later' : `try again in ${formatDuration(wait)}`;
      return new ExternalServiceError(`LaunchDarkly rate-limited ${s.doing} ${where(s)}; ${later}`, true, wait === undefined ? {} : { retryAfterMs: wait });
    }
    return new ExternalServiceError(about, false);
  };

  const { send, attempt } = createFlagApiClient<Subject>({
    http,
    system: 'LaunchDarkly',
    answerer: 'LaunchDarkly',
    token: spec.token,
    timeoutMs,
    retries,
    ...(deps.retryDelayMs !== undefined ? { retryDelayMs: deps.retryDelayMs } : {}),
    headers: { 'ld-api-version': API_VERSION },
    contentType: SEMANTIC_PATCH,
    said,
    refused,
    where,
  });

  const getFlag = async (s: Subject): Promise<{ flag: Flag; env: FlagEnvironment }> => {
    const response = await send('get', flagUrl(s.key), s, undefined, { env: s.envKey });
    let flag: Flag;
    try {
      flag = JSON.parse(response.data) as Flag;
    } catch {
      throw new ExternalServiceError(`${new URL(apiUrl).host} answered something that is not JSON while ${s.doing} ${where(s)}; check apiUrl points at LaunchDarkly`, false);
    }
    const env = flag.environments?.[s.envKey];
    if (!env) {
      throw new ExternalServiceError(`LaunchDarkly project ${project} has no environment ${s.envKey} for flag ${s.key}; check the LaunchDarkly key of environment ${s.environment}`, false);
    }
    return { flag, env };
  };

  const patch = (s: Subject, comment: string, instructions: Record<string, unknown>[]) =>
    send('patch', flagUrl(s.key), s, { environmentKey: s.envKey, comment, instructions });

  const subject = (key: string, environment: string, doing: string): Subject => ({ key, environment, envKey: envKeyOf(environment), doing });

  return {
    async setEnabled(key, environment, enabled, comment) {
      const s = subject(key, environment, enabled ? 'turning on' : 'turning off');
      await attempt(s, () => patch(s, comment, [{ kind: enabled ? 'turnFlagOn' : 'turnFlagOff' }]));
    },

    async setRollout(key, environment, percentage, comment) {
      const weight = rolloutWeight(percentage);
      const s = subject(key, environment, `rolling out ${percentage}% of`);
      await attempt(s, async () => {
        const { flag, env } = await getFlag(s);
        const on = flag.variations?.find((v) => v.value === true)?._id;
        const off = flag.variations?.find((v) => v.value === false)?._id;
        if (!on || !off || flag.variations?.length !== 2) {
          throw new ExternalServiceError(`LaunchDarkly ${where(s)} is not a boolean flag; Shipmate rolls out the true variation of boolean flags only`, false);
        }
        // Keep what the rollout buckets by: the instruction would otherwise reset it to the user key.
        const current = env.fallthrough?.rollout;
        await patch(s, comment, [
          {
            kind: 'updateFallthroughVariationOrRollout',
            rolloutWeights: { [on]: weight, [off]: FULL - weight },
            ...(current?.contextKind ? { rolloutContextKind: current.contextKind } : {}),
            ...(current?.bucketBy ? { rolloutBucketBy: current.bucketBy } : {}),
          },
        ]);
      });
    },

    async read(key, environment) {
      const s = subject(key, environment, 'reading');
      return attempt(s, async () => {
        const { flag, env } = await getFlag(s);
        const trueIndex = (flag.variations ?? []).findIndex((v) => v.value === true);
        const rollout = env.fallthrough?.rollout;
        // A default rule that serves one variation is no percentage rollout.
        if (!rollout || trueIndex < 0) return { enabled: env.on === true, rollout: null };
        const weight = (rollout.variations ?? []).find((v) => v.variation === trueIndex)?.weight ?? 0;
        return { enabled: env.on === true, rollout: weight / 1000 };
      });
    },
  };
}
