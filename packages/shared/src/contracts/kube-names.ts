/**
 * Names and labels of what the platform creates on a cluster (DESIGN §5). The app chart, the builder, the
 * deployer and the watcher all take them from here: the watcher selects on exactly the labels the others set.
 */
export const LABELS = {
  /** `appserving` on what the platform creates itself (build Pods, pod templates); helm makes it `Helm` on what it installs. */
  managedBy: 'app.kubernetes.io/managed-by',
  /** The app's name. */
  name: 'app.kubernetes.io/name',
  /** The helm release (the app's name). */
  instance: 'app.kubernetes.io/instance',
  /** `app` for the workload and its objects, `build` for build Pods. */
  component: 'app.kubernetes.io/component',
  /** The version label a person gave (`v1`, `1.4.2`). */
  version: 'app.kubernetes.io/version',
  /** On every object of an app: what the watcher selects on (MANAGED_SELECTOR). */
  appId: 'appserving.dev/app-id',
  releaseId: 'appserving.dev/release-id',
  /** The platform's version number of the release (1, 2, ...). */
  releaseVersion: 'appserving.dev/release-version',
} as const;

export const MANAGED_BY = 'appserving';

/**
 * Label selector of everything the platform manages on a cluster: every object carries its app's id. Not
 * `app.kubernetes.io/managed-by`: helm sets that label to `Helm` on every top-level object it installs (its
 * ownership check requires it), so only pod templates and the builder's own Pods keep `appserving` there.
 */
export const MANAGED_SELECTOR = LABELS.appId;

/** Namespace of an app: its project's, or `default` for an app made without a project (admin tokens only). */
export function appNamespace(projectNamespace: string | null | undefined): string {
  return projectNamespace ?? 'default';
}

/** The helm release of an app is named after it (app names are DNS labels of at most 40 characters). */
export function helmReleaseName(appName: string): string {
  return appName;
}

/**
 * The build Pod of a release: derived from the release id only, so a redelivered build command finds (adopts)
 * the Pod the first delivery created instead of starting a second build.
 */
export function buildPodName(releaseId: string): string {
  return `build-${releaseId}`;
}

/** A label value: at most 63 characters of `[A-Za-z0-9._-]`, starting and ending alphanumeric (empty allowed). */
export function labelValue(raw: string): string {
  const cleaned = raw.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 63);
  return cleaned.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
}

/**
 * What may be left on a cluster of an app the platform forgot without cleaning it up (a forced delete of an app
 * whose cluster could not be reached, or was removed): said to the person who forced it, and recorded with the
 * `deleted` step, with the commands that remove it if the cluster comes back.
 */
export function leftBehindOf(app: { id: string; name: string; namespace: string; clusterName: string }): { summary: string; cleanup: string[] } {
  const selector = `${LABELS.appId}=${app.id}`;
  return {
    summary: `possibly left on cluster ${app.clusterName}, if it is still there: the helm release ${helmReleaseName(app.name)} and every object labelled ${selector} in namespace ${app.namespace} (Deployments, Services, ConfigMaps, Secrets, PersistentVolumeClaims with their data, Flagger's Canary and routes)`,
    cleanup: [
      `helm uninstall ${helmReleaseName(app.name)} --namespace ${app.namespace}`,
      `kubectl delete canaries.flagger.app,deployments,services,configmaps,secrets,persistentvolumeclaims,horizontalpodautoscalers,ingresses,httproutes.gateway.networking.k8s.io --namespace ${app.namespace} --selector ${selector}`,
    ],
  };
}
