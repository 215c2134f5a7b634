/**
 * Reading Flagger's event messages (sent to a release's `event` webhook; the same text as its Kubernetes events).
 * The formats are Flagger's (pkg/controller/scheduler*.go); a message that matches nothing here is ignored.
 */

/** Why Flagger halted an analysis step: a metric out of range, no data, or a query that failed; else undefined. */
export function analysisComplaint(message: string): string | undefined {
  if (/^Halt \S+ advancement waiting for/.test(message)) return undefined;
  if (/^Halt \S+ advancement /.test(message)) return message;
  if (/^Halt advancement no values found/.test(message)) return message;
  if (/^(Metric query failed|Prometheus query failed|Metric template \S+ (error|provider|query render error|secret))/.test(message)) return message;
  return undefined;
}

/** Flagger gave up on the new version on its own (failed checks, progress deadline, failed promotion); else undefined. */
export function rollbackOutcome(message: string): string | undefined {
  if (/^Rolling back \S+ manual webhook invoked/.test(message)) return undefined;
  if (/^Rolling back \S+ /.test(message)) return message;
  if (/^Canary failed! /.test(message)) return message;
  if (/^Promotion of \S+ failed/.test(message)) return message;
  return undefined;
}
