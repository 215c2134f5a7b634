import { Alert, Button, FileInput, Group, NumberInput, Progress, SegmentedControl, Select, SimpleGrid, Stack, Text, TextInput, Textarea, Title } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import { ApiError, api, uploadArtifact } from '../api/client.ts';
import { keys, useClusters, useProjects } from '../api/hooks.ts';
import type { AppView } from '../api/types.ts';
import { schemaMessages } from '../api/validate.ts';
import { ReplicasInput, ResourceSelect, StrategySelect, parseEnv } from '../components/spec-fields.tsx';

type Source = 'upload' | 'image' | 'url';

interface DeployValues {
  name: string;
  version: string;
  cluster: string | null;
  project: string | null;
  taskType: string;
  source: Source;
  file: File | null;
  imageUrl: string;
  artifactUrl: string;
  appType: string | null;
  port: number | '';
  resource: string;
  profile: string;
  strategy: string;
  replicas: number | '';
  healthPath: string;
  env: string;
}

/** A new app: upload a jar, war or Python zip (with progress) or give an image, with the seed's fields. */
export default function DeployPage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const client = useQueryClient();
  const clusters = useClusters();
  const projects = useProjects();
  const [progress, setProgress] = useState<number | undefined>();
  const [failure, setFailure] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const form = useForm<DeployValues>({
    initialValues: {
      name: '',
      version: '',
      cluster: null,
      project: null,
      taskType: 'all',
      source: 'upload',
      file: null,
      imageUrl: '',
      artifactUrl: '',
      appType: null,
      port: 8080,
      resource: 'small',
      profile: '',
      strategy: 'rolling',
      replicas: '',
      healthPath: '',
      env: '',
    },
    validate: (values) => {
      const errors: Record<string, string> = {};
      // The uploaded file is not in the body yet: a placeholder URL stands for it while the schema checks the rest.
      Object.assign(errors, schemaMessages('CreateAppBody', bodyOf(values, values.source === 'upload' ? 'appserving-artifact://pending' : undefined), t, formField));
      if (values.source === 'upload' && !values.file) errors.file = t('validation.file');
      if (values.source === 'image' && !values.imageUrl.trim()) errors.imageUrl = t('validation.image_url');
      if (values.source === 'url' && !values.artifactUrl.trim()) errors.artifactUrl = t('validation.artifact_url');
      return errors;
    },
  });

  function bodyOf(values: DeployValues, artifactUrl: string | undefined): Record<string, unknown> {
    const env = parseEnv(values.env);
    return {
      name: values.name.trim(),
      ...(values.version.trim() ? { version: values.version.trim() } : {}),
      ...(values.cluster ? { target_cluster_id: values.cluster } : {}),
      ...(values.project ? { project: values.project } : {}),
      task_type: values.source === 'image' ? 'deploy' : values.taskType,
      ...(values.source === 'image' ? { image_url: values.imageUrl.trim() } : {}),
      ...(values.source === 'url' ? { artifact_url: values.artifactUrl.trim() } : {}),
      ...(values.source === 'upload' && artifactUrl ? { artifact_url: artifactUrl } : {}),
      ...(values.appType ? { app_type: values.appType } : {}),
      ...(values.port === '' ? {} : { port: values.port }),
      resource_spec: values.resource,
      ...(values.profile.trim() ? { profile: values.profile.trim() } : {}),
      strategy: values.strategy,
      ...(values.replicas === '' ? {} : { replicas: values.replicas }),
      ...(values.healthPath.trim() ? { health_path: values.healthPath.trim() } : {}),
      ...(Object.keys(env).length > 0 ? { env } : {}),
    };
  }

  const submit = async (values: DeployValues) => {
    setBusy(true);
    setFailure(undefined);
    try {
      let artifactUrl: string | undefined;
      if (values.source === 'upload' && values.file) {
        setProgress(0);
        artifactUrl = (await uploadArtifact(values.file, setProgress)).artifact_url;
        setProgress(1);
      }
      const created = await api<{ app: AppView }>('POST', '/apps', bodyOf(values, artifactUrl), { 'idempotency-key': crypto.randomUUID() });
      await client.invalidateQueries({ queryKey: keys.apps });
      void navigate(`/apps/${created.app.id}`);
    } catch (error) {
      setFailure(error instanceof ApiError ? t('common.refused', { message: error.message }) : t('common.failed'));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={form.onSubmit((values) => void submit(values))} noValidate>
      <Stack maw={860}>
        <Title order={2}>{t('deploy.title')}</Title>
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <TextInput label={t('deploy.name')} description={t('deploy.nameHelp')} required {...form.getInputProps('name')} />
          <TextInput label={t('deploy.version')} description={t('deploy.versionHelp')} {...form.getInputProps('version')} />
          <Select
            label={t('deploy.cluster')}
            placeholder={t('deploy.defaultCluster')}
            clearable
            data={(clusters.data ?? []).map((c) => ({ value: c.id, label: c.is_default ? t('deploy.clusterDefault', { name: c.name }) : c.name }))}
            {...form.getInputProps('cluster')}
          />
          <Select label={t('deploy.project')} placeholder={t('deploy.noProject')} clearable data={(projects.data ?? []).map((p) => ({ value: p.name, label: p.name }))} {...form.getInputProps('project')} />
        </SimpleGrid>
        <Stack gap={4}>
          <Text size="sm" fw={500} id="source-label">
            {t('deploy.source')}
          </Text>
          <SegmentedControl
            aria-labelledby="source-label"
            data={[
              { value: 'upload', label: t('deploy.sourceUpload') },
              { value: 'image', label: t('deploy.sourceImage') },
              { value: 'url', label: t('deploy.sourceUrl') },
            ]}
            {...form.getInputProps('source')}
          />
        </Stack>
        {form.values.source === 'upload' && (
          <FileInput label={t('deploy.file')} description={t('deploy.fileHelp')} accept=".jar,.war,.zip" clearable {...form.getInputProps('file')} data-testid="artifact-file" />
        )}
        {form.values.source === 'image' && <TextInput label={t('deploy.image')} placeholder="registry.example.com/team/app:1.0" {...form.getInputProps('imageUrl')} />}
        {form.values.source === 'url' && <TextInput label={t('deploy.artifactUrl')} placeholder="https://nexus.example.com/…/app.jar" {...form.getInputProps('artifactUrl')} />}
        {progress !== undefined && <Progress value={progress * 100} aria-label={t('deploy.uploading')} data-testid="upload-progress" />}
        <SimpleGrid cols={{ base: 1, sm: 3 }}>
          {form.values.source !== 'image' && (
            <Select
              label={t('deploy.taskType')}
              data={['all', 'build'].map((v) => ({ value: v, label: t(`taskType.${v}`) }))}
              allowDeselect={false}
              {...form.getInputProps('taskType')}
            />
          )}
          <Select
            label={t('deploy.appType')}
            placeholder={t('deploy.appTypeInferred')}
            clearable
            data={['jar', 'war', 'python'].map((v) => ({ value: v, label: t(`appType.${v}`) }))}
            {...form.getInputProps('appType')}
          />
          <NumberInput label={t('deploy.port')} min={1} max={65535} allowDecimal={false} {...form.getInputProps('port')} />
          <ResourceSelect value={form.values.resource} onChange={(v) => form.setFieldValue('resource', v)} error={form.errors.resource as string | undefined} />
          <TextInput label={t('deploy.profile')} placeholder="default" {...form.getInputProps('profile')} />
          <StrategySelect value={form.values.strategy} onChange={(v) => form.setFieldValue('strategy', v)} error={form.errors.strategy as string | undefined} />
          <ReplicasInput value={form.values.replicas} onChange={(v) => form.setFieldValue('replicas', v)} error={form.errors.replicas as string | undefined} />
          <TextInput label={t('deploy.healthPath')} placeholder="/actuator/health" {...form.getInputProps('healthPath')} />
        </SimpleGrid>
        <Textarea label={t('spec.env')} description={t('spec.envHelp')} autosize minRows={2} maxRows={10} {...form.getInputProps('env')} />
        {failure && (
          <Alert color="red" role="alert">
            {failure}
          </Alert>
        )}
        <Group>
          <Button type="submit" loading={busy}>
            {t('deploy.submit')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

/** The form field that shows a problem of a body field. */
function formField(bodyField: string): string {
  const fields: Record<string, string> = {
    target_cluster_id: 'cluster',
    task_type: 'taskType',
    image_url: 'imageUrl',
    artifact_url: 'artifactUrl',
    app_type: 'appType',
    resource_spec: 'resource',
    health_path: 'healthPath',
  };
  return fields[bodyField] ?? bodyField;
}
