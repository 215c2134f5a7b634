import { Command, Option } from 'commander';
import type { DeployCommandFlags } from './commands/deploy.command.ts';
import type { eventsCommand, logsCommand } from './commands/events.commands.ts';
import type { loginCommand } from './commands/login.command.ts';
import type { deleteCommand, gateCommand, rollbackCommand } from './commands/operate.commands.ts';
import { Context, type CliIo, type GlobalOptions } from './context.ts';

// Each command's code is loaded when it runs, so `appserve --version` or `--help` load none of it.
const read = () => import('./commands/read.commands.ts');
const deploying = () => import('./commands/deploy.command.ts');
const events = () => import('./commands/events.commands.ts');
const login = () => import('./commands/login.command.ts');
const operate = () => import('./commands/operate.commands.ts');
const metrics = () => import('./commands/metrics.command.ts');

export const EXIT_CODES_HELP = `
Exit codes:
  0    success (or, without --wait, the request was accepted)
  1    the release failed, was aborted or was rolled back (the diagnosis is printed)
  2    usage error: bad flags or arguments, a bad appserve.yaml, or the server refused the request as invalid
  3    authentication: not logged in, or the token was refused (401/403)
  4    the server could not be reached (or answered 502/503/504)
  5    --timeout passed while waiting; the release goes on
  6    conflict: the app is busy with another operation (409)
  7    the server failed (500) or something unexpected happened
  130  interrupted (Ctrl-C) while waiting; the release goes on

Environment:
  APPSERVE_SERVER   server URL (instead of --server or the login)
  APPSERVE_TOKEN    API token (instead of the login; for CI)
  XDG_CONFIG_HOME   where the login is kept (default ~/.config): appserving/credentials.json, mode 0600
  NO_COLOR          no colours

Docs: docs/cli.md`;

const collect = (value: string, previous: string[]) => [...previous, value];

/**
 * The command tree. Each action builds a `Context` from the global options and returns an exit code, which
 * `run` hands back to main.ts (the only place that exits).
 */
