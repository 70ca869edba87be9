/**
 * The playground's deploy command: what a real deploy script would print, a moment's wait, and
 * the outcome. A version containing "fail" fails, so a failed deploy (and its Retry and Roll
 * back buttons) can be seen too.
 */
const version = process.env.SHIPMATE_VERSION ?? '?';
const service = process.env.SHIPMATE_SERVICE ?? '?';
const environment = process.env.SHIPMATE_ENV ?? '?';
const weight = process.env.SHIPMATE_WEIGHT;
const delayMs = Number(process.env.DEMO_DELAY_MS ?? 1500);

console.log(weight === undefined ? `deploying ${service} ${version} to ${environment}` : `sending ${weight}% of ${service} traffic in ${environment} to ${version}`);
setTimeout(() => {
  if (version.includes('fail')) {
    console.error(`error: image ${service}:${version} not found`);
    process.exit(3);
  }
  console.log('done');
}, delayMs);
