import { describe, expect, it } from 'vitest';
import { BuildCommandV1, createCloudEvent, DeployCommandV1, PromoteCommandV1 } from '../contracts/index.ts';
import { InputError } from '../errors/index.ts';
import { decodeCloudEvent, encodeCloudEvent } from './codec.ts';

const release = {
  app_id: '2f0d3c1e-8d7b-4c1a-9a57-6f1b2c3d4e5f',
  app_name: 'orders',
  release_id: '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  version: 2,
  cluster_id: '0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e',
};
const encoder = new TextEncoder();

function inputErrorOf(fn: () => unknown): InputError {
  try {
    fn();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('CloudEvents codec', () => {
  it('round-trips a valid event', () => {
    const event = createCloudEvent(PromoteCommandV1, { id: 'cmd-1', source: '/appserving/gateway', data: { release } });
    const decoded = decodeCloudEvent(encodeCloudEvent(PromoteCommandV1, event), [PromoteCommandV1]);
    expect(decoded).toMatchObject({ event: { id: 'cmd-1', type: 'dev.appserving.command.promote.v1', specversion: '1.0', data: { release } } });
  });

  it('refuses to encode data that does not match its schema', () => {
    const event = createCloudEvent(PromoteCommandV1, { id: 'cmd-1', source: '/x', data: { release: { ...release, version: 0 } } });
    expect(inputErrorOf(() => encodeCloudEvent(PromoteCommandV1, event)).code).toBe('invalid_data');
  });

  it('names what is wrong with a message', () => {
    expect(inputErrorOf(() => decodeCloudEvent(encoder.encode('{"oops'), [PromoteCommandV1])).code).toBe('malformed_message');
    expect(inputErrorOf(() => decodeCloudEvent(Uint8Array.of(0xff, 0xfe), [PromoteCommandV1])).code).toBe('malformed_message');

    const noSpec = inputErrorOf(() => decodeCloudEvent(encoder.encode(JSON.stringify({ id: 'x', type: 't', source: 's' })), [PromoteCommandV1]));
    expect(noSpec.code).toBe('invalid_envelope');
    expect(JSON.stringify(noSpec.details)).toContain('specversion');

    const unknown = inputErrorOf(() =>
      decodeCloudEvent(encoder.encode(JSON.stringify({ specversion: '1.0', id: 'x', source: 's', type: 'com.example.other', data: {} })), [PromoteCommandV1]),
    );
    expect(unknown.code).toBe('unknown_type');

    const extraField = inputErrorOf(() =>
      decodeCloudEvent(
        encoder.encode(JSON.stringify({ specversion: '1.0', id: 'x', source: 's', type: PromoteCommandV1.type, data: { release, colour: 'blue' } })),
        [PromoteCommandV1],
      ),
    );
    expect(extraField.code).toBe('invalid_data');
    expect(extraField.details).toEqual({ problems: [{ path: '/colour', message: 'unknown field' }] });
  });

  it('skips a catalog type the consumer does not handle', () => {
    const body = encoder.encode(JSON.stringify({ specversion: '1.0', id: 'x', source: 's', type: DeployCommandV1.type, data: {} }));
    expect(decodeCloudEvent(body, [BuildCommandV1])).toEqual({ skipped: DeployCommandV1.type });
  });
});
