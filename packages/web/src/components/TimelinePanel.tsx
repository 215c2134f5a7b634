import { Table, Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import type { TimelineEntry } from '../api/types.ts';
import { useFormat } from '../format.ts';
import { describeEvent } from './describe-event.ts';
import { memo } from 'react';

/** The persisted record of an app, newest first. */
export const TimelinePanel = memo(function TimelinePanel({ entries }: { entries: TimelineEntry[] }) {
  const { t } = useTranslation();
  const fmt = useFormat();
  if (entries.length === 0) return <Text c="dimmed">{t('timeline.empty')}</Text>;
  return (
    <Table.ScrollContainer minWidth={600}>
      <Table striped data-testid="timeline">
        <Table.Thead>
          <Table.Tr>
            <Table.Th w={220}>{t('timeline.when')}</Table.Th>
            <Table.Th>{t('timeline.what')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {[...entries].reverse().map((entry) => (
            <Table.Tr key={entry.id}>
              <Table.Td>{fmt.dateTime(entry.occurred_at)}</Table.Td>
              <Table.Td>{describeEvent(t, entry.type, entry.data)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
});
