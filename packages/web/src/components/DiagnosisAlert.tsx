import { Alert, Code, Stack, Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import type { ReleaseView } from '../api/types.ts';
import { memo } from 'react';

/** Why a release failed and what to do about it, as the watcher diagnosed it. Everything is rendered as text. */
export const DiagnosisAlert = memo(function DiagnosisAlert({ release }: { release: ReleaseView }) {
  const { t } = useTranslation();
  if (!['failed', 'aborted', 'rolled-back'].includes(release.status)) return null;
  const diagnosis = release.diagnosis;
  const evidence = diagnosis?.evidence && Object.keys(diagnosis.evidence).length > 0 ? JSON.stringify(diagnosis.evidence, null, 2) : undefined;
  return (
    <Alert color="red" title={t('diagnosis.title', { version: release.version_label, status: t(`status.${release.status}`) })} data-testid="diagnosis">
      <Stack gap="xs">
        {diagnosis ? (
          <>
            <Text size="sm" data-testid="diagnosis-summary">
              {diagnosis.summary}
            </Text>
            <Text size="sm">
              <strong>{t('diagnosis.hint')}</strong> <span data-testid="diagnosis-hint">{diagnosis.hint}</span>
            </Text>
            <Text size="xs" c="dimmed">
              {t('diagnosis.code', { code: diagnosis.code })}
            </Text>
            {evidence && (
              <Code block aria-label={t('diagnosis.evidence')}>
                {evidence}
              </Code>
            )}
          </>
        ) : (
          <Text size="sm">{release.status_reason ?? t('diagnosis.none')}</Text>
        )}
      </Stack>
    </Alert>
  );
});
