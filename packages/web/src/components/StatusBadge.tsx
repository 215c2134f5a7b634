import { Badge } from '@mantine/core';
import { useTranslation } from 'react-i18next';

const COLORS: Record<string, string> = {
  succeeded: 'green',
  running: 'green',
  built: 'teal',
  failed: 'red',
  degraded: 'orange',
  aborted: 'orange',
  'rolled-back': 'gray',
  superseded: 'gray',
  'waiting-promotion': 'yellow',
  pending: 'gray',
  deleting: 'gray',
  deleted: 'gray',
};

/** A release or app status, in words of the console's language; the colour is never the only cue. */
export function StatusBadge({ status, kind = 'release' }: { status: string | null | undefined; kind?: 'release' | 'app' }) {
  const { t } = useTranslation();
  if (!status) return <>{t('common.none')}</>;
  // Dark text on a light fill of the status colour: readable at WCAG AA contrast whatever the colour.
  return (
    <Badge color={COLORS[status] ?? 'blue'} variant="light" c="dark.8" data-status={status}>
      {t(`${kind === 'app' ? 'health' : 'status'}.${status}`, { defaultValue: status })}
    </Badge>
  );
}