export function buildProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('appserve')
    .description('Deploy a jar, war or Python project to Kubernetes through AppServing, and follow, roll back and inspect it.')
    .version(io.version, '-V, --version')
    .option('-s, --server <url>', 'AppServing server URL (default: APPSERVE_SERVER, appserve.yaml, or the login)')
    .option('--json', 'machine-readable output: one JSON document on stdout (JSON lines for streams); progress as JSON lines on stderr')
    .option('-f, --file <path>', 'project file with deploy defaults (default: ./appserve.yaml)')
    .option('-q, --quiet', 'no progress lines, only the result')
    .option('--no-color', 'no colours')
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError(true)
    .addHelpText('after', EXIT_CODES_HELP)
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .exitOverride();

  const run = (action: (ctx: Context, ...args: never[]) => Promise<number>) =>
    async function (this: Command, ...args: unknown[]) {
      const command = args[args.length - 1] as Command;
      const ctx = new Context(io, command.optsWithGlobals<GlobalOptions>());
      setExitCode(await (action as (ctx: Context, ...rest: unknown[]) => Promise<number>)(ctx, ...args.slice(0, -1)));
    };

  const waitOptions = (command: Command) =>
    command
      .option('--wait', 'wait until it is done, showing progress (default)')
      .option('--no-wait', 'return as soon as the server accepted it')
      .option('--timeout <duration>', 'longest wait, e.g. 90s, 20m, 1h (default 30m)');

  waitOptions(
    program
      .command('deploy')
      .argument('[artifact]', 'a .jar, .war or .zip, or a Python project folder (zipped on the fly); default: appserve.yaml\'s artifact')
      .description('upload the artifact, create the app or a new release of it, and follow the rollout until it is done')
      .option('-n, --name <name>', 'app name (default: appserve.yaml, else from the file or folder name)')
      .option('-c, --cluster <name|id>', 'target cluster (default: the default cluster)')
      .option('-p, --project <name>', 'project (namespace) of a new app')
      .option('--image <ref>', 'deploy this existing image instead of building an artifact')
      .addOption(new Option('--app-type <type>', 'what the artifact is (default: from its extension)').choices(['jar', 'war', 'python']))
      .addOption(new Option('--strategy <strategy>', 'how the release rolls out').choices(['rolling', 'canary', 'blue-green']))
      .option('-r, --resources <size>', 'small, medium, large, or cpu=500m,memory=1Gi')
      .option('--profile <profile>', 'Spring profile (SPRING_PROFILES_ACTIVE)')
      .option('--port <port>', 'port the app listens on (default 8080)')
      .option('--replicas <n>', 'number of pods')
      .option('--health-path <path>', 'HTTP path of the readiness check, e.g. /actuator/health')
      .option('--app-version <label>', 'version label of this release, e.g. 1.4.2 (default v<number>)')
      .option('-e, --env <KEY=VALUE>', 'environment variable (repeat for more); replaces the app\'s env', collect, [])
      .option('--env-file <path>', 'environment variables from a KEY=VALUE file (repeatable)', collect, [])
      .option('--config <[NAME=]PATH>', 'mount a config file (repeatable); replaces the app\'s config files', collect, [])
      .option('--secret <NAME[=PATH|-]>', 'mount a secret file: its value from PATH, stdin (-), or a hidden prompt (repeatable); never shown', collect, [])
      .option('--volume <NAME:PATH:SIZE>', 'a persistent volume, e.g. data:/var/lib/app:1Gi (repeatable); replaces the app\'s volumes', collect, [])
      .addOption(new Option('--build-method <method>', 'how the image is made (default: the platform\'s choice)').choices(['direct', 'kaniko']))
      .option('--build-only', 'build and push the image, do not deploy it')
      .option('--no-save', 'do not write appserve.yaml after a first deploy')
      .option('--dry-run', 'show what would be sent (secret values left out) and send nothing but the app look-up')
      .addHelpText(
        'after',
        `
Examples:
  appserve deploy target/orders.jar                        # new app "orders", or a new release of it
  appserve deploy                                          # again, with appserve.yaml's defaults
  appserve deploy build/libs/shop.war --strategy canary -r medium -e JAVA_OPTS=-Xmx512m
  appserve deploy ./my-flask-app --env APP_MODULE=app:app  # a Python project folder
  cat db-password.txt | appserve deploy --secret db-password=- --no-wait --json`,
      ),
  ).action(run(async (ctx, artifact: string | undefined, flags: DeployCommandFlags) => (await deploying()).deployCommand(ctx, artifact, flags)));

  program
    .command('status')
    .argument('[app]', 'app name or id (default: appserve.yaml\'s name)')
    .option('-c, --cluster <name|id>', 'the cluster, when several apps have this name')
    .description('show an app, its current release, and why it failed if it did')
    .action(run(async (ctx, app: string | undefined, flags: { cluster?: string }) => (await read()).statusCommand(ctx, app, flags)));

  program
    .command('open')
    .argument('[app]', 'app name or id (default: appserve.yaml\'s name)')
    .option('-c, --cluster <name|id>', 'the cluster, when several apps have this name')
    .option('--print', 'only print the URL, do not open a browser')
    .description("print the app's URL and open it in your browser")
    .action(run(async (ctx, app: string | undefined, flags: { cluster?: string; print?: boolean }) => (await read()).openCommand(ctx, app, flags)));

  program
    .command('list')
    .alias('ls')
    .option('-c, --cluster <name|id>', 'only apps on this cluster')
    .description('list your apps')
    .action(run(async (ctx, flags: { cluster?: string }) => (await read()).listCommand(ctx, flags)));

  program
    .command('history')
    .argument('[app]', 'app name or id')
    .option('-c, --cluster <name|id>', 'the cluster, when several apps have this name')
    .description('list every release of an app, newest first')
    .action(run(async (ctx, app: string | undefined, flags: { cluster?: string }) => (await read()).historyCommand(ctx, app, flags)));

  program
    .command('logs')
    .argument('[app]', 'app name or id')
    .option('-c, --cluster <name|id>', 'the cluster, when several apps have this name')
    .option('-F, --follow', 'keep printing new lines until Ctrl-C')
    .option('--tail <lines>', 'lines per pod (default 100)')
    .option('--previous', 'the previous run of a crashed container')
    .option('--release <version>', 'only pods of this release: its number (3) or label (v3)')
    .description("print the app's pod logs")
    .action(run(async (ctx, app: string | undefined, flags: Parameters<typeof logsCommand>[2]) => (await events()).logsCommand(ctx, app, flags)));

  program
    .command('metrics')
    .argument('[app]', 'app name or id')
    .option('-c, --cluster <name|id>', 'the cluster, when several apps have this name')
    .option('--range <duration>', 'how far back, from 1m to 7d (default 1h)')
    .option('--step <duration>', 'time between points, at least 5s (default range/120)')
    .description("show the app's requests, errors, latency, CPU and memory per track (stable, or primary and canary), with release markers")
    .action(run(async (ctx, app: string | undefined, flags: { cluster?: string; range?: string; step?: string }) => (await metrics()).metricsCommand(ctx, app, flags)));

  program
    .command('events')
    .argument('[app]', 'app name or id')
    .option('-c, --cluster <name|id>', 'the cluster, when several apps have this name')
    .option('-F, --follow', 'then print new events as they happen, until Ctrl-C')
    .option('--limit <n>', 'only the last n recorded events')
    .description('print everything recorded about an app: commands, builds, rollout steps, status changes')
    .action(run(async (ctx, app: string | undefined, flags: Parameters<typeof eventsCommand>[2]) => (await events()).eventsCommand(ctx, app, flags)));

  for (const verb of ['promote', 'abort'] as const) {
    waitOptions(
      program
        .command(verb)
        .argument('[app]', 'app name or id')
        .option('-c, --cluster <name|id>', 'the cluster, when several apps have this name')
        .description(verb === 'promote' ? 'promote the canary or blue-green release waiting at its gate' : 'abort the canary or blue-green release in flight (traffic stays on the live version)'),
    ).action(run(async (ctx, app: string | undefined, flags: Parameters<typeof gateCommand>[3]) => (await operate()).gateCommand(ctx, verb, app, flags)));
  }

  waitOptions(
    program
      .command('rollback')
      .argument('[app]', 'app name or id')
      .option('-c, --cluster <name|id>', 'the cluster, when several apps have this name')
      .option('--to <version>', 'the release to go back to: its number (3) or label (v3, 1.4.2); default the previous successful one')
      .option('--skip-analysis', 'canary/blue-green: restore at once, without analysis')
      .description('redeploy an earlier release exactly (same image, config and secrets) as a new release'),
  ).action(run(async (ctx, app: string | undefined, flags: Parameters<typeof rollbackCommand>[2]) => (await operate()).rollbackCommand(ctx, app, flags)));

  waitOptions(
    program
      .command('delete')
      .argument('[app]', 'app name or id')
      .option('-c, --cluster <name|id>', 'the cluster, when several apps have this name')
      .option('-y, --yes', 'do not ask for confirmation (needed without a terminal)')
      .description('remove the app from its cluster; its release history is kept'),
  ).action(run(async (ctx, app: string | undefined, flags: Parameters<typeof deleteCommand>[2]) => (await operate()).deleteCommand(ctx, app, flags)));

  program
    .command('clusters')
    .description('list the clusters you can deploy to')
    .action(run(async (ctx) => (await read()).clustersCommand(ctx)));

  program
    .command('login')
    .argument('[server]', 'server URL, e.g. http://localhost:9112')
    .option('--token-stdin', 'read the token from stdin')
    .option('--token-file <path>', 'read the token from a file')
    .description('check an API token against a server and save both (file readable by you only); asks for the token without showing it')
    .action(run(async (ctx, server: string | undefined, flags: Parameters<typeof loginCommand>[2]) => (await login()).loginCommand(ctx, server, flags)));

  program
    .command('logout')
    .description('forget the saved server and token')
    .action(run(async (ctx) => (await login()).logoutCommand(ctx)));

  return program;
}
