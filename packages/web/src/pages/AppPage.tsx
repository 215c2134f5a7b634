import { Alert, Anchor, Badge, Button, Card, Group, Loader, Modal, SimpleGrid, Stack, Tabs, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { Suspense, lazy, useDeferredValue, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate, useParams } from 'react-router';
import { ApiError } from '../api/client.ts';
import { useAppEvents } from '../api/events.ts';
import { useApp, useAppChange, useReleases, useTimeline } from '../api/hooks.ts';
import type { AppView } from '../api/types.ts';
import { DANGER, PROMOTE } from '../components/colors.ts';
import { DiagnosisAlert } from '../components/DiagnosisAlert.tsx';
import { HistoryPanel } from '../components/HistoryPanel.tsx';
import { RolloutPanel } from '../components/RolloutPanel.tsx';
import { StatusBadge } from '../components/StatusBadge.tsx';
import { TimelinePanel } from '../components/TimelinePanel.tsx';
import { useFormat } from '../format.ts';

// The form (and the schema validator it brings) loads when the Edit tab is opened.
const EditPanel = lazy(() => import('../components/EditPanel.tsx'));
// The metrics panel and its charts (uPlot) load when the Metrics tab is opened.
const MetricsPanel = lazy(() => import('../components/MetricsPanel.tsx'));
// The live log view (its virtual list and filters) loads when the Logs tab is opened.
const LogsPanel = lazy(() => import('../components/LogsPanel.tsx'));

// One empty list for every "not loaded yet", so memoized panels do not redraw for a new [] each time.
const NONE: never[] = [];

const GATED = new Set(['progressing', 'waiting-promotion', 'promoting']);

/** One app: its current release and endpoint, the live rollout, the gate, metrics, timeline, live logs, history, edit, delete. */
export default function AppPage() {
  const { id = '' } = useParams();
  const { t } = useTranslation();
  const app = useApp(id);
  // The page is drawn from a deferred copy: React renders it in slices between which the browser stays
  // responsive, instead of in one long task each time the app, its timeline or the stream changes.
  const data = useDeferredValue(app.data);
  if (app.isPending || (app.data && !data)) return <Loader aria-label={t('common.loading')} />;
  if (app.isError || !data) {
    return (
      <Alert color="red" role="alert">
        {app.error instanceof ApiError && app.error.status === 404 ? t('app.notFound') : t('common.loadFailed')}
      </Alert>
    );
  }
  return <AppDetails app={data} />;
}

function AppDetails({ app }: { app: AppView }) {
  const { t } = useTranslation();
  const fmt = useFormat();
  const navigate = useNavigate();
  const [tab, setTab] = useState<string | null>('rollout');
  const live = useAppEvents(app.id);
  const events = useDeferredValue(live.events);
  const connected = live.connected;
  const releases = useReleases(app.id);
  const timeline = useTimeline(app.id);
  const timelineEntries = useDeferredValue(timeline.data ?? NONE);
  const release = app.current_release;
  const promote = useAppChange<undefined>(app.id, 'POST', `/apps/${app.id}/promote`);
  const abort = useAppChange<undefined>(app.id, 'POST', `/apps/${app.id}/abort`);
  const remove = useAppChange<undefined>(app.id, 'DELETE', `/apps/${app.id}`);
  const [confirming, { open: confirmDelete, close: cancelDelete }] = useDisclosure(false);
  const gated = release !== null && release.strategy !== 'rolling' && GATED.has(release.status);
  const refused = [promote, abort, remove].find((m) => m.isError)?.error;

  // A new event refreshes the app; the lists follow it.
  const refreshLists = () => {
    void releases.refetch();
    void timeline.refetch();
  };

  return (
    <Stack>
      <Group justify="space-between" align="start">
        <Stack gap={4}>
          <Title order={2}>{app.name}</Title>
          <Group gap="xs">
            <StatusBadge status={release?.status} />
            <StatusBadge status={app.status} kind="app" />
            {app.operation && app.operation.status !== 'succeeded' && app.operation.status !== 'failed' && (
              <Badge variant="outline">{t('app.operation', { kind: t(`operation.${app.operation.kind}`, { defaultValue: app.operation.kind }) })}</Badge>
            )}
          </Group>
        </Stack>
        <Group>
          {gated && (
            <>
              <Button color={PROMOTE} onClick={() => promote.mutate(undefined, { onSuccess: refreshLists })} loading={promote.isPending} disabled={release.status !== 'waiting-promotion'}>
                {t('app.promote')}
              </Button>
              <Button variant="default" onClick={() => abort.mutate(undefined, { onSuccess: refreshLists })} loading={abort.isPending}>
                {t('app.abort')}
              </Button>
            </>
          )}
          <Button color={DANGER} variant="outline" onClick={confirmDelete}>
            {t('app.delete')}
          </Button>
        </Group>
      </Group>
      {gated && release.status === 'waiting-promotion' && (
        <Alert color="yellow" data-testid="gate-waiting">
          {t('app.gateWaiting', { version: release.version_label })}
        </Alert>
      )}
      {refused && (
        <Alert color="red" role="alert">
          {refused instanceof ApiError ? t('common.refused', { message: refused.message }) : t('common.failed')}
        </Alert>
      )}
      <Card withBorder>
        <SimpleGrid cols={{ base: 1, sm: 2, md: 4 }} spacing="sm">
          <Fact label={t('app.version')} value={release?.version_label ?? t('common.none')} testId="current-version" />
          <Fact label={t('app.strategy')} value={t(`strategy.${app.strategy}`)} />
          <Fact label={t('app.cluster')} value={app.cluster.name} />
          <Fact label={t('app.type')} value={t(`appType.${app.app_type}`, { defaultValue: app.app_type })} />
          <Fact label={t('app.created')} value={fmt.dateTime(release?.created_at)} />
          <Fact label={t('app.image')} value={release?.image ?? t('common.none')} />
          <Stack gap={0}>
            <Text size="xs" c="dimmed">
              {t('app.endpoint')}
            </Text>
            {app.endpoint ? (
              <Anchor href={app.endpoint} target="_blank" rel="noopener noreferrer" data-testid="endpoint" size="sm">
                {app.endpoint}
              </Anchor>
            ) : (
              <Text size="sm">{t('app.noEndpoint')}</Text>
            )}
          </Stack>
        </SimpleGrid>
      </Card>
      {release && <DiagnosisAlert release={release} />}
      <Tabs value={tab} onChange={setTab} keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="rollout">{t('app.tabs.rollout')}</Tabs.Tab>
          <Tabs.Tab value="metrics">{t('app.tabs.metrics')}</Tabs.Tab>
          <Tabs.Tab value="timeline">{t('app.tabs.timeline')}</Tabs.Tab>
          <Tabs.Tab value="logs">{t('app.tabs.logs')}</Tabs.Tab>
          <Tabs.Tab value="history">{t('app.tabs.history')}</Tabs.Tab>
          <Tabs.Tab value="edit">{t('app.tabs.edit')}</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="rollout" pt="md">
          {release ? <RolloutPanel release={release} events={events} timeline={timelineEntries} connected={connected} /> : <Text>{t('app.noRelease')}</Text>}
        </Tabs.Panel>
        <Tabs.Panel value="metrics" pt="md">
          <Suspense fallback={<Loader size="sm" aria-label={t('common.loading')} />}>
            <MetricsPanel app={app} releases={releases.data ?? NONE} />
          </Suspense>
        </Tabs.Panel>
        <Tabs.Panel value="timeline" pt="md">
          <TimelinePanel entries={timelineEntries} />
        </Tabs.Panel>
        <Tabs.Panel value="logs" pt="md">
          <Suspense fallback={<Loader size="sm" aria-label={t('common.loading')} />}>
            <LogsPanel appId={app.id} appName={app.name} releases={releases.data ?? NONE} />
          </Suspense>
        </Tabs.Panel>
        <Tabs.Panel value="history" pt="md">
          <HistoryPanel appId={app.id} releases={releases.data ?? NONE} currentVersion={release?.version} />
        </Tabs.Panel>
        <Tabs.Panel value="edit" pt="md">
          <Suspense fallback={<Loader size="sm" aria-label={t('common.loading')} />}>
            {release && <EditPanel appId={app.id} spec={release.spec} onSaved={() => setTab('rollout')} />}
          </Suspense>
        </Tabs.Panel>
      </Tabs>
      <Modal opened={confirming} onClose={cancelDelete} title={t('app.deleteTitle', { name: app.name })} centered>
        <Stack>
          <Text size="sm">{t('app.deleteExplain')}</Text>
          <Group justify="end">
            <Button variant="default" onClick={cancelDelete}>
              {t('common.cancel')}
            </Button>
            <Button color={DANGER} loading={remove.isPending} onClick={() => remove.mutate(undefined, { onSuccess: () => void navigate('/') })}>
              {t('app.deleteConfirm')}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}

function Fact({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <Stack gap={0}>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm" data-testid={testId} style={{ wordBreak: 'break-all' }}>
        {value}
      </Text>
    </Stack>
  );
}
