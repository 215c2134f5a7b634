import { Alert, Badge, Card, Group, List, Loader, SegmentedControl, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useCallback, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client.ts';
import { useAppMetrics } from '../api/hooks.ts';
import type { AppMetrics, AppView, MetricRelease, MetricTrack, ReleaseView } from '../api/types.ts';
import { useFormat } from '../format.ts';
import { MetricChart, type ChartMarker } from './MetricChart.tsx';
import { CHARTS, FIGURE_KIND, FIGURES, RANGES, STEPS, change, chartModel, compareReleases, formatValue, type ChartLine, type Comparison, type MetricsRange } from './metrics-model.ts';

/**
 * The app's metrics (GET /apps/{id}/metrics): a chart per signal with a line per track, named with the release it
 * runs ("primary · v2"), release markers, the current release against the previous one, the pods now and what is
 * not measured with why. A cluster without Prometheus (503 `metrics_unavailable`) is said as such, with no charts.
 * Read again every 15 s while the tab is visible.
 */
export default function MetricsPanel({ app, releases }: { app: AppView; releases: ReleaseView[] }) {
  const { t } = useTranslation();
  const fmt = useFormat();
  const [range, setRange] = useState<MetricsRange>('1h');
  const metrics = useAppMetrics(app.id, range, STEPS[range]);
  const view = metrics.data;
  return (
    <Stack data-testid="metrics" data-loaded-range={view && !metrics.isPlaceholderData ? range : ''}>
      <Group justify="space-between">
        <SegmentedControl
          aria-label={t('metrics.range')}
          value={range}
          onChange={setRange}
          data={RANGES.map((r) => ({ value: r, label: t(`metrics.ranges.${r}`) }))}
          size="xs"
          data-testid="metrics-range"
        />
        <Group gap="xs">
          {metrics.isFetching && <Loader size="xs" aria-label={t('common.loading')} />}
          {view && (
            <Text size="xs" c="dimmed">
              {t('metrics.updated', { time: fmt.time(new Date(metrics.dataUpdatedAt).toISOString()) })}
            </Text>
          )}
        </Group>
      </Group>
      {metrics.isPending && <Loader size="sm" aria-label={t('common.loading')} />}
      {metrics.isError && <Unavailable error={metrics.error} />}
      {view && !metrics.isError && <MetricsView view={view} app={app} releases={releases} />}
    </Stack>
  );
}

function Unavailable({ error }: { error: Error }) {
  const { t } = useTranslation();
  if (!(error instanceof ApiError) || error.code !== 'metrics_unavailable') {
    return (
      <Alert color="red" role="alert">
        {error instanceof ApiError ? t('common.refused', { message: error.message }) : t('common.loadFailed')}
      </Alert>
    );
  }
  const missing = typeof error.details?.missing === 'string' ? error.details.missing : '';
  const cluster = typeof error.details?.cluster === 'string' ? error.details.cluster : '';
  const why = ['prometheus_url', 'prometheus', 'watcher'].includes(missing) ? t(`metrics.unavailable.${missing}`, { cluster }) : t('metrics.unavailable.other');
  return (
    <Alert color="yellow" role="alert" data-testid="metrics-unavailable" data-missing={missing}>
      <Stack gap={4}>
        <Text size="sm" fw={700}>
          {t('metrics.unavailable.title')}
        </Text>
        <Text size="sm">{why}</Text>
        <Text size="sm" c="dimmed">
          {t('metrics.unavailable.platform', { message: error.message })}
        </Text>
      </Stack>
    </Alert>
  );
}

function MetricsView({ view, app, releases }: { view: AppMetrics; app: AppView; releases: ReleaseView[] }) {
  const { t } = useTranslation();
  const fmt = useFormat();
  const from = Date.parse(view.start) / 1000;
  const to = Date.parse(view.end) / 1000;
  const trackName = useCallback(
    (track: MetricTrack, release: MetricRelease | null) => (release ? t('metrics.trackRelease', { track: t(`metrics.track.${track}`), release: release.version }) : t(`metrics.track.${track}`)),
    [t],
  );
  const lineLabel = useCallback(
    (line: ChartLine) => {
      const track = trackName(line.track, line.release);
      const single = CHARTS.find((c) => c.metrics.includes(line.metric))?.metrics.length === 1;
      return single && !line.limit ? track : t('metrics.lineOf', { series: t(`metrics.series.${line.metric}`), track });
    },
    [t, trackName],
  );
  const markers = useMemo<ChartMarker[]>(
    () => view.markers.map((m) => ({ at: Date.parse(m.at) / 1000, kind: m.kind, label: t(`metrics.marker.${m.kind}`, { version: m.release.version }) })),
    [view.markers, t],
  );
  const models = useMemo(() => CHARTS.map((spec) => chartModel(view, spec)), [view]);
  const missing = new Map(view.missing.map((m) => [m.metric, m.reason]));
  const previousRelease = useMemo(() => previousOf(app, releases), [app, releases]);
  const comparison = useMemo(() => compareReleases(view, previousRelease), [view, previousRelease]);

  return (
    <Stack>
      <PodsNow view={view} trackName={trackName} />
      <SimpleGrid cols={{ base: 1, lg: 2 }} spacing="md">
        {models.map((model) => {
          const title = t(`metrics.charts.${model.spec.id}`);
          if (model.lines.length === 0 && model.spec.optional) return null;
          return (
            <Card withBorder key={model.spec.id} padding="sm">
              <Title order={3} size="h5" mb="xs">
                {title}
              </Title>
              {model.lines.length > 0 ? (
                <MetricChart model={model} title={title} from={from} to={to} markers={markers} lineLabel={lineLabel} />
              ) : (
                <Text size="sm" c="dimmed" data-testid="chart-no-data" data-chart={model.spec.id}>
                  {model.spec.metrics.map((m) => missing.get(m)).find(Boolean) ?? t('metrics.noData')}
                </Text>
              )}
            </Card>
          );
        })}
      </SimpleGrid>
      <Card withBorder padding="sm">
        <Title order={3} size="h5" mb="xs">
          {t('metrics.markers')}
        </Title>
        {view.markers.length === 0 ? (
          <Text size="sm" c="dimmed">
            {t('metrics.noMarkers')}
          </Text>
        ) : (
          <List size="sm" data-testid="metrics-markers">
            {view.markers.map((m) => (
              <List.Item key={`${m.release.id}-${m.at}-${m.kind}`}>
                {t('metrics.markerAt', { marker: t(`metrics.marker.${m.kind}`, { version: m.release.version }), time: fmt.dateTime(m.at) })}
              </List.Item>
            ))}
          </List>
        )}
      </Card>
      <CompareCard comparison={comparison} trackName={trackName} />
      {view.missing.length > 0 && (
        <Card withBorder padding="sm">
          <Title order={3} size="h5" mb="xs">
            {t('metrics.missing')}
          </Title>
          <List size="sm" data-testid="metrics-missing">
            {view.missing.map((m) => (
              <List.Item key={m.metric} data-metric={m.metric}>
                <Text span size="sm" fw={600}>
                  {t(`metrics.series.${m.metric}`)}
                </Text>
                {': '}
                <Text span size="sm">
                  {m.reason}
                </Text>
              </List.Item>
            ))}
          </List>
        </Card>
      )}
    </Stack>
  );
}

/** The release before the app's current one that ran (for the comparison, when no marker in the range names it). */
function previousOf(app: AppView, releases: ReleaseView[]): MetricRelease | null {
  const current = app.current_release;
  if (!current) return null;
  const before = releases
    .filter((r) => r.version < current.version && ['succeeded', 'superseded', 'rolled-back'].includes(r.status))
    .sort((a, b) => b.version - a.version)[0];
  return before ? { id: before.id, version: before.version_label } : null;
}

function PodsNow({ view, trackName }: { view: AppMetrics; trackName: (track: MetricTrack, release: MetricRelease | null) => string }) {
  const { t } = useTranslation();
  if (view.tracks.length === 0) {
    return (
      <Text size="sm" c="dimmed">
        {t('metrics.noPods')}
      </Text>
    );
  }
  return (
    <Group gap="xs" data-testid="metrics-pods">
      {view.tracks.map(({ track, release }) => {
        const pods = view.pods.filter((p) => p.track === track);
        return (
          <Badge key={track} variant="default" size="lg" tt="none" data-track={track}>
            {t('metrics.podsNow', {
              track: trackName(track, release),
              ready: pods.filter((p) => p.ready).length,
              count: pods.length,
              restarts: pods.reduce((sum, p) => sum + p.restarts, 0),
            })}
          </Badge>
        );
      })}
    </Group>
  );
}

function CompareCard({ comparison, trackName }: { comparison: Comparison; trackName: (track: MetricTrack, release: MetricRelease | null) => string }) {
  const { t, i18n } = useTranslation();
  const fmt = useFormat();
  const locale = i18n.language;
  const title = comparison.mode === 'canary' ? t('compare.canaryTitle') : t('compare.title');
  return (
    <Card withBorder padding="sm" data-testid="metrics-compare" data-mode={comparison.mode}>
      <Title order={3} size="h5" mb="xs">
        {title}
      </Title>
      {comparison.mode === 'none' ? (
        <Text size="sm" c="dimmed">
          {t(`compare.none.${comparison.reason}`, { version: comparison.current?.version ?? '' })}
        </Text>
      ) : (
        <Stack gap="xs">
          <Text size="xs" c="dimmed">
            {comparison.mode === 'canary' ? t('compare.canaryExplain') : t('compare.explain', { version: comparison.current.release?.version ?? '' })}
          </Text>
          <Table withTableBorder striped layout="fixed" data-testid="compare-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">{t('compare.figure')}</Table.Th>
                <Table.Th scope="col">
                  {comparison.previous.release ? trackName(comparison.previous.track, comparison.previous.release) : t('compare.before')}
                  <Text size="xs" c="dimmed" fw={400}>
                    {t('compare.span', { from: fmt.time(new Date(comparison.previous.from * 1000).toISOString()), to: fmt.time(new Date(comparison.previous.to * 1000).toISOString()) })}
                  </Text>
                </Table.Th>
                <Table.Th scope="col">
                  {trackName(comparison.current.track, comparison.current.release)}
                  <Text size="xs" c="dimmed" fw={400}>
                    {t('compare.span', { from: fmt.time(new Date(comparison.current.from * 1000).toISOString()), to: fmt.time(new Date(comparison.current.to * 1000).toISOString()) })}
                  </Text>
                </Table.Th>
                <Table.Th scope="col">{t('compare.change')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {FIGURES.map((figure) => {
                const before = comparison.previous.figures[figure];
                const after = comparison.current.figures[figure];
                const delta = change(before, after);
                return (
                  <Table.Tr key={figure} data-figure={figure} data-before={before ?? ''} data-after={after ?? ''}>
                    <Table.Th scope="row">{t(`compare.figures.${figure}`)}</Table.Th>
                    <Table.Td>{formatValue(FIGURE_KIND[figure], before, locale)}</Table.Td>
                    <Table.Td>{formatValue(FIGURE_KIND[figure], after, locale)}</Table.Td>
                    <Table.Td>{delta === null ? '—' : new Intl.NumberFormat(locale, { style: 'percent', signDisplay: 'exceptZero', maximumFractionDigits: 0 }).format(delta)}</Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </Stack>
      )}
    </Card>
  );
}
