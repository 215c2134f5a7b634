import { Badge, Group, Progress, Stack, Text, Timeline } from '@mantine/core';
import { memo, Suspense, lazy, useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import type { CanaryAnalysis, ReleaseView, StatusEvent, TimelineEntry } from '../api/types.ts';
import { useFormat } from '../format.ts';
import { AnalysisTable } from './AnalysisTable.tsx';
import { describeEvent, eventKind } from './describe-event.ts';

const CanaryChart = lazy(() => import('./CanaryChart.tsx'));

/**
 * The rollout of the current release, step by step, as the SSE stream tells it (build progress, helm, each
 * canary step with its weight), with the canary analysis as a chart and a table.
 */
export const RolloutPanel = memo(function RolloutPanel({ release, events, timeline, connected }: { release: ReleaseView; events: StatusEvent[]; timeline: TimelineEntry[]; connected: boolean }) {
  const { t } = useTranslation();
  const fmt = useFormat();
  // The persisted record of this release, then what the stream adds (the same event once, by its id).
  const steps = useMemo(() => {
    const byId = new Map<string, StatusEvent>();
    for (const entry of timeline) {
      if (entry.release_id === release.id) byId.set(entry.event_id, { id: entry.event_id, type: entry.type, time: entry.occurred_at, data: entry.data });
    }
    for (const event of events) if (!event.data.release || event.data.release.release_id === release.id) byId.set(event.id, event);
    return [...byId.values()].sort((a, b) => (a.time ?? '').localeCompare(b.time ?? ''));
  }, [timeline, events, release.id]);
  // Analysis steps, from the same merged record.
  const analysis = useMemo(() => {
    const byStep = new Map<string, CanaryAnalysis>();
    for (const event of steps) if (eventKind(event.type) === 'canary.analysis') byStep.set(event.id, event.data as unknown as CanaryAnalysis);
    return [...byStep.values()].sort((a, b) => a.step - b.step);
  }, [steps]);
  const lastProgress = [...steps].reverse().find((e) => eventKind(e.type) === 'build.progress');
  const done = typeof lastProgress?.data.done_bytes === 'number' ? lastProgress.data.done_bytes : undefined;
  const total = typeof lastProgress?.data.total_bytes === 'number' ? lastProgress.data.total_bytes : undefined;

  return (
    <Stack>
      <Group gap="xs">
        <Badge variant="dot" color={connected ? 'green' : 'gray'}>
          {connected ? t('rollout.live') : t('rollout.reconnecting')}
        </Badge>
        {release.strategy !== 'rolling' && (
          <Text size="sm">{t('rollout.weight', { weight: weightOf(steps) ?? 0 })}</Text>
        )}
      </Group>
      {done !== undefined && total !== undefined && total > 0 && release.status === 'building' && (
        <Progress value={(done / total) * 100} aria-label={t('rollout.buildProgress')} />
      )}
      {steps.length === 0 ? (
        <Text c="dimmed">{t('rollout.noEvents')}</Text>
      ) : (
        <Timeline active={steps.length - 1} bulletSize={14} lineWidth={2} data-testid="rollout-steps">
          {steps.map((event) => (
            <Timeline.Item key={event.id} data-kind={eventKind(event.type)} title={<Text size="sm">{describeEvent(t, event.type, event.data)}</Text>}>
              <Text size="xs" c="dimmed">
                {fmt.time(event.time)}
              </Text>
            </Timeline.Item>
          ))}
        </Timeline>
      )}
      {analysis.length > 0 && (
        <Stack gap="xs">
          <Text fw={600}>{t('rollout.analysis')}</Text>
          <Suspense fallback={null}>
            <CanaryChart analysis={analysis} />
          </Suspense>
          <AnalysisTable analysis={analysis} />
        </Stack>
      )}
    </Stack>
  );
});

function weightOf(events: StatusEvent[]): number | undefined {
  for (let i = events.length - 1; i >= 0; i -= 1) {
    const weight = events[i]?.data.canary_weight ?? (events[i] && eventKind(events[i]!.type) === 'canary.analysis' ? events[i]!.data.weight : undefined);
    if (typeof weight === 'number') return weight;
  }
  return undefined;
}
