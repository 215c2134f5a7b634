import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, createWriteStream, existsSync, mkdirSync, openAsBlob, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { cacheRoot } from '../versions.ts';
import type { BinaryPaths, Versions } from '../versions.ts';

const run = promisify(execFile);

/**
 * The images of the real node, made on this machine (no registry outside it can be reached) and pushed to the local
 * registry at every start:
 * - runtimes for apps, from Debian's packages (mmdebstrap): a JRE (Debian 12 has Java 17), Tomcat 10.1 laid out
 *   like the official image (CATALINA_HOME=/usr/local/tomcat), Python 3 with Debian's gunicorn, uvicorn and Flask;
 * - what build Pods run: curl (the artifact download), Kaniko's executor built from its Go module;
 * - the sandbox ("pause") image, from the Kubernetes module's pause.c.
 *
 * Each image is one layer. An image is built once per recipe (its cache key is a hash of the recipe and the binaries
 * it holds) into $APPSERVING_CACHE/cluster/images/.
 */
export type NodeImageName = 'pause' | 'kaniko' | 'curl' | 'jre' | 'tomcat' | 'python';

/** Image references (in the local registry) of the node's images, e.g. 127.0.0.1:26408/appserving-local/jre:17. */
export type NodeImages = Record<NodeImageName, string>;

interface ImageConfig {
  readonly Env: readonly string[];
  readonly Entrypoint?: readonly string[];
  readonly Cmd?: readonly string[];
  readonly WorkingDir?: string;
  readonly User?: string;
  readonly ExposedPorts?: Record<string, Record<string, never>>;
}

interface Recipe {
  readonly name: NodeImageName;
  readonly repository: string;
  readonly tag: string;
  /** Debian packages (mmdebstrap's essential set plus these), or files copied into an empty image. */
  readonly packages?: readonly string[];
  /** Shell commands run on the finished root filesystem ($1). */
  readonly customize?: readonly string[];
  readonly files?: readonly { readonly from: string; readonly to: string; readonly mode: number }[];
  readonly dirs?: readonly string[];
  readonly config: ImageConfig;
}

const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const JAVA_HOME = 'JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64';

function recipes(v: Versions, bins: BinaryPaths): Recipe[] {
  return [
    {
      name: 'pause',
      repository: 'appserving-local/pause',
      tag: v.K8S_VERSION,
      files: [{ from: bins.pause, to: 'pause', mode: 0o755 }],
      config: { Env: [PATH], Entrypoint: ['/pause'], User: '65535:65535' },
    },
    {
      name: 'kaniko',
      repository: 'appserving-local/kaniko-executor',
      tag: v.KANIKO_VERSION,
      files: [
        { from: bins.kanikoExecutor, to: 'kaniko/executor', mode: 0o755 },
        { from: '/etc/ssl/certs/ca-certificates.crt', to: 'kaniko/ssl/certs/ca-certificates.crt', mode: 0o644 },
      ],
      dirs: ['kaniko/.docker', 'workspace', 'etc'],
      config: {
        Env: ['HOME=/root', 'USER=root', 'PATH=/usr/local/bin:/kaniko', 'SSL_CERT_DIR=/kaniko/ssl/certs', 'DOCKER_CONFIG=/kaniko/.docker/'],
        Entrypoint: ['/kaniko/executor'],
        WorkingDir: '/workspace',
      },
    },
    {
      name: 'curl',
      repository: 'appserving-local/curl',
      tag: 'debian12',
      packages: ['curl', 'ca-certificates'],
      config: { Env: [PATH], Cmd: ['curl', '--help'] },
    },
    {
      name: 'jre',
      repository: 'appserving-local/jre',
      tag: '17-debian12',
      packages: ['openjdk-17-jre-headless', 'ca-certificates'],
      config: { Env: [PATH, JAVA_HOME, 'LANG=C.UTF-8'], Cmd: ['java', '-version'] },
    },
    {
      name: 'tomcat',
      repository: 'appserving-local/tomcat',
      tag: '10.1-jre17-debian12',
      packages: ['tomcat10', 'openjdk-17-jre-headless', 'ca-certificates'],
      // Debian splits Tomcat into /usr/share/tomcat10 (bin, lib) and /etc/tomcat10 (conf); the builder puts a war
      // at $CATALINA_HOME/webapps/ROOT.war, so one CATALINA_HOME holds all of it, as in the official image.
      customize: [
        'mkdir -p "$1/usr/local/tomcat/webapps" "$1/usr/local/tomcat/logs" "$1/usr/local/tomcat/temp" "$1/usr/local/tomcat/work"',
        'ln -s /usr/share/tomcat10/bin "$1/usr/local/tomcat/bin"',
        'ln -s /usr/share/tomcat10/lib "$1/usr/local/tomcat/lib"',
        'ln -s /etc/tomcat10 "$1/usr/local/tomcat/conf"',
        // Tomcat binds its port while it initialises, before it deploys the war, and accepts connections only once
        // the war is deployed: a TCP readiness check would pass seconds (a minute on a small CPU limit) before the
        // app answers. Binding when it starts accepting keeps the check honest.
        `sed -i 's|<Connector port="8080" protocol="HTTP/1.1"|<Connector port="8080" protocol="HTTP/1.1" bindOnInit="false"|' "$1/etc/tomcat10/server.xml"`,
        'grep -q \'bindOnInit="false"\' "$1/etc/tomcat10/server.xml"',
      ],
      config: {
        Env: ['PATH=/usr/local/tomcat/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', JAVA_HOME, 'CATALINA_HOME=/usr/local/tomcat', 'LANG=C.UTF-8'],
        Cmd: ['catalina.sh', 'run'],
        WorkingDir: '/usr/local/tomcat',
        ExposedPorts: { '8080/tcp': {} },
      },
    },
    {
      name: 'python',
      repository: 'appserving-local/python',
      tag: '3.11-debian12',
      packages: ['python3', 'python-is-python3', 'python3-pip', 'python3-gunicorn', 'python3-uvicorn', 'python3-flask', 'ca-certificates'],
      // A container's Python is the app's own: pip may install requirements into it (Debian marks it
      // externally managed for hosts). PyPI cannot be reached here, so only requirements Debian's packages already
      // satisfy install locally (docs/local-cluster.md).
      customize: ['rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED'],
      config: { Env: [PATH, 'LANG=C.UTF-8'], Cmd: ['python3'] },
    },
  ];
}

