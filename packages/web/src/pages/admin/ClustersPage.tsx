import { Button, Card, Checkbox, Group, Stack, Table, TextInput, Textarea, Title } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useTranslation } from 'react-i18next';
import { keys, useAdminChange, useClusters } from '../../api/hooks.ts';
import { schemaMessages } from '../../api/validate.ts';
import { RefusedAlert } from '../../components/RefusedAlert.tsx';
import { useFormat } from '../../format.ts';
import { DANGER } from '../../components/colors.ts';

interface ClusterValues {
  name: string;
  kubeconfig: string;
  default: boolean;
  prometheus_url: string;
}

/** Target clusters (admin): register one with its kubeconfig (write-only), remove an unused one. */
export default function ClustersPage() {
  const { t } = useTranslation();
  const fmt = useFormat();
  const clusters = useClusters();
  const register = useAdminChange<Record<string, unknown>>('POST', '/clusters', keys.clusters);
  const remove = useAdminChange<{ id: string }>('DELETE', (b) => `/clusters/${b.id}`, keys.clusters);
  const form = useForm<ClusterValues>({
    initialValues: { name: '', kubeconfig: '', default: false, prometheus_url: '' },
    validate: (values) => {
      return schemaMessages('RegisterClusterBody', bodyOf(values), t);
    },
  });
  function bodyOf(values: ClusterValues) {
    return { name: values.name.trim(), kubeconfig: values.kubeconfig, ...(values.default ? { default: true } : {}), ...(values.prometheus_url.trim() ? { prometheus_url: values.prometheus_url.trim() } : {}) };
  }
  return (
    <Stack>
      <Title order={2}>{t('clusters.title')}</Title>
      <Table.ScrollContainer minWidth={700}>
        <Table striped data-testid="clusters">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('clusters.name')}</Table.Th>
              <Table.Th>{t('clusters.server')}</Table.Th>
              <Table.Th>{t('clusters.health')}</Table.Th>
              <Table.Th>{t('clusters.default')}</Table.Th>
              <Table.Th>{t('clusters.created')}</Table.Th>
              <Table.Th>{t('common.actions')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {(clusters.data ?? []).map((cluster) => (
              <Table.Tr key={cluster.id}>
                <Table.Td>{cluster.name}</Table.Td>
                <Table.Td>{cluster.api_server_url}</Table.Td>
                <Table.Td title={cluster.health?.message}>{cluster.health?.status ?? '-'}</Table.Td>
                <Table.Td>{cluster.is_default ? t('common.yes') : t('common.no')}</Table.Td>
                <Table.Td>{fmt.dateTime(cluster.created_at)}</Table.Td>
                <Table.Td>
                  <Button size="xs" color={DANGER} variant="subtle" onClick={() => remove.mutate({ id: cluster.id })} aria-label={t('clusters.removeNamed', { name: cluster.name })}>
                    {t('clusters.remove')}
                  </Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <RefusedAlert error={remove.error} />
      <Card withBorder maw={760}>
        <form onSubmit={form.onSubmit((values) => register.mutate(bodyOf(values), { onSuccess: () => form.reset() }))} noValidate>
          <Stack>
            <Title order={3} size="h4">
              {t('clusters.register')}
            </Title>
            <TextInput label={t('clusters.name')} required {...form.getInputProps('name')} />
            <Textarea label={t('clusters.kubeconfig')} description={t('clusters.kubeconfigHelp')} required autosize minRows={4} maxRows={14} {...form.getInputProps('kubeconfig')} />
            <TextInput label={t('clusters.prometheus')} placeholder="http://prometheus.monitoring:9090" {...form.getInputProps('prometheus_url')} />
            <Checkbox label={t('clusters.makeDefault')} {...form.getInputProps('default', { type: 'checkbox' })} />
            <RefusedAlert error={register.error} />
            <Group>
              <Button type="submit" loading={register.isPending}>
                {t('clusters.registerSubmit')}
              </Button>
            </Group>
          </Stack>
        </form>
      </Card>
    </Stack>
  );
}
