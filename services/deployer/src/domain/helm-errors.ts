/**
 * What a helm failure means for the step that ran it:
 * - `invalid`: the chart refuses the values, a template fails, or the cluster refuses an object (validation,
 *   ownership, a missing CRD, no permission): the same command fails the same way, so the release fails now,
 *   with helm's message;
 * - `not-found`: the release does not exist (history, values, uninstall);
 * - `pending`: the release is locked by an install, upgrade or rollback that never finished;
 * - `transient`: anything else (the API server unreachable, timeouts, conflicts): retried with backoff.
 */
export type HelmFailureKind = 'invalid' | 'not-found' | 'pending' | 'transient';

const rules: readonly [HelmFailureKind, RegExp][] = [
  ['pending', /another operation \(install\/upgrade\/rollback\) is in progress/i],
  ['not-found', /release: not found|^release not found|has no deployed releases$/im],
  [
    'invalid',
    /values don't meet the specifications of the schema|execution error at|parse error|template: |invalid ownership metadata|cannot be imported into the current release|is invalid:|field is immutable|unable to build kubernetes objects|no matches for kind|ensure CRDs are installed|admission webhook .* denied|is forbidden|Unauthorized|must be no more than|invalid value/im,
  ],
  ['transient', /connection refused|i\/o timeout|timeout|timed out|TLS handshake|EOF$|the server is currently unable|too many requests|etcdserver|connection reset|no route to host|the object has been modified/im],
];

export function classifyHelmFailure(message: string): HelmFailureKind {
  for (const [kind, pattern] of rules) if (pattern.test(message)) return kind;
  return 'transient';
}
