import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';

interface DurationFormatLike {
  format(duration: Record<string, number>): string;
}
type DurationFormatConstructor = new (locale: string, options: { style: 'short' | 'narrow' | 'long' }) => DurationFormatLike;

/** Dates, times and durations in the console's language (Intl: no strings of our own). */
export function useFormat(): Formatters {
  const { i18n } = useTranslation();
  const locale = i18n.language;
  return useMemo(() => formattersOf(locale), [locale]);
}

export type Formatters = ReturnType<typeof makeFormatters>;

// Intl formatters are costly to make (tens of ms for a page's worth): one set per language, shared.
const cache = new Map<string, Formatters>();
function formattersOf(locale: string): Formatters {
  let formatters = cache.get(locale);
  if (!formatters) {
    formatters = makeFormatters(locale);
    cache.set(locale, formatters);
  }
  return formatters;
}

/** Made on first use: most pages need two or three of them, and each costs milliseconds to make. */
function lazily<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

function makeFormatters(locale: string) {
  const dateTime = lazily(() => new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium' }));
  const time = lazily(() => new Intl.DateTimeFormat(locale, { timeStyle: 'medium' }));
  const relative = lazily(() => new Intl.RelativeTimeFormat(locale, { numeric: 'auto' }));
  const durationFormat = lazily(() => {
    const DurationFormat = (Intl as unknown as { DurationFormat?: DurationFormatConstructor }).DurationFormat;
    return DurationFormat ? new DurationFormat(locale, { style: 'short' }) : undefined;
  });
  const number = lazily(() => new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }));
  const percent = lazily(() => new Intl.NumberFormat(locale, { style: 'unit', unit: 'percent', maximumFractionDigits: 0 }));
  return {
    dateTime: (iso: string | null | undefined) => (iso ? dateTime().format(new Date(iso)) : ''),
    time: (iso: string | null | undefined) => (iso ? time().format(new Date(iso)) : ''),
    ago: (iso: string | null | undefined) => {
      if (!iso) return '';
      const seconds = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
      const abs = Math.abs(seconds);
      if (abs < 60) return relative().format(seconds, 'second');
      if (abs < 3600) return relative().format(Math.round(seconds / 60), 'minute');
      if (abs < 86400) return relative().format(Math.round(seconds / 3600), 'hour');
      return relative().format(Math.round(seconds / 86400), 'day');
    },
    duration: (ms: number) => {
      const total = Math.max(0, Math.round(ms / 1000));
      const parts = { hours: Math.floor(total / 3600), minutes: Math.floor((total % 3600) / 60), seconds: total % 60 };
      const format = durationFormat();
      if (format) return format.format(parts.hours ? parts : parts.minutes ? { minutes: parts.minutes, seconds: parts.seconds } : { seconds: parts.seconds });
      return `${parts.hours ? `${parts.hours}h ` : ''}${parts.minutes ? `${parts.minutes}m ` : ''}${parts.seconds}s`;
    },
    number: (value: number) => number().format(value),
    percent: (value: number) => percent().format(value),
  };
}
