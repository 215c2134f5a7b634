import { reservedPodNames, specLimits, type FieldProblem } from './field-rules.ts';
import { parseImageReference } from './image-reference.ts';
import { healthThresholdDefaults, type ReleaseSpecV1 } from './release.schemas.ts';

/**
 * What a schema cannot say about a release spec: relations between fields and sizes of the whole. Checked by the
 * gateway on every create and update, and by every consumer of a build or deploy command (through the message
 * type's `problems`), so a spec either is refused with the field named or cannot fail later in helm or the API
 * server for its shape. Pure.
 */
export function releaseSpecProblems(spec: ReleaseSpecV1, at = ''): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path: `${at}${path}`, message });

  const names = new Set<string>();
  const paths = new Map<string, string>(reservedPodNames.mountPaths.map((p) => [p, 'a path the platform mounts itself']));
  spec.volumes.forEach((volume, i) => {
    if ((reservedPodNames.volumes as readonly string[]).includes(volume.name)) add(`/volumes/${i}/name`, `"${volume.name}" is the name of a volume the platform adds itself (${reservedPodNames.volumes.join(', ')})`);
    else if (names.has(volume.name)) add(`/volumes/${i}/name`, `"${volume.name}" is used by two volumes`);
    names.add(volume.name);
    const clash = paths.get(volume.mount_path);
    if (clash !== undefined) add(`/volumes/${i}/mount_path`, `${volume.mount_path} is already ${clash}`);
    paths.set(volume.mount_path, `the mount path of volume ${volume.name}`);
  });

  const javaOptions = spec.env['JAVA_TOOL_OPTIONS'];
  if (javaOptions !== undefined && (/[\r\n\0]/.test(javaOptions) || javaOptions.length > specLimits.maxJavaToolOptionsLength)) {
    add('/env/JAVA_TOOL_OPTIONS', `must be one line of at most ${specLimits.maxJavaToolOptionsLength} characters (the platform adds its own JVM options in front)`);
  }
  const payload = payloadBytes(spec.env) + payloadBytes(spec.config);
  if (payload > specLimits.maxPayloadBytes) {
    add(spec.config && Object.keys(spec.config).length > 0 ? '/config' : '/env', payloadMessage(payload));
  }
  if (spec.autoscaling && spec.autoscaling.min_replicas > spec.autoscaling.max_replicas) {
    add('/autoscaling/min_replicas', `must not be above max_replicas (${spec.autoscaling.max_replicas})`);
  }
  const analysis = spec.analysis;
  if (analysis?.step_weight !== undefined && analysis.max_weight !== undefined && analysis.step_weight > analysis.max_weight) {
    add('/analysis/step_weight', `must not be above max_weight (${analysis.max_weight})`);
  }
  const window = spec.health_thresholds?.window;
  if (window !== undefined) {
    const seconds = Number(window.slice(0, -1)) * { s: 1, m: 60, h: 3_600 }[window.slice(-1) as 's' | 'm' | 'h'];
    if (!(seconds >= healthThresholdDefaults.minWindowSeconds && seconds <= healthThresholdDefaults.maxWindowSeconds)) {
      add('/health_thresholds/window', `must be from 30s to 1h, not ${window}`);
    }
  }
  if (spec.image_url !== undefined && !parseImageReference(spec.image_url)) {
    add('/image_url', `must be an image reference whose repository name is at most ${specLimits.maxImageNameLength} characters`);
  }
  if (spec.artifact_url !== undefined && !/^(https?:\/\/|appserving-artifact:\/\/)/i.test(spec.artifact_url)) {
    add('/artifact_url', 'must be an http(s) URL or an artifact_url returned by POST /artifacts');
  }
  return problems;
}

/** UTF-8 bytes of a map's names and values, as they land in a ConfigMap, a Secret or a pod's env. */
export function payloadBytes(entries: Record<string, string> | undefined): number {
  let total = 0;
  for (const [key, value] of Object.entries(entries ?? {})) total += Buffer.byteLength(key) + Buffer.byteLength(value);
  return total;
}

export function payloadMessage(bytes: number): string {
  return `env values, config files and secret files together take ${bytes} bytes; at most ${specLimits.maxPayloadBytes} (${specLimits.maxPayloadBytes / 1024} KiB) fit in the release helm records on the cluster`;
}
