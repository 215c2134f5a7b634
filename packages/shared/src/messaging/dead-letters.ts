import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { streams } from '../contracts/index.ts';
import { isAppServingError } from '../errors/index.ts';

/** What the dead-letter stream records about a message a consumer gave up on. */
export interface DeadLetter {
  consumer: string;
  stream: string;
  stream_sequence: number;
  subject: string;
  deliveries: number;
  reason: string;
  error_code: string;
  failed_at: string;
  headers: Record<string, string>;
  /** The original body: UTF-8 text when it is, base64 otherwise. */
  data: string;
  data_encoding: 'utf-8' | 'base64';
}

export const deadLetterSubject = (consumer: string) => `appserving.dlq.${consumer}`;

export function deadLetterOf(consumer: string, m: JsMsg, reason: string, error: unknown): DeadLetter {
  const headers: Record<string, string> = {};
  for (const key of m.headers?.keys() ?? []) headers[key] = m.headers?.get(key) ?? '';
  let data: string;
  let encoding: DeadLetter['data_encoding'] = 'utf-8';
  try {
    data = new TextDecoder('utf-8', { fatal: true }).decode(m.data);
  } catch {
    data = Buffer.from(m.data).toString('base64');
    encoding = 'base64';
  }
  return {
    consumer,
    stream: m.info.stream,
    stream_sequence: m.seq,
    subject: m.subject,
    deliveries: m.info.deliveryCount,
    reason,
    error_code: isAppServingError(error) ? error.code : error instanceof Error ? error.name : 'unknown',
    failed_at: new Date().toISOString(),
    headers,
    data,
    data_encoding: encoding,
  };
}

/**
 * Records a dead letter. Its msgID is the original's stream position, so recording the same message twice
 * (a crash between recording and terminating) stores it once.
 */
export async function recordDeadLetter(js: JetStreamClient, letter: DeadLetter): Promise<void> {
  await js.publish(deadLetterSubject(letter.consumer), JSON.stringify(letter), {
    msgID: `dlq:${letter.stream}:${letter.stream_sequence}`,
    timeout: 5_000,
  });
}

export const deadLetterStream = streams.deadLetters;
