#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import { Context } from './context.ts';
import { CliError, ExitCode } from './errors.ts';
import { buildProgram } from './program.ts';

/**
 * `appserve`: the composition root, the only place that reads process.argv and exits. Every failure becomes a
 * clear message (or, with --json, a JSON error document on stdout) and one of the documented exit codes; a
 * stack trace is shown only with APPSERVE_DEBUG=1.
 */
const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd(), version };
const argv = process.argv.slice(2);
const json = argv.includes('--json');

// `appserve list | head -1`: a closed pipe ends the output, not the process with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

let exitCode: number = ExitCode.ok;
try {
  await buildProgram(io, (code) => (exitCode = code)).parseAsync(argv, { from: 'user' });
} catch (error) {
  exitCode = report(error);
}
process.exitCode = exitCode;
// Nothing the CLI started (sockets, timers) may keep it alive once it has its answer.
setTimeout(() => process.exit(exitCode), 200).unref();

function report(error: unknown): number {
  const ctx = new Context(io, { json });
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
    // commander has already printed the problem and how to get help
    if (json) ctx.reportError({ code: 'usage', message: error.message.replace(/^error: /, '') }, ExitCode.usage);
    return ExitCode.usage;
  }
  if (error instanceof CliError) {
    ctx.reportError(error.report(), error.exitCode);
    if (io.env.APPSERVE_DEBUG === '1' && error.cause) io.stderr.write(`${error.cause instanceof Error ? (error.cause.stack ?? error.cause.message) : JSON.stringify(error.cause)}\n`);
    return error.exitCode;
  }
  ctx.reportError({ code: 'internal', message: `unexpected error: ${(error as Error).message ?? String(error)}`, hint: 'run again with APPSERVE_DEBUG=1 for details, and report it' }, ExitCode.internal);
  if (io.env.APPSERVE_DEBUG === '1') io.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  return ExitCode.internal;
}
