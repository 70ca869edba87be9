import { z } from 'zod';
import { approvalPolicySchema } from './approval-policy';
import { duration } from './duration';

/** The `flags:` part of shipmate.yml: per environment, where flags live and who must approve changes. */

const url = z.url({ protocol: /^https?$/, error: 'Invalid URL' });
const channel = z.string().regex(/^(#[a-z0-9._-]+|[CGD][A-Z0-9]{6,})$/, 'expected a channel ID like C0123ABCD or a name like #flags');
const retries = z.number().int().min(0).max(10).default(3);

export const flagBackendSpec = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('builtin') }),
    z.strictObject({
      type: z.literal('launchdarkly'),
      apiUrl: url.default('https://app.launchdarkly.com'),
      /** An API access token with writer rights on the project. */
      token: z.string().min(1, 'set it, e.g. token: ${LAUNCHDARKLY_TOKEN}'),
      projectKey: z.string().min(1),
      /** LaunchDarkly's key of this environment; defaults to Shipmate's name for it. */
      environmentKey: z.string().optional(),
      timeout: duration.default(10_000),
      retries,
    }),
    z.strictObject({
      type: z.literal('unleash'),
      url,
      /** An admin or personal access token. */
      token: z.string().min(1, 'set it, e.g. token: ${UNLEASH_TOKEN}'),
      projectId: z.string().default('default'),
      /** Unleash's name of this environment; defaults to Shipmate's name for it. */
      environment: z.string().optional(),
      timeout: duration.default(10_000),
      retries,
    }),
  ],
  { error: (issue) => (issue.code === 'invalid_union' ? 'backend.type must be one of: builtin, launchdarkly, unleash' : undefined) },
);
export type FlagBackendSpec = z.infer<typeof flagBackendSpec>;

export const flagsConfigSchema = z
  .strictObject({
    /** Where flag changes are announced; defaults to defaults.channel. */
    channel: channel.optional(),
    environments: z
      .record(
        z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'environment names: lowercase letters, digits, ".", "_" or "-"'),
        z.strictObject({
          backend: flagBackendSpec.default({ type: 'builtin' }),
          /** The bearer key apps send to OFREP for this environment (builtin flags). */
          ofrepKey: z.string().min(16, 'must be at least 16 characters so it cannot be guessed').optional(),
          /** Changes here wait for approval, with the same policy as deploys. */
          approval: approvalPolicySchema.optional(),
          channel: channel.optional(),
        }),
      )
      .default({}),
  })
  .default({ environments: {} });
