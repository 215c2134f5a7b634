import type { FieldRuleName } from './field-rules.ts';

/**
 * One name or value, and who accepts it: the platform's rule (`fieldRules`), and the Kubernetes API server when the
 * value lands in a Kubernetes object as it is (`undefined`: it does not, or the API server does not look). A value
 * the API server refuses is one the platform must refuse; a value the platform refuses although the API server
 * takes it says `why`.
 *
 * The table is shared by the unit test of the rules (`field-rules.unit.test.ts`), the gateway's API test, and the
 * cluster test that puts every value where the platform would put it, in an object sent to the real API server
 * with a server-side dry run, and checks that the API server still answers as written here
 * (services/gateway/src/domain/field-rules.cluster.test.ts).
 */
export interface FieldCase {
  readonly rule: FieldRuleName;
  readonly value: string;
  readonly platform: 'accept' | 'refuse';
  readonly kubernetes?: 'accept' | 'refuse';
  readonly why?: string;
}

const YAML = 'the app chart writes environment names into YAML as they are';
const SHELL = 'shells, Spring and most runtimes only read names like C identifiers';
const CHART = "the app chart's values schema refuses it (services/deployer/chart/values.schema.json)";
const PATH = 'a mount path is a plain absolute path: the platform mounts its own files under /app and the agent under /otel-agent';

const cases = (rule: FieldRuleName, rows: [string, FieldCase['platform'], FieldCase['kubernetes'], string?][]): FieldCase[] =>
  rows.map(([value, platform, kubernetes, why]) => ({ rule, value, platform, ...(kubernetes ? { kubernetes } : {}), ...(why ? { why } : {}) }));

