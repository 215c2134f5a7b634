/**
 * Seeds the synthetic base images into a local registry (default: the local cluster's, 127.0.0.1:26408) and
 * prints the builder settings that use them, as shell `export` lines. Used by scripts/start.sh for the local
 * demo: the simulated cluster runs no image, and nothing can be pulled from the internet here, so the demo
 * builds on these look-alikes of the JRE, Tomcat and Python images.
 */
import { seedBaseImages } from './base-images.ts';

const registry = process.argv[2] ?? '127.0.0.1:26408';
const images = await seedBaseImages(registry);
process.stdout.write(
  [
    `export APPSERVING_REGISTRY=${registry}`,
    'export APPSERVING_REGISTRY_PLAIN_HTTP=true',
    `export APPSERVING_BASE_IMAGE_JAR=${images.jar}`,
    `export APPSERVING_BASE_IMAGE_WAR=${images.war}`,
    `export APPSERVING_BASE_IMAGE_PYTHON=${images.python}`,
    '',
  ].join('\n'),
);
