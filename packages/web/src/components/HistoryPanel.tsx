import { Alert, Button, Table, Text, VisuallyHidden } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client.ts';
import { useAppChange } from '../api/hooks.ts';
import type { ReleaseView } from '../api/types.ts';
import { useFormat } from '../format.ts';
import { StatusBadge } from './StatusBadge.tsx';
import { memo } from 'react';

/** Every release of the app, with "roll back to this release" on the ones that produced an image. */
export const HistoryPanel = memo(function HistoryPanel({ appId, releases, currentVersion }: { appId: string; releases: ReleaseView[]; currentVersion: number | undefined }) {
  const { t } = useTranslation();
  const fmt = useFormat();
  const rollback = useAppChange<{ to_version: number }>(appId, 'POST', `/apps/${appId}/rollback`);
  return (
    <>
      {rollback.isError && (
        <Alert color="red" role="alert" mb="sm">
          {rollback.error instanceof ApiError ? t('common.refused', { message: rollback.error.message }) : t('common.failed')}
        </Alert>
      )}
      <Table.ScrollContainer minWidth={800}>
        <Table striped data-testid="history">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('history.version')}</Table.Th>
              <Table.Th>{t('history.status')}</Table.Th>
              <Table.Th>{t('history.strategy')}</Table.Th>
              <Table.Th>{t('history.created')}</Table.Th>
              <Table.Th>{t('history.duration')}</Table.Th>
              <Table.Th>{t('history.image')}</Table.Th>
              <Table.Th>
                <VisuallyHidden>{t('history.actions')}</VisuallyHidden>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {releases.map((release) => (
              <Table.Tr key={release.id} data-version={release.version}>
                <Table.Td>{release.version_label}</Table.Td>
                <Table.Td>
                  <StatusBadge status={release.status} />
                </Table.Td>
                <Table.Td>{t(`strategy.${release.strategy}`)}</Table.Td>
                <Table.Td>{fmt.dateTime(release.created_at)}</Table.Td>
                <Table.Td>{release.finished_at ? fmt.duration(new Date(release.finished_at).getTime() - new Date(release.created_at).getTime()) : t('common.none')}</Table.Td>
                <Table.Td>
                  <Text size="xs" style={{ wordBreak: 'break-all' }}>
                    {release.image ?? t('common.none')}
                  </Text>
                </Table.Td>
                <Table.Td>
                  {release.image && release.version !== currentVersion && ['succeeded', 'superseded', 'rolled-back'].includes(release.status) && (
                    <Button size="xs" variant="light" loading={rollback.isPending && rollback.variables?.to_version === release.version} onClick={() => rollback.mutate({ to_version: release.version })} aria-label={t('history.rollbackTo', { version: release.version_label })}>
                      {t('history.rollback')}
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    </>
  );
});
