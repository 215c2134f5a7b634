import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A component process started by the harness: its own process group, output in a log file. */
export interface StartedProcess {
  readonly name: string;
  readonly pid: number;
  readonly binary: string;
  readonly logFile: string;
}

export interface StartOptions {
  readonly name: string;
  readonly binary: string;
  readonly args: readonly string[];
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/**
 * Starts a detached process in a new process group (setsid), so that it survives the caller (the CLI exits after
 * `cluster:up`) and can be stopped as a whole group later, wherever it was started from.
 */
export function startProcess(opts: StartOptions): StartedProcess {
  const out = openSync(opts.logFile, 'a');
  try {
    const child = spawn(opts.binary, opts.args, {
      detached: true,
      stdio: ['ignore', out, out],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    if (child.pid === undefined) throw new Error(`${opts.name}: could not start ${opts.binary}`);
    child.unref();
    // A failed exec is reported asynchronously; it surfaces as a dead pid in the readiness wait.
    child.on('error', () => {});
    return { name: opts.name, pid: child.pid, binary: opts.binary, logFile: opts.logFile };
  } finally {
    closeSync(out);
  }
}

/** True when `pid` is alive and is still the program we started (guards against pid reuse after a crash). */
export function isOurProcess(pid: number, binary: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && cmdline.split('\0')[0] === binary;
  } catch {
    return false;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Group already gone.
  }
}

function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirProc()) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[0] = state, fields[2] = pgrp
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') members.push(Number(entry));
    } catch {
      // Exited while we looked.
    }
  }
  return members;
}

function readdirProc(): string[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name));
}

/**
 * Stops a process group: SIGTERM, wait up to `graceMs`, then SIGKILL. Resolves when no member is left.
 * Only groups we created are signalled (each started process leads its own group).
 */
export async function stopProcessGroup(pgid: number, graceMs = 5000): Promise<void> {
  if (groupMembers(pgid).length === 0) return;
  signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (groupMembers(pgid).length === 0) return;
    await sleep(100);
  }
  signalGroup(pgid, 'SIGKILL');
  for (let i = 0; i < 50; i++) {
    if (groupMembers(pgid).length === 0) return;
    await sleep(100);
  }
  throw new Error(`process group ${pgid} survived SIGKILL: ${groupMembers(pgid).join(', ')}`);
}

/** Lists live processes of a group; used by the harness to verify that stopping left nothing behind. */
export function liveGroupMembers(pgid: number): number[] {
  return groupMembers(pgid);
}

/** Resident memory (VmRSS, KiB) of a process, or 0 when it is gone. */
export function rssKiB(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** Last lines of a component log, for error messages that tell what went wrong. */
export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Polls `check` until it returns true, failing with the component's log tail if its process dies or time runs out. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; process?: StartedProcess; intervalMs?: number },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (opts.process && !isOurProcess(opts.process.pid, opts.process.binary)) {
      throw new Error(`${what}: ${opts.process.name} exited; last log lines of ${opts.process.logFile}:\n${tail(opts.process.logFile)}`);
    }
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    await sleep(opts.intervalMs ?? 200);
  }
  const log = opts.process ? `\nlast log lines of ${opts.process.logFile}:\n${tail(opts.process.logFile)}` : '';
  const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`${what}: not ready after ${opts.timeoutMs} ms${cause}${log}`);
}
