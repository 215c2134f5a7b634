import { Alert, Button, Card, Checkbox, Code, CopyButton, Group, Modal, MultiSelect, Stack, Table, TextInput, Title } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { keys, useAdminChange, useProjects, useTokens } from '../../api/hooks.ts';
import { schemaMessages } from '../../api/validate.ts';
import { RefusedAlert } from '../../components/RefusedAlert.tsx';
import { useFormat } from '../../format.ts';
import { DANGER } from '../../components/colors.ts';

/** API tokens (admin): a new token is shown once, in a dialog, and forgotten when it closes. */
export default function TokensPage() {
  const { t } = useTranslation();
  const fmt = useFormat();
  const tokens = useTokens(true);
  const projects = useProjects();
  const create = useAdminChange<Record<string, unknown>, { token: string; name: string }>('POST', '/tokens', keys.tokens);
  const revoke = useAdminChange<{ id: string }>('DELETE', (b) => `/tokens/${b.id}`, keys.tokens);
  const [created, setCreated] = useState<{ token: string; name: string } | undefined>();
  const projectName = (id: string) => projects.data?.find((p) => p.id === id)?.name ?? id;
  const form = useForm({
    initialValues: { name: '', admin: false, project_ids: [] as string[] },
    validate: (values) => {
      const errors = schemaMessages('CreateTokenBody', bodyOf(values), t);
      if (!values.admin && values.project_ids.length === 0) errors.project_ids = t('validation.project_ids');
      return errors;
    },
  });
  function bodyOf(values: typeof form.values) {
    return values.admin ? { name: values.name.trim(), admin: true } : { name: values.name.trim(), project_ids: values.project_ids };
  }
  return (
    <Stack>
      <Title order={2}>{t('tokens.title')}</Title>
      <Table.ScrollContainer minWidth={800}>
        <Table striped data-testid="tokens">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('tokens.name')}</Table.Th>
              <Table.Th>{t('tokens.prefix')}</Table.Th>
              <Table.Th>{t('tokens.scope')}</Table.Th>
              <Table.Th>{t('tokens.lastUsed')}</Table.Th>
              <Table.Th>{t('tokens.state')}</Table.Th>
              <Table.Th>{t('common.actions')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {(tokens.data ?? []).map((token) => (
              <Table.Tr key={token.id}>
                <Table.Td>{token.name}</Table.Td>
                <Table.Td>
                  <Code>aps_{token.token_prefix}…</Code>
                </Table.Td>
                <Table.Td>{token.is_admin ? t('tokens.admin') : token.project_ids.map(projectName).join(', ')}</Table.Td>
                <Table.Td>{token.last_used_at ? fmt.ago(token.last_used_at) : t('tokens.never')}</Table.Td>
                <Table.Td>{token.revoked_at ? t('tokens.revokedAt', { when: fmt.dateTime(token.revoked_at) }) : t('tokens.live')}</Table.Td>
                <Table.Td>
                  {!token.revoked_at && (
                    <Button size="xs" color={DANGER} variant="subtle" onClick={() => revoke.mutate({ id: token.id })} aria-label={t('tokens.revokeNamed', { name: token.name })}>
                      {t('tokens.revoke')}
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <RefusedAlert error={revoke.error} />
      <Card withBorder maw={640}>
        <form
          onSubmit={form.onSubmit((values) =>
            create.mutate(bodyOf(values), {
              onSuccess: (answer) => {
                setCreated({ token: answer.token, name: answer.name });
                form.reset();
              },
            }),
          )}
          noValidate
        >
          <Stack>
            <Title order={3} size="h4">
              {t('tokens.create')}
            </Title>
            <TextInput label={t('tokens.name')} required {...form.getInputProps('name')} />
            <Checkbox label={t('tokens.adminToken')} {...form.getInputProps('admin', { type: 'checkbox' })} />
            {!form.values.admin && (
              <MultiSelect label={t('tokens.projects')} data={(projects.data ?? []).map((p) => ({ value: p.id, label: p.name }))} searchable {...form.getInputProps('project_ids')} />
            )}
            <RefusedAlert error={create.error} />
            <Group>
              <Button type="submit" loading={create.isPending}>
                {t('tokens.createSubmit')}
              </Button>
            </Group>
          </Stack>
        </form>
      </Card>
      <Modal opened={created !== undefined} onClose={() => setCreated(undefined)} title={t('tokens.createdTitle', { name: created?.name ?? '' })} centered size="lg">
        <Stack>
          <Alert color="yellow">{t('tokens.shownOnce')}</Alert>
          <Code block data-testid="new-token">
            {created?.token}
          </Code>
          <Group justify="end">
            <CopyButton value={created?.token ?? ''}>{({ copied, copy }) => <Button onClick={copy}>{copied ? t('tokens.copied') : t('tokens.copy')}</Button>}</CopyButton>
            <Button variant="default" onClick={() => setCreated(undefined)}>
              {t('common.close')}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}
