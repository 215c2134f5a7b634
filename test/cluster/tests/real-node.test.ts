// The real node of the local cluster: a kubelet with containerd and runc beside the kwok node. Every assertion here
// needs a process that really ran in a container: a token it made up at start is read back over HTTP (through a
// port-forward and through the traffic gateway), from its log, and from a volume after its pod is replaced.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { promisify } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, eventually, kube } from './helpers.ts';

const run = promisify(execFile);
const k = kube();
const node = k.cluster.realNode;
let ns: string;

beforeAll(async () => {
  if (!node) throw new Error('the local cluster has no real node (was it started with APPSERVING_CLUSTER_REAL_NODE=0?)');
  ns = await createNamespace(k, 'real');
});
afterAll(async () => {
  if (ns) await deleteNamespace(k, ns);
});

/**
 * A pod of the node's Python image running a small HTTP server that answers with `token`, which it also prints and
 * writes into /data when a volume is mounted there; nothing in the test knows the token but through the process.
 */
function tokenServer(name: string, opts: { volumeClaim?: string; labels?: Record<string, string> } = {}): V1Pod {
  const script = [
    'import http.server, os, secrets, pathlib',
    "data = pathlib.Path('/data/token')",
    "token = data.read_text() if data.exists() else secrets.token_hex(8)",
    "if pathlib.Path('/data').is_dir() and not data.exists(): data.write_text(token)",
    "print('token', token, 'pid', os.getpid(), flush=True)",
    'class H(http.server.BaseHTTPRequestHandler):',
    '    def do_GET(self):',
    "        body = ('ready' if self.path == '/ready' else token).encode()",
    '        self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers(); self.wfile.write(body)',
    'http.server.ThreadingHTTPServer(("", 8080), H).serve_forever()',
  ].join('\n');
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: name, ...opts.labels } },
    spec: {
      nodeSelector: node?.placement.nodeSelector,
      tolerations: node?.placement.tolerations,
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'app',
          image: node?.images.python,
          command: ['python3', '-c', script],
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 1 },
          resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
          ...(opts.volumeClaim ? { volumeMounts: [{ name: 'data', mountPath: '/data' }] } : {}),
        },
      ],
      ...(opts.volumeClaim ? { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: opts.volumeClaim } }] } : {}),
    },
  };
}

async function readyPod(name: string): Promise<V1Pod> {
  return eventually(
    `pod ${name} Ready`,
    () => k.core.readNamespacedPod({ name, namespace: ns }),
    (pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    90_000,
  );
}

/** The token the pod's log says its process made (its first line). */
async function loggedToken(name: string): Promise<string> {
  const log = await eventually(
    `a token in the log of ${name}`,
    () => k.core.readNamespacedPodLog({ name, namespace: ns, container: 'app' }),
    (text) => /^token [0-9a-f]{16} pid \d+$/m.test(text),
  );
  return /^token ([0-9a-f]{16}) pid \d+$/m.exec(log)?.[1] ?? '';
}

/** GET through `kubectl port-forward` (API server, kubelet, containerd into the pod's network namespace), on 127.0.0.1. */
async function viaPortForward(name: string): Promise<string> {
  const forward = spawn(k.cluster.kubectlBinary, [`--kubeconfig=${k.cluster.kubeconfigPath}`, '-n', ns, 'port-forward', '--address=127.0.0.1', `pod/${name}`, ':8080'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      forward.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      forward.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
      forward.once('exit', (code) => reject(new Error(`kubectl port-forward exited ${code}: ${out}`)));
    });
    return await get(`http://127.0.0.1:${port}/`);
  } finally {
    forward.kill();
  }
}

function get(url: string, host?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: host ? { host } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url} (${host ?? ''}) answered ${res.statusCode}: ${body}`))));
    });
    req.setTimeout(5000, () => req.destroy(new Error(`timeout on ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

