import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { ExternalServiceError, ValidationError } from '../core/errors';
import type { FlagBackend } from '../core/flags';
import { formatDuration } from '../core/format-duration';
import { createFlagApiClient } from './flag-api-client';

export interface UnleashBackendSpec {
  /** Where Unleash runs, e.g. https://unleash.example.com or https://eu.app.unleash-hosted.com/acme; a trailing /api is fine. */
  url: string;
  /** An admin API token or a personal access token that may update the project's flags. Sent as is, without "Bearer". */
  token: string;
  /** Default "default". */
  projectId?: string;
  /** Shipmate environment -> Unleash environment; an environment not listed keeps its name. */
  environments?: Record<string, string>;
  /** Per request; default 10 s. */
  timeoutMs?: number;
  /** Further tries after a 5xx or a transport failure; default 2. */
  retries?: number;
}

export interface UnleashBackendDeps {
  http?: AxiosInstance;
  /** The first wait between tries; default 1 s. */
  retryDelayMs?: number;
}

/** The parts of GET /api/admin/projects/{projectId}/features/{featureName} (featureSchema) this backend reads. */
interface Strategy {
  id: string;
  name: string;
  disabled?: boolean | null;
  sortOrder?: number;
  parameters?: Record<string, unknown>;
}
interface FeatureEnvironment {
  name: string;
  enabled: boolean;
  strategies?: Strategy[];
}
interface Feature {
  environments?: FeatureEnvironment[];
}

interface Subject {
  key: string;
  environment: string;
  unleashEnv: string;
  doing: string;
}

const FLEXIBLE = 'flexibleRollout';

/** Unleash answers errors as {"id", "name", "message", "details": [{"message", "description"}]}. */
function said(response: AxiosResponse<string>): string {
  const text = String(response.data ?? '').trim();
  if (text.startsWith('<')) return '';
  try {
    const body = JSON.parse(text) as { name?: unknown; message?: unknown; details?: { message?: unknown }[] };
    const detail = Array.isArray(body.details) ? body.details.map((d) => d?.message).find((m) => typeof m === 'string' && m !== body.message) : undefined;
    if (typeof body.message === 'string' && body.message) {
      return `${typeof body.name === 'string' ? `${body.name}: ` : ''}${body.message}${typeof detail === 'string' ? ` (${detail})` : ''}`;
    }
  } catch {
    // not JSON
  }
  return text.replace(/\s+/g, ' ').slice(0, 200);
}

const retryAfterMs = (headers: Record<string, unknown>): number | undefined => {
  const seconds = Number(headers['retry-after']);
  return headers['retry-after'] !== undefined && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
};

/**
 * Changes Unleash flags through the Admin API: POST .../environments/{environment}/on and /off,
 * and the rollout of the environment's flexibleRollout strategy, changed by a JSON patch of
 * /parameters/rollout (PATCH .../strategies/{strategyId}), so its stickiness, group, constraints,
 * segments and variants stay as they are; an environment without one gets one. Each operation
 * reads again before it writes when it is tried again, so a strategy whose answer was lost is
 * not created twice. A 429 is thrown at once as retryable.
 */
