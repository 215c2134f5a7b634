import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, log: createLogger({ service: 'test', level: 'info', destination }) };
}

describe('logger', () => {
  it('redacts secrets by key at any of the first levels of nesting', () => {
    const { lines, log } = capture();
    log.info(
      {
        appId: 'a1',
        password: 'p1',
        cluster: { name: 'prod', kubeconfig: 'apiVersion: v1 ... client-key-data: AAAA' },
        release: { spec: { secrets: { DB_PASSWORD: 'hunter2' } } },
        req: { headers: { authorization: 'Bearer tok-123', host: 'x' } },
      },
      'something happened',
    );
    const line = lines.join('');
    expect(line).toContain('"appId":"a1"');
    expect(line).toContain('"name":"prod"');
    for (const secret of ['p1', 'client-key-data', 'hunter2', 'tok-123']) expect(line).not.toContain(secret);
    expect(line.match(/\[redacted\]/g)?.length).toBe(4);
  });

  it('writes one JSON object per line with service, level and message', () => {
    const { lines, log } = capture();
    log.warn({ releaseId: 'r1' }, 'rollout slow');
    const entry = JSON.parse(lines[0] ?? '{}');
    expect(entry).toMatchObject({ service: 'test', level: 'warn', releaseId: 'r1', msg: 'rollout slow' });
  });
});
