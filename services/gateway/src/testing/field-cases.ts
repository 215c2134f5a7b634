import type { FieldRuleName } from '@appserving/shared';
import type { FieldCase } from '@appserving/shared/testing';

/**
 * Where each rule's value goes: in a request to the API (a deploy-only create, so nothing is built), and in the
 * Kubernetes object the platform would make of it, as the app chart makes it. Shared by the chart check (unit),
 * the API test and the cluster test that sends the objects to the real API server with a server-side dry run.
 */
const base = { task_type: 'deploy', image_url: '127.0.0.1:5000/cases/app:1', resource_spec: 'small' } as const;

/** The create body of a case (`name` given by the caller), and the field a refusal must name (a JSON pointer prefix). */
export function caseRequest(c: FieldCase): { body: Record<string, unknown>; field: string } | undefined {
  const v = c.value;
  const volume = (over: Record<string, string>) => ({ volumes: [{ name: 'data', mount_path: '/data', size: '1Gi', ...over }] });
  const byRule: Record<FieldRuleName, () => { body: Record<string, unknown>; field: string } | undefined> = {
    envName: () => ({ body: { env: { [v]: 'x' } }, field: '/env' }),
    fileName: () => ({ body: { config: { [v]: 'x' }, secrets: { [v]: 'y' } }, field: '/config' }),
    volumeName: () => ({ body: volume({ name: v }), field: '/volumes/0/name' }),
    mountPath: () => ({ body: volume({ mount_path: v }), field: '/volumes/0/mount_path' }),
    volumeSize: () => ({ body: volume({ size: v }), field: '/volumes/0/size' }),
    healthPath: () => ({ body: { health_path: v }, field: '/health_path' }),
    cpu: () => ({ body: { resource_spec: { cpu: v, memory: '512Mi' } }, field: '/resource_spec' }),
    memory: () => ({ body: { resource_spec: { cpu: '500m', memory: v } }, field: '/resource_spec' }),
    profile: () => ({ body: { profile: v }, field: '/profile' }),
    imageReference: () => ({ body: { image_url: v }, field: '/image_url' }),
    versionLabel: () => ({ body: { version: v }, field: '/version' }),
    plainText: () => undefined,
  };
  const placed = byRule[c.rule]();
  return placed && { body: { ...base, ...placed.body }, field: placed.field };
}

type KubeObject = Record<string, unknown>;

/** The objects a case ends up in on a cluster (what the chart renders of it), for a dry run; none for rules that do not reach one. */
export function caseObjects(c: FieldCase, namespace: string): KubeObject[] {
  const v = c.value;
  const meta = (name: string) => ({ name, namespace, labels: { 'app.kubernetes.io/managed-by': 'appserving' } });
  const pod = (container: Record<string, unknown>, volumes: Record<string, unknown>[] = []): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: meta('case'),
    spec: { containers: [{ name: 'app', image: 'registry.example.com/cases/app:1', ...container }], volumes },
  });
  switch (c.rule) {
    case 'envName':
      return [pod({ env: [{ name: v, value: 'x' }] })];
    case 'fileName':
      return [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('case-config'), data: { [v]: 'x' } },
        { apiVersion: 'v1', kind: 'Secret', metadata: meta('case-secrets'), stringData: { [v]: 'y' } },
      ];
    case 'volumeName':
      return [
        pod({ volumeMounts: [{ name: v, mountPath: '/data' }] }, [{ name: v, persistentVolumeClaim: { claimName: `case-${v}` } }]),
        { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: meta(`case-${v}`), spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
      ];
    case 'mountPath':
      return [pod({ volumeMounts: [{ name: 'data', mountPath: v }] }, [{ name: 'data', emptyDir: {} }])];
    case 'volumeSize':
      return [{ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: meta('case-data'), spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: v } } } }];
    case 'healthPath':
      return [pod({ readinessProbe: { httpGet: { path: v, port: 8080 } } })];
    case 'cpu':
      return [pod({ resources: { requests: { cpu: v, memory: '512Mi' }, limits: { cpu: v, memory: '512Mi' } } })];
    case 'memory':
      return [pod({ resources: { requests: { cpu: '500m', memory: v }, limits: { cpu: '500m', memory: v } } })];
    case 'imageReference':
      return [pod({ image: v })];
    default:
      return [];
  }
}
