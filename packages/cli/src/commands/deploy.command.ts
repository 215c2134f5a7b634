import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { ApiClient, Uploaded } from '../api/api-client.ts';
import type { Accepted, AppView } from '../api/views.ts';
import { writeProjectFile } from '../config/project-file.ts';
import type { Context } from '../context.ts';
import { ApiError } from '../errors.ts';
import { openArtifact, pythonEntryPointOf, resolveArtifact, type LocalArtifact } from '../deploy/artifact.ts';
import { mergeDeploySettings, releaseBody, type DeployFlags, type DeploySettings } from '../deploy/deploy-settings.ts';
import { readAll, readConfigFiles, readEnvFile, readSecrets } from '../deploy/file-inputs.ts';
import { formatBytes } from '../output/format.ts';
import type { Progress } from '../output/progress.ts';
import { findApp, followAndReport, reportAccepted } from './common.ts';

export interface DeployCommandFlags extends DeployFlags {
  save?: boolean;
  dryRun?: boolean;
}

/**
 * `appserve deploy [ARTIFACT]`: upload the jar, war or zipped Python project, create the app or a new release
 * of it, and follow the rollout until it is done. One Idempotency-Key per deploy: a request retried after a
 * broken connection never makes a second release.
 */
export async function deployCommand(ctx: Context, artifactArgument: string | undefined, flags: DeployCommandFlags): Promise<number> {
  const startedAt = Date.now();
  const file = await ctx.projectFile();
  const envFiles = await Promise.all(flags.envFile.map((path) => readEnvFile(resolve(ctx.io.cwd, path))));
  const settings = mergeDeploySettings(flags, file, artifactArgument === undefined ? undefined : resolve(ctx.io.cwd, artifactArgument), envFiles);
  const progress = await ctx.progress();
  try {
    const client = await ctx.client({ progress });
    // Everything local is read and checked before anything is sent.
    const config = await readConfigFiles(resolvePaths(ctx, settings.config));
    const secrets = await readSecrets(resolvePaths(ctx, settings.secrets), {
      readStdin: () => readAll(ctx.io.stdin),
      ...(ctx.interactive ? { prompt: (name: string) => promptSecret(ctx, name) } : {}),
    });
    const artifact = settings.artifact ? await prepareArtifact(ctx, settings.artifact, settings, progress) : undefined;
    try {
      const existing = await findApp(client, settings.name, settings.cluster);
      if (flags.dryRun) {
        progress.stop();
        return dryRun(ctx, settings, { ...(artifact ? { artifact } : {}), ...(config ? { config } : {}), ...(secrets ? { secrets } : {}) }, existing);
      }
      const uploaded = artifact ? await uploadArtifact(client, artifact, progress) : undefined;
      const inputs = {
        ...(uploaded ? { artifactUrl: uploaded.artifact_url, artifactSha256: uploaded.sha256 } : {}),
        ...(artifact ? { appType: artifact.appType } : {}),
        ...(config ? { config } : {}),
        ...(secrets ? { secrets } : {}),
      };
      const accepted = await submit(client, settings, inputs, existing);
      const { app, release } = accepted;
      progress.step(`${existing ? 'new release' : 'new app'}: ${app.name} ${release.version_label} on cluster ${app.cluster.name} (${settings.taskType === 'build' ? 'build only' : release.strategy})`, {
        app_id: app.id,
        release_id: release.id,
        version: release.version,
      });
      await saveProjectFile(ctx, settings, flags, progress);
      const extra = { artifact: uploaded ?? null };
      if (!settings.wait) {
        progress.stop();
        return reportAccepted(ctx, `${app.name} ${release.version_label} accepted; follow it with: appserve status ${app.name}`, { ...extra, app, release });
      }
      return await followAndReport(ctx, client, app, release, { timeoutMs: settings.timeoutMs, progress, extra, startedAt });
    } finally {
      await artifact?.cleanup();
    }
  } finally {
    progress.stop();
  }
}

function resolvePaths(ctx: Context, map: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!map) return undefined;
  return Object.fromEntries(Object.entries(map).map(([name, source]) => [name, source === '-' || source === '?' ? source : resolve(ctx.io.cwd, source)]));
}

async function prepareArtifact(ctx: Context, path: string, settings: DeploySettings, progress: Progress): Promise<LocalArtifact> {
  const isFolder = !/\.(jar|war|zip)$/i.test(path);
  if (isFolder) progress.activity(`zipping ${path}`);
  const artifact = await resolveArtifact(path);
  if (artifact.fileCount !== undefined) {
    progress.step(`zipped ${artifact.source} (${artifact.fileCount} files, ${formatBytes(artifact.size)})`);
    const entry = await pythonEntryPointOf(artifact.source);
    if (!entry && !settings.env?.APP_MODULE && !settings.env?.APP_SCRIPT) {
      progress.warn('no wsgi.py, asgi.py, main.py or app.py in the project: set APP_MODULE (module:callable) or APP_SCRIPT with --env, or the app will not start');
    }
  }
  void ctx;
  return artifact;
}

