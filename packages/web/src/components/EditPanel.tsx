import { Alert, Button, Checkbox, Group, SimpleGrid, Stack, Text, Textarea } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client.ts';
import { useAppChange } from '../api/hooks.ts';
import type { ReleaseSpec } from '../api/types.ts';
import { schemaMessages } from '../api/validate.ts';
import { FileListEditor, ReplicasInput, ResourceSelect, StrategySelect, filesToRecord, formatEnv, parseEnv, type NamedFile } from './spec-fields.tsx';

interface EditValues {
  env: string;
  config: NamedFile[];
  replaceSecrets: boolean;
  secrets: NamedFile[];
  resource: string;
  replicas: number | '';
  strategy: string;
}

/** Edit = a new release (PATCH /apps/{id}): what is left out keeps its value; secrets are write-only. */
export default function EditPanel({ appId, spec, onSaved }: { appId: string; spec: ReleaseSpec; onSaved: () => void }) {
  const { t } = useTranslation();
  const change = useAppChange<Record<string, unknown>>(appId, 'PATCH', `/apps/${appId}`);
  const initialResource = typeof spec.resource_spec === 'string' ? spec.resource_spec : '';
  const form = useForm<EditValues>({
    initialValues: {
      env: formatEnv(spec.env),
      config: Object.entries(spec.config ?? {}).map(([name, content]) => ({ name, content })),
      replaceSecrets: false,
      secrets: [],
      resource: initialResource || 'small',
      replicas: spec.replicas ?? '',
      strategy: spec.strategy ?? 'rolling',
    },
    validate: (values) => {
      return schemaMessages('UpdateAppBody', bodyOf(values), t);
    },
  });

  function bodyOf(values: EditValues): Record<string, unknown> {
    return {
      env: parseEnv(values.env),
      config: filesToRecord(values.config),
      ...(values.replaceSecrets ? { secrets: filesToRecord(values.secrets) } : {}),
      ...(initialResource || values.resource !== 'small' ? { resource_spec: values.resource } : {}),
      ...(values.replicas === '' ? {} : { replicas: values.replicas }),
      strategy: values.strategy,
      task_type: 'deploy',
    };
  }

  return (
    <form onSubmit={form.onSubmit((values) => change.mutate(bodyOf(values), { onSuccess: onSaved }))} noValidate>
      <Stack maw={760}>
        <Text size="sm" c="dimmed">
          {t('edit.explain')}
        </Text>
        <Textarea label={t('spec.env')} description={t('spec.envHelp')} autosize minRows={3} maxRows={12} {...form.getInputProps('env')} />
        <FileListEditor label={t('spec.config')} files={form.values.config} onChange={(files) => form.setFieldValue('config', files)} error={form.errors.config as string | undefined} />
        <Stack gap="xs">
          <Text size="sm">{spec.secret_names && spec.secret_names.length > 0 ? t('edit.secretNames', { names: spec.secret_names.join(', ') }) : t('edit.noSecrets')}</Text>
          <Checkbox label={t('edit.replaceSecrets')} {...form.getInputProps('replaceSecrets', { type: 'checkbox' })} />
          {form.values.replaceSecrets && <FileListEditor secret label={t('spec.secrets')} files={form.values.secrets} onChange={(files) => form.setFieldValue('secrets', files)} error={form.errors.secrets as string | undefined} />}
        </Stack>
        <SimpleGrid cols={{ base: 1, sm: 3 }}>
          <ResourceSelect value={form.values.resource} onChange={(v) => form.setFieldValue('resource', v)} error={form.errors.resource_spec as string | undefined} />
          <ReplicasInput value={form.values.replicas} onChange={(v) => form.setFieldValue('replicas', v)} error={form.errors.replicas as string | undefined} />
          <StrategySelect value={form.values.strategy} onChange={(v) => form.setFieldValue('strategy', v)} error={form.errors.strategy as string | undefined} />
        </SimpleGrid>
        {form.errors.env && (
          <Text size="xs" c="red" role="alert">
            {form.errors.env}
          </Text>
        )}
        {change.isError && (
          <Alert color="red" role="alert">
            {change.error instanceof ApiError ? t('common.refused', { message: change.error.message }) : t('common.failed')}
          </Alert>
        )}
        <Group>
          <Button type="submit" loading={change.isPending}>
            {t('edit.submit')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

