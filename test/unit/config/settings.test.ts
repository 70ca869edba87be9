import { loadSettings } from '../../../src/config/settings';
import { ConfigError } from '../../../src/core/errors';

const BOT_TOKEN = 'xoxb-1111-2222-s3cr3tB0tT0ken';
const APP_TOKEN = 'xapp-1-A111-3333-s3cr3tAppT0ken';
const SIGNING_SECRET = '8f742231b10e8888abcd99eeeeee85a5';

/** Calls loadSettings and returns the ConfigError it throws. */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadSettings(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, got settings');
}

describe('loadSettings', () => {
  it('Socket Mode when there is an app token, with the defaults filled in', () => {
    expect(loadSettings({ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_APP_TOKEN: APP_TOKEN })).toEqual({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_APP_TOKEN: APP_TOKEN,
      PORT: 3000,
      SHIPMATE_CONFIG: './shipmate.yml',
      SHIPMATE_DB: './data/shipmate.db',
      LOG_LEVEL: 'info',
      mode: 'socket',
    });
  });

  it('HTTP mode when there is only a signing secret', () => {
    const settings = loadSettings({ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET });
    expect(settings.mode).toBe('http');
    expect(settings.SLACK_SIGNING_SECRET).toBe(SIGNING_SECRET);
    expect(settings.SLACK_APP_TOKEN).toBeUndefined();
  });

  it('Socket Mode wins when both are set', () => {
    expect(loadSettings({ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_APP_TOKEN: APP_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET }).mode).toBe('socket');
  });

  it('reads the optional settings and ignores unrelated variables', () => {
    const settings = loadSettings({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      PORT: '8080',
      SHIPMATE_CONFIG: '/etc/shipmate.yml',
      SHIPMATE_DB: '/var/lib/shipmate.db',
      LOG_LEVEL: 'debug',
      HOME: '/root',
    });
    expect(settings).toMatchObject({ PORT: 8080, SHIPMATE_CONFIG: '/etc/shipmate.yml', SHIPMATE_DB: '/var/lib/shipmate.db', LOG_LEVEL: 'debug' });
    expect(settings).not.toHaveProperty('HOME');
  });

  it('PORT=0 is allowed (a free port, for tests)', () => {
    expect(loadSettings({ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_APP_TOKEN: APP_TOKEN, PORT: '0' }).PORT).toBe(0);
  });

  it('adds the trailing slash the Web API client needs to SLACK_API_URL', () => {
    const base = { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_APP_TOKEN: APP_TOKEN };
    expect(loadSettings({ ...base, SLACK_API_URL: 'http://127.0.0.1:4000/api' }).SLACK_API_URL).toBe('http://127.0.0.1:4000/api/');
    expect(loadSettings({ ...base, SLACK_API_URL: 'https://slack.com/api/' }).SLACK_API_URL).toBe('https://slack.com/api/');
  });

  it('treats empty strings as unset', () => {
    const settings = loadSettings({ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_APP_TOKEN: APP_TOKEN, PORT: '', LOG_LEVEL: '', SLACK_SIGNING_SECRET: '' });
    expect(settings).toMatchObject({ PORT: 3000, LOG_LEVEL: 'info', mode: 'socket' });
    expect(configError({ SLACK_BOT_TOKEN: '', SLACK_APP_TOKEN: APP_TOKEN }).userMessage).toMatch(/^SLACK_BOT_TOKEN is missing/);
  });

  describe('a bad setting is one line that starts with its name', () => {
    const http = { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET };

    it.each<[string, Record<string, string | undefined>, string, string | undefined]>([
      [
        'SLACK_BOT_TOKEN missing',
        { SLACK_APP_TOKEN: APP_TOKEN },
        'SLACK_BOT_TOKEN is missing: set it to the bot token (xoxb-...) from OAuth & Permissions',
        undefined,
      ],
      [
        'SLACK_BOT_TOKEN with a user-token prefix',
        { SLACK_BOT_TOKEN: 'xoxp-1111-2222-s3cr3tUserT0ken', SLACK_APP_TOKEN: APP_TOKEN },
        'SLACK_BOT_TOKEN is not a bot token: it starts with xoxb-',
        'xoxp-1111-2222-s3cr3tUserT0ken',
      ],
      [
        'neither SLACK_APP_TOKEN nor SLACK_SIGNING_SECRET',
        { SLACK_BOT_TOKEN: BOT_TOKEN },
        'SLACK_APP_TOKEN is missing: set SLACK_APP_TOKEN (xapp-...) for Socket Mode, or SLACK_SIGNING_SECRET to receive HTTP requests',
        BOT_TOKEN,
      ],
      [
        'SLACK_APP_TOKEN with the wrong prefix',
        { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_APP_TOKEN: 'xoxb-9999-s3cr3tPastedTwice' },
        'SLACK_APP_TOKEN is not an app-level token: it starts with xapp- and needs the connections:write scope',
        'xoxb-9999-s3cr3tPastedTwice',
      ],
      [
        'SLACK_SIGNING_SECRET that is not hex',
        { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: 'not-hex-s3cr3t-value-zzzz' },
        'SLACK_SIGNING_SECRET is not a signing secret: copy it from Basic Information > App Credentials',
        'not-hex-s3cr3t-value-zzzz',
      ],
      ['PORT=abc', { ...http, PORT: 'abc' }, 'PORT is not a port number: use an integer from 0 to 65535', undefined],
      ['PORT=70000', { ...http, PORT: '70000' }, 'PORT is not a port number: use an integer from 0 to 65535', undefined],
      ['PORT=-1', { ...http, PORT: '-1' }, 'PORT is not a port number: use an integer from 0 to 65535', undefined],
      ['PORT=80.5', { ...http, PORT: '80.5' }, 'PORT is not a port number: use an integer from 0 to 65535', undefined],
      [
        'SLACK_API_URL=not-a-url',
        { ...http, SLACK_API_URL: 'not-a-url' },
        'SLACK_API_URL is not an http(s) URL, e.g. https://slack.com/api/',
        undefined,
      ],
      [
        'SLACK_API_URL with another protocol',
        { ...http, SLACK_API_URL: 'ftp://slack.example.com/api/' },
        'SLACK_API_URL is not an http(s) URL, e.g. https://slack.com/api/',
        undefined,
      ],
      [
        'LOG_LEVEL=loud',
        { ...http, LOG_LEVEL: 'loud' },
        'LOG_LEVEL is not a log level: use one of fatal, error, warn, info, debug, trace, silent',
        undefined,
      ],
    ])('%s', (_case, env, expected, secret) => {
      const error = configError(env);
      expect(error.userMessage).toBe(expected);
      expect(error.message).toBe(expected);
      expect(error.code).toBe('config');
      expect(error.userMessage).not.toContain('\n');
      // Whatever was passed in, the message must not echo it: the value may be a secret.
      for (const value of Object.values(env)) {
        if (value && value !== secret) expect(error.message).not.toContain(value);
      }
      if (secret) expect(error.message).not.toContain(secret);
    });
  });

  it('never echoes a secret that landed in the wrong variable', () => {
    // A signing secret pasted into SLACK_BOT_TOKEN, a bot token pasted into SLACK_SIGNING_SECRET.
    const error = configError({ SLACK_BOT_TOKEN: SIGNING_SECRET, SLACK_SIGNING_SECRET: BOT_TOKEN });
    expect(error.message).toMatch(/^SLACK_BOT_TOKEN /);
    expect(error.message).not.toContain(SIGNING_SECRET);
    expect(error.message).not.toContain(BOT_TOKEN);
    expect(JSON.stringify(error)).not.toContain(SIGNING_SECRET);
  });
});
