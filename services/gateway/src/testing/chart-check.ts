import { readFileSync } from 'node:fs';
import { loadConfig, type ReleaseRefV1, type ReleaseSpecV1 } from '@appserving/shared';
import { Compile } from 'typebox/compile';
import { buildChartValues } from '../../../deployer/src/chart/chart-values.ts';
import { deployerSettings } from '../../../deployer/src/config.ts';

/**
 * What the deployer and helm would say of a release the API accepted, without a cluster: the deployer's own chart
 * values (the code it runs), checked against the app chart's values.schema.json (what helm checks before it renders
 * anything), plus the names the chart's templates write into YAML as they are (env names, file names), which must
 * match the schema's own patterns. Tests use it to show that an accepted release cannot fail later for its shape.
 */
const schemaFile = new URL('../../../deployer/chart/values.schema.json', import.meta.url);
const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as { $schema?: string; properties: Record<string, { patternProperties?: Record<string, unknown>; properties?: Record<string, { patternProperties?: Record<string, unknown> }> }> };
delete schema.$schema;
const validator = Compile(schema as never);
const keyPattern = (patterns: Record<string, unknown> | undefined) => new RegExp(Object.keys(patterns ?? { '.*': true })[0] ?? '.*', 'u');
const envKey = keyPattern(schema.properties['env']?.patternProperties);
const fileKey = keyPattern(schema.properties['config']?.properties?.['files']?.patternProperties);

/** The deployer's settings on a cluster like the local one: a Gateway for canaries, a domain, an agent image. */
const settings = loadConfig(deployerSettings, { APPSERVING_APP_GATEWAY: 'appserving-system/apps', APPSERVING_APP_DOMAIN: 'localhost', APPSERVING_APP_URL: 'http://{host}:26411/' });

export interface ChartCheckInput {
  release: ReleaseRefV1;
  spec: ReleaseSpecV1;
  image: string;
  versionLabel: string;
  namespace: string;
  secrets: Record<string, string>;
}

/** Problems helm (or the deployer before it) would find with the release; empty when it would install. */
export function chartProblems(input: ChartCheckInput): string[] {
  let values: unknown;
  try {
    values = buildChartValues({
      ...input,
      skipAnalysis: false,
      appType: input.spec.app_type ?? 'jar',
      prometheusUrl: 'http://127.0.0.1:26407',
      placement: null,
      clusterName: 'local',
      gateWebhookBase: 'http://127.0.0.1:9114/flagger/v1/apps/a/releases/r/t',
      settings,
    });
  } catch (error) {
    return [`deployer: ${(error as Error).message}`];
  }
  const problems = validator.Check(values) ? [] : [...validator.Errors(values)].slice(0, 5).map((e) => `values.schema.json: ${e.instancePath} ${e.message}`);
  for (const name of Object.keys(input.spec.env)) if (!envKey.test(name)) problems.push(`chart: env name ${JSON.stringify(name)} is written into YAML as it is`);
  for (const name of [...Object.keys(input.spec.config), ...Object.keys(input.secrets)]) if (!fileKey.test(name)) problems.push(`chart: file name ${JSON.stringify(name)}`);
  return problems;
}
