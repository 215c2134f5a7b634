import { styleText } from 'node:util';

/** Small text helpers for human output. Pure, so tables and sizes are unit-tested. */

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** `2026-05-01T10:00:00.000Z` → `2026-05-01 10:00:00` (UTC, as the server records it). */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  return iso.replace('T', ' ').replace(/\.[0-9]+Z$|Z$/, '');
}

/** Columns padded to the widest cell; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(Math.max(0, (widths[i] ?? 0) - visibleLength(cell)))))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '').length;
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** Colour for a terminal that wants it (respects NO_COLOR, FORCE_COLOR and non-TTY streams). */
export function painter(stream: NodeJS.WriteStream, enabled: boolean) {
  const paint = (format: Parameters<typeof styleText>[0]) => (text: string) => (enabled ? styleText(format, text, { stream, validateStream: true }) : text);
  return {
    ok: paint('green'),
    bad: paint('red'),
    warn: paint('yellow'),
    dim: paint('dim'),
    bold: paint('bold'),
    status(status: string): string {
      if (status === 'succeeded' || status === 'running' || status === 'built') return paint('green')(status);
      if (status === 'failed' || status === 'aborted' || status === 'rolled-back' || status === 'degraded') return paint('red')(status);
      if (status === 'superseded' || status === 'deleted') return paint('dim')(status);
      return paint('yellow')(status);
    },
  };
}
export type Painter = ReturnType<typeof painter>;