export const fieldCases: readonly FieldCase[] = [
  ...cases('envName', [
    ['JAVA_OPTS', 'accept', 'accept'],
    ['_private', 'accept', 'accept'],
    ['a1', 'accept', 'accept'],
    ['1A', 'refuse', 'accept', SHELL],
    ['A-B', 'refuse', 'accept', SHELL],
    ['a.b', 'refuse', 'accept', SHELL],
    ['A B', 'refuse', 'accept', YAML],
    ['A: b', 'refuse', 'accept', YAML],
    ['{{ .Release }}', 'refuse', 'accept', YAML],
    ['A=B', 'refuse', 'refuse'],
    ['', 'refuse', 'refuse'],
    ['Ä', 'refuse', 'refuse'],
    ['A\tB', 'refuse', 'refuse'],
    ['X\nY', 'refuse', 'refuse'],
  ]),
  ...cases('fileName', [
    ['application.yml', 'accept', 'accept'],
    ['app-config_1.properties', 'accept', 'accept'],
    ['.env', 'accept', 'accept'],
    ['a..b', 'accept', 'accept'],
    ['x'.repeat(253), 'accept', 'accept'],
    ['..data', 'refuse', 'refuse'],
    ['...x', 'refuse', 'refuse'],
    ['..', 'refuse', 'refuse'],
    ['.', 'refuse', 'refuse'],
    ['../../etc/passwd', 'refuse', 'refuse'],
    ['a/b.conf', 'refuse', 'refuse'],
    ['a b', 'refuse', 'refuse'],
    ['é.conf', 'refuse', 'refuse'],
    ['x'.repeat(254), 'refuse', 'refuse'],
  ]),
  ...cases('volumeName', [
    ['data', 'accept', 'accept'],
    ['my-data-1', 'accept', 'accept'],
    ['a'.repeat(63), 'accept', 'accept'],
    ['1data', 'refuse', 'accept', 'the platform\'s names start with a letter (RFC 1035), like the app names they are joined to'],
    ['Data', 'refuse', 'refuse'],
    ['data_1', 'refuse', 'refuse'],
    ['-data', 'refuse', 'refuse'],
    ['data-', 'refuse', 'refuse'],
    ['d.ata', 'refuse', 'refuse'],
    ['a'.repeat(64), 'refuse', 'refuse'],
  ]),
  ...cases('mountPath', [
    ['/data', 'accept', 'accept'],
    ['/var/lib/app-data', 'accept', 'accept'],
    ['/data/', 'refuse', 'accept', PATH],
    ['data', 'refuse', 'accept', PATH],
    ['/', 'refuse', 'accept', 'mounting a volume over the whole file system hides the image'],
    ['/a/../b', 'refuse', 'accept', PATH],
    ['/a/./b', 'refuse', 'accept', PATH],
    ['//x', 'refuse', 'accept', PATH],
    ['/a:b', 'refuse', 'accept', PATH],
    ['/a b', 'refuse', 'accept', PATH],
    ['/a\nb', 'refuse', 'accept', PATH],
    ['/ä', 'refuse', 'accept', PATH],
  ]),
  ...cases('volumeSize', [
    ['1Gi', 'accept', 'accept'],
    ['500Mi', 'accept', 'accept'],
    ['2Ti', 'accept', 'accept'],
    ['0Gi', 'refuse', 'refuse'],
    ['1G', 'refuse', 'accept', 'sizes are whole Mi, Gi or Ti, as a person writes them'],
    ['1.5Gi', 'refuse', 'accept', 'sizes are whole Mi, Gi or Ti, as a person writes them'],
  ]),
  ...cases('healthPath', [
    ['/health', 'accept', 'accept'],
    ['/actuator/health?probe=1', 'accept', 'accept'],
    ['health', 'refuse', 'accept', CHART],
    ['/a b', 'refuse', 'accept', CHART],
    ['/a\nb', 'refuse', 'accept', CHART],
    ['/ä', 'refuse', 'accept', CHART],
  ]),
  ...cases('cpu', [
    ['500m', 'accept', 'accept'],
    ['0.5', 'accept', 'accept'],
    ['2', 'accept', 'accept'],
    ['0', 'refuse', 'accept', 'a CPU limit of zero stops the app: ' + CHART],
    ['1.5m', 'refuse', 'accept', CHART],
    ['1e3', 'refuse', 'accept', CHART],
    ['99999999999999999999', 'refuse', 'accept', CHART],
    ['-1', 'refuse', 'refuse'],
  ]),
  ...cases('memory', [
    ['512Mi', 'accept', 'accept'],
    ['2Gi', 'accept', 'accept'],
    ['1000M', 'accept', 'accept'],
    ['0', 'refuse', 'accept', 'a memory limit of zero stops the app: ' + CHART],
    ['1.5Gi', 'refuse', 'accept', CHART],
    ['1e9', 'refuse', 'accept', CHART],
    ['1Pi', 'refuse', 'accept', CHART],
  ]),
  ...cases('profile', [
    ['default', 'accept', undefined],
    ['prod,metrics', 'accept', undefined],
    ['prod\nX=1', 'refuse', undefined],
    ['a b', 'refuse', undefined],
  ]),
  ...cases('imageReference', [
    ['nginx', 'accept', 'accept'],
    ['nginx:1.27', 'accept', 'accept'],
    ['registry.example.com:5000/team/app:1.4.2', 'accept', 'accept'],
    ['registry.example.com/team/app@sha256:' + 'a'.repeat(64), 'accept', 'accept'],
    ['UPPER/Case', 'refuse', 'accept', 'OCI repository names are lower case: no registry serves this'],
    ['nginx:1; rm -rf /', 'refuse', 'accept', 'not an image reference'],
    ['-oProxyCommand=x', 'refuse', 'accept', 'not an image reference'],
    ['file:///etc/passwd', 'refuse', 'accept', 'not an image reference'],
    [' nginx', 'refuse', 'refuse'],
    ['nginx@sha256:short', 'refuse', 'accept', 'not an image reference'],
  ]),
  ...cases('plainText', [
    ['CI deploy token', 'accept', undefined],
    ['토큰 é', 'accept', undefined],
    ['line\nbreak', 'refuse', undefined],
    ['bell\u0007', 'refuse', undefined],
    ['\u202eevil', 'refuse', undefined],
  ]),
];
