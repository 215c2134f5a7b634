import './metrics.css';
import { Alert, Badge, Button, Group, Select, Stack, Text, TextInput } from '@mantine/core';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { TFunction } from 'i18next';
import { useDeferredValue, useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { MAX_LOG_ENTRIES, useLogStream, type LogEntry } from '../api/log-stream.ts';
import type { ReleaseView } from '../api/types.ts';

const ROW_HEIGHT = 20;
const ALL = '';

/**
 * The app's pod logs, live (GET /apps/{id}/logs?follow=true): every pod's lines with their pod and release, pods
 * added, removed and restarted, lines the platform had to drop. Pause holds the view still while lines keep
 * arriving (counted); the filter (text, pod, release) narrows what is shown; download saves what is shown as
 * text. A virtualized list of at most 5,000 entries.
 */
export default function LogsPanel({ appId, appName, releases }: { appId: string; appName: string; releases: ReleaseView[] }) {
  const { t } = useTranslation();
  const live = useLogStream(appId);
  // Entries that name their release only by id (the last-lines answer) are named with its label.
  const labels = useMemo(() => new Map(releases.map((r) => [r.id, r.version_label])), [releases]);
  const named = useMemo(
    () => live.entries.map((e) => ('release_version' in e && !e.release_version && e.release_id && labels.has(e.release_id) ? ({ ...e, release_version: labels.get(e.release_id) ?? null } as LogEntry) : e)),
    [live.entries, labels],
  );
  const stream = { ...live, entries: named };
  const [paused, setPaused] = useState<{ entries: LogEntry[]; received: number } | null>(null);
  const [text, setText] = useState('');
  const [pod, setPod] = useState(ALL);
  const [release, setRelease] = useState(ALL);
  const query = useDeferredValue(text.trim().toLowerCase());
  const source = paused ? paused.entries : stream.entries;
  const arrived = paused ? stream.received - paused.received : 0;

  const pods = useMemo(() => [...new Set(stream.entries.flatMap((e) => ('pod' in e ? [e.pod] : [])))].sort(), [stream.entries]);
  const versions = useMemo(() => [...new Set(stream.entries.flatMap((e) => ('release_version' in e && e.release_version ? [e.release_version] : [])))].sort(), [stream.entries]);
  const shown = useMemo(
    () =>
      source.filter((e) => {
        if (pod !== ALL && (!('pod' in e) || e.pod !== pod)) return e.kind !== 'line' && e.kind !== 'pod';
        if (release !== ALL && (!('release_version' in e) || e.release_version !== release)) return e.kind !== 'line' && e.kind !== 'pod';
        // Text narrows to the lines holding it; of the notices only lost lines and the stream's end stay in view.
        if (query) return e.kind === 'line' ? e.line.toLowerCase().includes(query) : e.kind === 'dropped' || e.kind === 'error';
        return true;
      }),
    [source, pod, release, query],
  );

  const download = () => {
    const body = `${shown.map((e) => entryText(t, e)).join('\n')}\n`;
    const url = URL.createObjectURL(new Blob([body], { type: 'text/plain;charset=utf-8' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = `${appName}-logs-${new Date().toISOString().replace(/[:.]/g, '-')}.txt`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30_000);
  };

  return (
    <Stack data-testid="logs">
      <Group justify="space-between" align="end">
        <Group align="end" gap="sm">
          <TextInput size="xs" label={t('logs.filter')} placeholder={t('logs.filterPlaceholder')} value={text} onChange={(e) => setText(e.currentTarget.value)} data-testid="logs-filter" />
          <Select size="xs" label={t('logs.pod')} value={pod} onChange={(v) => setPod(v ?? ALL)} data={[{ value: ALL, label: t('logs.allPods') }, ...pods.map((p) => ({ value: p, label: p }))]} allowDeselect={false} w={260} />
          <Select size="xs" label={t('logs.release')} value={release} onChange={(v) => setRelease(v ?? ALL)} data={[{ value: ALL, label: t('logs.allReleases') }, ...versions.map((r) => ({ value: r, label: r }))]} allowDeselect={false} w={160} />
        </Group>
        <Group gap="xs">
          <Badge variant="dot" color={stream.state === 'live' ? 'green' : stream.state === 'ended' ? 'red' : 'gray'} data-testid="logs-state" data-state={stream.state}>
            {t(`logs.state.${stream.state}`)}
          </Badge>
          <Button size="xs" variant={paused ? 'filled' : 'default'} onClick={() => setPaused(paused ? null : { entries: stream.entries, received: stream.received })} data-testid="logs-pause">
            {paused ? t('logs.resume') : t('logs.pause')}
          </Button>
          <Button size="xs" variant="default" onClick={download} disabled={shown.length === 0} data-testid="logs-download">
            {t('logs.download')}
          </Button>
          {(stream.state === 'ended' || stream.state === 'snapshot') && (
            <Button
              size="xs"
              variant="default"
              onClick={() => {
                setPaused(null);
                stream.restart();
              }}
            >
              {stream.state === 'snapshot' ? t('logs.refresh') : t('logs.reconnect')}
            </Button>
          )}
        </Group>
      </Group>
      {stream.error && (
        <Alert color="yellow" role="alert" data-testid="logs-error">
          {stream.error.code === 'logs_unavailable' ? t('logs.unavailable') : t('logs.streamError', { message: stream.error.message })}
        </Alert>
      )}
      <Group gap="md">
        <Text size="xs" c="dimmed" data-testid="logs-count">
          {t('logs.shown', { count: shown.length, total: source.length, max: MAX_LOG_ENTRIES })}
        </Text>
        {stream.state === 'snapshot' && (
          <Text size="xs" c="dimmed">
            {t('logs.snapshot')}
          </Text>
        )}
        {paused && (
          <Text size="xs" fw={600} data-testid="logs-arrived" data-arrived={arrived}>
            {t('logs.arrived', { count: arrived })}
          </Text>
        )}
      </Group>
      <LogList entries={shown} follow={!paused} />
    </Stack>
  );
}

function LogList({ entries, follow }: { entries: LogEntry[]; follow: boolean }) {
  const { t } = useTranslation();
  const scroller = useRef<HTMLDivElement>(null);
  const [atEnd, setAtEnd] = useState(true);
  const virtualizer = useVirtualizer({ count: entries.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 20 });
  // Following: the newest line stays in view, unless the reader scrolled up to read.
  useEffect(() => {
    if (follow && atEnd && entries.length > 0) virtualizer.scrollToIndex(entries.length - 1, { align: 'end' });
  }, [entries, follow, atEnd, virtualizer]);
  const items = virtualizer.getVirtualItems();
  return (
    <div
      ref={scroller}
      className="log-view"
      style={{ height: 480, overflow: 'auto', position: 'relative' }}
      role="log"
      aria-live="off"
      aria-label={t('logs.lines')}
      tabIndex={0}
      data-testid="log-lines"
      data-count={entries.length}
      data-last={entries.at(-1)?.seq ?? 0}
      onScroll={(e) => {
        const el = e.currentTarget;
        setAtEnd(el.scrollTop + el.clientHeight >= el.scrollHeight - ROW_HEIGHT * 2);
      }}
    >
      {entries.length === 0 ? (
        <Text size="sm" c="dimmed" p="xs">
          {t('logs.waiting')}
        </Text>
      ) : (
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative', minWidth: '100%' }}>
          {items.map((item) => {
            const entry = entries[item.index] as LogEntry;
            return (
              <div key={entry.seq} className="log-row" data-kind={entry.kind === 'line' ? 'line' : entry.kind === 'dropped' || entry.kind === 'error' || entry.kind === 'podError' ? 'error' : 'notice'} data-seq={entry.seq} style={{ position: 'absolute', top: item.start, left: 0, right: 0 }}>
                <EntryRow entry={entry} />
              </div>
            );
          })}
        </div>
      )}
    </div>
  );
}

function EntryRow({ entry }: { entry: LogEntry }) {
  const { t } = useTranslation();
  const time = entry.ts ? `${entry.ts.slice(11, 23)} ` : '';
  if (entry.kind !== 'line') {
    return (
      <>
        <span className="log-meta">{time}</span>
        {notice(t, entry)}
      </>
    );
  }
  return (
    <>
      <span className="log-meta">
        {time}
        {entry.pod}
        {entry.release_version ? ` ${entry.release_version}` : ''}{' '}
      </span>
      {entry.line}
    </>
  );
}

function notice(t: TFunction, entry: Exclude<LogEntry, { kind: 'line' }>): string {
  switch (entry.kind) {
    case 'pod':
      return t(`logs.podState.${entry.state}`, { pod: entry.pod, release: entry.release_version ?? '—' });
    case 'dropped':
      return t('logs.dropped', { count: entry.count, reason: entry.reason });
    case 'error':
      return t('logs.ended', { message: entry.message });
    case 'reconnected':
      return t('logs.reconnected');
    case 'podError':
      return t('logs.podError', { pod: entry.pod, message: entry.message });
  }
}

/** An entry as one line of text, as the view shows it (the download is made of these). */
export function entryText(t: TFunction, entry: LogEntry): string {
  const time = entry.ts ? `${entry.ts} ` : '';
  if (entry.kind === 'line') return `${time}${entry.pod}${entry.release_version ? ` ${entry.release_version}` : ''} ${entry.line}`;
  return `${time}${notice(t, entry)}`;
}
