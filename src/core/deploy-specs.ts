import { z } from 'zod';
import { duration } from './duration';

/**
 * How each environment is deployed: the `deploy:` block of shipmate.yml, one schema per deployer
 * type. Network deployers share a timeout (the whole deploy, including waiting for it to become
 * healthy) and a number of retries for transient failures (5xx, connection resets).
 */

const url = z.url({ protocol: /^https?$/, error: 'Invalid URL' });
const secret = z.string().min(16, 'must be at least 16 characters so the signature cannot be guessed');
const retries = z.number().int().min(0).max(10).default(3);
const repository = z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'expected owner/name, e.g. acme/api');
/** An image without its tag, e.g. ghcr.io/acme/api; the version becomes the tag. */
const image = z.string().regex(/^[a-z0-9][a-z0-9._\-/:]*[a-z0-9]$/, 'expected an image name without a tag, e.g. ghcr.io/acme/api').refine((i) => !/:[\w.-]+$/.test(i.split('/').at(-1) ?? ''), 'leave the tag off: Shipmate sets it to the version');
const k8sName = z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'expected a Kubernetes name: lowercase letters, digits, "-" and "."');

export const webhookDeploy = z.strictObject({
  type: z.literal('webhook'),
  url,
  /** HMAC-SHA256 key for the X-Shipmate-Signature header, and for checking callbacks. */
  secret,
  headers: z.record(z.string(), z.string()).default({}),
  timeout: duration.default(30_000),
  retries,
  /**
   * sync: a 2xx answer means done. callback: the target answers 202 and later POSTs the outcome
   * to /deployments/callback. poll: the target answers 202 and Shipmate polls `statusUrl` (or the
   * Location header of the 202) until it says succeeded or failed.
   */
  completion: z.enum(['sync', 'callback', 'poll'], { error: 'completion must be one of: sync, callback, poll' }).default('sync'),
  /** For completion: poll; `{{deploymentId}}` and `{{idempotencyKey}}` are filled in. */
  statusUrl: z.string().optional(),
  pollInterval: duration.default(5_000),
});

export const commandDeploy = z.strictObject({
  type: z.literal('command'),
  /** The executable; run without a shell, so arguments go in `args`. */
  command: z.string().min(1, 'name the executable to run'),
  args: z.array(z.string()).default([]),
  cwd: z.string().optional(),
  env: z.record(z.string(), z.string()).default({}),
  timeout: duration.default(600_000),
  /** How many lines of output to show in the thread when the command fails. */
  outputTailLines: z.number().int().min(1).max(200).default(20),
});

export const githubActionsDeploy = z.strictObject({
  type: z.literal('github-actions'),
  repository,
  /** The workflow file name (deploy.yml) or numeric ID; it must have a workflow_dispatch trigger. */
  workflow: z.string().min(1, 'name the workflow file, e.g. deploy.yml'),
  /** The branch or tag the workflow runs on. */
  ref: z.string().default('main'),
  /** Workflow inputs; `{{service}}`, `{{environment}}`, `{{version}}` and `{{idempotencyKey}}` are filled in. */
  inputs: z.record(z.string(), z.string()).default({ service: '{{service}}', environment: '{{environment}}', version: '{{version}}' }),
  /** GitHub API base URL, for GitHub Enterprise; defaults to github.apiUrl. */
  apiUrl: url.optional(),
  /** Defaults to github.token. */
  token: z.string().optional(),
  timeout: duration.default(30 * 60_000),
  pollInterval: duration.default(10_000),
  retries,
});

export const argocdDeploy = z.strictObject({
  type: z.literal('argocd'),
  /** The Argo CD server, e.g. https://argocd.example.com. */
  url,
  application: k8sName,
  /** An Argo CD API token (a project role or account token). */
  token: z.string().min(1, 'set it, e.g. token: ${ARGOCD_TOKEN}'),
  /**
   * image-tag: set a Helm parameter (`parameter`, e.g. image.tag) to the version.
   * target-revision: point the application at the version as a git revision (a tag or SHA).
   */
  set: z.enum(['image-tag', 'target-revision'], { error: 'set must be one of: image-tag, target-revision' }).default('image-tag'),
  parameter: z.string().default('image.tag'),
  timeout: duration.default(10 * 60_000),
  pollInterval: duration.default(5_000),
  retries,
});

const kubernetesTarget = {
  namespace: k8sName.default('default'),
  container: k8sName,
  image,
  /** A kubeconfig file; without it, in-cluster credentials (the pod's service account). */
  kubeconfig: z.string().optional(),
  context: z.string().optional(),
  timeout: duration.default(10 * 60_000),
  pollInterval: duration.default(2_000),
  retries,
};

export const kubernetesDeploy = z.strictObject({ type: z.literal('kubernetes'), deployment: k8sName, ...kubernetesTarget });

export const argoRolloutsDeploy = z.strictObject({ type: z.literal('argo-rollouts'), rollout: k8sName, ...kubernetesTarget });

const TYPES = ['webhook', 'command', 'github-actions', 'argocd', 'kubernetes', 'argo-rollouts'];

export const deploySpec = z.discriminatedUnion(
  'type',
  [webhookDeploy, commandDeploy, githubActionsDeploy, argocdDeploy, kubernetesDeploy, argoRolloutsDeploy],
  { error: (issue) => (issue.code === 'invalid_union' ? `type must be one of: ${TYPES.join(', ')}` : undefined) },
);

export type DeploySpec = z.infer<typeof deploySpec>;
export type WebhookSpec = z.infer<typeof webhookDeploy>;
export type CommandSpec = z.infer<typeof commandDeploy>;
export type GithubActionsSpec = z.infer<typeof githubActionsDeploy>;
export type ArgocdSpec = z.infer<typeof argocdDeploy>;
export type KubernetesSpec = z.infer<typeof kubernetesDeploy>;
export type ArgoRolloutsSpec = z.infer<typeof argoRolloutsDeploy>;
