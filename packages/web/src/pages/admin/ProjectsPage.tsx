import { Button, Card, Group, Select, Stack, Table, TextInput, Title } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useTranslation } from 'react-i18next';
import { keys, useAdminChange, useClusters, useProjects } from '../../api/hooks.ts';
import { schemaMessages } from '../../api/validate.ts';
import { RefusedAlert } from '../../components/RefusedAlert.tsx';
import { useFormat } from '../../format.ts';
import { DANGER } from '../../components/colors.ts';

interface ProjectValues {
  name: string;
  cluster_id: string | null;
  namespace: string;
}

/** Projects (admin): a namespace on a cluster that tokens are scoped to. */
export default function ProjectsPage() {
  const { t } = useTranslation();
  const fmt = useFormat();
  const projects = useProjects();
  const clusters = useClusters();
  const create = useAdminChange<Record<string, unknown>>('POST', '/projects', keys.projects);
  const remove = useAdminChange<{ id: string }>('DELETE', (b) => `/projects/${b.id}`, keys.projects);
  const clusterName = (id: string) => clusters.data?.find((c) => c.id === id)?.name ?? id;
  const form = useForm<ProjectValues>({
    initialValues: { name: '', cluster_id: null, namespace: '' },
    validate: (values) => {
      return schemaMessages('CreateProjectBody', bodyOf(values), t);
    },
  });
  function bodyOf(values: ProjectValues) {
    return { name: values.name.trim(), cluster_id: values.cluster_id ?? '', ...(values.namespace.trim() ? { namespace: values.namespace.trim() } : {}) };
  }
  return (
    <Stack>
      <Title order={2}>{t('projects.title')}</Title>
      <Table.ScrollContainer minWidth={600}>
        <Table striped data-testid="projects">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('projects.name')}</Table.Th>
              <Table.Th>{t('projects.cluster')}</Table.Th>
              <Table.Th>{t('projects.namespace')}</Table.Th>
              <Table.Th>{t('projects.created')}</Table.Th>
              <Table.Th>{t('common.actions')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {(projects.data ?? []).map((project) => (
              <Table.Tr key={project.id}>
                <Table.Td>{project.name}</Table.Td>
                <Table.Td>{clusterName(project.cluster_id)}</Table.Td>
                <Table.Td>{project.namespace}</Table.Td>
                <Table.Td>{fmt.dateTime(project.created_at)}</Table.Td>
                <Table.Td>
                  <Button size="xs" color={DANGER} variant="subtle" onClick={() => remove.mutate({ id: project.id })} aria-label={t('projects.removeNamed', { name: project.name })}>
                    {t('projects.remove')}
                  </Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <RefusedAlert error={remove.error} />
      <Card withBorder maw={640}>
        <form onSubmit={form.onSubmit((values) => create.mutate(bodyOf(values), { onSuccess: () => form.reset() }))} noValidate>
          <Stack>
            <Title order={3} size="h4">
              {t('projects.create')}
            </Title>
            <TextInput label={t('projects.name')} required {...form.getInputProps('name')} />
            <Select label={t('projects.cluster')} required data={(clusters.data ?? []).map((c) => ({ value: c.id, label: c.name }))} {...form.getInputProps('cluster_id')} />
            <TextInput label={t('projects.namespace')} description={t('projects.namespaceHelp')} {...form.getInputProps('namespace')} />
            <RefusedAlert error={create.error} />
            <Group>
              <Button type="submit" loading={create.isPending}>
                {t('projects.createSubmit')}
              </Button>
            </Group>
          </Stack>
        </form>
      </Card>
    </Stack>
  );
}
