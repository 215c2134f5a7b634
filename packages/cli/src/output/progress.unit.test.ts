import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress } from './progress.ts';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  return { lines, stream };
}

const noPaint = { ok: (s: string) => s, warn: (s: string) => s, error: (s: string) => s, dim: (s: string) => s, bold: (s: string) => s } as never;

describe('progress when the output is not a terminal', () => {
  it('prints an upload of every percent as five lines: start, each quarter, end', () => {
    const { lines, stream } = capture();
    const progress = createProgress('plain', stream, noPaint, () => new Date('2026-12-05T00:00:00Z'));
    progress.step('packed app.jar');
    for (let percent = 0; percent <= 100; percent += 1) progress.activity(`uploading app.jar ${percent}% (${percent} MiB of 100 MiB)`, { percent });
    progress.step('uploaded app.jar');
    const uploads = lines.filter((l) => l.includes('uploading'));
    expect(uploads.map((l) => /([0-9]+)%/.exec(l)?.[1])).toEqual(['0', '25', '50', '75', '100']);
    expect(lines).toHaveLength(7);
  });

  it('prints a changing number without a percentage at most every five seconds, and every new activity at once', () => {
    const { lines, stream } = capture();
    let clock = 0;
    const progress = createProgress('plain', stream, noPaint, () => new Date(clock));
    for (let i = 0; i < 20; i += 1) {
      progress.activity(`pushing layer ${i} MiB`);
      clock += 1_000;
    }
    progress.activity('waiting for the rollout');
    expect(lines.filter((l) => l.includes('pushing'))).toHaveLength(4);
    expect(lines.at(-1)).toContain('waiting for the rollout');
  });
});