/** What one built image is, on disk. */
interface BuiltImage {
  readonly dir: string;
  readonly layer: string;
  readonly layerDigest: string;
  readonly layerSize: number;
  readonly config: Buffer;
  readonly manifest: Buffer;
}

function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function recipeKey(recipe: Recipe): string {
  const hash = createHash('sha256').update(JSON.stringify(recipe));
  for (const file of recipe.files ?? []) hash.update(readFileSync(file.from));
  return hash.digest('hex').slice(0, 16);
}

function imageDir(recipe: Recipe): string {
  return join(cacheRoot(), 'cluster', 'images', `${recipe.name}-${recipeKey(recipe)}`);
}

function readBuilt(dir: string): BuiltImage | undefined {
  if (!existsSync(join(dir, 'manifest.json'))) return undefined;
  const manifest = readFileSync(join(dir, 'manifest.json'));
  const layer = (JSON.parse(manifest.toString('utf8')) as { layers: { digest: string; size: number }[] }).layers[0];
  if (!layer) return undefined;
  return { dir, layer: join(dir, 'layer.tar.gz'), layerDigest: layer.digest, layerSize: layer.size, config: readFileSync(join(dir, 'config.json')), manifest };
}

/** Debian's apt sources of this machine, and its release (mmdebstrap builds the same release). */
function debianSources(): { suite: string; sources: string } {
  const release = readFileSync('/etc/os-release', 'utf8').match(/^VERSION_CODENAME=(\S+)$/m)?.[1];
  if (!release) throw new Error('node images: /etc/os-release names no Debian release (VERSION_CODENAME)');
  const sources = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'].find((f) => existsSync(f) && readFileSync(f, 'utf8').trim() !== '');
  if (!sources) throw new Error('node images: no apt sources (/etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list)');
  return { suite: release, sources };
}

async function rootfsTar(recipe: Recipe, tmp: string, out: string): Promise<void> {
  if (recipe.packages) {
    const { suite, sources } = debianSources();
    const args = [
      '--variant=essential',
      '--mode=root',
      '--format=tar',
      '--skip=output/dev',
      `--include=${recipe.packages.join(',')}`,
      // Docs, manual pages and translations are left out; update-alternatives still needs man1 to exist.
      '--essential-hook=mkdir -p "$1/usr/share/man/man1"',
      '--dpkgopt=path-exclude=/usr/share/doc/*',
      '--dpkgopt=path-exclude=/usr/share/man/*',
      '--dpkgopt=path-exclude=/usr/share/locale/*',
      '--dpkgopt=path-include=/usr/share/locale/locale.alias',
      ...(recipe.customize ?? []).map((c) => `--customize-hook=${c}`),
      suite,
      out,
      sources,
    ];
    try {
      await run('mmdebstrap', args, { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, TMPDIR: tmp } });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      const tail = (e.stderr ?? e.message).trim().split('\n').slice(-15).join('\n');
      throw new Error(`node image ${recipe.name}: mmdebstrap ${suite} with ${recipe.packages.join(' ')} failed:\n${tail}`, { cause: err });
    }
    return;
  }
  const staging = join(tmp, 'rootfs');
  for (const d of recipe.dirs ?? []) mkdirSync(join(staging, d), { recursive: true });
  for (const f of recipe.files ?? []) {
    mkdirSync(join(staging, f.to, '..'), { recursive: true });
    copyFileSync(f.from, join(staging, f.to));
    await run('chmod', [f.mode.toString(8), join(staging, f.to)]);
  }
  await run('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', staging, '-cf', out, '.']);
}