export function createUnleashBackend(spec: UnleashBackendSpec, deps: UnleashBackendDeps = {}): FlagBackend {
  const http = deps.http ?? axios.create();
  const url = spec.url.replace(/\/+$/, '').replace(/\/api$/, '');
  const host = new URL(url).host;
  const project = spec.projectId ?? 'default';
  const timeoutMs = spec.timeoutMs ?? 10_000;
  const retries = spec.retries ?? 2;
  const featureUrl = (key: string) => `${url}/api/admin/projects/${encodeURIComponent(project)}/features/${encodeURIComponent(key)}`;
  const envUrl = (s: Subject) => `${featureUrl(s.key)}/environments/${encodeURIComponent(s.unleashEnv)}`;

  const where = (s: Subject) =>
    `flag ${s.key} in environment ${s.unleashEnv}${s.unleashEnv === s.environment ? '' : ` (Shipmate's ${s.environment})`} of project ${project}`;

  const refused = (s: Subject, response: AxiosResponse<string>): ExternalServiceError => {
    const { status } = response;
    const about = `Unleash at ${host} refused ${s.doing} ${where(s)} (${status}${said(response) ? ` ${said(response)}` : ''})`;
    if (status === 401) return new ExternalServiceError(`${about}; check the token is a valid admin API token or personal access token`, false);
    if (status === 403) {
      return new ExternalServiceError(
        `${about}; check the token may update flags and strategies in project ${project} (client and frontend tokens may not), and that the environment does not require change requests`,
        false,
      );
    }
    if (status === 404) return new ExternalServiceError(`${about}; check the flag name, projectId ${project} and the Unleash name of environment ${s.environment}`, false);
    if (status === 409) return new ExternalServiceError(`${about}: it conflicts with the flag's current state`, false);
    if (status === 429) {
      const wait = retryAfterMs(response.headers as Record<string, unknown>);
      const later = wait === undefined ? 'try again later' : `try again in ${formatDuration(wait)}`;
      return new ExternalServiceError(`Unleash at ${host} rate-limited ${s.doing} ${where(s)}; ${later}`, true, wait === undefined ? {} : { retryAfterMs: wait });
    }
    return new ExternalServiceError(about, false);
  };

  const { send, attempt } = createFlagApiClient<Subject>({
    http,
    system: 'Unleash',
    answerer: `Unleash at ${host}`,
    token: spec.token,
    timeoutMs,
    retries,
    ...(deps.retryDelayMs !== undefined ? { retryDelayMs: deps.retryDelayMs } : {}),
    contentType: 'application/json',
    said,
    refused,
    where,
  });

  const getEnvironment = async (s: Subject): Promise<FeatureEnvironment> => {
    const response = await send('get', featureUrl(s.key), s);
    let feature: Feature;
    try {
      feature = JSON.parse(response.data) as Feature;
    } catch {
      throw new ExternalServiceError(`${host} answered something that is not JSON while ${s.doing} ${where(s)}; check url points at Unleash`, false);
    }
    const env = feature.environments?.find((e) => e.name === s.unleashEnv);
    if (!env) {
      const known = (feature.environments ?? []).map((e) => e.name).join(', ') || 'none';
      throw new ExternalServiceError(
        `Unleash flag ${s.key} in project ${project} has no environment ${s.unleashEnv} (it has: ${known}); check the Unleash name of environment ${s.environment}`,
        false,
      );
    }
    return env;
  };

  /** The flexibleRollout strategies, first in Unleash's order first. */
  const rollouts = (env: FeatureEnvironment) => (env.strategies ?? []).filter((st) => st.name === FLEXIBLE).sort((a, b) => (a.sortOrder ?? 0) - (b.sortOrder ?? 0));

  const subject = (key: string, environment: string, doing: string): Subject => ({ key, environment, unleashEnv: spec.environments?.[environment] ?? environment, doing });

  return {
    // Unleash's on/off take no comment: its event log records the token's user.
    async setEnabled(key, environment, enabled) {
      const s = subject(key, environment, enabled ? 'turning on' : 'turning off');
      await attempt(s, () => send('post', `${envUrl(s)}/${enabled ? 'on' : 'off'}`, s));
    },

    async setRollout(key, environment, percentage) {
      // flexibleRollout buckets into whole percents: SDKs read the parameter as an integer.
      if (!Number.isInteger(percentage) || percentage < 0 || percentage > 100) {
        throw new ValidationError(`Unleash rolls out whole percentages from 0 to 100, not ${percentage}`);
      }
      const rollout = String(percentage);
      const s = subject(key, environment, `rolling out ${percentage}% of`);
      await attempt(s, async () => {
        const found = rollouts(await getEnvironment(s));
        if (found.length > 1) {
          throw new ExternalServiceError(
            `Unleash ${where(s)} has ${found.length} flexibleRollout strategies; Shipmate changes the rollout of one, so keep one (give the others other strategy types or merge them)`,
            false,
          );
        }
        const strategy = found[0];
        if (!strategy) {
          await send('post', `${envUrl(s)}/strategies`, s, { name: FLEXIBLE, constraints: [], parameters: { rollout, stickiness: 'default', groupId: key } });
          return;
        }
        const patch: Record<string, unknown>[] = [{ op: strategy.parameters?.rollout === undefined ? 'add' : 'replace', path: '/parameters/rollout', value: rollout }];
        // A rollout that is set is meant to apply.
        if (strategy.disabled) patch.push({ op: 'replace', path: '/disabled', value: false });
        await send('patch', `${envUrl(s)}/strategies/${encodeURIComponent(strategy.id)}`, s, patch);
      });
    },

    async read(key, environment) {
      const s = subject(key, environment, 'reading');
      return attempt(s, async () => {
        const env = await getEnvironment(s);
        const strategy = rollouts(env).find((st) => !st.disabled);
        const rollout = strategy ? Number(strategy.parameters?.rollout) : Number.NaN;
        return { enabled: env.enabled === true, rollout: Number.isFinite(rollout) ? rollout : null };
      });
    },
  };
}
