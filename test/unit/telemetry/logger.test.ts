import pino from 'pino';
import { Writable } from 'node:stream';
import { createLogger, redactLines } from '../../../src/telemetry/logger';

function capture() {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', destination: new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) }) });
  return { log, lines };
}

describe('redactLines', () => {
  it('filters every line the logger and its children write, an error serialized in it included', () => {
    const { log, lines } = capture();
    redactLines(log, (line) => line.replaceAll('db-password-1', '[redacted]'));
    const child = log.child({ component: 'effects' });
    child.warn({ err: new Error('connect failed for db-password-1'), detail: { tail: 'echo db-password-1' } }, 'deploy failed with db-password-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('db-password-1');
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'deploy failed with [redacted]', err: { message: 'connect failed for [redacted]' }, detail: { tail: 'echo [redacted]' } });
  });

  it('refuses a logger it cannot filter, rather than leave it unfiltered', () => {
    expect(() => redactLines(pino({ enabled: false }), (line) => line)).toThrow('createLogger');
  });
});
