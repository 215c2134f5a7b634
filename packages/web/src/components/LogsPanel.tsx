import { Alert, Button, Code, Group, Loader, Stack, Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client.ts';
import { useLogs } from '../api/hooks.ts';

/** The last lines of the app's pod logs, as plain text. */
export function LogsPanel({ appId }: { appId: string }) {
  const { t } = useTranslation();
  const logs = useLogs(appId, true);
  return (
    <Stack>
      <Group>
        <Button size="xs" variant="default" onClick={() => void logs.refetch()} loading={logs.isFetching}>
          {t('logs.refresh')}
        </Button>
      </Group>
      {logs.isPending && <Loader size="sm" aria-label={t('common.loading')} />}
      {logs.isError && (
        <Alert color="yellow" role="alert">
          {logs.error instanceof ApiError && logs.error.code === 'logs_unavailable' ? t('logs.unavailable') : t('common.loadFailed')}
        </Alert>
      )}
      {logs.data?.pods.length === 0 && <Text c="dimmed">{t('logs.noPods')}</Text>}
      {logs.data?.pods.map((pod) => (
        <Stack key={`${pod.name}/${pod.container}`} gap={4}>
          <Text size="sm" fw={600}>
            {t('logs.pod', { pod: pod.name, container: pod.container, phase: pod.phase })}
          </Text>
          {pod.error ? (
            <Text size="sm" c="red">
              {pod.error}
            </Text>
          ) : (
            <Code block data-testid="log-lines" aria-label={t('logs.linesOf', { pod: pod.name })}>
              {pod.lines.length > 0 ? pod.lines.join('\n') : t('logs.empty')}
            </Code>
          )}
        </Stack>
      ))}
    </Stack>
  );
}