/** Gzips a tar, returning the digest of the uncompressed tar (the config's diff_id) and of the gzip (the blob). */
async function gzipLayer(tar: string, out: string): Promise<{ diffId: string; digest: string; size: number }> {
  const raw = createHash('sha256');
  const gz = createHash('sha256');
  let size = 0;
  const tap = (hash: ReturnType<typeof createHash>, count: boolean) =>
    new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        if (count) size += chunk.length;
        done(null, chunk);
      },
    });
  await pipeline(createReadStream(tar), tap(raw, false), createGzip({ level: 6 }), tap(gz, true), createWriteStream(out));
  return { diffId: `sha256:${raw.digest('hex')}`, digest: `sha256:${gz.digest('hex')}`, size };
}

async function buildImage(recipe: Recipe): Promise<BuiltImage> {
  const dir = imageDir(recipe);
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    await rootfsTar(recipe, tmp, join(tmp, 'rootfs.tar'));
    const layer = await gzipLayer(join(tmp, 'rootfs.tar'), join(tmp, 'layer.tar.gz'));
    rmSync(join(tmp, 'rootfs.tar'));
    rmSync(join(tmp, 'rootfs'), { recursive: true, force: true });
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: recipe.config,
        rootfs: { type: 'layers', diff_ids: [layer.diffId] },
        history: [{ created_by: `appserving local cluster: ${recipe.packages ? `Debian packages ${recipe.packages.join(' ')}` : 'files built here'}` }],
      }),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer.digest, size: layer.size }],
      }),
    );
    writeFileSync(join(tmp, 'config.json'), config);
    writeFileSync(join(tmp, 'manifest.json'), manifest);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  const built = readBuilt(dir);
  if (!built) throw new Error(`node image ${recipe.name}: built, but ${dir} holds no manifest`);
  return built;
}

/**
 * Builds the node's images that are not cached yet (the Debian ones together: mostly downloads and dpkg), with a
 * progress line every 30 s. A cold build takes a few minutes.
 */
export async function ensureNodeImages(v: Versions, bins: BinaryPaths, log: (line: string) => void, only?: readonly NodeImageName[]): Promise<void> {
  const missing = recipes(v, bins).filter((r) => (!only || only.includes(r.name)) && !readBuilt(imageDir(r)));
  if (missing.length === 0) return;
  const t0 = Date.now();
  const pending = new Set(missing.map((r) => r.name));
  log(`building the real node's images: ${missing.map((r) => r.name).join(', ')} (Debian packages with mmdebstrap; a few minutes the first time)`);
  const ticker = setInterval(() => log(`node images: still building ${[...pending].join(', ')} (${Math.round((Date.now() - t0) / 1000)} s)`), 30_000);
  try {
    await Promise.all(
      missing.map(async (r) => {
        const built = await buildImage(r);
        pending.delete(r.name);
        log(`node image ${r.name} built: ${(built.layerSize / 1024 / 1024).toFixed(1)} MiB compressed (${Math.round((Date.now() - t0) / 1000)} s)`);
      }),
    );
  } finally {
    clearInterval(ticker);
  }
}

async function pushBlob(registryUrl: string, repository: string, digest: string, body: Blob): Promise<void> {
  const head = await fetch(`${registryUrl}/v2/${repository}/blobs/${digest}`, { method: 'HEAD' });
  if (head.status === 200) return;
  const start = await fetch(`${registryUrl}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  const location = start.headers.get('location');
  if (start.status !== 202 || !location) throw new Error(`registry: starting an upload to ${repository} answered ${start.status}`);
  const url = new URL(location, registryUrl);
  url.searchParams.set('digest', digest);
  const put = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body });
  if (put.status !== 201) throw new Error(`registry: blob ${digest} of ${repository} refused (${put.status}: ${await put.text()})`);
}

/** Pushes every node image to the local registry (blobs it already has are not sent again); returns their names. */
export async function pushNodeImages(v: Versions, bins: BinaryPaths, registryHost: string): Promise<NodeImages> {
  const registryUrl = `http://${registryHost}`;
  const out: Partial<NodeImages> = {};
  for (const recipe of recipes(v, bins)) {
    const built = readBuilt(imageDir(recipe));
    if (!built) throw new Error(`node image ${recipe.name} is not built (ensureNodeImages first)`);
    await pushBlob(registryUrl, recipe.repository, built.layerDigest, await openAsBlob(built.layer));
    await pushBlob(registryUrl, recipe.repository, sha256(built.config), new Blob([built.config]));
    const put = await fetch(`${registryUrl}/v2/${recipe.repository}/manifests/${recipe.tag}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: built.manifest,
    });
    if (put.status !== 201) throw new Error(`registry: manifest of ${recipe.repository}:${recipe.tag} refused (${put.status}: ${await put.text()})`);
    out[recipe.name] = `${registryHost}/${recipe.repository}:${recipe.tag}`;
  }
  return out as NodeImages;
}