async function uploadArtifact(client: ApiClient, artifact: LocalArtifact, progress: Progress): Promise<Uploaded> {
  const total = artifact.size;
  const label = artifact.fileCount === undefined ? artifact.filename : `${artifact.filename} (zipped)`;
  progress.activity(`uploading ${label} 0% (0 B of ${formatBytes(total)})`, { percent: 0 });
  const uploaded = await client.upload(artifact.filename, openArtifact(artifact), (sent) => {
    const percent = total === 0 ? 100 : Math.min(100, Math.floor((sent / total) * 100));
    progress.activity(`uploading ${label} ${percent}% (${formatBytes(sent)} of ${formatBytes(total)})`, { percent, sent_bytes: sent, total_bytes: total });
  });
  progress.step(`uploaded ${artifact.filename} (${formatBytes(uploaded.size)}, sha256 ${uploaded.sha256.slice(0, 12)}…${uploaded.deduplicated ? ', already on the server' : ''})`, {
    sha256: uploaded.sha256,
    size: uploaded.size,
    artifact_url: uploaded.artifact_url,
    deduplicated: uploaded.deduplicated,
  });
  return uploaded;
}

async function submit(client: ApiClient, settings: DeploySettings, inputs: Parameters<typeof releaseBody>[1], existing: AppView | undefined): Promise<Accepted> {
  const key = randomUUID();
  if (existing) return client.send<Accepted>('PATCH', `/apps/${existing.id}`, { body: releaseBody(settings, inputs, false), idempotencyKey: key });
  try {
    return await client.send<Accepted>('POST', '/apps', { body: releaseBody(settings, inputs, true), idempotencyKey: key });
  } catch (error) {
    // Someone created it between our look and our create: deploy to it as an update.
    if (!(error instanceof ApiError) || error.code !== 'app_name_taken') throw error;
    const now = await findApp(client, settings.name, settings.cluster);
    if (!now) throw error;
    return client.send<Accepted>('PATCH', `/apps/${now.id}`, { body: releaseBody(settings, inputs, false), idempotencyKey: `${key}.update` });
  }
}

/** After a first deploy with no project file, remember what it used, so the next one is just `appserve deploy`. */
async function saveProjectFile(ctx: Context, settings: DeploySettings, flags: DeployCommandFlags, progress: Progress): Promise<void> {
  if (flags.save === false || (await ctx.projectFile())) return;
  const path = ctx.projectFilePath();
  const secrets = Object.fromEntries(Object.entries(settings.secrets ?? {}).filter(([, source]) => source !== '-' && source !== '?'));
  try {
    await writeProjectFile(path, {
      name: settings.name,
      ...(settings.cluster ? { cluster: settings.cluster } : {}),
      ...(settings.project ? { project: settings.project } : {}),
      ...(settings.artifact ? { artifact: settings.artifact } : {}),
      ...(settings.image ? { image: settings.image } : {}),
      ...(settings.appType ? { app_type: settings.appType } : {}),
      ...(settings.strategy ? { strategy: settings.strategy } : {}),
      ...(settings.resources ? { resources: settings.resources } : {}),
      ...(settings.profile ? { profile: settings.profile } : {}),
      ...(settings.port ? { port: settings.port } : {}),
      ...(settings.replicas !== undefined ? { replicas: settings.replicas } : {}),
      ...(settings.healthPath ? { health_path: settings.healthPath } : {}),
      ...(settings.volumes ? { volumes: settings.volumes } : {}),
      ...(settings.buildMethod ? { build_method: settings.buildMethod } : {}),
      ...(settings.env && flags.envFile.length === 0 ? { env: settings.env } : {}),
      ...(settings.config ? { config: resolvePaths(ctx, settings.config) } : {}),
      ...(Object.keys(secrets).length ? { secrets: resolvePaths(ctx, secrets) } : {}),
    });
    progress.step(`saved ${path}: the next deploy is just \`appserve deploy\``, { project_file: path });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') progress.warn(`could not save ${path}: ${(error as Error).message}`);
  }
}

/** `--dry-run`: what a deploy would send, with secret values left out, and nothing sent but the app look-up. */
function dryRun(
  ctx: Context,
  settings: DeploySettings,
  local: { artifact?: LocalArtifact; config?: Record<string, string>; secrets?: Record<string, string> },
  existing: AppView | undefined,
): number {
  const body = releaseBody(
    settings,
    {
      ...(local.artifact ? { artifactUrl: `(uploaded first: ${local.artifact.source}, ${formatBytes(local.artifact.size)})`, appType: local.artifact.appType } : {}),
      ...(local.config ? { config: local.config } : {}),
      ...(local.secrets ? { secrets: Object.fromEntries(Object.keys(local.secrets).map((name) => [name, '(secret value, not shown)'])) } : {}),
    },
    existing === undefined,
  );
  const request = existing ? `PATCH /apps/${existing.id}` : 'POST /apps';
  const what = existing ? `a new release of ${existing.name} (now ${existing.current_release?.version_label ?? 'no release'}, ${existing.status})` : `a new app ${settings.name}`;
  ctx.result(`dry run: would upload ${local.artifact?.source ?? 'nothing'} and create ${what}\n${request}\n${JSON.stringify(body, null, 2)}`, {
    dry_run: true,
    request,
    app_id: existing?.id ?? null,
    body,
    exit_code: 0,
  });
  return 0;
}

async function promptSecret(ctx: Context, name: string): Promise<string> {
  const { default: password } = await import('@inquirer/password');
  return password({ message: `value of secret ${name} (not shown)`, mask: false }, { input: ctx.io.stdin, output: ctx.io.stderr });
}
