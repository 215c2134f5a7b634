import { createLogUpdate } from 'log-update';
import { formatDuration, type Painter } from './format.ts';

/**
 * Progress of long work (upload, build, rollout) on stderr, so stdout keeps only the result:
 * - a terminal gets finished steps as lines and the current activity as one live line (spinner, elapsed time);
 * - anything else (CI logs) gets plain timestamped lines: an activity printed when it changes; a percentage (an
 *   upload, a push) at its start, each quarter and its end, five lines at most; other changing numbers at most
 *   every few seconds;
 * - `--json` gets one JSON object per line: `{ time, kind: "step" | "activity" | "warning", message, ...data }`.
 */
export interface Progress {
  /** A finished step: stays on screen. */
  step(message: string, data?: Record<string, unknown>): void;
  /** What is happening now; replaced by the next activity or step. `percent` for byte counts. */
  activity(message: string, data?: Record<string, unknown> & { percent?: number }): void;
  warn(message: string, data?: Record<string, unknown>): void;
  /** Stops the live line (call before printing the result). */
  stop(): void;
}

export type ProgressMode = 'tty' | 'plain' | 'json' | 'quiet';

export function createProgress(mode: ProgressMode, stream: NodeJS.WriteStream, paint: Painter, now: () => Date = () => new Date()): Progress {
  if (mode === 'quiet') return { step() {}, activity() {}, warn() {}, stop() {} };
  if (mode === 'json') return jsonProgress(stream, now);
  if (mode === 'plain') return plainProgress(stream, now);
  return ttyProgress(stream, paint);
}

function jsonProgress(stream: NodeJS.WriteStream, now: () => Date): Progress {
  const write = (kind: string, message: string, data?: Record<string, unknown>) => stream.write(`${JSON.stringify({ time: now().toISOString(), kind, message, ...data })}\n`);
  let lastActivity = '';
  let lastPercentAt = 0;
  return {
    step: (message, data) => write('step', message, data),
    activity(message, data) {
      // Percentages change many times a second: one line per second at most, and every change of message.
      const key = message.replace(/[0-9]+%.*/, '');
      const at = now().getTime();
      if (key === lastActivity && data?.percent !== 100 && at - lastPercentAt < 1_000) return;
      lastActivity = key;
      lastPercentAt = at;
      write('activity', message, data);
    },
    warn: (message, data) => write('warning', message, data),
    stop() {},
  };
}

function plainProgress(stream: NodeJS.WriteStream, now: () => Date): Progress {
  const line = (text: string) => stream.write(`${now().toISOString().replace(/\.[0-9]+Z$/, 'Z')} ${text}\n`);
  let lastActivity = '';
  let lastKey = '';
  let lastAt = 0;
  let lastQuarter = -1;
  return {
    step: (message) => line(message),
    activity(message, data) {
      if (message === lastActivity) return;
      // The activity without its numbers (`%` is not followed by a word boundary, so it is matched on its own).
      const key = message.replace(/[0-9.]+ ?(%|[KMG]iB\b|B\b).*/, '');
      const at = now().getTime();
      const percent = data?.percent;
      if (key === lastKey) {
        // The same activity with a new number: a percentage when it reaches the next quarter (and 100 % once);
        // a number without a percentage (bytes pushed) at most every 5 s.
        if (percent !== undefined ? Math.floor(percent / 25) <= lastQuarter : at - lastAt < 5_000) return;
      }
      lastActivity = message;
      lastKey = key;
      lastAt = at;
      lastQuarter = percent === undefined ? -1 : Math.floor(percent / 25);
      line(message);
    },
    warn: (message) => line(`warning: ${message}`),
    stop() {},
  };
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function ttyProgress(stream: NodeJS.WriteStream, paint: Painter): Progress {
  const live = createLogUpdate(stream);
  let current: string | undefined;
  let since = Date.now();
  let frame = 0;
  const render = () => {
    if (current === undefined) return;
    live(`${paint.warn(FRAMES[frame % FRAMES.length] ?? '-')} ${current} ${paint.dim(formatDuration(Date.now() - since))}`);
  };
  const timer = setInterval(() => {
    frame += 1;
    render();
  }, 100);
  timer.unref();
  return {
    step(message) {
      live.clear();
      stream.write(`${paint.ok('✓')} ${message}\n`);
      current = undefined;
    },
    activity(message) {
      if (message.replace(/[0-9.]+.*/, '') !== current?.replace(/[0-9.]+.*/, '')) since = Date.now();
      current = message;
      render();
    },
    warn(message) {
      live.clear();
      stream.write(`${paint.warn('!')} ${message}\n`);
      render();
    },
    stop() {
      clearInterval(timer);
      live.clear();
      live.done();
      current = undefined;
    },
  };
}
