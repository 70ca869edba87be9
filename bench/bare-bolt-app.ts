import { App, HTTPReceiver, LogLevel } from '@slack/bolt';

/**
 * The baseline of the ack benchmark: a Bolt app over HTTP whose listeners only ack, started as its
 * own process like Shipmate is, on PORT.
 */
async function main(): Promise<void> {
  const signingSecret = process.env.SLACK_SIGNING_SECRET!;
  const app = new App({
    signingSecret,
    // Bolt needs a token to authorize requests; it checks it once with auth.test against the emulator.
    token: process.env.SLACK_BOT_TOKEN!,
    clientOptions: { slackApiUrl: process.env.SLACK_API_URL! },
    receiver: new HTTPReceiver({ signingSecret, endpoints: '/slack/events' }),
    logLevel: LogLevel.ERROR,
  });
  app.command(/.*/, async ({ ack }) => ack());
  app.action(/.*/, async ({ ack }) => ack());
  await app.start(Number(process.env.PORT));
  process.once('SIGTERM', () => void app.stop().then(() => process.exit(0)));
}

void main();