describe('the real node', () => {
  it('is Ready beside the kwok node, addressed on its bridge, and tainted so that only pods that ask for it run there', async () => {
    const real = await k.core.readNode({ name: node?.name ?? '' });
    expect(real.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(real.status?.addresses?.find((a) => a.type === 'InternalIP')?.address).toBe(node?.nodeIp);
    expect(real.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^containerd:\/\/2\./);
    expect(real.status?.nodeInfo?.kubeletVersion).toBe(k.cluster.versions.K8S_VERSION);
    expect(real.spec?.taints).toEqual([{ key: 'appserving.dev/node', value: 'real', effect: 'NoSchedule' }]);
    const kwok = await k.core.readNode({ name: k.cluster.nodeName });
    expect(kwok.spec?.taints ?? []).toEqual([]);
    // Pod traffic stays on the bridge: a packet from it that would leave through another interface is refused.
    const { stdout } = await run('iptables', ['-w', '-S', `APPSERVING-${k.cluster.ports.apiserver}`]);
    expect(stdout).toContain(`-A APPSERVING-${k.cluster.ports.apiserver} -i asv${k.cluster.ports.apiserver} -j REJECT`);
  });

  it('runs a container for real: its readiness probe passes, it answers on 127.0.0.1 through a port-forward and the traffic gateway, its log is its own', async () => {
    await k.core.createNamespacedPod({ namespace: ns, body: tokenServer('web') });
    const pod = await readyPod('web');
    expect(pod.spec?.nodeName).toBe(node?.name);
    expect(pod.status?.podIP).toMatch(/^100\.66\.\d+\.\d+$/);
    const token = await loggedToken('web');
    expect(await viaPortForward('web')).toBe(token);

    await k.core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } },
    });
    const [gatewayNs, gatewayName] = (node?.trafficGateway.gateway ?? '/').split('/');
    const host = `web-${ns}.${node?.trafficGateway.domain}`;
    await k.apply({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'web', namespace: ns },
      spec: { parentRefs: [{ name: gatewayName, namespace: gatewayNs }], hostnames: [host], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] },
    } as never);
    const answer = await eventually(`${host} through the traffic gateway`, () => get(`${node?.trafficGateway.url}/`, host), (body) => body.length > 0, 30_000);
    expect(answer).toBe(token);
  });

  it('has its containers\' CPU and memory in the cluster\'s Prometheus, scraped from the kubelet\'s cAdvisor over TLS with a client certificate', async () => {
    await k.core.createNamespacedPod({ namespace: ns, body: tokenServer('meter') });
    await readyPod('meter');
    const query = async (promql: string) => {
      const url = `${k.cluster.prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`;
      const body = (await (await fetch(url)).json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      return body.data.result;
    };
    const selector = `namespace="${ns}",pod="meter",container="app"`;
    // The pod's own container (not the pause container, not the pod's cgroup), with the labels app metrics select on.
    // (A kubelet whose cAdvisor cannot reach containerd, as before `--containerd` was given, names pod cgroups only.)
    const cpu = await eventually(
      'the container\'s CPU in Prometheus',
      () => query(`container_cpu_usage_seconds_total{${selector}}`),
      (r) => r.length > 0,
      60_000,
    ).catch(async (error: unknown) => {
      throw new Error(`${String(error)}; the pod's series: ${JSON.stringify((await query(`container_cpu_usage_seconds_total{namespace="${ns}",pod="meter"}`)).map((r) => r.metric))}`);
    });
    expect(cpu[0]?.metric).toMatchObject({ job: 'kubelet-cadvisor', node: node?.name, namespace: ns, pod: 'meter', container: 'app' });
    expect(Number(cpu[0]?.value[1])).toBeGreaterThan(0);
    const limit = await eventually('the pod\'s memory limit in Prometheus', () => query(`container_spec_memory_limit_bytes{${selector}}`), (r) => r.length > 0, 60_000);
    expect(Number(limit[0]?.value[1])).toBe(128 * 1024 * 1024);
    const memory = await query(`container_memory_working_set_bytes{${selector}}`);
    expect(Number(memory[0]?.value[1])).toBeGreaterThan(1024 * 1024);
    const targets = (await (await fetch(`${k.cluster.prometheusUrl}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: { labels: { job: string }; health: string; scrapeUrl: string; lastError: string }[] } };
    const kubelet = targets.data.activeTargets.find((t) => t.labels.job === 'kubelet-cadvisor');
    expect(kubelet).toMatchObject({ health: 'up', lastError: '', scrapeUrl: `https://${node?.nodeIp}:${k.cluster.ports.kubelet}/metrics/cadvisor` });
  });

  it('keeps a volume of the local provisioner across a pod replaced', async () => {
    await k.core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Mi' } } } },
    });
    const claim = await eventually('claim data Bound', () => k.core.readNamespacedPersistentVolumeClaim({ name: 'data', namespace: ns }), (pvc) => pvc.status?.phase === 'Bound');
    expect(claim.spec?.storageClassName).toBe(node?.storageClass);
    await k.core.createNamespacedPod({ namespace: ns, body: tokenServer('keeper', { volumeClaim: 'data' }) });
    await readyPod('keeper');
    const first = await loggedToken('keeper');
    await k.core.deleteNamespacedPod({ name: 'keeper', namespace: ns, gracePeriodSeconds: 0 });
    await eventually('pod keeper gone', () => k.core.readNamespacedPod({ name: 'keeper', namespace: ns }).then(() => false, () => true), (gone) => gone);
    await k.core.createNamespacedPod({ namespace: ns, body: tokenServer('keeper', { volumeClaim: 'data', labels: { round: String(randomBytes(2).toString('hex')) } }) });
    await readyPod('keeper');
    expect(await loggedToken('keeper')).toBe(first);
    expect(await viaPortForward('keeper')).toBe(first);
  });
});
