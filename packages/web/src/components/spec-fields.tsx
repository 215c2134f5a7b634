import { ActionIcon, Button, Group, NumberInput, PasswordInput, Select, Stack, Text, TextInput, Textarea } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { DANGER } from './colors.ts';

/** Environment variables as the text people paste: one KEY=VALUE a line. */
export function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (!line.trim() || line.trimStart().startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) env[line.trim()] = '';
    else env[line.slice(0, eq).trim()] = line.slice(eq + 1);
  }
  return env;
}

export function formatEnv(env: Record<string, string> | undefined): string {
  return Object.entries(env ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join('\n');
}

export interface NamedFile {
  name: string;
  content: string;
}

export function filesToRecord(files: NamedFile[]): Record<string, string> {
  return Object.fromEntries(files.filter((f) => f.name.trim()).map((f) => [f.name.trim(), f.content]));
}

/** Files mounted into the app (config files, or write-only secrets): a name and its content each. */
export function FileListEditor({ label, files, onChange, secret = false, error }: { label: string; files: NamedFile[]; onChange: (files: NamedFile[]) => void; secret?: boolean; error?: string | undefined }) {
  const { t } = useTranslation();
  const update = (index: number, patch: Partial<NamedFile>) => onChange(files.map((f, i) => (i === index ? { ...f, ...patch } : f)));
  return (
    <Stack gap="xs" role="group" aria-label={label}>
      <Text size="sm" fw={500}>
        {label}
      </Text>
      {files.map((file, index) => (
        <Group key={index} align="start" wrap="nowrap">
          <TextInput label={t('spec.fileName')} value={file.name} onChange={(e) => update(index, { name: e.currentTarget.value })} w={200} />
          {secret ? (
            <PasswordInput label={t('spec.secretValue')} value={file.content} onChange={(e) => update(index, { content: e.currentTarget.value })} style={{ flex: 1 }} autoComplete="off" />
          ) : (
            <Textarea label={t('spec.fileContent')} value={file.content} onChange={(e) => update(index, { content: e.currentTarget.value })} autosize minRows={1} maxRows={8} style={{ flex: 1 }} />
          )}
          <ActionIcon variant="subtle" color={DANGER} mt={26} onClick={() => onChange(files.filter((_, i) => i !== index))} aria-label={t('spec.removeFile', { name: file.name || index + 1 })}>
            ×
          </ActionIcon>
        </Group>
      ))}
      {error && (
        <Text size="xs" c="red" role="alert">
          {error}
        </Text>
      )}
      <Group>
        <Button size="xs" variant="default" onClick={() => onChange([...files, { name: '', content: '' }])}>
          {secret ? t('spec.addSecret') : t('spec.addFile')}
        </Button>
      </Group>
    </Stack>
  );
}

export const RESOURCE_PRESETS = ['small', 'medium', 'large'] as const;

export function ResourceSelect({ value, onChange, error }: { value: string; onChange: (value: string) => void; error?: string | undefined }) {
  const { t } = useTranslation();
  return (
    <Select
      label={t('spec.resources')}
      value={value}
      onChange={(v) => onChange(v ?? 'small')}
      data={RESOURCE_PRESETS.map((preset) => ({ value: preset, label: t(`resources.${preset}`) }))}
      error={error}
      allowDeselect={false}
    />
  );
}

export function StrategySelect({ value, onChange, error }: { value: string; onChange: (value: string) => void; error?: string | undefined }) {
  const { t } = useTranslation();
  return (
    <Select
      label={t('spec.strategy')}
      value={value}
      onChange={(v) => onChange(v ?? 'rolling')}
      data={['rolling', 'canary', 'blue-green'].map((s) => ({ value: s, label: t(`strategy.${s}`) }))}
      error={error}
      allowDeselect={false}
    />
  );
}

export function ReplicasInput({ value, onChange, error }: { value: number | ''; onChange: (value: number | '') => void; error?: string | undefined }) {
  const { t } = useTranslation();
  return <NumberInput label={t('spec.replicas')} value={value} onChange={(v) => onChange(typeof v === 'number' ? v : '')} min={0} max={100} allowDecimal={false} error={error} />;
}
