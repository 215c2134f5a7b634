import type {} from '@appserving/test-cluster/global-setup';
import type { ClusterInfo } from '@appserving/test-cluster';
import { inject } from 'vitest';

/** The local cluster of this test run (started or joined by test/cluster's global setup). */
export function testCluster(): ClusterInfo {
  return inject('appservingCluster');
}
