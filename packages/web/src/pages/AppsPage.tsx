import { Alert, Anchor, Button, Group, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { useApps } from '../api/hooks.ts';
import type { AppView } from '../api/types.ts';
import { StatusBadge } from '../components/StatusBadge.tsx';

const ROW_HEIGHT = 44;
const STATUSES = ['pending', 'building', 'deploying', 'progressing', 'waiting-promotion', 'promoting', 'succeeded', 'failed', 'aborted', 'built'];

/** Every app the session reaches: filter, search, and a virtualized table that stays smooth with thousands. */
export default function AppsPage() {
  const { t } = useTranslation();
  const apps = useApps();
  const [search, setSearch] = useState('');
  const [debounced] = useDebouncedValue(search, 150);
  const [status, setStatus] = useState<string | null>(null);
  const [project, setProject] = useState<string | null>(null);

  const projects = useMemo(() => [...new Set((apps.data ?? []).map((a) => a.project?.name).filter((p): p is string => Boolean(p)))].sort(), [apps.data]);
  const rows = useMemo(() => {
    const needle = debounced.trim().toLowerCase();
    return (apps.data ?? []).filter(
      (app) =>
        (!needle || app.name.includes(needle) || app.cluster.name.toLowerCase().includes(needle) || (app.current_release?.version_label.toLowerCase().includes(needle) ?? false)) &&
        (!status || app.current_release?.status === status) &&
        (!project || app.project?.name === project),
    );
  }, [apps.data, debounced, status, project]);

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{t('apps.title')}</Title>
        <Button component={Link} to="/deploy">
          {t('apps.deploy')}
        </Button>
      </Group>
      <Group align="end">
        <TextInput label={t('apps.search')} placeholder={t('apps.searchPlaceholder')} value={search} onChange={(e) => setSearch(e.currentTarget.value)} w={260} />
        <Select label={t('apps.filterStatus')} placeholder={t('apps.any')} clearable value={status} onChange={setStatus} data={STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) }))} w={200} />
        <Select label={t('apps.filterProject')} placeholder={t('apps.any')} clearable value={project} onChange={setProject} data={projects} w={200} />
        <Text size="sm" c="dimmed" aria-live="polite">
          {t('apps.count', { count: rows.length, total: apps.data?.length ?? 0 })}
        </Text>
      </Group>
      {apps.isError && (
        <Alert color="red" role="alert">
          {t('common.loadFailed')}
        </Alert>
      )}
      {apps.isSuccess && apps.data.length === 0 ? <Text>{t('apps.empty')}</Text> : <AppsTable rows={rows} />}
    </Stack>
  );
}

function AppsTable({ rows }: { rows: AppView[] }) {
  const { t } = useTranslation();
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({ count: rows.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 12 });
  const items = virtualizer.getVirtualItems();
  const paddingTop = items[0]?.start ?? 0;
  const paddingBottom = virtualizer.getTotalSize() - (items.at(-1)?.end ?? 0);
  return (
    <div ref={scroller} style={{ height: 'calc(100vh - 240px)', minHeight: 320, overflow: 'auto' }} data-testid="apps-scroller" tabIndex={0} role="region" aria-label={t('apps.title')}>
      <Table stickyHeader highlightOnHover aria-rowcount={rows.length + 1} layout="fixed" miw={900}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th w="20%">{t('apps.name')}</Table.Th>
            <Table.Th>{t('apps.status')}</Table.Th>
            <Table.Th>{t('apps.health')}</Table.Th>
            <Table.Th>{t('apps.version')}</Table.Th>
            <Table.Th>{t('apps.strategy')}</Table.Th>
            <Table.Th>{t('apps.project')}</Table.Th>
            <Table.Th>{t('apps.cluster')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {paddingTop > 0 && (
            <tr aria-hidden="true">
              <td colSpan={7} style={{ height: paddingTop, padding: 0, border: 0 }} />
            </tr>
          )}
          {items.map((item) => {
            const app = rows[item.index] as AppView;
            return (
              <Table.Tr key={app.id} h={ROW_HEIGHT} aria-rowindex={item.index + 2} data-app={app.name}>
                <Table.Td>
                  <Anchor component={Link} to={`/apps/${app.id}`} fw={500}>
                    {app.name}
                  </Anchor>
                </Table.Td>
                <Table.Td>
                  <StatusBadge status={app.current_release?.status} />
                </Table.Td>
                <Table.Td>
                  <StatusBadge status={app.status} kind="app" />
                </Table.Td>
                <Table.Td>{app.current_release?.version_label ?? t('common.none')}</Table.Td>
                <Table.Td>{t(`strategy.${app.strategy}`)}</Table.Td>
                <Table.Td>{app.project?.name ?? t('common.none')}</Table.Td>
                <Table.Td>{app.cluster.name}</Table.Td>
              </Table.Tr>
            );
          })}
          {paddingBottom > 0 && (
            <tr aria-hidden="true">
              <td colSpan={7} style={{ height: paddingBottom, padding: 0, border: 0 }} />
            </tr>
          )}
        </Table.Tbody>
      </Table>
    </div>
  );
}
