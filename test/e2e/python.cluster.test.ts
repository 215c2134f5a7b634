// A Python app from a zip on the developer's disk: the general build path (a Kaniko Pod with a generated
// Dockerfile on the Python base image), then a rolling deploy. kwok runs no containers, so what Kaniko would
// push is played by an image copied into the app's repository beforehand, whose digest the build Pod reports
// (its termination message, as Kaniko's --digest-file writes it); the builder checks it against the registry.
import { randomBytes } from 'node:crypto';
import { SIM_RUN_DURATION_ANNOTATION, SIM_TERMINATION_MESSAGE_ANNOTATION } from '@appserving/test-cluster';
import type {} from '@appserving/test-cluster/global-setup';
import { seedBaseImages } from '@appserving/test-support/base-images';
import { startPlatform, type Platform } from '@appserving/test-support/platform';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { copyImage, makeArchive, waitForApp, type AppView } from './e2e-support.ts';

const cluster = inject('appservingCluster');
let platform: Platform;
// No project: an admin's app without one runs in `default`, whose image repository is known before the start.
const name = `e2e-py-${randomBytes(3).toString('hex')}`;
let digest: string;
let appId: string | undefined;

beforeAll(async () => {
  const base = await seedBaseImages(cluster.registryHost);
  const [repository, reference] = base.python.slice(cluster.registryHost.length + 1).split(':') as [string, string];
  digest = await copyImage(cluster.registryHost, { repository, reference }, { repository: `default/${name}`, tag: 'kaniko-output' });
  platform = await startPlatform({
    env: { APPSERVING_BUILD_POD_ANNOTATIONS: JSON.stringify({ [SIM_TERMINATION_MESSAGE_ANNOTATION]: `${digest}\n`, [SIM_RUN_DURATION_ANNOTATION]: '2s' }) },
  });
}, 300_000);

afterAll(async () => {
  if (appId) await platform?.api('DELETE', `/apps/${appId}`);
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  await platform?.stop();
});

describe('a Python app', () => {
  it('uploads a project zip, builds it in a Kaniko Pod and deploys the image with the digest the build reported', async () => {
    const zip = await makeArchive({ 'requirements.txt': 'flask==3.1.0\n', 'app.py': 'from flask import Flask\napp = Flask(__name__)\n' });
    const uploaded = await fetch(`${platform.url}/artifacts?filename=reports.zip`, { method: 'POST', headers: { authorization: `Bearer ${platform.adminToken}`, 'content-type': 'application/zip' }, body: zip });
    expect(uploaded.status).toBe(201);
    const { artifact_url: artifactUrl } = (await uploaded.json()) as { artifact_url: string };
    const created = await platform.api<{ app: AppView }>('POST', '/apps', { name, artifact_url: artifactUrl, port: 8000 });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    appId = created.body.app.id;
    const app = await waitForApp(platform, appId);
    expect(app.current_release?.status, `platform log: ${platform.logFile}`).toBe('succeeded');
    expect(app.app_type).toBe('python');
    expect(app.current_release?.image).toBe(`${cluster.registryHost}/default/${name}:v1@${digest}`);
    const timeline = await platform.api<{ items: { type: string; data: { method?: string; phase?: string } }[] }>('GET', `/apps/${appId}/timeline`);
    expect(timeline.body.items.find((e) => e.type === 'dev.appserving.build.started.v1')?.data.method).toBe('kaniko');
    expect(timeline.body.items.some((e) => e.type === 'dev.appserving.build.progress.v1')).toBe(true);
  }, 300_000);
});
