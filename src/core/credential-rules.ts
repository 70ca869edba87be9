type Issues = { addIssue(issue: { code: 'custom'; path: PropertyKey[]; message: string }): void };

/** The parts of shipmate.yml that hold the credentials callers present to Shipmate. */
export interface CredentialHolders {
  alertmanager?: { token: string } | undefined;
  flags: { environments: Record<string, { ofrepKey?: string | undefined }> };
  services: Record<string, { environments: Record<string, { deploy: { type: string; secret?: string } }> }>;
}

/**
 * Alertmanager, each environment's OFREP clients and the deploy targets each prove who they are
 * with a credential of their own: one value in two places would let one caller in as the other
 * (an OFREP key shared by two environments reads only the first one's flags). Webhook targets may
 * share a secret: they are one kind of caller, and each callback is bound to its deploy.
 */
export function checkSeparateCredentials(config: CredentialHolders, ctx: Issues): void {
  const owners = new Map<string, string>();
  const claim = (value: string | undefined, path: string[], what: string, shareable = false): void => {
    if (!value) return;
    const owner = owners.get(value);
    if (owner === undefined) owners.set(value, path.join('.'));
    else if (!(shareable && owner.endsWith('.deploy.secret'))) ctx.addIssue({ code: 'custom', path, message: `is the same as ${owner}: ${what} needs a credential of its own` });
  };
  for (const [service, svc] of Object.entries(config.services)) {
    for (const [env, target] of Object.entries(svc.environments)) {
      if (target.deploy.type === 'webhook') claim(target.deploy.secret, ['services', service, 'environments', env, 'deploy', 'secret'], 'a deploy target', true);
    }
  }
  for (const [env, f] of Object.entries(config.flags.environments)) claim(f.ofrepKey, ['flags', 'environments', env, 'ofrepKey'], `OFREP for ${env}`);
  claim(config.alertmanager?.token, ['alertmanager', 'token'], 'the Alertmanager webhook');
}
